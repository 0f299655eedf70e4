"""Cross-validation for 2-D targets, and the presence threshold.

scikit-learn's :class:`~sklearn.model_selection.StratifiedKFold` refuses the
2-D seed layouts; :class:`StratifiedTargetKFold` stratifies on the label derived
from them (absent, or the class of the present object) and is usable as ``cv=``.
"""

from functools import partial

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedKFold
from sklearn.model_selection._split import _BaseKFold

from .targets import encode_landmark_target, encode_localization_target

__all__ = ["StratifiedTargetKFold", "stratification_labels",
           "tune_presence_threshold"]

TASKS = ("localization", "landmarks")


def stratification_labels(y, task="localization"):
    """The label a split stratifies on.

    Parameters
    ----------
    y : array-like or DataFrame
        A localization target ``(n_samples, 5 + n_classes)`` or a landmark
        target ``(n_samples, 1 + 2 * n_landmarks)``, or their DataFrames.
    task : {"localization", "landmarks"}, default="localization"
        Which target ``y`` is (the task's name, as
        :mod:`sklocalize.tasks` names it).

    Returns
    -------
    labels : ndarray of shape (n_samples,), dtype int
        -1 where no object is present; otherwise the class index
        (localization) or 0 (landmarks).

    Examples
    --------
    >>> from sklocalize.model_selection import stratification_labels
    >>> stratification_labels([[1, .5, .5, .2, .2, 0, 1], [0, 0, 0, 0, 0, 0, 0]])
    array([ 1, -1])
    """
    if task == "localization":
        y, _ = encode_localization_target(y)
        labels = np.nan_to_num(y[:, 5:]).argmax(axis=1)
    elif task == "landmarks":
        y = encode_landmark_target(y)
        labels = np.zeros(len(y), dtype=int)
    else:
        raise ValueError(f"task must be one of {TASKS}; got {task!r}.")
    return np.where(y[:, 0] == 1, labels, -1)


class StratifiedTargetKFold(_BaseKFold):
    """K-fold that keeps the share of absent images and of each class per fold.

    Parameters
    ----------
    n_splits : int, default=5
    shuffle : bool, default=False
    random_state : int, RandomState instance or None, default=None
        Used when ``shuffle=True``.
    task : {"localization", "landmarks"}, default="localization"
        Which target ``y`` is (see :func:`stratification_labels`).

    Examples
    --------
    >>> import numpy as np
    >>> from sklocalize.model_selection import StratifiedTargetKFold
    >>> y = np.zeros((6, 7)); y[:4, 0] = 1; y[:4, 1:5] = .5; y[:4, 5] = 1
    >>> cv = StratifiedTargetKFold(n_splits=2)
    >>> [len(test) for _, test in cv.split(np.zeros((6, 1)), y)]
    [3, 3]
    """

    def __init__(self, n_splits=5, *, shuffle=False, random_state=None,
                 task="localization"):
        super().__init__(n_splits=n_splits, shuffle=shuffle,
                         random_state=random_state)
        self.task = task

    def _iter_test_masks(self, X, y=None, groups=None):
        labels = stratification_labels(y, self.task)
        inner = StratifiedKFold(self.n_splits, shuffle=self.shuffle,
                                random_state=self.random_state)
        for _, test in inner.split(np.zeros(len(labels)), labels):
            mask = np.zeros(len(labels), dtype=bool)
            mask[test] = True
            yield mask

    def split(self, X, y, groups=None):
        """Generate indices to split data into training and test set.

        Parameters
        ----------
        X : array-like of shape (n_samples, ...)
        y : array-like or DataFrame
            The 2-D target.
        groups : None
            Ignored.

        Yields
        ------
        train, test : ndarray
            The indices of each split.
        """
        if y is None:
            raise ValueError(
                "StratifiedTargetKFold needs y to stratify on; got y=None."
            )
        if isinstance(y, pd.DataFrame):
            y = y.reset_index(drop=True)
        return super().split(X, y, groups)


