"""Metrics and scorers over the seed layouts.

Every metric is a plain function ``f(y_true, y_pred)`` on arrays in the seed
layouts of :mod:`sklocalize.targets` (``y_pred`` as returned by the estimators'
``predict``). The scorers in :data:`SCORERS` wrap them with
:func:`sklearn.metrics.make_scorer`, so a name such as ``"iou"`` or a dict of
names works as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_validate`. Each scorer belongs to one
task and refuses an estimator fitted for the other.

``y_true`` and ``y_pred`` must have the same shape, and at least one row: an
empty input is a ``ValueError``. A metric that no image qualifies for (no
object present for ``class_accuracy``, say) is NaN, with an
:class:`~sklearn.exceptions.UndefinedMetricWarning`. The scalar metrics take a
``sample_weight`` of shape ``(n_samples,)``: the weighted mean over the images
that qualify (for ``landmark_pck``, each point weighs as its image).

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

import copy
import re
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import make_scorer

from ._validation import check_sample_weight, final_estimator
from .boxes import elementwise_box_iou
from .nn.losses import LandmarkLoss, LocalizationLoss
from .targets import (
    _as_2d_float,
    box_mask,
    check_landmark_target,
    check_localization_target,
)

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


def _check_not_empty(y, name):
    try:
        n_rows = len(y)
    except TypeError:  # a scalar: the layout check says what is wrong
        return
    if n_rows == 0:
        raise ValueError(
            f"{name} is empty: found array with 0 sample(s) (shape="
            f"{tuple(np.shape(y))}) while a minimum of 1 is required."
        )


def _as_pair(y_true, y_pred, layout):
    """``y_true`` and ``y_pred`` as float arrays of one shape.

    A difference in shape is reported with both shapes: neither is assumed to
    be the right one.
    """
    _check_not_empty(y_true, "y_true")
    _check_not_empty(y_pred, "y_pred")
    y_true = _as_2d_float(y_true, "y_true")
    y_pred = _as_2d_float(y_pred, "y_pred")
    if len(y_true) != len(y_pred):
        raise ValueError(
            f"y_true and y_pred must have the same number of rows (one per "
            f"image); got y_true of shape {y_true.shape} and y_pred of shape "
            f"{y_pred.shape}."
        )
    if y_true.shape[1] != y_pred.shape[1]:
        if layout == "localization":
            what, size = "5 + n_classes", (lambda k: f"{k - 5} class(es)")
        else:
            what, size = "1 + 2 * n_landmarks", (lambda k: f"{(k - 1) / 2:g} "
                                                   "landmark(s)")
        raise ValueError(
            f"y_true and y_pred must have the same number of columns ({what}); "
            f"got y_true of shape {y_true.shape} ({size(y_true.shape[1])}) and "
            f"y_pred of shape {y_pred.shape} ({size(y_pred.shape[1])})."
        )
    return y_true, y_pred


def _check_localization(y_true, y_pred):
    y_true, y_pred = _as_pair(y_true, y_pred, "localization")
    y_true = check_localization_target(y_true, name="y_true")
    y_pred = check_localization_target(
        y_pred, n_classes=y_true.shape[1] - 5, name="y_pred", allow_missing_box=False,
        allow_empty_box=True,
    )
    return y_true, y_pred


def _check_landmarks(y_true, y_pred):
    y_true, y_pred = _as_pair(y_true, y_pred, "landmarks")
    y_true = check_landmark_target(y_true, name="y_true")
    y_pred = check_landmark_target(
        y_pred, n_landmarks=(y_true.shape[1] - 1) // 2, name="y_pred"
    )
    return y_true, y_pred


def _check_threshold(threshold, name="threshold"):
    """A positive, finite error threshold (a NaN or negative one would make
    every point wrong, or right, without a word)."""
    number = isinstance(threshold, (int, float, np.number)) and not isinstance(
        threshold, bool)
    if not (number and np.isfinite(threshold) and threshold > 0):
        raise ValueError(f"{name} must be a positive number; got {threshold!r}.")


def _undefined(what, why="no image qualifies", stacklevel=4):
    warnings.warn(f"{what} is undefined: {why}; returning NaN.",
                  UndefinedMetricWarning, stacklevel=stacklevel)
    return float("nan")


def _mean_or_nan(values, what, weights=None):
    """The mean of ``values`` (weighted by ``weights`` if given); NaN, with an
    UndefinedMetricWarning, when there is none to average."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return _undefined(what)
    if weights is None:
        return float(np.mean(values))
    total = np.sum(weights)
    if total == 0:
        return _undefined(what, "the images that qualify have a total "
                                "sample_weight of 0")
    return float(np.sum(values * weights) / total)


