"""Metrics and scorers over the seed layouts.

Every metric is a plain function ``f(y_true, y_pred)`` on arrays in the seed
layouts of :mod:`sklocalize.targets` (``y_pred`` as returned by the estimators'
``predict``). The scorers in :data:`SCORERS` wrap them with
:func:`sklearn.metrics.make_scorer`, so a name such as ``"iou"`` or a dict of
names works as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_validate`.

Localization: ``masked_loss``, ``iou_score``, ``localization_accuracy``,
``presence_accuracy``, ``class_accuracy``, ``iou_success_curve``.
Landmarks: ``landmark_nme``, ``landmark_pck``, ``failure_rate``,
``ced_curve``, and ``landmark_presence_accuracy``.

How presence counts
-------------------
Images truly without an object that are predicted without one are right;
a presence mismatch is wrong. Box metrics skip images whose true box is not
annotated (NaN). Landmark point metrics are computed over truly present faces
and their visible points, with the predicted points as given (so a face that
``predict`` calls absent scores its filled-in zeros: a miss is a large error).
"""

import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import make_scorer

from ._validation import final_estimator
from .boxes import elementwise_box_iou
from .nn.losses import LocalizationLoss, landmark_loss
from .targets import box_mask, check_landmark_target, check_localization_target

__all__ = [
    "SCORERS",
    "TargetScorer",
    "ced_curve",
    "class_accuracy",
    "failure_rate",
    "get_scorer",
    "get_scorer_names",
    "iou_score",
    "iou_success_curve",
    "landmark_nme",
    "landmark_pck",
    "landmark_presence_accuracy",
    "localization_accuracy",
    "masked_landmark_loss",
    "masked_loss",
    "per_image_iou",
    "per_image_nme",
    "presence_accuracy",
]


# masked_loss's parameters besides ``loss``: the criterion's, but for the edge
# term's, which need the network's edge logits that a prediction has not
_LOSS_PARAMS = ("box_loss", "presence_weight", "box_weight", "class_weight", "beta")

# --------------------------------------------------------------------------
# input checks


def _check_localization(y_true, y_pred):
    y_true = check_localization_target(y_true, name="y_true")
    y_pred = check_localization_target(
        y_pred, n_classes=y_true.shape[1] - 5, name="y_pred", allow_missing_box=False,
        allow_empty_box=True,
    )
    _check_lengths(y_true, y_pred)
    return y_true, y_pred


def _check_landmarks(y_true, y_pred):
    y_true = check_landmark_target(y_true, name="y_true")
    y_pred = check_landmark_target(
        y_pred, n_landmarks=(y_true.shape[1] - 1) // 2, name="y_pred"
    )
    _check_lengths(y_true, y_pred)
    return y_true, y_pred


def _check_lengths(y_true, y_pred):
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred must have the same number of rows; got {len(y_true)} "
            f"and {len(y_pred)}."
        )


def _check_threshold(threshold, name="threshold"):
    """A positive, finite error threshold (a NaN or negative one would make
    every point wrong, or right, without a word)."""
    number = isinstance(threshold, (int, float, np.number)) and not isinstance(
        threshold, bool)
    if not (number and np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"{name} must be a positive number; got {threshold!r}.")


def _mean_or_nan(values, what):
    if len(values) == 0:
        warnings.warn(
            f"{what} is undefined: no image qualifies; returning NaN.",
            UndefinedMetricWarning, stacklevel=3,
        )
        return float("nan")
    return float(np.mean(values))


# --------------------------------------------------------------------------
# localization


