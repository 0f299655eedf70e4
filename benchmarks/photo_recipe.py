"""The recipe for real photos (``sklocalize.recipes.photo_settings``) on
Caltech-3, by training-set size, over seeds.

    make bench-deps      # the ImageNet weights, offline
    python benchmarks/photo_recipe.py --data-root ../shared/datasets/caltech3

The split, the background crops and the metrics are those of
``benchmarks/pretrained.py`` (stratified 80/20 of the photos, random_state=0;
about 20% background crops per split; the test split's crops fixed), so the
rows compare with its results. Each training set takes ``n`` photos per class
from the training split (``all`` for every one), drawn with the seed, plus
background crops of about 20% of them; each row is the recipe's estimator
(``photo_settings("localization", n_images, backbone=...)``, its ``random_state``
the seed) tested on the whole test split. ``--baseline`` adds the estimator's
defaults at the same size and epochs as ``benchmarks/pretrained.py`` ran them.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402
from caltech3 import add_negatives, evaluate, load  # noqa: E402
from pretrained import per_class  # noqa: E402

from sklocalize import LocalizerEstimator  # noqa: E402
from sklocalize.recipes import IMAGE_SIZES, photo_settings  # noqa: E402
from sklocalize.targets import encode_localization_target  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--backbone", default="mobilenet_v2")
    parser.add_argument("--per-class", nargs="+", default=["50"])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--baseline", action="store_true",
                        help="also the estimator's defaults, 30 epochs times "
                             "min(4, all / n) as in benchmarks/pretrained.py")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "photo_recipe_caltech3.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    image_size = IMAGE_SIZES[args.backbone]
    size = (image_size, image_size)

    X, y = load(args.data_root, size)
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y["label"].to_numpy(),
        random_state=0)
    X_test, y_test = add_negatives(X[idx_test], y.iloc[idx_test], size, 0.2, 1)
    records = []
    for n in args.per_class:
        count = None if n == "all" else int(n)
        for seed in args.seeds:
            rows = idx_train[per_class(y.iloc[idx_train], count, seed)]
            X_tr, y_tr = add_negatives(X[rows], y.iloc[rows], size, 0.2, seed)
            yt_train, classes = encode_localization_target(y_tr)
            yt_test, _ = encode_localization_target(y_test, classes=classes)
            settings = photo_settings("localization", len(X_tr),
                                      backbone=args.backbone)
            models = {"recipe": LocalizerEstimator(**settings.params,
                                                   random_state=seed)}
            if args.baseline:
                epochs = 30 * min(4, max(1, round(len(idx_train) / len(rows))))
                models["defaults"] = LocalizerEstimator(
                    backbone=args.backbone, max_epochs=epochs, random_state=seed)
            for name, est in models.items():
                t0 = time.perf_counter()
                est.fit(X_tr, y_tr)
                seconds = time.perf_counter() - t0
                record = {"photos per class": n, "settings": name, "seed": seed,
                          "train images": len(X_tr), "epochs": est.max_epochs,
                          **evaluate(yt_test, est.predict(X_test)),
                          "train s": seconds}
                records.append(record)
                print(records_table([record]), flush=True)
    table = pd.DataFrame(records)
    summary = []
    for (n, name), group in table.groupby(["photos per class", "settings"],
                                          sort=False):
        iou = group["mean IoU (present)"]
        summary.append({"photos per class": n, "settings": name,
                        "seeds": len(group), "mean IoU (present)": iou.mean(),
                        "+- (std over seeds)": iou.std(ddof=0),
                        "class acc": group["class acc"].mean(),
                        "presence acc": group["presence acc"].mean(),
                        "train s": group["train s"].mean()})
    text = "\n".join([
        f"# Caltech-3: the photo recipe ({args.backbone}, {image_size} px)", "",
        f"`{command_line(__file__, argv)}`", "", machine(), "",
        f"The test split of benchmarks/pretrained.py ({len(X_test)} images, "
        "crops included); the recipe: "
        f"`photo_settings('localization', n_images, backbone='{args.backbone}')`.",
        "", "## Mean over seeds", "", records_table(summary), "",
        "## Each run", "", records_table(records), "",
        "Images: Caltech-101 (Fei-Fei, Fergus, Perona, 2004), CC BY 4.0.", ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
