"""float32 against precision="bfloat16": accuracy and training time of the
scratch trunks on real photos, side by side in one run.

    python benchmarks/precision.py \\
        --caltech-root ../shared/datasets/caltech3 \\
        --lfw-root ../shared/datasets/mtfl-lfw

Caltech-3: the split and background crops of ``benchmarks/caltech3.py``
(stratified 80/20, random_state=0), 64x64, ``--caltech-epochs`` epochs, the
whole test split. LFW: the first ``--lfw-train`` faces of the shuffled
training split of ``benchmarks/landmarks_lfw.py``, 80x80, ``--lfw-epochs``
epochs, its whole test split as given. Each seed of ``--seeds`` trains both
precisions with the estimators' defaults otherwise, so that the difference
between precisions can be read against the difference between seeds.

Writes benchmarks/results/precision.md.
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
from landmarks_lfw import FLIP_PAIRS, NAMES, scores  # noqa: E402

from sklocalize import LandmarkEstimator, LocalizerEstimator  # noqa: E402
from sklocalize.datasets import load_landmarks  # noqa: E402
from sklocalize.targets import (  # noqa: E402
    encode_landmark_target,
    encode_localization_target,
)

PRECISIONS = ("float32", "bfloat16")


def timed_fit(est, X, y):
    t0 = time.perf_counter()
    est.fit(X, y)
    return time.perf_counter() - t0


def caltech(root, epochs, seeds):
    size = (64, 64)
    X, y = load(root, size)
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y["label"].to_numpy(),
        random_state=0)
    X_tr, y_tr = add_negatives(X[idx_train], y.iloc[idx_train], size, 0.2, 0)
    X_te, y_te = add_negatives(X[idx_test], y.iloc[idx_test], size, 0.2, 1)
    _, classes = encode_localization_target(y_tr)
    yt_te, _ = encode_localization_target(y_te, classes=classes)
    rows = []
    for seed in seeds:
        for precision in PRECISIONS:
            est = LocalizerEstimator(max_epochs=epochs, random_state=seed,
                                     precision=precision)
            seconds = timed_fit(est, X_tr, y_tr)
            rows.append({"seed": seed, "precision": precision,
                         **evaluate(yt_te, est.predict(X_te)), "train s": seconds})
            print(rows[-1], flush=True)
    return rows


def lfw(root, epochs, n_train, seeds):
    X, frame = load_landmarks(root / "landmarks.txt", root, format="text",
                              image_size=80, landmark_names=NAMES)
    y = encode_landmark_target(frame, landmark_names=NAMES)
    idx_train, idx_test = train_test_split(np.arange(len(X)), test_size=0.2,
                                           random_state=0)
    idx_train = idx_train[:n_train]
    rows = []
    for seed in seeds:
        for precision in PRECISIONS:
            est = LandmarkEstimator(max_epochs=epochs, random_state=seed,
                                    flip_pairs=FLIP_PAIRS, landmark_names=NAMES,
                                    precision=precision)
            seconds = timed_fit(est, X[idx_train], y[idx_train])
            rows.append({"seed": seed, "precision": precision,
                         **scores(y[idx_test], est.predict(X[idx_test])),
                         "train s": seconds})
            print(rows[-1], flush=True)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caltech-root", type=Path, required=True)
    parser.add_argument("--lfw-root", type=Path, required=True)
    parser.add_argument("--caltech-epochs", type=int, default=30)
    parser.add_argument("--lfw-epochs", type=int, default=20)
    parser.add_argument("--lfw-train", type=int, default=2000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "precision.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tables = []
    for title, rows in (
            (f"Caltech-3, all training photos, 64x64, {args.caltech_epochs} epochs",
             caltech(args.caltech_root, args.caltech_epochs, args.seeds)),
            (f"LFW, {args.lfw_train} training faces, 80x80, {args.lfw_epochs} "
             "epochs, test faces as given",
             lfw(args.lfw_root, args.lfw_epochs, args.lfw_train, args.seeds))):
        tables.append(f"## {title}\n\n" + records_table(rows))
        print(tables[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# float32 against bfloat16 autocast: accuracy and training time\n\n"
        f"Command: `{command_line(__file__, argv)}`\n\n"
        f"Machine: {machine()}.\n\n"
        "The scratch trunks with the estimators' defaults but `precision`; "
        "see the script's docstring for the data.\n\n"
        + "\n\n".join(tables) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