# the presence thresholds tune_presence_threshold tries by default
THRESHOLDS = (0.02, 0.05, *np.round(np.arange(0.1, 0.91, 0.05), 2), 0.95)


def tune_presence_threshold(estimator, X, y, *, scoring=None, thresholds=None):
    """The presence threshold that scores best on held-out images.

    A presence head trained on few images, or on images without an object
    that were made rather than photographed (background crops), is often too
    sure that an object is absent: its probabilities rank the images well,
    while 0.5 cuts them in the wrong place. This scores the fitted
    ``estimator`` on ``X, y`` (images it did not train on, with and without
    an object) at each threshold and returns the best. The estimator is left
    as it was; set the threshold with ``set_params(presence_threshold=...)``.

    Parameters
    ----------
    estimator : LocalizerEstimator or LandmarkEstimator
        Fitted.
    X : array-like of shape (n_samples, n_channels, height, width)
        Held-out images.
    y : array-like or DataFrame
        Their targets.
    scoring : callable, default=None
        ``scoring(estimator, X, y)``, greater is better (a scorer of
        :func:`sklocalize.metrics.get_scorer`, e.g. ``get_scorer("iou")``).
        None uses ``estimator.score``: for the localizer the mean IoU, which
        counts an image whose presence is wrong as 0 and an absent image
        found absent as 1.
    thresholds : array-like of float in (0, 1), default=None
        The thresholds tried; None tries 0.02, 0.05, 0.1 to 0.9 by 0.05, and
        0.95.

    Returns
    -------
    threshold : float
        The best. Where a run of thresholds scores equally best (no held-out
        probability falls between them), the middle one: the widest margin
        on both sides, for images the held-out ones do not show. The
        estimator's own where no threshold has a score (NaN everywhere, e.g.
        a point error on held-out images without a face).
    scores : ndarray of shape (n_thresholds,)
        The score at each threshold, in the order of ``thresholds``.

    Examples
    --------
    >>> from sklocalize import LocalizerEstimator
    >>> from sklocalize.datasets import make_localization
    >>> from sklocalize.model_selection import tune_presence_threshold
    >>> X, y = make_localization(n_samples=60, image_size=16, random_state=0)
    >>> est = LocalizerEstimator(max_epochs=1, module__width=8, random_state=0)
    >>> est = est.fit(X[:40], y[:40])
    >>> threshold, scores = tune_presence_threshold(est, X[40:], y[40:])
    >>> est = est.set_params(presence_threshold=threshold)
    """
    grid = np.asarray(THRESHOLDS if thresholds is None else thresholds,
                      dtype=float)
    if grid.ndim != 1 or not len(grid) or not ((grid > 0) & (grid < 1)).all():
        raise ValueError("thresholds must be a non-empty 1-D array of numbers in "
                         f"(0, 1); got {thresholds!r}.")
    score = estimator.score if scoring is None else partial(scoring, estimator)
    own = estimator.presence_threshold
    scores = []
    try:
        for threshold in grid:
            estimator.set_params(presence_threshold=float(threshold))
            scores.append(score(X, y))
    finally:
        estimator.set_params(presence_threshold=own)
    scores = np.asarray(scores, dtype=float)
    if not np.isfinite(scores).any():  # undefined everywhere: nothing to choose
        return float(own), scores
    best = np.flatnonzero(scores == np.nanmax(scores))
    # the longest run of neighbouring best thresholds (in increasing order),
    # of several the one nearest the estimator's own threshold; its middle
    order = np.argsort(grid)
    is_best = np.isin(order, best)
    runs, start = [], None
    for k, flag in enumerate([*is_best, False]):
        if flag and start is None:
            start = k
        elif not flag and start is not None:
            runs.append(order[start:k])
            start = None
    longest = max(len(run) for run in runs)
    run = min((r for r in runs if len(r) == longest),
              key=lambda r: np.abs(grid[r] - own).min())
    return float(grid[run[(len(run) - 1) // 2]]), scores
