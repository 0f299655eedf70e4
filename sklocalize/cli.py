"""The ``sklocalize`` command: the demo, and training on your own data.

``sklocalize demo`` (or ``python -m sklocalize demo``) with no arguments
generates data, selects and trains both estimators, prints held-out metrics and
writes pictures of predictions. ``--data FILE --images DIR`` does the same on a
box CSV or a landmark file of your own.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import GridSearchCV, cross_validate, train_test_split

from . import metrics
from .datasets import (
    FACE_FLIP_PAIRS,
    FACE_LANDMARKS,
    load_box_csv,
    load_landmark_file,
    make_landmarks,
    make_localization,
)
from .landmarks import LandmarkEstimator
from .localizer import LocalizerEstimator
from .model_selection import StratifiedTargetKFold, stratification_labels


def _print_table(title, rows):
    """Print (name, value) rows as an aligned two-column table."""
    width = max(len(name) for name, _ in rows)
    print(f"\n{title}")
    print("-" * (width + 12))
    for name, value in rows:
        text = value if isinstance(value, str) else f"{value:.3f}"
        print(f"{name:<{width}}  {text:>9}")
    print("-" * (width + 12))


def _split(X, y, layout, seed):
    labels = stratification_labels(y, layout)
    return train_test_split(X, y, test_size=0.2, random_state=seed,
                            stratify=labels if np.bincount(labels + 1).min() >= 2
                            else None)


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
                        presence_proba=est.predict_proba(X_test[:n])[:, 0])
    fig.suptitle("green dashed: truth, red: prediction", fontsize=9, y=1.02)
    paths = [_save(fig, out / "localization_predictions.png")]
    disp = IoUSuccessDisplay.from_estimator(est, X_test, y_test)
    paths.append(_save(disp.figure_, out / "localization_iou_success.png"))
    return paths


def _pictures_landmarks(est, X_test, y_test, out):
    from .plotting import CEDDisplay, plot_landmarks

    y_true = est.encode_target(y_test)
    n = min(12, len(X_test))
    fig, _ = plot_landmarks(X_test[:n], y_true[:n], est.predict(X_test[:n]))
    fig.suptitle("green: truth, red: prediction, yellow: error", fontsize=9, y=1.02)
    paths = [_save(fig, out / "landmarks_predictions.png")]
    disp = CEDDisplay.from_estimator(est, X_test, y_test)
    paths.append(_save(disp.figure_, out / "landmarks_ced.png"))
    return paths


def _read(args, reader, **kwargs):
    """Read the user's ``--data`` and ``--images`` with ``reader``."""
    X, y = reader(args.data, args.images, image_size=args.image_size, **kwargs)
    print(f"Read {len(X)} images of {X.shape[2]}x{X.shape[3]} px from {args.data}")
    return X, y


def _fit_and_evaluate(est, description, train, test, task, scores):
    """Fit ``est`` on ``train`` (``X, y``) and print a table of its ``scores``
    (``(name, metric)`` pairs) on ``test`` and its training time."""
    (X_train, y_train), (X_test, y_test) = train, test
    print(f"\nTraining {description} for {est.max_epochs} epochs on "
          f"{len(X_train)} images")
    t0 = time.perf_counter()
    est.fit(X_train, y_train)
    seconds = time.perf_counter() - t0
    y_true, pred = est.encode_target(y_test), est.predict(X_test)
    _print_table(f"Held-out {task} metrics ({len(X_test)} images)", [
        *((name, metric(y_true, pred)) for name, metric in scores),
        ("training seconds", f"{seconds:.1f}"),
    ])


def run_localization(args, out):
    """Select, train and evaluate a LocalizerEstimator; return picture paths."""
    if args.data:
        X, y = _read(args, load_box_csv)
        module = {"module__width": 32}
    else:
        X, y = make_localization(n_samples=1500, image_size=32, n_classes=3,
                                 random_state=args.seed, as_frame=True)
        print(f"Generated {len(X)} images of 32x32 px: squares, circles and "
              "triangles on clutter, 20% without an object")
        module = {"module__width": 16}
    X_train, X_test, y_train, y_test = _split(X, y, "localization", args.seed)

    base = LocalizerEstimator(random_state=args.seed, **module)
    search = GridSearchCV(
        base.set_params(max_epochs=3),
        {"box_loss": ["smooth_l1", "giou"], "lr": [1e-3, 3e-3]},
        cv=StratifiedTargetKFold(2, shuffle=True, random_state=args.seed),
        scoring={"iou": metrics.get_scorer("iou"),
                 "loc_acc": metrics.get_scorer("localization_accuracy")},
        refit=False,
    )
    t0 = time.perf_counter()
    search.fit(X_train[:500], y_train[:500])
    print(f"\nGridSearchCV (2 folds, 3 epochs, 500 images) in "
          f"{time.perf_counter() - t0:.0f} s:")
    order = np.argsort(-search.cv_results_["mean_test_iou"])
    for i in order:
        print(f"  {search.cv_results_['params'][i]}  IoU "
              f"{search.cv_results_['mean_test_iou'][i]:.3f}  localization acc "
              f"{search.cv_results_['mean_test_loc_acc'][i]:.3f}")
    best = search.cv_results_["params"][order[0]]

    est = LocalizerEstimator(random_state=args.seed, max_epochs=args.epochs,
                             verbose=2 if args.progress else 0, **module, **best)
    _fit_and_evaluate(est, f"LocalizerEstimator({best})", (X_train, y_train),
                      (X_test, y_test), "localization", [
        ("mean IoU", metrics.iou_score),
        ("localization accuracy (IoU>=0.5)", metrics.localization_accuracy),
        ("presence accuracy", metrics.presence_accuracy),
        ("class accuracy", metrics.class_accuracy),
    ])
    return _pictures_localization(est, X_test, y_test, out)