def masked_loss(y_true, y_pred, *, loss="squared_error", **loss_params):
    """The masked localization loss of a prediction (lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout.
    y_pred : array-like of shape (n_samples, 5 + n_classes)
        The prediction in the same layout; ``p_c`` and the class part may be
        probabilities (``predict`` gives 0/1 and one-hot).
    loss : {"squared_error", "practical"}, default="squared_error"
        ``"squared_error"``: per image, the squared error over all 5 + K
        entries where ``y_true``'s ``p_c = 1`` and over ``p_c`` alone where it
        is 0, averaged over images. The default because it stays finite on
        ``predict``'s 0/1 and one-hot output, which the cross-entropies of
        ``"practical"`` (see :class:`sklocalize.nn.LocalizationLoss`) would
        clip. ``"seed"`` is its deprecated name.
    **loss_params
        The practical form's other parameters (``box_loss``,
        ``presence_weight``, ``box_weight``, ``class_weight``, ``beta``), with
        the defaults of :class:`~sklocalize.nn.LocalizationLoss`.

    Returns
    -------
    loss : float

    Examples
    --------
    >>> from sklocalize.metrics import masked_loss
    >>> y_true = [[1, .5, .5, .2, .2, 1, 0], [0, 0, 0, 0, 0, 0, 0]]
    >>> y_pred = [[1, .5, .6, .2, .2, 0, 1], [1, 0, 0, 0, 0, 0, 0]]
    >>> round(masked_loss(y_true, y_pred), 4)  # ((.01 + 2) + 1) / 2
    1.505
    """
    unknown = sorted(set(loss_params) - set(_LOSS_PARAMS))
    if unknown:
        raise TypeError(
            f"masked_loss got unexpected keyword argument(s) {unknown}; the loss "
            f"parameters are {sorted(_LOSS_PARAMS)}."
        )
    criterion = LocalizationLoss(loss=loss, **loss_params)
    y_true = check_localization_target(y_true, name="y_true")
    y_pred = np.asarray(y_pred, dtype=np.float64)
    if y_pred.shape != y_true.shape:
        raise ValueError(
            f"y_pred must have the shape of y_true {y_true.shape}; got "
            f"{y_pred.shape}."
        )
    present = y_true[:, 0] == 1
    needed = np.concatenate([y_pred[:, :1], y_pred[present, 1:].reshape(-1, 1)])
    if not np.all(np.isfinite(needed)):
        raise ValueError(
            "y_pred has NaN or infinite values where y_true needs them (p_c "
            "everywhere, every entry where y_true's p_c = 1)."
        )
    if np.any((y_pred[:, 0] < 0) | (y_pred[:, 0] > 1)):
        raise ValueError("y_pred's p_c must be a probability in [0, 1].")
    t = torch.as_tensor(np.nan_to_num(y_pred, nan=0.0))
    total, _ = criterion.compute(t[:, 0], t[:, 1:5], t[:, 5:], torch.as_tensor(y_true),
                                 from_logits=False)
    return float(total)


def per_image_iou(y_true, y_pred):
    """IoU of each image, with presence counted.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)

    Returns
    -------
    iou : ndarray of shape (n_samples,)
        Both absent: 1. Presence mismatch: 0. Both present: the IoU of the
        boxes. NaN where the true box is not annotated.
    """
    y_true, y_pred = _check_localization(y_true, y_pred)
    t_present, p_present = y_true[:, 0] == 1, y_pred[:, 0] == 1
    iou = np.where(t_present == p_present, 1.0, 0.0)
    both = t_present & p_present
    iou[both] = elementwise_box_iou(
        np.nan_to_num(y_true[both, 1:5]), y_pred[both, 1:5], fmt="cxcyhw"
    )
    iou[t_present & ~box_mask(y_true)] = np.nan
    return iou


def iou_score(y_true, y_pred):
    """Mean intersection over union over images (higher is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)

    Returns
    -------
    score : float
        The mean of :func:`per_image_iou`: an image truly absent and predicted
        absent counts 1, a presence mismatch 0, and a present object predicted
        present the IoU of its boxes. Images whose true box is not annotated
        are left out (NaN, with a warning, if none is left).

    Examples
    --------
    >>> from sklocalize.metrics import iou_score
    >>> y_true = [[1, .5, .5, .2, .2, 1], [0, 0, 0, 0, 0, 0]]
    >>> y_pred = [[1, .5, .5, .2, .1, 1], [0, 0, 0, 0, 0, 0]]
    >>> round(iou_score(y_true, y_pred), 4)
    0.75
    """
    iou = per_image_iou(y_true, y_pred)
    return _mean_or_nan(iou[np.isfinite(iou)], "iou_score")


