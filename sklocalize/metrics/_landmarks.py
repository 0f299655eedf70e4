"""Landmark metrics: NME, PCK, failure rate, the CED curve, presence
accuracy and the masked loss; which named points are the eyes."""

import re
import warnings

import numpy as np
import torch

from .._validation import check_sample_weight
from ..nn.losses import LandmarkLoss
from ._checks import (
    _check_landmarks,
    _check_threshold,
    _mean_or_nan,
    _undefined,
    _weights_of,
)

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


def eye_pair(names):
    """The indices of the left and right eye among landmark names.

    What ``normalize=(i, j)`` of the landmark metrics needs for the
    inter-ocular distance, found from names such as ``left_eye``,
    ``LeftEye``, ``eye_l`` or ``right_eye_center`` (eyebrows and eyelids are
    not eyes). Where an eye has several points, its centre (``center``,
    ``centre``, ``pupil``) is taken, else its outer corner.

    Parameters
    ----------
    names : sequence of str or None
        The landmark names, e.g. an estimator's ``landmark_names_``.

    Returns
    -------
    pair : tuple of (int, int) or None
        ``(left, right)``, or None when the names do not single out one point
        for each eye.

    Examples
    --------
    >>> from sklocalize.metrics import eye_pair
    >>> eye_pair(["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"])
    (0, 1)
    >>> eye_pair(["nose", "chin"]) is None
    True
    """
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
