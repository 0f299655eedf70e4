"""LFW faces framed as other face detectors frame them, and tilted: the
landmark estimator's defaults over seeds.

    python benchmarks/landmarks_framing.py --data-root ../shared/datasets/mtfl-lfw

The split of ``benchmarks/landmarks_lfw.py`` (80/20, random_state=0, 80x80
RGB). For each seed, ``LandmarkEstimator`` with its defaults (``flip_pairs``
for the eyes and mouth corners, ``max_epochs`` and ``random_state`` set here,
plus ``--param name=value`` for an experiment) trains on the training split
and predicts the test faces:

- as given;
- zoomed in 1.5x and 2x (cropped to the frame, as a detector that frames
  faces tighter; points pushed out are not visible and not scored);
- zoomed out to 1/1.5 and 1/2 (padded with the image mean, as a looser
  detector);
- rotated by 30 and 45 degrees about the image centre (half of the faces
  each way);
- shifted by 10% of the image in x and y.

Metrics: NME (mean point error over the inter-ocular distance, %), failures
(faces above 10%, %), and ``predict``'s milliseconds per face. With
``--tta-reframe`` the same fitted model also predicts with those numbers of
re-framing passes.

Writes benchmarks/results/landmarks_framing.md (``--out``).
"""

import argparse
import ast
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, records_table  # noqa: E402
from landmarks_lfw import FLIP_PAIRS, NAMES, scores  # noqa: E402

from sklocalize import LandmarkEstimator  # noqa: E402
from sklocalize.augment import affine_transform  # noqa: E402
from sklocalize.datasets import load_landmarks  # noqa: E402
from sklocalize.geometry import affine_matrix  # noqa: E402
from sklocalize.targets import encode_landmark_target  # noqa: E402
from sklocalize.tasks import LandmarkTask  # noqa: E402

TASK = LandmarkTask(len(NAMES), FLIP_PAIRS)


def warped(X, y, scale=1.0, angle=None, shift=None):
    """uint8 faces and relative targets moved by a zoom, rotation (radians,
    one per face) and shift (one per face)."""
    n = len(X)
    Xt, yt = torch.from_numpy(X).float(), torch.from_numpy(y).float()
    matrix = affine_matrix(torch.full((n,), float(scale)), angle, X.shape[-2:])
    shift = torch.zeros(n, 2) if shift is None else torch.as_tensor(shift).float()
    Xo, yo = affine_transform(Xt, yt, TASK, matrix, shift)
    return Xo.round().clamp(0, 255).to(torch.uint8).numpy(), yo.double().numpy()


def test_sets(X, y):
    rng = np.random.RandomState(0)
    sign = rng.choice([-1.0, 1.0], size=len(X))
    sets = {"as given": (X, y)}
    for label, scale in (("zoomed in 1.5x", 1.5), ("zoomed in 2x", 2.0),
                         ("zoomed out 1/1.5", 1 / 1.5), ("zoomed out 1/2", 0.5)):
        sets[label] = warped(X, y, scale)
    for degrees in (30, 45):
        sets[f"rotated {degrees} deg"] = warped(
            X, y, angle=torch.from_numpy(sign * np.deg2rad(degrees)).float())
    sets["shifted 10%"] = warped(X, y, shift=rng.choice([-0.1, 0.1], size=(len(X), 2)))
    return sets


def parse_params(pairs):
    params = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, type=Path)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--param", action="append", default=[],
                        help="name=value for LandmarkEstimator, a Python literal "
                             "(e.g. backbone='mobilenet_v2')")
    parser.add_argument("--augment", default=None,
                        help="an Augmenter(...) expression to train with")
    parser.add_argument("--tta-reframe", type=int, nargs="*", default=[],
                        help="also predict with these numbers of passes")
    parser.add_argument("--label", default="defaults")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "landmarks_framing.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    X, frame = load_landmarks(args.data_root / "landmarks.txt", args.data_root,
                              format="text", image_size=80, landmark_names=NAMES)
    y = encode_landmark_target(frame, landmark_names=NAMES)
    train, test = train_test_split(np.arange(len(X)), test_size=0.2, random_state=0)
    sets = test_sets(X[test], y[test])
    params = parse_params(args.param)
    if args.augment:
        from sklocalize.augment import Augmenter  # noqa: F401

        params["augment"] = eval(args.augment)  # a benchmark's own argument

    rows = []
    for seed in args.seeds:
        est = LandmarkEstimator(max_epochs=args.epochs, random_state=seed,
                                flip_pairs=FLIP_PAIRS, landmark_names=NAMES,
                                **params)
        t0 = time.perf_counter()
        est.fit(X[train], y[train])
        train_s = time.perf_counter() - t0
        default_passes = est.tta_reframe
        for passes in [default_passes, *[p for p in args.tta_reframe
                                         if p != default_passes]]:
            est.set_params(tta_reframe=passes)
            for label, (Xs, ys) in sets.items():
                t0 = time.perf_counter()
                pred = est.predict(Xs)
                ms = 1000 * (time.perf_counter() - t0) / len(Xs)
                rows.append({"seed": seed, "tta_reframe": passes, "test faces": label,
                             **scores(ys, pred), "predict ms/face": ms,
                             "train s": train_s})
                print(rows[-1], flush=True)
        est.set_params(tta_reframe=default_passes)

    table = pd.DataFrame(rows)
    keys = ["tta_reframe", "test faces"]
    order = {label: i for i, label in enumerate(sets)}
    grouped = table.groupby(keys, sort=False)
    summary = grouped.agg(**{
        "NME (%)": ("NME (% IOD)", "mean"), "NME +-": ("NME (% IOD)", "std"),
        "NME max": ("NME (% IOD)", "max"),
        "failures (%)": ("failure rate (%)", "mean"),
        "failures max": ("failure rate (%)", "max"),
        "predict ms/face": ("predict ms/face", "mean")}).reset_index()
    summary = summary.sort_values(["tta_reframe", "test faces"],
                                  key=lambda c: c.map(order) if c.name == "test faces"
                                  else c)
    text = "\n".join([
        f"# LFW framing and pose: {args.label}", "",
        f"`{command_line(__file__, argv)}`", "",
        f"{machine()}", "",
        f"LandmarkEstimator({', '.join(f'{k}={v!r}' for k, v in params.items())}) "
        f"with flip_pairs, {args.epochs} epochs; train {len(train)} faces, test "
        f"{len(test)}, 80x80. Seeds {', '.join(map(str, args.seeds))}; `+-` is the "
        "standard deviation over seeds (ddof=1), `max` the worst seed. Failures: "
        "faces above 10% of the inter-ocular distance.", "",
        "## Mean over seeds", "",
        records_table(summary.to_dict("records")), "",
        "## Each run", "",
        records_table(rows), "",
        "Annotations: MTFL (Zhang et al., ECCV 2014), LFW images; research use.", ""])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
