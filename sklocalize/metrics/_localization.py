"""Localization metrics: the masked loss, IoU, localization, presence and
class accuracy, the IoU success curve."""


import numpy as np
import torch

from .._validation import check_sample_weight
from ..boxes import elementwise_box_iou
from ..nn.losses import LocalizationLoss
from ..targets import (
    box_mask,
    check_localization_target,
)
from ._checks import (
    _as_pair,
    _check_localization,
    _mean_or_nan,
    _undefined,
    _weights_of,
)

_LOSS_PARAMS = ("box_loss", "presence_weight", "box_weight", "class_weight", "beta")


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
        clip.
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
