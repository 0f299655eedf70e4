"""Reading annotations, the held-out split, background crops, the
search and the estimator the commands train."""

import math
from pathlib import Path

from ._options import (
    FILE_FORMATS,
    TASK_OPTIONS,
    CommandError,
    RunFailed,
    _epochs,
    _one_line,
    _show_warning,
)

# --------------------------------------------------------------------------
# reading, splitting, fitting


def _check_format(task, fmt):
    formats = FILE_FORMATS[task]
    if fmt not in formats:
        raise CommandError(f"--format {fmt} is not a {task} format; for {task} use "
                           f"{', '.join(formats)}.")


def _point_names(y):
    """The point names of a landmark target DataFrame (None: numbered)."""
    import re

    columns = list(getattr(y, "columns", []))
    if any(re.fullmatch(r"x_[0-9]+", c) for c in columns):
        return None
    names = [c[:-2] for c in columns if c.endswith("_x") and f"{c[:-2]}_y" in columns]
    return names or None


def _read(task, annotations, images, *, fmt="auto", image_size=64, color="rgb",
          multiple="error", landmark_names=None, pixel_offset=None,
          on_error="raise"):
    """Read annotated images for ``task``; also the point names (landmarks)."""
    from ..datasets import load_boxes, load_landmarks

    _check_format(task, fmt)
    if task == "localization":
        X, y = load_boxes(annotations, images, format=fmt, image_size=image_size,
                          multiple=multiple, color=color, on_error=on_error)
        return X, y, None
    X, y = load_landmarks(annotations, images, format=fmt, image_size=image_size,
                          landmark_names=landmark_names, color=color,
                          pixel_offset=pixel_offset or 0.0, multiple=multiple,
                          on_error=on_error)
    return X, y, landmark_names or _point_names(y)


