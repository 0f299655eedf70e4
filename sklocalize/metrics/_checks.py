"""Input checks and NaN-with-a-warning helpers shared by the metrics."""

import warnings

import numpy as np
from sklearn.exceptions import UndefinedMetricWarning

from ..targets import (
    _as_2d_float,
    check_landmark_target,
    check_localization_target,
)

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


def _weights_of(weights, mask):
    return None if weights is None else weights[mask]
