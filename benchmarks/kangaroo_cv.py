"""The kangaroo folder through the Python API with the recommended settings,
k-fold over its photos.

    make bench-deps      # the ImageNet weights, offline
    python benchmarks/kangaroo_cv.py --data-root ../shared/datasets/kangaroo

The user guide's "Settings for your own photos", as written there: the
pretrained trunk that :func:`sklocalize.recipes.pretrained_backbone` finds,
``load_boxes(..., multiple="largest")`` at its image size, background crops
of the training photos (cut from the original photos), and
``photo_settings("localization", n_images)``; no threshold tuning, no
retraining (``benchmarks/kangaroo.py`` measures the command line, which does
both). The photos are split into ``--folds`` folds (shuffled with seed 0);
fold ``k`` trains with ``random_state=k`` on the other folds and is scored on
its own photos: IoU against each photo's largest kangaroo (0 where the model
says none), and against the kangaroo the box overlaps most. IoU of relative
boxes equals IoU in the photo's pixels (both axes scale alike for both boxes).
"""

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import KFold

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402
from kangaroo import iou_columns, photo_scores, voc_boxes  # noqa: E402

from sklocalize import LocalizerEstimator  # noqa: E402
from sklocalize.datasets import background_crops, load_boxes  # noqa: E402
from sklocalize.recipes import IMAGE_SIZES, photo_settings, pretrained_backbone  # noqa: E402


def relative_boxes(annots, files):
    """Every kangaroo of each photo, relative ``x1, y1, x2, y2``."""
    out = []
    for file in files:
        boxes, (w, h) = voc_boxes(annots / f"{Path(file).stem}.xml")
        out.append(boxes / [w, h, w, h])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "kangaroo_cv.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    annots, images = args.data_root / "annots", args.data_root / "images"
    backbone, _ = pretrained_backbone()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the one truncated photo, skipped
        X, y = load_boxes(annots, images, image_size=IMAGE_SIZES[backbone],
                          multiple="largest", on_error="skip")
    every_box = relative_boxes(annots, y["file"])

    records = []
    folds = KFold(args.folds, shuffle=True, random_state=0).split(X)
    for k, (train, test) in enumerate(folds):
        X_train, y_train = X[train], y.iloc[train].reset_index(drop=True)
        X_bg, y_bg = background_crops(X_train, y_train, images=images,
                                      random_state=k)
        X_fit = np.concatenate([X_train, X_bg])
        y_fit = pd.concat([y_train, y_bg], ignore_index=True)
        settings = photo_settings("localization", len(X_fit), backbone=backbone)
        t0 = time.perf_counter()
        est = LocalizerEstimator(**settings.params, random_state=k).fit(X_fit, y_fit)
        train_s = time.perf_counter() - t0
        pred = est.predict_frame(X[test], box_format="xyxy")
        scores = photo_scores(pred, [every_box[i] for i in test])
        records.append({
            "fold (seed)": k, "new photos": len(test), **iou_columns(scores),
            "train images": len(X_fit),
            "epochs": settings.params["max_epochs"], "train s": train_s})
        print(records_table(records[-1:]), flush=True)

    table = pd.DataFrame(records)
    summary = (f"mean IoU {table['mean IoU'].mean():.3f} (+- "
               f"{table['mean IoU'].std(ddof=0):.3f} over {args.folds} folds; min "
               f"{table['mean IoU'].min():.3f}, max {table['mean IoU'].max():.3f}); "
               f"against any kangaroo {table['IoU, any kangaroo'].mean():.3f}; "
               f"{table['train s'].mean():.0f} s a fit")
    text = "\n".join([
        "# Kangaroo folder through the Python API: the recommended settings, "
        f"{args.folds}-fold", "",
        f"`{command_line(__file__, argv)}`", "",
        f"{machine()}", "",
        f"{settings.describe()}. {len(X)} photos (one truncated photo "
        "skipped), largest kangaroo of each; background crops of the training "
        "folds; `presence_threshold=0.5`.", "",
        records_table(records), "",
        summary + ".", ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
