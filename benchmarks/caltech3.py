"""Caltech-3 (airplanes, faces, motorcycles): classification with localization.

    python benchmarks/caltech3.py --data-root ../shared/datasets/caltech3

Stratified 80/20 split (random_state=0) of the 2,033 photos, resized to 64x64
RGB, read with ``sklocalize.datasets.load_boxes``. Negatives for presence
(p_c = 0): for about 20% of the images of each split, a crop of the widest
background region beside, above or below the box (never overlapping it), with
the image's aspect ratio, cut from the original photo and resized the same way
(``sklocalize.datasets.background_crops``).
Compared on the same split, in one run:

- sklocalize LocalizerEstimator with its defaults (``max_epochs`` set here),
  and the same model predicted without its test-time flip;
- the same estimator with the seed's textbook settings (``loss="squared_error"``, no
  augmentation);
- a classical scikit-learn pipeline: HOG features (scikit-image) + Ridge for
  the box + LogisticRegression for the class (with "absent" as a class).

``--seeds 0 1 2`` trains each CNN once per seed (its ``random_state``; the
split and the background crops stay the same) and adds the mean over seeds:
single runs differ by one to three test images, so ``caltech3.md`` reports
the mean of three.

Writes benchmarks/results/caltech3.md. Caltech-101: Fei-Fei, Fergus and Perona
(2004), CC BY 4.0.
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402

from sklocalize import LocalizerEstimator  # noqa: E402
from sklocalize.datasets import (  # noqa: E402
    SkippedRowWarning,
    background_crops,
    load_boxes,
)
from sklocalize.metrics import (  # noqa: E402
    class_accuracy,
    localization_accuracy,
    per_image_iou,
    presence_accuracy,
)
from sklocalize.targets import encode_localization_target  # noqa: E402

CLASSES = ("airplane", "face", "motorcycle")


def load(root, size):
    """All photos (uint8) and their tidy targets, with the source image paths."""
    Xs, ys = [], []
    for cls in CLASSES:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SkippedRowWarning)
            X, y = load_boxes(root / "annotations" / f"{cls}.csv",
                              root / "images" / cls, image_size=size)
        for w in caught:
            print(f"  warning: {w.message}")
        y["path"] = [str(root / "images" / cls / f) for f in y["file"]]
        Xs.append(X)
        ys.append(y)
    return np.concatenate(Xs), pd.concat(ys, ignore_index=True)


def add_negatives(X, y, size, share, seed):
    """Append background crops of about ``share`` of the images as p_c = 0,
    cut from the original photos (``size`` is that of ``X``)."""
    if tuple(size) != X.shape[2:]:
        raise ValueError(f"size {size} is not the size of X, {X.shape[2:]}.")
    X_bg, y_bg = background_crops(X, y, images=y["path"], share=share,
                                  random_state=seed)
    y_bg["path"] = y.loc[y_bg.index, "path"].to_numpy()
    return (np.concatenate([X, X_bg]),
            pd.concat([y, y_bg], ignore_index=True))


def evaluate(y_true, y_pred):
    iou = per_image_iou(y_true, y_pred)
    present = y_true[:, 0] == 1
    return {
        "class acc": class_accuracy(y_true, y_pred),
        "mean IoU (present)": float(np.nanmean(iou[present])),
        "IoU>=0.5 (present)": float(np.mean(iou[present] >= 0.5)),
        "localization acc": localization_accuracy(y_true, y_pred),
        "presence acc": presence_accuracy(y_true, y_pred),
    }


def hog_features(X):
    from skimage.feature import hog

    gray = X.astype(np.float32).mean(axis=1) / 255.0
    return np.stack([hog(g, orientations=9, pixels_per_cell=(8, 8),
                         cells_per_block=(2, 2)) for g in gray])


def hog_peer(X_train, y_train, X_test, n_classes):
    """HOG + Ridge (box) + LogisticRegression (class, with 'absent')."""
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    F_train, F_test = hog_features(X_train), hog_features(X_test)
    present = y_train[:, 0] == 1
    labels = np.where(present, np.nan_to_num(y_train[:, 5:]).argmax(1), n_classes)
    clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=2000))
    clf.fit(F_train, labels)
    reg = make_pipeline(StandardScaler(), Ridge(alpha=100.0))
    reg.fit(F_train[present], y_train[present, 1:5])
    cls = clf.predict(F_test)
    box = np.clip(reg.predict(F_test), 1e-3, 1)
    pred = np.zeros((len(X_test), 5 + n_classes))
    on = cls != n_classes
    pred[on, 0] = 1
    pred[on, 1:5] = box[on]
    pred[np.flatnonzero(on), 5 + cls[on]] = 1
    return pred


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, type=Path)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--negatives", type=float, default=0.2,
                        help="share of images that give a background crop")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the background crops (the test split's "
                             "use seed + 1), and the CNNs' random_state unless "
                             "--seeds is given")
    parser.add_argument("--seeds", type=int, nargs="+", default=None,
                        help="train the CNNs once per seed (their random_state; "
                             "the split and crops stay those of --seed) and "
                             "add a row of the mean over seeds")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["default", "seed", "hog"])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "caltech3.md")
    args = parser.parse_args(argv)
    if not args.data_root.is_dir():
        parser.error(f"--data-root {args.data_root} is not a folder; see "
                     "../shared/datasets/README.md")
    torch.set_num_threads(args.threads)
    size = (args.image_size, args.image_size)

    t0 = time.perf_counter()
    X, y = load(args.data_root, size)
    labels = y["label"].to_numpy()
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.2,
                                           stratify=labels, random_state=0)
    X_train, y_train = add_negatives(X[idx_train], y.iloc[idx_train], size,
                                     args.negatives, args.seed)
    X_test, y_test = add_negatives(X[idx_test], y.iloc[idx_test], size,
                                   args.negatives, args.seed + 1)
    yt_train, classes = encode_localization_target(y_train)
    yt_test, _ = encode_localization_target(y_test, classes=classes)
    print(f"Loaded in {time.perf_counter() - t0:.0f} s: train {len(X_train)} "
          f"({int((yt_train[:, 0] == 0).sum())} negatives), test {len(X_test)} "
          f"({int((yt_test[:, 0] == 0).sum())} negatives)")

    seeds = args.seeds if args.seeds is not None else [args.seed]
    cnns = {  # --skip key: (row name, settings besides max_epochs and the seed)
        "default": ("sklocalize defaults", {}),
        "seed": ("sklocalize textbook settings (loss='squared_error', no "
                 "augmentation)",
                 {"loss": "squared_error", "augment": None, "tta_flip": False}),
    }
    runs = [(name, seed, settings) for key, (name, settings) in cnns.items()
            if key not in args.skip for seed in seeds]
    results, by_name = [], {}
    for name, seed, settings in runs:
        est = LocalizerEstimator(max_epochs=args.epochs, random_state=seed,
                                 **settings)
        t0 = time.perf_counter()
        est.fit(X_train, y_train)
        seconds = time.perf_counter() - t0
        rows = [(name, evaluate(yt_test, est.predict(X_test)))]
        if name == "sklocalize defaults":  # the same model, test-time flip off
            est.set_params(tta_flip=False)
            rows.append((name + ", tta_flip=False",
                         evaluate(yt_test, est.predict(X_test))))
        for row_name, scores in rows:
            suffix = f" (seed {seed})" if len(seeds) > 1 else ""
            results.append({"model": row_name + suffix, **scores,
                            "train s": seconds})
            by_name.setdefault(row_name, []).append(results[-1])
            print(results[-1], flush=True)
    if len(seeds) > 1:  # the mean over seeds, after each model's own rows
        for row_name, rows in by_name.items():
            mean = {k: float(np.mean([r[k] for r in rows])) for k in rows[0]
                    if k != "model"}
            results.append({"model": f"{row_name} (mean of {len(rows)} seeds)",
                            **mean})
            print(results[-1], flush=True)
    if "hog" not in args.skip:
        t0 = time.perf_counter()
        pred = hog_peer(X_train, yt_train, X_test, len(classes))
        results.append({"model": "HOG + Ridge + LogisticRegression",
                        **evaluate(yt_test, pred),
                        "train s": time.perf_counter() - t0})
        print(results[-1], flush=True)

    table = records_table(results)
    print(table)
    command = command_line(__file__, argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Caltech-3: classification with localization\n\n"
        f"Command: `{command}`\n\n"
        f"Machine: {machine()}.\n\n"
        f"Split: stratified 80/20 (random_state=0) of the photos, "
        f"{args.image_size}x{args.image_size} RGB; train {len(X_train)} images, "
        f"test {len(X_test)} images, of which "
        f"{int((yt_test[:, 0] == 0).sum())} background crops (p_c = 0). "
        f"{args.epochs} epochs for the CNNs"
        + (f", each trained with random_state {', '.join(map(str, seeds))}"
           if len(seeds) > 1 else "")
        + ". IoU columns are over truly present "
        "objects; localization accuracy counts absent images too.\n\n"
        f"{table}\n\n"
        "Images: Caltech-101 (Fei-Fei, Fergus, Perona, 2004), CC BY 4.0.\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