def localization_accuracy(y_true, y_pred, *, iou_threshold=0.5):
    """Share of images localized and classified right (the ILSVRC criterion).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
    iou_threshold : float, default=0.5
        The least IoU of a right box.

    Returns
    -------
    accuracy : float
        An image is right when truly absent and predicted absent, or present,
        predicted present, with the right class and ``IoU >= iou_threshold``.
        Images whose true box is not annotated are left out.

    Examples
    --------
    >>> from sklocalize.metrics import localization_accuracy
    >>> y_true = [[1, .5, .5, .2, .2, 1, 0], [1, .5, .5, .2, .2, 1, 0]]
    >>> y_pred = [[1, .5, .5, .2, .1, 1, 0], [1, .5, .5, .2, .2, 0, 1]]
    >>> localization_accuracy(y_true, y_pred)
    0.5
    """
    if not 0 <= iou_threshold <= 1:
        raise ValueError(f"iou_threshold must be in [0, 1]; got {iou_threshold!r}.")
    y_true, y_pred = _check_localization(y_true, y_pred)
    iou = per_image_iou(y_true, y_pred)
    same_class = (np.nan_to_num(y_true[:, 5:]).argmax(1) == y_pred[:, 5:].argmax(1))
    right = np.where(y_true[:, 0] == 1, (iou >= iou_threshold) & same_class, iou == 1)
    return _mean_or_nan(right[np.isfinite(iou)], "localization_accuracy")


def presence_accuracy(y_true, y_pred):
    """Share of images whose presence (``p_c``) is predicted right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)

    Returns
    -------
    accuracy : float
    """
    y_true, y_pred = _check_localization(y_true, y_pred)
    return float(np.mean(y_true[:, 0] == y_pred[:, 0]))


def class_accuracy(y_true, y_pred):
    """Share of truly present objects whose class is predicted right.

    The class is read from ``y_pred``'s class part whatever its ``p_c``; an
    object predicted absent by ``predict`` has an all-zero class part and so
    counts as wrong.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)

    Returns
    -------
    accuracy : float
        NaN, with a warning, when no object is present.
    """
    y_true, y_pred = _check_localization(y_true, y_pred)
    present = y_true[:, 0] == 1
    cls_pred = np.nan_to_num(y_pred[present, 5:])
    right = (y_true[present, 5:].argmax(1) == cls_pred.argmax(1)) & (
        cls_pred.max(1) > 0
    )
    return _mean_or_nan(right, "class_accuracy")


def iou_success_curve(y_true, y_pred, *, thresholds=None):
    """Share of images with IoU >= t, over thresholds t, and its area.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
    thresholds : array-like, default=None
        Default: 101 points from 0 to 1.

    Returns
    -------
    thresholds : ndarray of shape (n_thresholds,)
    success : ndarray of shape (n_thresholds,)
    auc : float
        The area under the curve (trapezoidal), in [0, 1] for thresholds from 0
        to 1: the mean IoU, in the limit of fine thresholds.
    """
    iou = per_image_iou(y_true, y_pred)
    iou = iou[np.isfinite(iou)]
    t = np.linspace(0, 1, 101) if thresholds is None else np.asarray(thresholds, float)
    success = np.array([np.mean(iou >= v) if len(iou) else np.nan for v in t])
    span = t[-1] - t[0] if len(t) > 1 else 1.0
    return t, success, float(np.trapezoid(success, t) / span)


# --------------------------------------------------------------------------
# landmarks


def _normaliser(y_true, normalize):
    pts = y_true[:, 1:].reshape(len(y_true), -1, 2)
    if isinstance(normalize, str):
        if normalize == "image":
            return np.ones(len(y_true))
        if normalize == "bbox":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                span = np.nanmax(pts, axis=1) - np.nanmin(pts, axis=1)
            return np.sqrt(span[:, 0] * span[:, 1])
        pair = None
    else:
        try:
            pair = [int(v) for v in normalize]
        except (TypeError, ValueError):
            pair = None
    if pair is None or len(pair) != 2:
        raise ValueError(
            "normalize must be 'bbox', 'image' or a pair (i, j) of landmark "
            f"indices; got {normalize!r}."
        )
    i, j = pair
    n_points = pts.shape[1]
    if not (0 <= i < n_points and 0 <= j < n_points and i != j):
        raise ValueError(
            f"normalize=({i}, {j}) must name two different landmarks among the "
            f"{n_points} (indices 0 to {n_points - 1})."
        )
    return np.linalg.norm(pts[:, i] - pts[:, j], axis=1)


