"""Prediction speed: ``predict``, a raw ``no_grad`` loop, and the exported
models (onnxruntime, TorchScript), in one run.

    python benchmarks/prediction_speed.py [--n-images 2048] [--repeats 5]

For each estimator (64x64x3 uint8 images, the default scratch trunk, fitted
for one epoch: speed does not depend on the weights), alternately in one
process (A B C ... A B C ...):

- ``predict`` with the defaults (the localizer's mirror-image pass, the
  landmark model's re-framing pass with its four moved copies) and with
  test-time augmentation off (one forward pass, as the raw loop);
- a raw ``torch.no_grad()`` loop over the module in evaluation mode, on the
  same images scaled to 0-1, in batches of ``--batch-size`` (the estimator's
  ``batch_size`` for ``predict`` too);
- the ONNX file of ``est.to_onnx`` run by onnxruntime (its default CPU
  provider, as many intra-op threads as torch has) on uint8 images,
  and the TorchScript file of ``est.to_torchscript``, both with test-time
  augmentation off and with the defaults, in batches of ``--batch-size``.

Throughput is images per second, the median of ``--repeats``; the ratio is
against the raw loop. Latency is one image at a time (batch 1), median and
95th percentile over ``--latency-images`` calls. Writes
benchmarks/results/prediction_speed.md.
"""

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _common import command_line, machine, markdown_table  # noqa: E402
from throughput import data, raw_predict  # noqa: E402

from sklocalize import LandmarkEstimator, LocalizerEstimator  # noqa: E402

NO_TTA = {"localizer": {"tta_flip": False},
          "landmarks": {"tta_reframe": 0, "tta_shift": 0.0}}


def fitted(kind, X, y, batch_size):
    cls = LocalizerEstimator if kind == "localizer" else LandmarkEstimator
    return cls(max_epochs=1, batch_size=batch_size, random_state=0,
               augment=None).fit(X[:256], y[:256])


def in_batches(run, X, batch_size):
    """``run`` on consecutive batches of ``X``: the exported models take the
    images ``batch_size`` at a time, as predict and the raw loop do."""
    return [run(X[start:start + batch_size])
            for start in range(0, len(X), batch_size)]


def runners(est, kind, X, batch_size, folder):
    """name: a function predicting on uint8 images ``X`` (numpy)."""
    import onnxruntime

    module = est.module_.eval()
    out = {}
    defaults = {k: v for k, v in type(est)().get_params().items()
                if k in NO_TTA[kind]}
    for label, settings in (("defaults", defaults), ("no TTA", NO_TTA[kind])):
        est.set_params(**settings)
        onnx_path = est.to_onnx(Path(folder) / f"{kind}-{len(out)}.onnx")
        ts_path = est.to_torchscript(Path(folder) / f"{kind}-{len(out)}.pt")
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = torch.get_num_threads()
        session = onnxruntime.InferenceSession(
            str(onnx_path), options, providers=["CPUExecutionProvider"])
        script = torch.jit.load(ts_path)

        def predict(Xb, settings=settings):
            return est.set_params(**settings).predict(Xb)

        def onnx(Xb, session=session):
            return in_batches(lambda B: session.run(None, {"X": B}), Xb,
                              batch_size)

        def torchscript(Xb, script=script):
            with torch.no_grad():
                return in_batches(lambda B: script(torch.from_numpy(B)), Xb,
                                  batch_size)

        out[f"predict ({label})"] = predict
        out[f"onnxruntime ({label})"] = onnx
        out[f"TorchScript ({label})"] = torchscript
    out["raw no_grad loop (no TTA)"] = (
        lambda Xb: raw_predict(module, torch.from_numpy(Xb), batch_size))
    return out


def throughput(run, X, repeats):
    """Images per second of each runner, alternating, median of repeats."""
    seconds = {name: [] for name in run}
    for _ in range(repeats):
        for name, f in run.items():
            t = time.perf_counter()
            f(X)
            seconds[name].append(time.perf_counter() - t)
    return {name: len(X) / float(np.median(s)) for name, s in seconds.items()}


def latency(run, X, n):
    """Milliseconds per single image (batch 1): median and 95th percentile.

    Runner by runner, each after a few warm-up calls: interleaved, the
    onnxruntime threads that spin on after a call for the next one would
    take the cores from the runner after them.
    """
    out = {}
    for name, f in run.items():
        for i in range(5):
            f(X[i % len(X)][None])
        times = []
        for i in range(n):
            xb = X[i % len(X)][None]
            t = time.perf_counter()
            f(xb)
            times.append(1000 * (time.perf_counter() - t))
        out[name] = (float(np.median(times)), float(np.percentile(times, 95)))
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=2048)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--latency-images", type=int, default=200)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent
                        / "results" / "prediction_speed.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for kind in ("localizer", "landmarks"):
            X, y = data(kind, args.n_images)
            X = (X * 255).round().astype(np.uint8)
            est = fitted(kind, X, y, args.batch_size)
            run = runners(est, kind, X, args.batch_size, folder)
            speed = throughput(run, X, args.repeats)
            lat = latency(run, X, args.latency_images)
            raw = speed["raw no_grad loop (no TTA)"]
            for name in run:
                rows.append([kind, name, speed[name], speed[name] / raw, *lat[name]])
                print(rows[-1], flush=True)
    header = ["estimator", "prediction", "img/s", "/ raw loop",
              "batch-1 median ms", "batch-1 p95 ms"]
    table = markdown_table(header, rows, floatfmt="{:.2f}")
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        "# Prediction speed: predict, a raw loop and the exported models\n\n"
        f"Command: `{command_line(__file__, argv)}`\n\n"
        f"Machine: {machine()}.\n\n"
        f"{args.n_images} uint8 images of 64x64x3, in batches of "
        f"{args.batch_size} for each; median of {args.repeats} alternating "
        "repeats. '/ raw loop' "
        "is the throughput over the raw no_grad loop's (one forward pass, "
        "no test-time augmentation). Latency: one image per call, "
        f"{args.latency_images} calls of each runner in a row.\n\n{table}\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
