"""Pretrained (ImageNet MobileNetV2) against scratch trunks on Caltech-3, by
training-set size.

    make bench-deps      # the ImageNet weights, offline
    python benchmarks/pretrained.py --data-root ../shared/datasets/caltech3

The split, the background crops and the metrics are those of
``benchmarks/caltech3.py`` (stratified 80/20, random_state=0; about 20%
background crops per split). Each training set takes ``n`` photos per class
from the training split (``all`` for every one), plus background crops of
about 20% of them; every row is tested on the whole test split. A smaller
set trains for more epochs (``--epochs`` times ``min(4, all / n)``), so that
it is not starved of steps. Both trunks run with the estimator's defaults
otherwise, side by side in one run.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402
from caltech3 import add_negatives, evaluate, load  # noqa: E402

from sklocalize import LocalizerEstimator  # noqa: E402
from sklocalize.targets import encode_localization_target  # noqa: E402


def per_class(y, n, seed):
    """Row positions of up to ``n`` photos of each class (all for None)."""
    rng = np.random.RandomState(seed)
    keep = []
    for label in sorted(y["label"].unique()):
        rows = np.flatnonzero(y["label"].to_numpy() == label)
        keep.append(rows if n is None else rng.choice(rows, min(n, len(rows)),
                                                      replace=False))
    return np.sort(np.concatenate(keep))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", type=Path, required=True)
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=30,
                        help="epochs on the whole training split")
    parser.add_argument("--per-class", nargs="+", default=["50", "100", "200", "all"])
    parser.add_argument("--backbones", nargs="+",
                        default=["scratch", "mobilenet_v2"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "pretrained_caltech3.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    size = (args.image_size, args.image_size)

    X, y = load(args.data_root, size)
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y["label"].to_numpy(),
        random_state=0)
    X_test, y_test = add_negatives(X[idx_test], y.iloc[idx_test], size, 0.2,
                                   args.seed + 1)
    n_all = len(idx_train)
    results = []
    for n in args.per_class:
        count = None if n == "all" else int(n)
        rows = idx_train[per_class(y.iloc[idx_train], count, args.seed)]
        X_tr, y_tr = add_negatives(X[rows], y.iloc[rows], size, 0.2, args.seed)
        epochs = args.epochs * min(4, max(1, round(n_all / len(rows))))
        yt_train, classes = encode_localization_target(y_tr)
        yt_test, _ = encode_localization_target(y_test, classes=classes)
        for backbone in args.backbones:
            est = LocalizerEstimator(backbone=backbone, max_epochs=epochs,
                                     random_state=args.seed)
            t0 = time.perf_counter()
            est.fit(X_tr, y_tr)
            seconds = time.perf_counter() - t0
            row = {"photos per class": n, "train images": len(X_tr),
                   "epochs": epochs, "backbone": backbone,
                   **evaluate(yt_test, est.predict(X_test)), "train s": seconds}
            results.append(row)
            print(row, flush=True)
    table = records_table(results)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Caltech-3: pretrained MobileNetV2 against the scratch trunk\n\n"
        f"Command: `{command_line(__file__, argv)}`\n\n"
        f"Machine: {machine()}.\n\n"
        f"{args.image_size}x{args.image_size} RGB; the test split of "
        f"benchmarks/caltech3.py ({len(X_test)} images). The defaults of "
        "LocalizerEstimator but for backbone and max_epochs.\n\n"
        f"{table}\n\n"
        "Images: Caltech-101 (Fei-Fei, Fergus, Perona, 2004), CC BY 4.0.\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
