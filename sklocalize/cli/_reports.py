"""The tables the commands print: true counts and each task's metrics."""

import math

from ._options import (
    _normalization,
)

# --------------------------------------------------------------------------
# counts and tables


def _print_table(title, rows):
    """Print (name, value) rows as an aligned two-column table: ints as
    counts, floats with three decimals (NaN as n/a), strings as they are."""
    import numbers

    def text(value):
        if isinstance(value, str):
            return value
        if isinstance(value, numbers.Integral):
            return str(int(value))
        return "n/a" if math.isnan(value) else f"{value:.3f}"

    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 12))
    for name, value in rows:
        print(f"{name:<{width}}  {text(value):>9}")
    print("-" * (width + 12))


def _presence(y, task, classes=None):
    """Whether each image holds an object, and the label of each that does
    (None for landmarks): from a target DataFrame, or the seed layout with
    ``classes`` (the estimator's)."""
    import numpy as np
    import pandas as pd

    from ..tasks import TASKS

    spec = TASKS[task]
    column = spec.presence_column
    if isinstance(y, pd.DataFrame) and column in y.columns:
        present = y[column].to_numpy(dtype=float) == 1
        labels = (y["label"].to_numpy()[present]
                  if spec.has_classes and "label" in y.columns else None)
        return present, labels
    y = np.asarray(y, dtype=float)
    present = y[:, 0] == 1
    if not spec.has_classes:
        return present, None
    index = np.nan_to_num(y[present, 5:]).argmax(axis=1)
    names = np.asarray(classes, dtype=object) if classes is not None else None
    return present, (names[index] if names is not None else index)


def _class_counts(labels):
    import collections

    counts = collections.Counter(str(label) for label in labels)
    return sorted(counts.items())


def _summary(y, task, classes=None):
    """``"80 with an object (circle 41, square 39) and 20 without"``."""
    present, labels = _presence(y, task, classes)
    text = f"{int(present.sum())} with an object"
    if labels is not None and len(_class_counts(labels)) > 1:
        text += f" ({', '.join(f'{c} {n}' for c, n in _class_counts(labels))})"
    return f"{text} and {int((~present).sum())} without"


def _count_rows(y, task, classes=None):
    """The table rows of the true counts: images, with and without an
    object, and per class."""
    present, labels = _presence(y, task, classes)
    rows = [("images", len(present)), ("  with an object", int(present.sum()))]
    if labels is not None:
        counts = dict(_class_counts(labels))
        names = [str(c) for c in classes] if classes is not None else sorted(counts)
        if len(names) > 1:
            rows += [(f"    {name}", counts.get(name, 0)) for name in names]
    rows.append(("  without an object", int((~present).sum())))
    return rows


def _scores(est, task, normalize=None):
    """``(name, metric)`` pairs of the table of ``est``'s task."""
    from functools import partial

    from .. import metrics

    if task == "localization":
        scores = [
            ("mean IoU", metrics.iou_score),
            ("localization accuracy (IoU>=0.5)", metrics.localization_accuracy),
            ("presence accuracy", metrics.presence_accuracy),
        ]
        if len(est.classes_) > 1:
            scores.append(("class accuracy", metrics.class_accuracy))
        return scores
    norm, label = _normalization(normalize, est.landmark_names_,
                                 est.n_landmarks_)
    return [
        (f"NME ({label})", partial(metrics.landmark_nme, normalize=norm)),
        ("PCK@0.1", partial(metrics.landmark_pck, normalize=norm)),
        ("failure rate (NME > 0.1)", partial(metrics.failure_rate, normalize=norm)),
        ("presence accuracy", metrics.landmark_presence_accuracy),
    ]


def _report(est, X, y, title, *, normalize=None, extra=()):
    """Print the table of the true counts and ``est``'s metrics on ``X, y``."""
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    task = est._task().name
    y_true = est.encode_target(y)
    scores = _scores(est, task, normalize)
    pred = est.predict(X)
    rows = _count_rows(y_true, task, getattr(est, "classes_", None))
    with warnings.catch_warnings():  # an undefined metric reads n/a
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        rows += [(name, metric(y_true, pred)) for name, metric in scores]
    _print_table(title, [*rows, *extra])
