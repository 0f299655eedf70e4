"""How the pretrained trunk's fine-tuning defaults were chosen: short runs on
Caltech-3 (few photos) and LFW (a subset), one setting changed at a time.

    make bench-deps      # the ImageNet weights, offline
    python benchmarks/pretrained_ablation.py \\
        --caltech-root ../shared/datasets/caltech3 \\
        --lfw-root ../shared/datasets/mtfl-lfw

Caltech-3: 50 photos per class (and background crops) from the split of
``benchmarks/pretrained.py``, 64x64, 60 epochs, tested on the whole test
split. LFW: the first 1,000 faces of the shuffled training split of
``benchmarks/landmarks_lfw.py``, 80x80, 10 epochs, tested on its first 400
test faces, as given and zoomed out to 1/2 (``tta_reframe`` 0 and 1). Each row
is ``backbone="mobilenet_v2"`` with the estimators' defaults but the
settings named:

- ``top_down``: ``edge_top_down`` / ``heatmap_top_down`` ``"direct"`` (the
  scratch trunk's) against ``"every_stage"`` (the pretrained default);
- ``backbone_lr_scale`` 0.1, 0.3 against 1.0 (the default);
- ``freeze``: the trunk frozen for the first epochs with skorch's
  ``Freezer`` / ``Unfreezer`` (heads first), then trained at the full rate.

Writes benchmarks/results/pretrained_ablation.md.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from skorch.callbacks import Freezer, Unfreezer

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402
from caltech3 import add_negatives, evaluate, load  # noqa: E402
from landmarks_lfw import FLIP_PAIRS, NAMES, reframe, scores  # noqa: E402
from pretrained import per_class  # noqa: E402

from sklocalize import LandmarkEstimator, LocalizerEstimator  # noqa: E402
from sklocalize.datasets import load_landmarks  # noqa: E402
from sklocalize.targets import (  # noqa: E402
    encode_landmark_target,
    encode_localization_target,
)

# name: (estimator parameters, epochs the trunk is frozen first)
SETTINGS = {
    "defaults": ({}, 0),
    "top_down='direct'": ({"top_down": "direct"}, 0),
    "backbone_lr_scale=0.1": ({"backbone_lr_scale": 0.1}, 0),
    "backbone_lr_scale=0.3": ({"backbone_lr_scale": 0.3}, 0),
    "frozen trunk, first 10% of epochs": ({}, 0.1),
}


def params(settings, epochs, top_down_name):
    kw, frozen = settings
    kw = dict(kw)
    if "top_down" in kw:
        kw[f"module__{top_down_name}"] = kw.pop("top_down")
    if frozen:
        k = max(1, round(frozen * epochs))
        kw["callbacks"] = [Freezer("trunk.*", at=1), Unfreezer("trunk.*", at=k + 1)]
    return {"backbone": "mobilenet_v2", "max_epochs": epochs, "random_state": 0,
            **kw}


def caltech(root, epochs=60, n=50):
    size = (64, 64)
    X, y = load(root, size)
    idx_train, idx_test = train_test_split(
        np.arange(len(y)), test_size=0.2, stratify=y["label"].to_numpy(),
        random_state=0)
    X_test, y_test = add_negatives(X[idx_test], y.iloc[idx_test], size, 0.2, 1)
    rows = idx_train[per_class(y.iloc[idx_train], n, 0)]
    X_tr, y_tr = add_negatives(X[rows], y.iloc[rows], size, 0.2, 0)
    _, classes = encode_localization_target(y_tr)
    yt_test, _ = encode_localization_target(y_test, classes=classes)
    out = []
    for name, settings in SETTINGS.items():
        est = LocalizerEstimator(**params(settings, epochs, "edge_top_down"))
        t0 = time.perf_counter()
        est.fit(X_tr, y_tr)
        seconds = time.perf_counter() - t0
        out.append({"setting": name, **evaluate(yt_test, est.predict(X_test)),
                    "train s": seconds})
        print(out[-1], flush=True)
    return out


def lfw(root, epochs=10, n_train=1000, n_test=400):
    X, frame = load_landmarks(root / "landmarks.txt", root, format="text",
                              image_size=80, landmark_names=NAMES)
    y = encode_landmark_target(frame, landmark_names=NAMES)
    idx_train, idx_test = train_test_split(np.arange(len(X)), test_size=0.2,
                                           random_state=0)
    idx_train, idx_test = idx_train[:n_train], idx_test[:n_test]
    X_test, y_test = X[idx_test], y[idx_test]
    sets = {"as given": (X_test, y_test),
            "zoomed out 1/2": reframe(X_test, y_test, 0.5)}
    out = []
    for name, settings in SETTINGS.items():
        est = LandmarkEstimator(flip_pairs=FLIP_PAIRS, landmark_names=NAMES,
                                **params(settings, epochs, "heatmap_top_down"))
        t0 = time.perf_counter()
        est.fit(X[idx_train], y[idx_train])
        row = {"setting": name}
        seconds = time.perf_counter() - t0
        for passes in (0, 1):
            est.set_params(tta_reframe=passes)
            for label, (Xs, ys) in sets.items():
                nme = scores(ys, est.predict(Xs))["NME (% IOD)"]
                row[f"NME {label}, tta_reframe={passes} (%)"] = nme
        row["train s"] = seconds
        out.append(row)
        print(out[-1], flush=True)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--caltech-root", type=Path, required=True)
    parser.add_argument("--lfw-root", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "pretrained_ablation.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    tables = []
    for title, rows in (("Caltech-3, 50 photos per class, 60 epochs",
                         caltech(args.caltech_root)),
                        ("LFW, 1,000 training faces, 10 epochs",
                         lfw(args.lfw_root))):
        tables.append(f"## {title}\n\n" + records_table(rows))
        print(tables[-1])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Pretrained trunk: fine-tuning settings, one at a time\n\n"
        f"Command: `{command_line(__file__, argv)}`\n\n"
        f"Machine: {machine()}.\n\n"
        "backbone='mobilenet_v2' with the defaults but the setting named; "
        "see the script's docstring for the data.\n\n"
        + "\n\n".join(tables) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