def run_landmarks(args, out):
    """Cross-validate, train and evaluate a LandmarkEstimator."""
    if args.data:
        X, y = _read(args, load_landmark_file, pixel_offset=args.pixel_offset)
        params = {"module__width": 32}
    else:
        X, y = make_landmarks(n_samples=1500, image_size=32, random_state=args.seed)
        print(f"Generated {len(X)} synthetic faces of 32x32 px with "
              f"{len(FACE_LANDMARKS)} landmarks ({', '.join(FACE_LANDMARKS)}), "
              "20% without a face")
        params = {"module__width": 16, "flip_pairs": list(FACE_FLIP_PAIRS),
                  "landmark_names": list(FACE_LANDMARKS)}
    X_train, X_test, y_train, y_test = _split(X, y, "landmarks", args.seed)

    scoring = {name: metrics.get_scorer(name)
               for name in ("neg_nme", "pck", "neg_failure_rate")}
    t0 = time.perf_counter()
    cv = cross_validate(
        LandmarkEstimator(random_state=args.seed, max_epochs=3, **params),
        X_train[:600], y_train[:600], cv=3, scoring=scoring)
    print(f"\ncross_validate (3 folds, 3 epochs, 600 images) in "
          f"{time.perf_counter() - t0:.0f} s: NME "
          f"{-cv['test_neg_nme'].mean():.3f} +- {cv['test_neg_nme'].std():.3f}, "
          f"PCK {cv['test_pck'].mean():.3f}")

    est = LandmarkEstimator(random_state=args.seed, max_epochs=args.epochs,
                            batch_size=32, verbose=2 if args.progress else 0,
                            **params)
    _fit_and_evaluate(est, "LandmarkEstimator", (X_train, y_train), (X_test, y_test),
                      "landmark", [
        ("NME (face-box normalised)", metrics.landmark_nme),
        ("PCK@0.1", metrics.landmark_pck),
        ("failure rate (NME > 0.1)", metrics.failure_rate),
        ("presence accuracy", metrics.landmark_presence_accuracy),
    ])
    return _pictures_landmarks(est, X_test, y_test, out)


def demo(args):
    """Run the demo; return the exit code."""
    import matplotlib

    matplotlib.use("Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    task = args.task
    if args.data:
        if args.images is None:
            print("error: --data needs --images, the folder of the images",
                  file=sys.stderr)
            return 2
        if task == "both":
            task = "localization" if str(args.data).endswith(".csv") else "landmarks"
    started = time.perf_counter()
    pictures = []
    if task in ("localization", "both"):
        print("=== Classification with localization ===")
        pictures += run_localization(args, out)
    if task in ("landmarks", "both"):
        print("\n=== Landmark detection ===")
        pictures += run_landmarks(args, out)
    print(f"\nPictures of predictions beside the ground truth written to {out}/:")
    for path in pictures:
        print(f"  {path}")
    print(f"Done in {time.perf_counter() - started:.0f} s.")
    return 0


def build_parser():
    """The argument parser of the ``sklocalize`` command."""
    parser = argparse.ArgumentParser(
        prog="sklocalize",
        description="scikit-learn estimators for localization and landmarks.")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("demo", help="train and evaluate on generated data (or "
                                    "yours, with --data and --images)")
    p.add_argument("--task", choices=["localization", "landmarks", "both"],
                   default="both")
    p.add_argument("--data", help="a box CSV (file,x1,y1,x2,y2,label) or a "
                                  "landmark file (file x_1..x_L y_1..y_L)")
    p.add_argument("--images", help="the folder of the images named in --data")
    p.add_argument("--image-size", type=int, default=64,
                   help="resize your images to this many pixels a side "
                        "(default 64)")
    p.add_argument("--pixel-offset", type=float, default=0.0,
                   help="for a landmark file: added to its coordinates before "
                        "scaling (0.5 for 0-based pixel indices; default 0: "
                        "0 is the image's left/top edge)")
    p.add_argument("--epochs", type=int, default=15,
                   help="training epochs of the final model (default 15)")
    p.add_argument("--out", default="sklocalize-demo",
                   help="folder for the pictures (default ./sklocalize-demo)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-progress", dest="progress", action="store_false",
                   help="no progress bar")
    return parser


def main(argv=None):
    """Entry point of the ``sklocalize`` command."""
    args = build_parser().parse_args(argv)
    if args.epochs < 1:
        print("error: --epochs must be at least 1", file=sys.stderr)
        return 2
    return demo(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
