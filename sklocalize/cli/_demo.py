"""``sklocalize demo``: the whole job on generated data (or ``--data``)."""

from pathlib import Path

from ._data import (
    _add_background,
    _cross_validated,
    _point_names,
    _read,
    _replay,
    _split,
)
from ._options import (
    FILE_FORMATS,
    TASKS,
    CommandError,
    RunFailed,
    _ced_max_error,
    _epochs,
    _normalization,
)
from ._reports import (
    _presence,
    _report,
    _summary,
)

# --------------------------------------------------------------------------
# the demo


def _save(fig, path):
    fig.savefig(path, dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _pictures_localization(est, X_test, y_test, out):
    from ..plotting import IoUSuccessDisplay, plot_boxes

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

    from ..metrics import per_image_nme
    from ..plotting import CEDDisplay, plot_landmarks

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

    from .. import LocalizerEstimator, metrics
    from ..datasets import make_localization
    from ..model_selection import StratifiedTargetKFold

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

    from .. import LandmarkEstimator, metrics
    from ..datasets import FACE_FLIP_PAIRS, FACE_LANDMARKS, make_landmarks

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