def _split(X, y, task, seed, test_size=0.2):
    """A held-out split (``X_train, X_test, y_train, y_test``), stratified by
    presence and class (localization) or presence (landmarks). An image whose
    class no other image has stays in the training part: the model could
    not know its class."""

    import numpy as np
    from sklearn.model_selection import train_test_split

    from ..model_selection import stratification_labels

    labels = stratification_labels(y, task)
    values, counts = np.unique(labels, return_counts=True)
    alone = np.isin(labels, values[counts < 2])
    rows = np.flatnonzero(~alone)
    n_test = math.ceil(test_size * len(labels))
    if len(labels) - n_test < max(2, n_test // 4):
        raise CommandError(
            f"--holdout {test_size:g} leaves {len(labels) - n_test} of the "
            f"{len(labels)} images to train on; hold out fewer (e.g. --holdout "
            "0.2), or none with --holdout 0.")
    try:
        train, test = train_test_split(rows, test_size=n_test, random_state=seed,
                                       stratify=labels[rows])
    except ValueError:  # fewer held-out images than groups
        train, test = train_test_split(rows, test_size=n_test, random_state=seed)
    train = np.concatenate([train, np.flatnonzero(alone)])

    def take(a, index):
        return a.iloc[index] if hasattr(a, "iloc") else a[index]

    return take(X, train), take(X, test), take(y, train), take(y, test)


def _add_background(X, y, images, seed, quiet=False):
    """``X, y`` with background crops (20% of the rows) as absent images."""
    import numpy as np
    import pandas as pd

    from ..datasets import background_crops

    X_bg, y_bg = background_crops(X, y, images=images, random_state=seed)
    if not quiet:
        print(f"No image without an object among the training images: added "
              f"{len(X_bg)} background crops, cut beside the boxes of as many "
              "training images that hold one object, as images without one "
              "(--no-background turns this off).")
    if not len(X_bg):
        return X, y
    return np.concatenate([X, X_bg]), pd.concat([y, y_bg], ignore_index=True)


def _with_background(task, X, y, args, quiet=False):
    """``X, y`` with background crops added where the task needs them (no
    image is without an object) and the option allows."""
    from ..tasks import TASKS

    spec = TASKS[task]
    if (spec.needs_background and args.no_background is None
            and not (y[spec.presence_column] == 0).any()):
        return _add_background(X, y, args.images, args.seed, quiet)
    return X, y


def _first_error(text):
    """The first ``SomeError: message`` line of sklearn's report of failed
    fits (which holds whole tracebacks), without the module path."""
    import re

    for line in str(text).splitlines():
        match = re.match(r"([A-Za-z_][\w.]*(?:Error|Exception|Warning)): (.*)", line)
        if match:
            return f"{match.group(1).rsplit('.', 1)[-1]}: {match.group(2)}"
    return _one_line(text)[:300]


def _cross_validated(what, run):
    """``run()`` (a grid search or ``cross_validate``), with sklearn's report
    of failed fits, tracebacks and all, cut to one line: a warning when some
    fits failed, :class:`RunFailed` when all did."""
    import warnings

    from sklearn.exceptions import FitFailedWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", FitFailedWarning)
        try:
            result = run()
        except ValueError as exc:
            if "fits failed" not in str(exc):
                raise
            raise RunFailed(f"every fit of the {what} failed; the first error: "
                            f"{_first_error(exc)}") from None
    _replay(caught, what)
    return result


def _replay(caught, what=None):
    """Show recorded warnings, each message once; sklearn's report of failed
    fits as one line."""
    from sklearn.exceptions import FitFailedWarning

    shown = set()
    for w in caught:
        message = _one_line(w.message)
        if issubclass(w.category, FitFailedWarning):
            message = (f"some fits of the {what} failed and score n/a; the first "
                       f"error: {_first_error(w.message)}")
        if message not in shown:
            shown.add(message)
            _show_warning(message, w.category, w.filename, w.lineno)


def _search(est, X, y, task, seed):
    """Grid-search the learning rate (half, the same, twice ``est.lr``) by
    3-fold cross-validation; return the best parameters."""
    import time

    import numpy as np
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    from ..metrics import get_scorer
    from ..model_selection import StratifiedTargetKFold

    grid = {"lr": [est.lr / 2, est.lr, est.lr * 2]}
    from ..tasks import TASKS

    name, scorer, sign = TASKS[task].search_score
    search = GridSearchCV(
        clone(est).set_params(verbose=0), grid,
        cv=StratifiedTargetKFold(3, shuffle=True, random_state=seed, task=task),
        scoring=get_scorer(scorer), refit=False, error_score=np.nan)
    print(f"\nGrid search: 3-fold cross-validation of the learning rates "
          f"{', '.join(f'{lr:g}' for lr in grid['lr'])} on the {len(X)} training "
          f"images, {_epochs(est.max_epochs)} each")
    t0 = time.perf_counter()
    _cross_validated("grid search", lambda: search.fit(X, y))
    results = search.cv_results_
    means, stds = results["mean_test_score"], results["std_test_score"]
    for params, mean, std in zip(results["params"], means, stds):
        score = ("failed" if np.isnan(mean)
                 else f"{name} {sign * mean:.3f} +- {std:.3f}")
        print(f"  lr={params['lr']:g}  {score}")
    if np.isnan(means).all():
        raise RunFailed("every fit of the grid search failed (no learning rate got "
                        "a score).")
    best = results["params"][int(np.nanargmax(means))]
    print(f"Best: lr={best['lr']:g} ({time.perf_counter() - t0:.0f} s)")
    return best


def _backbone(option, weights=None):
    """The trunk ``--backbone`` names (``auto``: the first pretrained trunk
    whose weights are at hand), and one line saying which and why."""
    if weights is not None:
        if option in ("auto", "scratch"):
            raise CommandError(f"--backbone-weights {weights}: name the pretrained "
                               "trunk they are for with --backbone, e.g. "
                               "--backbone mobilenet_v2.")
        if not Path(weights).is_file():
            raise CommandError(f"--backbone-weights {weights}: no such file.")
        return option, f"Trunk: {option}, weights from {weights}."
    if option != "auto":
        return option, f"Trunk: {option} (--backbone {option})."
    from ..recipes import pretrained_backbone

    backbone, where = pretrained_backbone()
    other = ("--backbone scratch trains from random weights" if backbone != "scratch"
             else "--backbone names one")
    return backbone, f"Trunk: {backbone}, {where} ({other})."


def _estimator(task, *, seed, epochs, progress, params=(), settings=None):
    """The estimator of ``task`` with the recipe's parameters (``settings``),
    then ``--epochs`` and the ``--param`` values, set."""
    from .. import LandmarkEstimator, LocalizerEstimator

    cls = {c()._task().name: c for c in (LocalizerEstimator, LandmarkEstimator)}[task]
    est = cls(random_state=seed, verbose=2 if progress else 0,
              **(settings.params if settings is not None else {}))
    if epochs is not None:
        est.set_params(max_epochs=epochs)
    for name, value in params:
        try:
            est.set_params(**{name: value})
        except ValueError:
            raise CommandError(
                f"--param {name}: {type(est).__name__} has no such parameter. Its "
                f"parameters are {', '.join(sorted(est.get_params(deep=False)))}, "
                "and the routed module__*, optimizer__*, criterion__*, "
                "callbacks__<name>__* and iterator_train__*."
            ) from None
    return est


def _load_model(path):
    from .. import load

    if not Path(path).is_file():
        raise CommandError(f"No such model file: {path}.")
    return load(path)


def _color(est):
    return "gray" if est.n_channels_ == 1 else "rgb"


def _options_for(task, args):
    """Refuse an option given that belongs to another task than ``task``
    (``TASK_OPTIONS``)."""
    for other, names in TASK_OPTIONS.items():
        for name in names if other != task else ():
            if getattr(args, name.lstrip("-").replace("-", "_"), None) is not None:
                raise CommandError(f"{name} is for {other}, not {task}.")
