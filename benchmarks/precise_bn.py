"""Does recomputing batch-norm statistics after training (PreciseBatchNorm,
on by default) help? Short trainings on small generated sets, with and without.
Then: how many images does the recomputation need? One model per task trained
on ``--n-train-samples`` images without it, its statistics recomputed from
``--samples`` random training images (``--draws`` draws each).

    python benchmarks/precise_bn.py [--n-train 250] [--epochs 1 3 6 10] \
        [--samples 64 128 256 512 1024 2048]

Prints the tables and writes benchmarks/results/precise_bn.md.
"""

import argparse
import platform
import time
from pathlib import Path

import torch

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.callbacks import PreciseBatchNorm
from sklocalize.datasets import make_landmarks, make_localization
from sklocalize.metrics import iou_score, landmark_nme


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-train", type=int, default=250)
    parser.add_argument("--n-test", type=int, default=250)
    parser.add_argument("--epochs", type=int, nargs="+", default=[1, 3, 6, 10])
    parser.add_argument("--samples", type=int, nargs="+",
                        default=[64, 128, 256, 512, 1024, 2048])
    parser.add_argument("--n-train-samples", type=int, default=2048)
    parser.add_argument("--sample-epochs", type=int, default=4)
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    torch.set_num_threads(2)

    tasks = {
        "localization (mean IoU, higher is better)": (
            LocalizerEstimator, make_localization, {"n_classes": 3}, iou_score),
        "landmarks (NME, lower is better)": (
            LandmarkEstimator, make_landmarks, {}, landmark_nme),
    }
    rows = []
    for task, (cls, make, kw, metric) in tasks.items():
        X, y = make(n_samples=args.n_train, image_size=32, random_state=args.seed,
                    **kw)
        Xt, yt = make(n_samples=args.n_test, image_size=32,
                      random_state=args.seed + 1, **kw)
        for epochs in args.epochs:
            scores = {}
            for label, extra in (("precise BN", {}),
                                 ("running BN", {"callbacks__precise_bn": None})):
                est = cls(max_epochs=epochs, module__width=16,
                          random_state=args.seed, **extra)
                t0 = time.perf_counter()
                est.fit(X, y)
                scores[label] = (metric(yt, est.predict(Xt)),
                                 time.perf_counter() - t0)
            rows.append((task, epochs, *scores["precise BN"], *scores["running BN"]))

    header = ("| task | epochs | precise BN | fit s | running BN (off) | fit s |\n"
              "|---|---|---|---|---|---|")
    lines = [f"| {t} | {e} | {a:.3f} | {sa:.1f} | {b:.3f} | {sb:.1f} |"
             for t, e, a, sa, b, sb in rows]
    table = "\n".join([header, *lines])
    print(table)
    samples = sample_sizes(tasks, args)
    print(samples)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "precise_bn.md").write_text(
        "# PreciseBatchNorm: batch-norm statistics recomputed after training\n\n"
        f"Command: `python benchmarks/precise_bn.py --n-train {args.n_train} "
        f"--epochs {' '.join(map(str, args.epochs))}`\n\n"
        f"Machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
        f"torch {torch.__version__}, 2 threads. {args.n_train} training and "
        f"{args.n_test} test images of 32x32 px, generated with seed "
        f"{args.seed}.\n\n{table}\n\n"
        "How many images the recomputation needs: one model per task trained for "
        f"{args.sample_epochs} epochs on {args.n_train_samples} images of 32x32 "
        "px without it, then its statistics recomputed from `max_samples` random "
        f"training images; mean (min-max) over {args.draws} draws, "
        f"{args.n_test} test images (command options `--samples "
        f"{' '.join(map(str, args.samples))} --n-train-samples "
        f"{args.n_train_samples} --sample-epochs {args.sample_epochs} --draws "
        f"{args.draws}`).\n\n{samples}\n")


def sample_sizes(tasks, args):
    """The held-out metric after PreciseBatchNorm with each ``max_samples``."""
    lines = ["| task | running BN | " + " | ".join(
        f"max_samples={m}" for m in args.samples) + " |",
        "|---|---|" + "---|" * len(args.samples)]
    for task, (cls, make, kw, metric) in tasks.items():
        X, y = make(n_samples=args.n_train_samples, image_size=32,
                    random_state=args.seed, **kw)
        Xt, yt = make(n_samples=args.n_test, image_size=32,
                      random_state=args.seed + 1, **kw)
        est = cls(max_epochs=args.sample_epochs, module__width=16,
                  random_state=args.seed, callbacks__precise_bn=None).fit(X, y)
        cells = [f"{metric(yt, est.predict(Xt)):.3f}"]
        state = {k: v.clone() for k, v in est.module_.state_dict().items()}
        Xtensor = torch.from_numpy(X)
        for m in args.samples:
            values = []
            for draw in range(args.draws):
                est.module_.load_state_dict(state)
                torch.manual_seed(draw)
                PreciseBatchNorm(max_samples=m).on_train_end(est, X=Xtensor)
                values.append(metric(yt, est.predict(Xt)))
            cells.append(f"{sum(values) / len(values):.3f} "
                         f"({min(values):.3f}-{max(values):.3f})")
        lines.append(f"| {task} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