def _point_errors(y_true, y_pred):
    """Per-point distances (NaN where not visible) over truly present faces."""
    y_true, y_pred = _check_landmarks(y_true, y_pred)
    present = y_true[:, 0] == 1
    t = y_true[present, 1:].reshape(present.sum(), -1, 2)
    p = y_pred[present, 1:].reshape(present.sum(), -1, 2)
    visible = np.isfinite(t).all(axis=2)
    if np.any(visible & ~np.isfinite(p).all(axis=2)):
        raise ValueError(
            "y_pred has NaN or infinite points where y_true has a visible point."
        )
    err = np.linalg.norm(np.where(visible[..., None], p - t, np.nan), axis=2)
    return y_true, present, err


def per_image_nme(y_true, y_pred, *, normalize="bbox"):
    """Normalised mean point error of each truly present face.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    normalize : "bbox", "image" or (i, j), default="bbox"
        The length each image's mean point error is divided by: ``"bbox"``, the
        square root of the area of the true points' bounding box; ``"image"``,
        nothing (errors in relative units of the image); ``(i, j)``, the true
        distance between landmarks ``i`` and ``j`` (e.g. the eyes: the
        inter-ocular distance).

    Returns
    -------
    nme : ndarray of shape (n_present,)
        One value per truly present face with at least one visible point and a
        positive normaliser, in the order of ``y_true``.
    """
    y_true, present, err = _point_errors(y_true, y_pred)
    norm = _normaliser(y_true[present], normalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_err = np.nanmean(err, axis=1) if err.size else np.zeros(0)
    ok = np.isfinite(mean_err) & (norm > 0)
    return mean_err[ok] / norm[ok]


def landmark_nme(y_true, y_pred, *, normalize="bbox"):
    """Mean normalised point error over present faces (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    normalize : "bbox", "image" or (i, j), default="bbox"
        See :func:`per_image_nme`.

    Returns
    -------
    nme : float

    Examples
    --------
    >>> from sklocalize.metrics import landmark_nme
    >>> y_true = [[1, .2, .2, .6, .2]]
    >>> y_pred = [[1, .2, .24, .6, .2]]
    >>> round(landmark_nme(y_true, y_pred, normalize=(0, 1)), 3)  # (.04 / 2) / .4
    0.05
    """
    return _mean_or_nan(per_image_nme(y_true, y_pred, normalize=normalize),
                        "landmark_nme")


def landmark_pck(y_true, y_pred, *, threshold=0.1, normalize="bbox"):
    """Percentage of correct keypoints: share of visible points whose error,
    normalised as in :func:`per_image_nme`, is at most ``threshold``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    threshold : float, default=0.1
    normalize : "bbox", "image" or (i, j), default="bbox"

    Returns
    -------
    pck : float
        In [0, 1] (higher is better).
    """
    _check_threshold(threshold)
    y_true, present, err = _point_errors(y_true, y_pred)
    norm = _normaliser(y_true[present], normalize)
    ok = norm > 0
    rel = err[ok] / norm[ok, None]
    rel = rel[np.isfinite(rel)]
    return _mean_or_nan(rel <= threshold, "landmark_pck")


def failure_rate(y_true, y_pred, *, threshold=0.1, normalize="bbox"):
    """Share of present faces whose NME exceeds ``threshold`` (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    threshold : float, default=0.1
    normalize : "bbox", "image" or (i, j), default="bbox"

    Returns
    -------
    rate : float
    """
    _check_threshold(threshold)
    return _mean_or_nan(
        per_image_nme(y_true, y_pred, normalize=normalize) > threshold,
        "failure_rate",
    )


def ced_curve(y_true, y_pred, *, max_error=0.1, n_points=101, normalize="bbox"):
    """Cumulative error distribution of the per-image NME, and its area.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    max_error : float, default=0.1
        The curve runs from 0 to this NME (the usual failure threshold).
    n_points : int, default=101
    normalize : "bbox", "image" or (i, j), default="bbox"

    Returns
    -------
    errors : ndarray of shape (n_points,)
    fraction : ndarray of shape (n_points,)
        Share of faces with NME <= each error.
    auc : float
        Area under the curve divided by ``max_error`` (in [0, 1], higher is
        better).
    """
    _check_threshold(max_error, "max_error")
    if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) \
            or n_points < 2:
        raise ValueError(f"n_points must be an integer of at least 2; got "
                         f"{n_points!r}.")
    nme = per_image_nme(y_true, y_pred, normalize=normalize)
    errors = np.linspace(0, max_error, n_points)
    if len(nme) == 0:
        return errors, np.full(n_points, np.nan), float("nan")
    fraction = (nme[None, :] <= errors[:, None]).mean(axis=1)
    return errors, fraction, float(np.trapezoid(fraction, errors) / max_error)


