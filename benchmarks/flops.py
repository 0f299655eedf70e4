"""The hardware's limit: this machine's dense matmul peak, and the GFLOP/s each
model achieves in fit and predict, in float32 and in bfloat16 autocast.

    python benchmarks/flops.py [--n-images 2048] [--repeats 3]

1. The peak: ``A @ B`` on square float32, bfloat16 and float16 matrices
   (``--matmul-size``, 2048), on the torch threads, median of five.
2. Each model's floating-point operations per image, counted with
   ``torch.utils.flop_counter.FlopCounterMode`` on one forward pass in
   evaluation mode (a multiply-add counts 2); a training step counts three
   forward passes (torch's counter miscounts the backward of grouped
   convolutions, which MobileNetV2 has, so the backward is taken as twice the
   forward, the usual rule).
3. For the scratch localizer, the scratch landmark model and the localizer
   on MobileNetV2 (random weights: the speed is the same), at 64x64x3, batch
   128: one epoch of ``fit`` (augmentation off, the once-per-fit BatchNorm
   pass included), a hand-written loop on the same module (forward, loss,
   backward, step), ``predict`` (one forward pass: no test-time
   augmentation) and a ``no_grad`` loop, each in float32 and with
   ``precision="bfloat16"`` (the raw loops under the same autocast),
   alternately in one process, median of ``--repeats``. GFLOP/s = images/s
   times the FLOPs per image.
4. ``compile=True`` (skorch's ``torch.compile`` of the module) against eager
   for the scratch localizer's fit and predict, the compilation excluded (a
   first fit compiles).

Writes benchmarks/results/flops.md.
"""

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, markdown_table  # noqa: E402
from throughput import data, estimator, raw_components, raw_epoch, raw_predict  # noqa: E402

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16,
          "float16": torch.float16}
MODELS = {  # name: (task, estimator parameters)
    "localizer, scratch": ("localizer", {}),
    "landmarks, scratch": ("landmarks", {}),
    "localizer, MobileNetV2": ("localizer", {"backbone": "mobilenet_v2",
                                             "backbone_weights": None}),
}


def matmul_peak(dtype, size, repeats=5):
    """GFLOP/s of a square matmul, the median of ``repeats``."""
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, generator=gen).to(dtype)
    b = torch.randn(size, size, generator=gen).to(dtype)
    for _ in range(2):
        a @ b
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    return 2 * size**3 / float(np.median(times)) / 1e9


def forward_flops(module, image_size):
    """Floating-point operations of one 3-channel image's forward pass."""
    module.eval()
    x = torch.rand(1, 3, image_size, image_size)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(x)
    return counter.get_total_flops()


def timed(fn, n):
    t = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t)


def measure(name, n, batch_size, repeats):
    """Images/s of fit, the raw loop, predict and the no_grad loop, per
    precision: {(what, precision): median}."""
    task, params = MODELS[name]
    X, y = data(task, n)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y).float()
    Xm = Xt.contiguous(memory_format=torch.channels_last)
    ests, raws = {}, {}
    for precision in ("float32", "bfloat16"):
        est = estimator(task, batch_size, precision=precision, **params)
        ests[precision] = est.fit(X[:batch_size * 2], y[:batch_size * 2])
        raws[precision] = raw_components(est, torch.channels_last)
    gen = torch.Generator().manual_seed(0)
    for precision, (module, criterion, optimizer) in raws.items():
        # a warm-up: oneDNN builds its kernels for each new shape and dtype
        dtype = None if precision == "float32" else DTYPES[precision]
        warm = slice(0, batch_size * 2)
        raw_epoch(module, criterion, optimizer, Xm[warm], yt[warm], batch_size,
                  gen, dtype)
        raw_predict(module, Xm[warm], batch_size, dtype)
    flops = forward_flops(copy.deepcopy(raws["float32"][0]), X.shape[-1])
    runs = {}
    for _ in range(repeats):
        for precision, est in ests.items():
            module, criterion, optimizer = raws[precision]
            dtype = None if precision == "float32" else DTYPES[precision]
            for what, fn in (
                    ("fit", lambda: est.fit(X, y)),
                    ("raw fit", lambda: raw_epoch(module, criterion, optimizer, Xm,
                                                  yt, batch_size, gen, dtype)),
                    ("predict", lambda: est.predict(X)),
                    ("raw predict", lambda: raw_predict(module, Xm, batch_size,
                                                        dtype))):
                runs.setdefault((what, precision), []).append(timed(fn, n))
        print(name, {k: round(v[-1]) for k, v in runs.items()}, flush=True)
    return flops, {k: float(np.median(v)) for k, v in runs.items()}