# --------------------------------------------------------------------------
# localization


def masked_loss(y_true, y_pred, *, loss="squared_error", sample_weight=None,
                **loss_params):
    """The masked localization loss of a prediction (lower is better).

    Parameters
    ----------
    y_true : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout.
    y_pred : array-like of shape (n_samples, 5 + n_classes)
        The prediction in the same layout; ``p_c`` and the class part may be
        probabilities in [0, 1] (``predict`` gives 0/1 and one-hot).
    loss : {"squared_error", "practical"}, default="squared_error"
        ``"squared_error"``: per image, the squared error over all 5 + K
        entries where ``y_true``'s ``p_c = 1`` and over ``p_c`` alone where it
        is 0, averaged over images. The default because it stays finite on
        ``predict``'s 0/1 and one-hot output, which the cross-entropies of
        ``"practical"`` (see :class:`sklocalize.nn.LocalizationLoss`) would
        clip. ``"seed"`` is its deprecated name.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the loss's means; None weighs all alike.
    **loss_params
        The practical form's other parameters (``box_loss``,
        ``presence_weight``, ``box_weight``, ``class_weight``, ``beta``), with
        the defaults of :class:`~sklocalize.nn.LocalizationLoss`.

    Returns
    -------
    loss : float
        The loss; NaN, with an ``UndefinedMetricWarning``, when the weights
        sum to 0.

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
    y_true, y_pred = _as_pair(y_true, y_pred, "localization")
    y_true = check_localization_target(y_true, name="y_true")
    weights = check_sample_weight(sample_weight, len(y_true))
    present = y_true[:, 0] == 1
    needed = np.concatenate([y_pred[:, :1], y_pred[present, 1:].reshape(-1, 1)])
    if not np.all(np.isfinite(needed)):
        raise ValueError(
            "y_pred has NaN or infinite values where y_true needs them (p_c "
            "everywhere, every entry where y_true's p_c = 1)."
        )
    with np.errstate(invalid="ignore"):  # NaN: a don't-care entry
        outside = (y_pred < 0) | (y_pred > 1)
    rows = np.flatnonzero(outside[:, 0])
    if rows.size:
        raise ValueError(
            f"y_pred's p_c (column 0) must be a probability in [0, 1]; got "
            f"{float(y_pred[rows[0], 0])!r} in row {rows[0]} ({rows.size} row(s) "
            "in all)."
        )
    rows, cols = np.nonzero(outside[:, 5:])
    if rows.size:
        k = y_pred.shape[1] - 5
        raise ValueError(
            f"y_pred's class part (columns 5 to {4 + k}: c_1, ..., c_{k}) must hold "
            f"probabilities in [0, 1]; got {float(y_pred[rows[0], 5 + cols[0]])!r} in "
            f"row {rows[0]}, column {5 + cols[0]} (c_{cols[0] + 1}) "
            f"({rows.size} value(s) outside [0, 1] in all)."
        )
    if weights is not None and weights.sum() == 0:
        return _undefined("masked_loss", "the sample_weight sums to 0", 3)
    extra = {} if weights is None else {"sample_weight": torch.as_tensor(weights)}
    t = torch.as_tensor(np.nan_to_num(y_pred, nan=0.0))
    total, _ = criterion.compute(t[:, 0], t[:, 1:5], t[:, 5:], torch.as_tensor(y_true),
                                 from_logits=False, **extra)
    return float(total)


def per_image_iou(y_true, y_pred):
    """IoU of each image, with presence counted.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout and the prediction.

    Returns
    -------
    iou : ndarray of shape (n_samples,)
        Both absent: 1. Presence mismatch: 0. Both present: the IoU of the
        boxes. NaN where the true box is not annotated.
    """
    y_true, y_pred = _check_localization(y_true, y_pred)
    return _per_image_iou(y_true, y_pred)


def _per_image_iou(y_true, y_pred):
    t_present, p_present = y_true[:, 0] == 1, y_pred[:, 0] == 1
    iou = np.where(t_present == p_present, 1.0, 0.0)
    both = t_present & p_present
    iou[both] = elementwise_box_iou(
        np.nan_to_num(y_true[both, 1:5]), y_pred[both, 1:5], fmt="cxcyhw"
    )
    iou[t_present & ~box_mask(y_true)] = np.nan
    return iou


def _weights_of(weights, mask):
    return None if weights is None else weights[mask]


def iou_score(y_true, y_pred, *, sample_weight=None):
    """Mean intersection over union over images (higher is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout and the prediction.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the mean; None weighs all alike.

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
    y_true, y_pred = _check_localization(y_true, y_pred)
    weights = check_sample_weight(sample_weight, len(y_true))
    iou = _per_image_iou(y_true, y_pred)
    scored = np.isfinite(iou)
    return _mean_or_nan(iou[scored], "iou_score", _weights_of(weights, scored))


def localization_accuracy(y_true, y_pred, *, iou_threshold=0.5, sample_weight=None):
    """Share of images localized and classified right (the ILSVRC criterion).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout and the prediction.
    iou_threshold : float, default=0.5
        The least IoU of a right box.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the share; None weighs all alike.

    Returns
    -------
    accuracy : float
        An image is right when truly absent and predicted absent, or present,
        predicted present, with the right class and ``IoU >= iou_threshold``.
        Images whose true box is not annotated are left out (NaN, with a
        warning, if none is left).

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
    weights = check_sample_weight(sample_weight, len(y_true))
    iou = _per_image_iou(y_true, y_pred)
    same_class = (np.nan_to_num(y_true[:, 5:]).argmax(1) == y_pred[:, 5:].argmax(1))
    right = np.where(y_true[:, 0] == 1, (iou >= iou_threshold) & same_class, iou == 1)
    scored = np.isfinite(iou)
    return _mean_or_nan(right[scored], "localization_accuracy",
                        _weights_of(weights, scored))


def presence_accuracy(y_true, y_pred, *, sample_weight=None):
    """Share of images whose presence (``p_c``) is predicted right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout and the prediction.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the share; None weighs all alike.

    Returns
    -------
    accuracy : float
        In [0, 1] (higher is better).
    """
    y_true, y_pred = _check_localization(y_true, y_pred)
    weights = check_sample_weight(sample_weight, len(y_true))
    return _mean_or_nan(y_true[:, 0] == y_pred[:, 0], "presence_accuracy", weights)


def class_accuracy(y_true, y_pred, *, sample_weight=None):
    """Share of truly present objects whose class is predicted right.

    The class is read from ``y_pred``'s class part whatever its ``p_c``; an
    object predicted absent by ``predict`` has an all-zero class part and so
    counts as wrong.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout and the prediction.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the share; None weighs all alike.

    Returns
    -------
    accuracy : float
        NaN, with a warning, when no object is present.
    """
    y_true, y_pred = _check_localization(y_true, y_pred)
    weights = check_sample_weight(sample_weight, len(y_true))
    present = y_true[:, 0] == 1
    cls_pred = np.nan_to_num(y_pred[present, 5:])
    right = (y_true[present, 5:].argmax(1) == cls_pred.argmax(1)) & (
        cls_pred.max(1) > 0
    )
    return _mean_or_nan(right, "class_accuracy", _weights_of(weights, present))


def iou_success_curve(y_true, y_pred, *, thresholds=None):
    """Share of images with IoU >= t, over thresholds t, and its area.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        The true seed layout and the prediction.
    thresholds : array-like, default=None
        At least two increasing numbers in [0, 1], the curve's points (the
        area needs two). Default: 101 points from 0 to 1.

    Returns
    -------
    thresholds : ndarray of shape (n_thresholds,)
        The thresholds.
    success : ndarray of shape (n_thresholds,)
        The share of images with an IoU of at least each threshold; NaN, with
        a warning, when no image has an annotated true box.
    auc : float
        The area under the curve (trapezoidal), in [0, 1] for thresholds from 0
        to 1: the mean IoU, in the limit of fine thresholds.
    """
    t = np.linspace(0, 1, 101) if thresholds is None else _checked_thresholds(
        thresholds)
    iou = per_image_iou(y_true, y_pred)
    iou = iou[np.isfinite(iou)]
    if len(iou) == 0:
        _undefined("iou_success_curve", stacklevel=3)
        return t, np.full(len(t), np.nan), float("nan")
    success = np.array([np.mean(iou >= v) for v in t])
    return t, success, float(np.trapezoid(success, t) / (t[-1] - t[0]))


def _checked_thresholds(thresholds):
    """``thresholds`` as a float array: at least two increasing numbers in
    [0, 1], or a ValueError saying what was given."""
    try:
        t = np.asarray(thresholds, dtype=float)
    except (TypeError, ValueError):
        t = None
    if (t is None or t.ndim != 1 or len(t) < 2 or not np.isfinite(t).all()
            or (t < 0).any() or (t > 1).any() or (np.diff(t) <= 0).any()):
        raise ValueError("thresholds must be at least two increasing numbers in "
                         f"[0, 1], e.g. np.linspace(0, 1, 101); got {thresholds!r}.")
    return t


# --------------------------------------------------------------------------
# landmarks


def _normaliser(y_true, normalize):
    pts = y_true[:, 1:].reshape(len(y_true), (y_true.shape[1] - 1) // 2, 2)
    if isinstance(normalize, str):
        if normalize == "image":
            return np.ones(len(y_true))
        if normalize == "bbox":
            if pts.shape[1] < 2:
                raise ValueError(
                    "normalize='bbox' needs at least 2 landmarks: the bounding box "
                    "of a single point has no area; y_true has 1 landmark. Use "
                    "normalize='image' to measure the errors relative to the "
                    "image size."
                )
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
    shape = (int(present.sum()), (y_true.shape[1] - 1) // 2, 2)
    t = y_true[present, 1:].reshape(shape)
    p = y_pred[present, 1:].reshape(shape)
    visible = np.isfinite(t).all(axis=2)
    if np.any(visible & ~np.isfinite(p).all(axis=2)):
        raise ValueError(
            "y_pred has NaN or infinite points where y_true has a visible point."
        )
    err = np.linalg.norm(np.where(visible[..., None], p - t, np.nan), axis=2)
    return y_true, y_pred, present, err


def _per_image_nme(y_true, y_pred, normalize):
    """The NME of the faces that have one, and their rows in ``y_true``."""
    y_true, _, present, err = _point_errors(y_true, y_pred)
    norm = _normaliser(y_true[present], normalize)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_err = np.nanmean(err, axis=1) if err.size else np.zeros(0)
    ok = np.isfinite(mean_err) & (norm > 0)
    return mean_err[ok] / norm[ok], np.flatnonzero(present)[ok]


def per_image_nme(y_true, y_pred, *, normalize="bbox"):
    """Normalised mean point error of each truly present face.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    normalize : "bbox", "image" or (i, j), default="bbox"
        The length each image's mean point error is divided by: ``"bbox"``, the
        square root of the area of the true points' bounding box (it needs at
        least 2 landmarks: a ``ValueError`` for one); ``"image"``, nothing
        (errors in relative units of the image); ``(i, j)``, the true
        distance between landmarks ``i`` and ``j`` (e.g. the eyes: the
        inter-ocular distance).

    Returns
    -------
    nme : ndarray of shape (n_present,)
        One value per truly present face with at least one visible point and a
        positive normaliser, in the order of ``y_true``.
    """
    return _per_image_nme(y_true, y_pred, normalize)[0]


def landmark_nme(y_true, y_pred, *, normalize="bbox", sample_weight=None):
    """Mean normalised point error over present faces (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    normalize : "bbox", "image" or (i, j), default="bbox"
        See :func:`per_image_nme`.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the mean; None weighs all alike.

    Returns
    -------
    nme : float
        NaN, with a warning, when no face has an NME (see
        :func:`per_image_nme`).

    Examples
    --------
    >>> from sklocalize.metrics import landmark_nme
    >>> y_true = [[1, .2, .2, .6, .2]]
    >>> y_pred = [[1, .2, .24, .6, .2]]
    >>> round(landmark_nme(y_true, y_pred, normalize=(0, 1)), 3)  # (.04 / 2) / .4
    0.05
    """
    nme, rows = _per_image_nme(y_true, y_pred, normalize)
    weights = check_sample_weight(sample_weight, len(y_true))
    return _mean_or_nan(nme, "landmark_nme", _weights_of(weights, rows))


def landmark_pck(y_true, y_pred, *, threshold=0.1, normalize="bbox",
                 sample_weight=None):
    """Percentage of correct keypoints: share of visible points whose error,
    normalised as in :func:`per_image_nme`, is at most ``threshold``.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    threshold : float, default=0.1
        The largest normalised error of a correct point.
    normalize : "bbox", "image" or (i, j), default="bbox"
        See :func:`per_image_nme`.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight, given to each of its points; None weighs all
        alike.

    Returns
    -------
    pck : float
        In [0, 1] (higher is better); NaN, with a warning, when no point
        qualifies.
    """
    _check_threshold(threshold)
    y_true, _, present, err = _point_errors(y_true, y_pred)
    weights = check_sample_weight(sample_weight, len(y_true))
    norm = _normaliser(y_true[present], normalize)
    ok = norm > 0
    rel = err[ok] / norm[ok, None]
    scored = np.isfinite(rel)
    if weights is not None:
        weights = np.broadcast_to(weights[present][ok][:, None], rel.shape)[scored]
    return _mean_or_nan(rel[scored] <= threshold, "landmark_pck", weights)


def failure_rate(y_true, y_pred, *, threshold=0.1, normalize="bbox",
                 sample_weight=None):
    """Share of present faces whose NME exceeds ``threshold`` (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    threshold : float, default=0.1
        The largest NME of a face that is not a failure.
    normalize : "bbox", "image" or (i, j), default="bbox"
        See :func:`per_image_nme`.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the share; None weighs all alike.

    Returns
    -------
    rate : float
        In [0, 1]; NaN, with a warning, when no face has an NME.
    """
    _check_threshold(threshold)
    nme, rows = _per_image_nme(y_true, y_pred, normalize)
    weights = check_sample_weight(sample_weight, len(y_true))
    return _mean_or_nan(nme > threshold, "failure_rate", _weights_of(weights, rows))


def ced_curve(y_true, y_pred, *, max_error=0.1, n_points=101, normalize="bbox"):
    """Cumulative error distribution of the per-image NME, and its area.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    max_error : float, default=0.1
        The curve runs from 0 to this NME (the usual failure threshold).
    n_points : int, default=101
        The number of errors on the curve.
    normalize : "bbox", "image" or (i, j), default="bbox"
        See :func:`per_image_nme`.

    Returns
    -------
    errors : ndarray of shape (n_points,)
        The errors, from 0 to ``max_error``.
    fraction : ndarray of shape (n_points,)
        Share of faces with NME <= each error; NaN, with a warning, when no
        face has an NME.
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
        _undefined("ced_curve", stacklevel=3)
        return errors, np.full(n_points, np.nan), float("nan")
    fraction = (nme[None, :] <= errors[:, None]).mean(axis=1)
    return errors, fraction, float(np.trapezoid(fraction, errors) / max_error)


def landmark_presence_accuracy(y_true, y_pred, *, sample_weight=None):
    """Share of images whose face presence (``p``) is predicted right.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the share; None weighs all alike.

    Returns
    -------
    accuracy : float
        In [0, 1] (higher is better).
    """
    y_true, y_pred = _check_landmarks(y_true, y_pred)
    weights = check_sample_weight(sample_weight, len(y_true))
    return _mean_or_nan(y_true[:, 0] == y_pred[:, 0], "landmark_presence_accuracy",
                        weights)


def masked_landmark_loss(y_true, y_pred, *, sample_weight=None):
    """The seed's masked squared error for landmarks (lower is better).

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        The true landmark layout and the prediction.
    sample_weight : array-like of shape (n_samples,), default=None
        Each image's weight in the mean; None weighs all alike.

    Returns
    -------
    loss : float
        Per image ``(p - p_hat)^2`` plus, where ``p = 1``, the squared error of
        every visible coordinate; averaged over images. NaN, with a warning,
        when the weights sum to 0.
    """
    y_true, y_pred, _, _ = _point_errors(y_true, y_pred)
    weights = check_sample_weight(sample_weight, len(y_true))
    if weights is not None and weights.sum() == 0:
        return _undefined("masked_landmark_loss", "the sample_weight sums to 0", 3)
    extra = {} if weights is None else {"sample_weight": torch.as_tensor(weights)}
    t = torch.as_tensor(np.nan_to_num(y_pred))
    total, _ = LandmarkLoss(loss="squared_error").compute(
        t[:, 0], t[:, 1:], torch.as_tensor(y_true), from_logits=False, **extra)
    return float(total)


# --------------------------------------------------------------------------
# scorers


_TASKS = {
    "localization": "localization (LocalizerEstimator)",
    "landmarks": "landmarks (LandmarkEstimator)",
}
_METRIC_TASKS = {
    masked_loss: "localization", iou_score: "localization",
    localization_accuracy: "localization", presence_accuracy: "localization",
    class_accuracy: "localization", landmark_nme: "landmarks",
    landmark_pck: "landmarks", failure_rate: "landmarks",
    landmark_presence_accuracy: "landmarks", masked_landmark_loss: "landmarks",
}


def _fitted_final(estimator):
    """The estimator that predicts: the last step of a Pipeline, the best
    estimator of a fitted search."""
    estimator = final_estimator(estimator)
    best = getattr(estimator, "best_estimator_", None)
    return estimator if best is None else _fitted_final(best)


def _estimator_task(estimator):
    """The name of the estimator's task (:mod:`sklocalize.tasks`); for an
    estimator of another package, the task its fitted attributes name (None
    when they say nothing)."""
    task = getattr(estimator, "_task", None)
    if callable(task):
        return task().name
    if hasattr(estimator, "n_landmarks_"):
        return "landmarks"
    if hasattr(estimator, "classes_") or hasattr(estimator, "n_classes_"):
        return "localization"
    return None


def _dataset_targets(dataset):
    """The targets of the estimators' dataset ``dataset`` (through subsets
    and the augmenting wrapper), as a numpy array."""
    index = None
    while getattr(dataset, "dataset", None) is not None:
        indices = getattr(dataset, "indices", None)
        if indices is not None:
            indices = np.asarray(indices)
            index = indices if index is None else indices[index]
        dataset = dataset.dataset
    y = getattr(dataset, "y", None)
    if y is None:
        raise ValueError(
            "y_true is None, and X is not a dataset of targets (the estimators' "
            f"ImageDataset, or a subset of it); got X of type "
            f"{type(dataset).__name__}. Pass the true targets.")
    y = np.asarray(y)
    return y if index is None else y[index]


class TargetScorer:
    """A scorer that accepts the tidy DataFrame targets too.

    Built with :func:`sklearn.metrics.make_scorer`; when ``y`` is a DataFrame it
    is first encoded into the seed layout by the (final) estimator's
    ``encode_target``, which knows the classes or landmark names seen at fit.
    Before scoring it checks that the estimator was fitted for the scorer's
    task and that ``y`` has the number of classes or landmarks seen at fit.
    With scikit-learn's metadata routing enabled, :meth:`set_score_request`
    asks for ``sample_weight`` as for any scikit-learn scorer.

    Parameters
    ----------
    score_func : callable
        ``score_func(y_true, y_pred, **kwargs)`` on seed-layout arrays.
    greater_is_better : bool, default=True
        Whether a higher ``score_func`` is better; if not, the scorer returns
        its negative.
    task : {"localization", "landmarks"}, default=None
        The task ``score_func`` scores; None reads it from the metrics of this
        module, and leaves it unchecked for another function.
    **kwargs
        Passed to ``score_func``.
    """

    def __init__(self, score_func, *, greater_is_better=True, task=None, **kwargs):
        if task is None:
            task = _METRIC_TASKS.get(score_func)
        if task is not None and task not in _TASKS:
            raise ValueError(
                f"task must be one of {sorted(_TASKS)} or None; got {task!r}."
            )
        self.score_func = score_func
        self.greater_is_better = greater_is_better
        self.task = task
        self.kwargs = kwargs
        self._scorer = make_scorer(score_func, greater_is_better=greater_is_better,
                                   **kwargs)

    def _name(self):
        for name, scorer in SCORERS.items():
            if (scorer.score_func is self.score_func and not self.kwargs
                    and scorer.greater_is_better == self.greater_is_better):
                return name
        return getattr(self.score_func, "__name__", repr(self.score_func))

    def _check_estimator(self, estimator):
        task = _estimator_task(estimator)
        if task is None or self.task is None or task == self.task:
            return task
        fitting = sorted(name for name, scorer in SCORERS.items()
                         if scorer.task == task)
        raise ValueError(
            f"The scorer {self._name()!r} scores {_TASKS[self.task]}, but the "
            f"estimator is a {type(estimator).__name__} fitted for {_TASKS[task]}. "
            f"The scorers for {task} are {fitting}."
        )

    def _check_columns(self, estimator, task, y_true):
        try:
            shape = np.shape(y_true)
        except ValueError:  # ragged: the metric says what is wrong
            return
        if len(shape) != 2:
            return
        n_cols, owner = shape[1], type(estimator).__name__
        if task == "localization":
            n_fit = getattr(estimator, "n_classes_", None)
            if n_fit is None:
                n_fit = len(estimator.classes_)
            if n_cols != 5 + n_fit:
                given = f" ({n_cols - 5} class(es))" if n_cols > 5 else ""
                raise ValueError(
                    f"The y given to the scorer {self._name()!r} has {n_cols} "
                    f"columns{given}, while the {owner} was fitted on {n_fit} "
                    f"class(es) (5 + n_classes = {5 + n_fit} columns [p_c, b_x, "
                    "b_y, b_h, b_w, c_1, ..., c_K]). Score it on a y with the "
                    "classes seen at fit."
                )
        elif task == "landmarks":
            n_fit = estimator.n_landmarks_
            if n_cols != 1 + 2 * n_fit:
                given = (f" ({(n_cols - 1) // 2} landmark(s))"
                         if n_cols >= 3 and n_cols % 2 else "")
                raise ValueError(
                    f"The y given to the scorer {self._name()!r} has {n_cols} "
                    f"columns{given}, while the {owner} was fitted on {n_fit} "
                    f"landmark(s) (1 + 2 * n_landmarks = {1 + 2 * n_fit} columns "
                    "[p, x_1, y_1, ..., x_L, y_L]). Score it on a y with the "
                    "landmarks seen at fit."
                )

    def __call__(self, estimator, X, y_true, **kwargs):
        """Score ``estimator`` on ``X`` against ``y_true`` (greater is better).

        Parameters
        ----------
        estimator : fitted estimator or Pipeline
            The estimator to score; its ``predict`` gives ``y_pred``.
        X : array-like
            The images.
        y_true : array-like, DataFrame or None
            The true target, in the seed layout or as a tidy DataFrame. None
            where ``X`` is the estimators' dataset (or a subset of it), as
            skorch's ``EpochScoring(use_caching=False)`` passes it: its
            targets.
        **kwargs
            Metadata for ``score_func``, such as ``sample_weight``.

        Returns
        -------
        score : float
            ``score_func``'s value, negated when lower is better.
        """
        final = _fitted_final(estimator)
        task = self._check_estimator(final)
        if callable(getattr(final, "_check_fitted", None)):
            final._check_fitted()  # NotFittedError, before reading its classes
        if y_true is None:
            y_true = _dataset_targets(X)
        if isinstance(y_true, pd.DataFrame):
            y_true = final.encode_target(y_true)
        self._check_columns(final, task, y_true)
        return self._scorer(estimator, X, y_true, **kwargs)

    def set_score_request(self, **kwargs):
        """Request metadata, such as ``sample_weight``, for scoring.

        Only available with ``sklearn.set_config(enable_metadata_routing=True)``;
        see scikit-learn's metadata routing user guide.

        Parameters
        ----------
        **kwargs
            ``param_name=alias``, ``alias`` one of True, False, None or a str.

        Returns
        -------
        self : TargetScorer
            This scorer, with the request set.
        """
        self._scorer.set_score_request(**kwargs)
        return self

    def get_metadata_routing(self):
        """The metadata this scorer requests (see :meth:`set_score_request`).

        Returns
        -------
        routing : MetadataRequest
            The request of the scorer built by :func:`sklearn.metrics.make_scorer`.
        """
        return self._scorer.get_metadata_routing()

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
        Sorted.
    """
    return sorted(SCORERS)


def get_scorer(name):
    """A scorer by name, usable as ``scoring=`` in scikit-learn.

    Parameters
    ----------
    name : str
        One of :func:`get_scorer_names`: for localization ``"iou"``,
        ``"neg_masked_loss"``, ``"localization_accuracy"``,
        ``"presence_accuracy"``, ``"class_accuracy"``; for landmarks
        ``"neg_nme"``, ``"pck"``, ``"neg_failure_rate"``,
        ``"landmark_presence_accuracy"``, ``"neg_masked_landmark_loss"``.

    Returns
    -------
    scorer : TargetScorer
        ``scorer(estimator, X, y)``, greater is better; a new copy, so that
        :meth:`TargetScorer.set_score_request` leaves :data:`SCORERS` as it is.

    Examples
    --------
    >>> from sklocalize.metrics import get_scorer
    >>> scorer = get_scorer("iou")
    """
    if not isinstance(name, str) or name not in SCORERS:
        raise ValueError(
            f"Unknown scorer name {name!r}. Expected one of {get_scorer_names()}."
        )
    return copy.deepcopy(SCORERS[name])


# the eyes among named points, for the inter-ocular NME


def _eye_side(name):
    """``"left"`` or ``"right"`` for a name of an eye point (``left_eye``,
    ``LeftEye``, ``eye_l``, ``left_eye_center``, ...), else None."""
    words = re.sub(r"([a-z])([A-Z])", r"\1_\2", str(name)).lower()
    words = "_" + re.sub(r"[^a-z0-9]+", "_", words) + "_"
    if re.search(r"brow|lid|lash", words):  # left_eye_brow is no eye
        return None
    for side, short in (("left", "l"), ("right", "r")):
        if re.search(rf"_({side}|{short})_?eyes?_|_eyes?_?({side}|{short})_", words):
            return side
    return None


def _eye_pair(names):
    """The indices of the two eyes among point ``names`` (their centres when
    the eyes have several points, else their outer corners), or None."""
    if not names:
        return None
    sides = {"left": [], "right": []}
    for i, name in enumerate(names):
        side = _eye_side(name)
        if side is not None:
            sides[side].append(i)
    pair = []
    for side in ("left", "right"):
        found = sides[side]
        for word in ("center", "centre", "pupil", "outer"):
            if len(found) <= 1:
                break
            preferred = [i for i in found if word in str(names[i]).lower()]
            found = preferred or found
        if len(found) != 1:
            return None
        pair.append(found[0])
    return tuple(pair)