def landmark_presence_accuracy(y_true, y_pred):
    """Share of images whose face presence (``p``) is predicted right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)

    Returns
    -------
    accuracy : float
    """
    y_true, y_pred = _check_landmarks(y_true, y_pred)
    return float(np.mean(y_true[:, 0] == y_pred[:, 0]))


def masked_landmark_loss(y_true, y_pred):
    """The seed's masked squared error for landmarks (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)

    Returns
    -------
    loss : float
        Per image ``(p - p_hat)^2`` plus, where ``p = 1``, the squared error of
        every visible coordinate; averaged over images.
    """
    y_true, present, _ = _point_errors(y_true, y_pred)
    y_pred = np.nan_to_num(np.asarray(y_pred, dtype=np.float64))
    t = torch.as_tensor(y_pred)
    total, _ = landmark_loss(t[:, 0], t[:, 1:], torch.as_tensor(y_true),
                             loss="squared_error", from_logits=False)
    return float(total)


# --------------------------------------------------------------------------
# scorers


class TargetScorer:
    """A scorer that accepts the tidy DataFrame targets too.

    Built with :func:`sklearn.metrics.make_scorer`; when ``y`` is a DataFrame it
    is first encoded into the seed layout by the (final) estimator's
    ``encode_target``, which knows the classes or landmark names seen at fit.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)`` on seed-layout arrays.
    greater_is_better : bool, default=True
    **kwargs
        Passed to ``score_func``.
    """

    def __init__(self, score_func, *, greater_is_better=True, **kwargs):
        self.score_func = score_func
        self.greater_is_better = greater_is_better
        self.kwargs = kwargs
        self._scorer = make_scorer(score_func, greater_is_better=greater_is_better,
                                   **kwargs)

    def __call__(self, estimator, X, y_true, **kwargs):
        """Score ``estimator`` on ``X`` against ``y_true`` (greater is better).

        Parameters
        ----------
        estimator : fitted estimator or Pipeline
        X : array-like
        y_true : array-like or DataFrame

        Returns
        -------
        score : float
        """
        if isinstance(y_true, pd.DataFrame):
            y_true = final_estimator(estimator).encode_target(y_true)
        return self._scorer(estimator, X, y_true, **kwargs)

    def __repr__(self):
        sign = "" if self.greater_is_better else ", greater_is_better=False"
        return f"TargetScorer({self.score_func.__name__}{sign})"


SCORERS = {
    "iou": TargetScorer(iou_score),
    "neg_masked_loss": TargetScorer(masked_loss, greater_is_better=False),
    "localization_accuracy": TargetScorer(localization_accuracy),
    "presence_accuracy": TargetScorer(presence_accuracy),
    "class_accuracy": TargetScorer(class_accuracy),
    "neg_nme": TargetScorer(landmark_nme, greater_is_better=False),
    "pck": TargetScorer(landmark_pck),
    "neg_failure_rate": TargetScorer(failure_rate, greater_is_better=False),
    "landmark_presence_accuracy": TargetScorer(landmark_presence_accuracy),
    "neg_masked_landmark_loss": TargetScorer(masked_landmark_loss,
                                             greater_is_better=False),
}


def get_scorer_names():
    """The names :func:`get_scorer` accepts.

    Returns
    -------
    names : list of str
    """
    return sorted(SCORERS)


def get_scorer(name):
    """A scorer by name, usable as ``scoring=`` in scikit-learn.

    Parameters
    ----------
    name : str
        One of :func:`get_scorer_names`: ``"iou"``, ``"neg_masked_loss"``,
        ``"localization_accuracy"``, ``"presence_accuracy"``,
        ``"class_accuracy"``, ``"neg_nme"``, ``"pck"``, ``"neg_failure_rate"``,
        ``"landmark_presence_accuracy"``, ``"neg_masked_landmark_loss"``.

    Returns
    -------
    scorer : callable
        ``scorer(estimator, X, y)``, greater is better.

    Examples
    --------
    >>> from sklocalize.metrics import get_scorer
    >>> scorer = get_scorer("iou")
    """
    if name not in SCORERS:
        raise ValueError(
            f"Unknown scorer name {name!r}. Expected one of {get_scorer_names()}."
        )
    return SCORERS[name]
