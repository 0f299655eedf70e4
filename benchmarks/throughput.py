"""Training and inference throughput against a hand-written PyTorch loop, and
peak memory of fit.

    python benchmarks/throughput.py [--n-images 4096] [--repeats 3]

For each estimator, on the same module (the default trunk), data (64x64x3
float32), optimizer (AdamW) and batch size (128), alternately in one process
(A B A B ...):

- one epoch of ``fit`` (``max_epochs=1``; augmentation off, since the raw loop
  has none) against one epoch of a minimal loop: shuffle, slice, forward, loss,
  backward, step;
- ``predict`` against a ``torch.no_grad()`` forward loop over the same batches
  (``LocalizerEstimator(tta_flip=False)`` and ``LandmarkEstimator(tta_reframe=0,
  tta_shift=0)``: the localizer's default mirror-image pass, and the landmark
  model's default re-framing pass and its four moved copies, are more
  predictions by design).

Reported as images per second and the median ratio estimator / raw (>= 1 is as
fast). Then, in a fresh process each, the peak resident memory of ``fit`` on
``--rss-images`` (20,000) images, against the size of X as float32 plus the
model. Writes benchmarks/results/throughput.md.
"""

import argparse
import copy
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, markdown_table  # noqa: E402

from sklocalize import LandmarkEstimator, LocalizerEstimator  # noqa: E402
from sklocalize._base import _float32  # noqa: E402
from sklocalize.dataset import float_images  # noqa: E402
from sklocalize.datasets import make_landmarks, make_localization  # noqa: E402


def data(kind, n, seed=0):
    """n 64x64x3 images (tiled from a small generated set: content is irrelevant
    to speed) and their targets."""
    make = make_localization if kind == "localizer" else make_landmarks
    kw = {"n_channels": 3} if kind == "localizer" else {}
    X, y = make(n_samples=min(n, 512), image_size=64, random_state=seed, **kw)
    if X.shape[1] == 1:
        X = np.repeat(X, 3, axis=1)
    reps = -(-n // len(X))
    return (np.ascontiguousarray(np.tile(X, (reps, 1, 1, 1))[:n]),
            np.tile(y, (reps, 1))[:n])


def estimator(kind, batch_size, seed=0, **params):
    # one forward pass per predict, as in the raw loop: the localizer's
    # default test-time flip (tta_flip=True) predicts twice, the landmark
    # model's re-framing pass (tta_reframe=1) and its four moved copies
    # (tta_shift=0.5) five times, by design
    if kind == "localizer":
        return LocalizerEstimator(**{
            "max_epochs": 1, "batch_size": batch_size, "random_state": seed,
            "augment": None, "tta_flip": False, **params})
    return LandmarkEstimator(**{
        "max_epochs": 1, "batch_size": batch_size, "random_state": seed,
        "augment": None, "tta_reframe": 0, "tta_shift": 0.0, **params})


def raw_components(est, memory_format):
    """A fresh module, criterion and optimizer built as the fitted estimator
    builds them: the raw loop trains the very same things."""
    twin = copy.deepcopy(est)
    twin.initialize_module().initialize_criterion()
    module = twin.module_.to(memory_format=memory_format)
    return module, twin.criterion_, torch.optim.AdamW(module.parameters(), lr=est.lr)


def _forward(module, xb, dtype):
    """The module's outputs on a batch, under autocast to ``dtype`` (None:
    float32), as float32."""
    if dtype is None:
        return module(xb)
    with torch.autocast("cpu", dtype=dtype):
        return _float32(module(xb))


def raw_epoch(module, criterion, optimizer, X, y, batch_size, generator,
              dtype=None):
    """The minimal hand-written training loop: one epoch."""
    module.train()
    order = torch.randperm(len(X), generator=generator)
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        xb, yb = X[idx], y[idx]
        optimizer.zero_grad(set_to_none=True)
        loss = criterion(_forward(module, xb, dtype), yb)
        loss.backward()
        optimizer.step()


def raw_predict(module, X, batch_size, dtype=None):
    """The minimal prediction loop: a batch (uint8 scaled to 0-1), forward,
    keep the outputs."""
    module.eval()
    outs = []
    with torch.no_grad():
        for start in range(0, len(X), batch_size):
            xb = float_images(X[start:start + batch_size])
            outs.append(_forward(module, xb, dtype))
    return [torch.cat(o) for o in zip(*outs)]


def measure(kind, n, batch_size, repeats):
    X, y = data(kind, n)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).float()
    est = estimator(kind, batch_size).fit(X[:batch_size * 2], y[:batch_size * 2])
    module, criterion, optimizer = raw_components(est, torch.channels_last)
    gen = torch.Generator().manual_seed(0)
    fit_ratio, pred_ratio, rows = [], [], {"fit": [], "raw fit": [], "predict": [],
                                           "raw predict": [], "fit loop": []}
    loop_ratio = []
    bare = estimator(kind, batch_size).set_params(callbacks__precise_bn=None)
    for _ in range(repeats):
        t = time.perf_counter()
        bare.fit(X, y)
        c = time.perf_counter() - t
        t = time.perf_counter()
        est.fit(X, y)
        a = time.perf_counter() - t
        t = time.perf_counter()
        raw_epoch(module, criterion, optimizer, Xt, yt, batch_size, gen)
        b = time.perf_counter() - t
        fit_ratio.append(b / a)
        loop_ratio.append(b / c)
        rows["fit loop"].append(n / c)
        rows["fit"].append(n / a)
        rows["raw fit"].append(n / b)
        t = time.perf_counter()
        est.predict(X)
        a = time.perf_counter() - t
        t = time.perf_counter()
        raw_predict(module, Xt, batch_size)
        b = time.perf_counter() - t
        pred_ratio.append(b / a)
        rows["predict"].append(n / a)
        rows["raw predict"].append(n / b)
    med = {k: float(np.median(v)) for k, v in rows.items()}
    return (med, float(np.median(fit_ratio)), float(np.median(pred_ratio)),
            float(np.median(loop_ratio)))


