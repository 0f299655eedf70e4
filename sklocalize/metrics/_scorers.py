"""Scorers: :class:`TargetScorer`, :data:`SCORERS` and their lookup."""

import copy

import numpy as np
import pandas as pd
from sklearn.metrics import make_scorer

from .._validation import final_estimator
from ._landmarks import (
    failure_rate,
    landmark_nme,
    landmark_pck,
    landmark_presence_accuracy,
    masked_landmark_loss,
)
from ._localization import (
    class_accuracy,
    iou_score,
    localization_accuracy,
    masked_loss,
    presence_accuracy,
)

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