def compile_lever(n, batch_size, repeats):
    """Images/s of the scratch localizer's fit and predict, eager against
    compile=True, the first (compiling) fit and predict excluded."""
    X, y = data("localizer", n)
    eager = estimator("localizer", batch_size)
    compiled = estimator("localizer", batch_size, compile=True)
    t = time.perf_counter()
    compiled.fit(X, y).predict(X[:batch_size])
    compile_s = time.perf_counter() - t
    runs = {}
    for _ in range(repeats):
        for label, est in (("eager", eager), ("compile=True", compiled)):
            # warm_start: a compiled module is kept, not rebuilt and recompiled
            est.set_params(warm_start=True)
            runs.setdefault(("fit", label), []).append(timed(lambda: est.fit(X, y), n))
            runs.setdefault(("predict", label), []).append(
                timed(lambda: est.predict(X), n))
    med = {k: float(np.median(v)) for k, v in runs.items()}
    return compile_s, med


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--matmul-size", type=int, default=2048)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--models", nargs="+", default=list(MODELS),
                        choices=list(MODELS))
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "flops.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    peaks = {name: matmul_peak(dtype, args.matmul_size)
             for name, dtype in DTYPES.items()}
    print(peaks, flush=True)
    peak_rows = [[name, value, value / peaks["float32"]]
                 for name, value in peaks.items()]

    rows, ratio_rows = [], []
    for name in args.models:
        flops, med = measure(name, args.n_images, args.batch_size, args.repeats)
        gflop = flops / 1e9
        for what, steps in (("fit", 3), ("raw fit", 3), ("predict", 1),
                            ("raw predict", 1)):
            for precision in ("float32", "bfloat16"):
                speed = med[(what, precision)]
                achieved = speed * steps * gflop
                rows.append([name, what, precision, gflop, speed, achieved,
                             achieved / peaks[precision]])
        for what in ("fit", "predict"):
            raw32 = med[(f"raw {what}", "float32")]
            ratio_rows.append([
                name, what,
                med[(what, "float32")] / raw32,
                med[(f"raw {what}", "bfloat16")] / raw32,
                med[(what, "bfloat16")] / raw32])
    compile_s, comp = compile_lever(args.n_images, args.batch_size, args.repeats)
    compile_rows = [[what, comp[(what, "eager")], comp[(what, "compile=True")],
                     comp[(what, "compile=True")] / comp[(what, "eager")]]
                    for what in ("fit", "predict")]

    tables = [
        markdown_table(["dtype", "matmul GFLOP/s", "/ float32"], peak_rows,
                       floatfmt="{:.2f}"),
        markdown_table(["model", "run", "precision", "GFLOP per image (forward)",
                        "img/s", "achieved GFLOP/s", "/ peak of that dtype"],
                       rows, floatfmt="{:.3f}"),
        markdown_table(["model", "run", "estimator float32 / raw float32",
                        "raw bfloat16 / raw float32",
                        "estimator bfloat16 / raw float32"],
                       ratio_rows, floatfmt="{:.2f}"),
        markdown_table(["scratch localizer", "eager img/s", "compile=True img/s",
                        "compiled / eager"], compile_rows, floatfmt="{:.2f}"),
    ]
    for table in tables:
        print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# The hardware's limit: matmul peak and achieved GFLOP/s\n\n"
        f"Command: `{command_line(__file__, argv)}`\n\nMachine: {machine()}.\n\n"
        f"Peak: a {args.matmul_size}x{args.matmul_size} matmul, median of 5.\n\n"
        f"{tables[0]}\n\n"
        f"Models: {args.n_images} images of 64x64x3, batch {args.batch_size}, "
        f"median of {args.repeats} alternating repeats; 'fit' is one epoch of "
        "fit (augmentation off, PreciseBatchNorm's pass included), 'raw fit' "
        "a hand-written loop on the same module, 'predict' one forward pass "
        "per image, 'raw predict' a no_grad loop. Achieved GFLOP/s counts a "
        "training image as three forward passes.\n\n"
        f"{tables[1]}\n\nAgainst the float32 raw loop (above 1: faster):\n\n"
        f"{tables[2]}\n\n"
        f"torch.compile (skorch's compile=True), the scratch localizer; the "
        f"first fit and predict, which compile, took {compile_s:.1f} s and are "
        f"left out:\n\n{tables[3]}\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