RSS_CHILD = r"""
import json, sys, numpy as np, torch
sys.path.insert(0, {bench!r})
torch.set_num_threads({threads})
from throughput import data, estimator
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) * 1024
if {predict!r}:
    # a model fitted on a few images, then predict with the defaults (test-time
    # augmentation included) on n uint8 images, as photos come
    X, y = data({kind!r}, 512)
    est = estimator({kind!r}, {batch}).fit(X, y)
    est.set_params(**{{k: v for k, v in type(est)().get_params().items()
                       if k in ("tta_flip", "tta_shift", "tta_reframe")}})
    X = np.tile(np.round(X * 255).astype(np.uint8), (-(-{n} // 512), 1, 1, 1))[:{n}]
    before = status("VmRSS")
    est.predict(X)
else:
    X, y = data({kind!r}, {n})
    est = estimator({kind!r}, {batch})
    before = status("VmRSS")
    est.fit(X, y)
n_params = sum(p.numel() for p in est.module_.parameters())
print(json.dumps({{"before": before, "peak": status("VmHWM"), "x_bytes": X.nbytes,
                   "model_bytes": 4 * n_params}}))
"""


def peak_rss(kind, n, batch_size, threads, predict=False):
    """Resident memory of a fit (or a predict) on n images in a fresh process:
    before, peak, and the sizes of X and of the model, in bytes."""
    code = RSS_CHILD.format(bench=str(Path(__file__).parent), threads=threads,
                            kind=kind, n=n, batch=batch_size, predict=predict)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def levers(n, batch_size, threads):
    """Each speed lever on and off, one epoch each, alternately (A B A B)."""
    from skorch.dataset import Dataset as PerSampleDataset

    X, y = data("localizer", n)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).float()
    rows = []

    def raw(memory_format, n_threads):
        torch.set_num_threads(n_threads)
        est = estimator("localizer", batch_size).fit(X[:256], y[:256])
        module, crit, opt = raw_components(est, memory_format)
        gen = torch.Generator().manual_seed(0)
        Xm = Xt.contiguous(memory_format=memory_format)
        t = time.perf_counter()
        raw_epoch(module, crit, opt, Xm, yt, batch_size, gen)
        return n / (time.perf_counter() - t)

    def fit(dataset=None, **params):
        est = estimator("localizer", batch_size, **params)
        if dataset is not None:
            est.set_params(dataset=dataset)
        t = time.perf_counter()
        est.fit(X, y)
        return n / (time.perf_counter() - t)

    pairs = [
        ("channels_last memory format (raw loop)",
         lambda: raw(torch.channels_last, threads),
         lambda: raw(torch.contiguous_format, threads)),
        ("batched dataset (__getitems__) vs skorch per-sample Dataset (fit)",
         lambda: fit(sklocalize_dataset()), lambda: fit(PerSampleDataset)),
        ("default augmentation (flip, brightness, contrast) vs none (fit)",
         lambda: fit(augment="default"), lambda: fit()),
        (f"{threads} torch threads vs 1 (raw loop)",
         lambda: raw(torch.channels_last, threads),
         lambda: raw(torch.channels_last, 1)),
    ]
    for name, on, off in pairs:
        a, b = [], []
        for _ in range(2):
            a.append(on())
            b.append(off())
        rows.append([name, float(np.median(a)), float(np.median(b)),
                     float(np.median(a) / np.median(b))])
        print(rows[-1], flush=True)
    torch.set_num_threads(threads)
    return rows


def augmentation_share(kind, n, batch_size, repeats):
    """The share of a one-epoch fit with the default augmentation that the
    augmenter's calls take, timed inside the fit (median of ``repeats``)."""
    from sklocalize.augment import Augmenter

    X, y = data(kind, n)
    call = Augmenter.__call__
    spent = []

    def timed_call(self, *args, **kwargs):
        t = time.perf_counter()
        out = call(self, *args, **kwargs)
        spent.append(time.perf_counter() - t)
        return out

    shares = []
    Augmenter.__call__ = timed_call
    try:
        for _ in range(repeats):
            spent.clear()
            est = estimator(kind, batch_size, augment="default")
            t = time.perf_counter()
            est.fit(X, y)
            shares.append(sum(spent) / (time.perf_counter() - t))
    finally:
        Augmenter.__call__ = call
    return float(np.median(shares)), repr(est._augmenter())


def sklocalize_dataset():
    from sklocalize.dataset import ImageDataset

    return ImageDataset


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=4096)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rss-images", type=int, default=20000)
    parser.add_argument("--predict-rss-images", type=int, default=100000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "throughput.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    speed_rows, mem_rows = [], []
    for kind in ("localizer", "landmarks"):
        med, fit_r, pred_r, loop_r = measure(kind, args.n_images, args.batch_size,
                                             args.repeats)
        speed_rows.append([kind, med["fit"], med["raw fit"], fit_r, med["fit loop"],
                           loop_r, med["predict"], med["raw predict"], pred_r])
        print(speed_rows[-1], flush=True)
    lever_rows = levers(min(args.n_images, 2048), args.batch_size, args.threads)
    aug_rows = []
    for kind in ("localizer", "landmarks"):
        share, augmenter = augmentation_share(kind, min(args.n_images, 2048),
                                              args.batch_size, args.repeats)
        aug_rows.append([kind, f"`{augmenter}`", share])
        print(aug_rows[-1], flush=True)
    for kind in ("localizer", "landmarks"):
        r = peak_rss(kind, args.rss_images, args.batch_size, args.threads)
        budget = r["x_bytes"] + r["model_bytes"]
        mem_rows.append([kind, r["x_bytes"] / 2**20, r["model_bytes"] / 2**20,
                         r["before"] / 2**20, r["peak"] / 2**20,
                         (r["peak"] - r["before"] + r["x_bytes"]) / budget,
                         r["peak"] / budget])
        print(mem_rows[-1], flush=True)
    predict_rows = []
    for kind in ("localizer", "landmarks"):
        r = peak_rss(kind, args.predict_rss_images, args.batch_size, args.threads,
                     predict=True)
        predict_rows.append([kind, r["x_bytes"] / 2**20, r["before"] / 2**20,
                             r["peak"] / 2**20, (r["peak"] - r["before"]) / 2**20,
                             (r["peak"] - r["before"]) / r["x_bytes"]])
        print(predict_rows[-1], flush=True)

    speed = markdown_table(
        ["estimator", "fit img/s", "raw loop img/s", "fit / raw",
         "fit without PreciseBatchNorm img/s", "that / raw", "predict img/s",
         "raw no_grad img/s", "predict / raw"], speed_rows, floatfmt="{:.2f}")
    memory = markdown_table(
        ["estimator", "X float32 MiB", "model MiB", "RSS before fit MiB",
         "peak RSS MiB", "(peak - before + X) / (X + model)",
         "peak / (X + model)"], mem_rows, floatfmt="{:.2f}")
    predict_memory = markdown_table(
        ["estimator", "X uint8 MiB", "RSS before predict MiB", "peak RSS MiB",
         "growth MiB", "growth / X"], predict_rows, floatfmt="{:.2f}")
    lever_table = markdown_table(
        ["lever", "on img/s", "off img/s", "on / off"], lever_rows,
        floatfmt="{:.2f}")
    aug_table = markdown_table(["estimator", "default augmenter",
                                "share of the epoch"], aug_rows, floatfmt="{:.3f}")
    print(speed)
    print(lever_table)
    print(aug_table)
    print(memory)
    print(predict_memory)
    command = command_line(__file__, argv)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Throughput and memory\n\n"
        f"Command: `{command}`\n\nMachine: {machine()} ({platform.processor()}).\n\n"
        f"Speed: {args.n_images} images of 64x64x3, batch {args.batch_size}, "
        f"median of {args.repeats} alternating repeats (estimator, then raw "
        "loop). Ratios above 1 mean the estimator is faster. 'fit' is a whole "
        "one-epoch fit with the defaults (augmentation off; the localizer with "
        "tta_flip=False, landmarks with tta_reframe=0 and tta_shift=0, so that "
        "predict is one forward pass too), "
        "which ends with "
        "PreciseBatchNorm's one forward pass over up to 512 images, a cost "
        "per fit, not per epoch; the next columns are the same fit without "
        "it.\n\n"
        f"{speed}\n\nLevers, one epoch of {min(args.n_images, 2048)} images each, "
        "median of 2 alternating runs:\n\n"
        f"{lever_table}\n\nThe default augmentation's cost: the time spent "
        "in the augmenter's calls, timed inside a one-epoch fit of "
        f"{min(args.n_images, 2048)} images, over the fit's time (median of "
        f"{args.repeats}):\n\n{aug_table}\n\n"
        f"Memory: fit (one epoch) on {args.rss_images} images in a "
        "fresh process; RSS read from /proc/self/status (VmRSS before fit, "
        "VmHWM after). 'before' already holds X, torch and the libraries; the "
        "ratio that counts is the growth during fit plus X, over X plus the "
        f"model.\n\n{memory}\n\n"
        f"Memory of predict on {args.predict_rss_images} uint8 images (64x64x3) "
        "in a fresh process, with each estimator's default test-time "
        "augmentation (the localizer's mirror images; the landmark model's "
        "re-framing pass and four moved copies): the growth of the peak RSS "
        f"over the RSS before predict, which already holds X.\n\n"
        f"{predict_memory}\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
