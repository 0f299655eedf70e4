"""LFW faces (MTFL annotations): five landmarks, against peers.

    python benchmarks/landmarks_lfw.py --data-root ../shared/datasets/mtfl-lfw

80/20 split (random_state=0) of the 4,151 faces (80x80 RGB; ``--image-size``
for another size; ``--n-train`` trains on the first faces of the shuffled
training split only). Compared in one run on the same split:

- sklocalize LandmarkEstimator with its defaults (``max_epochs`` set here), with
  ``flip_pairs`` for the eyes and mouth corners; the same model also predicted
  with ``tta_flip``, without its test-time shifts (``tta_shift=0``) and without
  its re-framing pass (``tta_reframe=0``); and the same trained without zoom and
  shift (the faces kept as LFW frames them), the previous default;
- the same estimator with the ImageNet MobileNetV2 trunk
  (``backbone="mobilenet_v2"``; ``make bench-deps`` installs the weights);
- the mean shape of the training faces;
- HOG features (scikit-image) + Ridge;
- dlib's shape predictor (ensemble of regression trees, the ``dlib-bin`` wheel)
  with the whole image as the face box, when dlib is installed.

Metrics: mean point error divided by the inter-ocular distance (NME, %), the
failure rate (share of faces above 10%), PCK at 10% of the inter-ocular
distance, training seconds; a CED plot. The test faces are also re-framed, as a
face detector that frames faces differently would: zoomed out (the face at 1/1.5
and 1/2 of its size, padded with the image mean), zoomed in (1.5x and 2x,
cropped to the frame; points pushed out are not visible and not scored) and
shifted by 10% of the image.

Writes benchmarks/results/landmarks_lfw.md and landmarks_lfw_ced.png.
MTFL: Zhang et al., ECCV 2014 (research use).
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

from sklocalize import LandmarkEstimator  # noqa: E402
from sklocalize.augment import Augmenter, affine_transform  # noqa: E402
from sklocalize.datasets import load_landmarks  # noqa: E402
from sklocalize.metrics import failure_rate, landmark_nme, landmark_pck  # noqa: E402
from sklocalize.targets import encode_landmark_target  # noqa: E402
from sklocalize.tasks import LandmarkTask  # noqa: E402

NAMES = ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right"]
FLIP_PAIRS = [(0, 1), (3, 4)]
EYES = (0, 1)


def reframe(X, y, scale=1.0, shift=(0.0, 0.0)):
    """Zoom out / shift every face: uint8 images and relative targets."""
    Xt = torch.from_numpy(X).float()
    yt = torch.from_numpy(y).float()
    n = len(X)
    Xo, yo = affine_transform(Xt, yt, LandmarkTask(len(NAMES), FLIP_PAIRS),
                              torch.full((n,), scale), torch.tensor([shift] * n))
    return Xo.round().clamp(0, 255).to(torch.uint8).numpy(), yo.double().numpy()


def reframed_test_sets(X_test, y_test, seed):
    """The test faces as given, zoomed out to 1/1.5 and 1/2, zoomed in 1.5x and
    2x (cropped to the frame: points pushed out become not visible), and
    shifted."""
    rng = np.random.RandomState(seed)
    shifts = rng.choice([-0.1, 0.1], size=(len(X_test), 2))
    test_sets = {"as given": (X_test, y_test)}
    for label, scale in (("zoomed out 1/1.5", 1 / 1.5), ("zoomed out 1/2", 0.5),
                         ("zoomed in 1.5x", 1.5), ("zoomed in 2x", 2.0)):
        test_sets[label] = reframe(X_test, y_test, scale)
    Xs, ys = [], []
    for i in range(len(X_test)):  # each face shifted by +-10% in x and y
        a, b = reframe(X_test[i:i + 1], y_test[i:i + 1], 1.0, tuple(shifts[i]))
        Xs.append(a)
        ys.append(b)
    test_sets["shifted 10%"] = (np.concatenate(Xs), np.concatenate(ys))
    return test_sets


def scores(y_true, y_pred):
    return {
        "NME (% IOD)": 100 * landmark_nme(y_true, y_pred, normalize=EYES),
        "failure rate (%)": 100 * failure_rate(y_true, y_pred, normalize=EYES),
        "PCK@10% IOD": landmark_pck(y_true, y_pred, normalize=EYES),
    }


class MeanShape:
    def fit(self, X, y):
        self.mean_ = np.nanmean(y, axis=0)
        return self

    def predict(self, X):
        return np.tile(self.mean_, (len(X), 1))


class HOGRidge:
    def __init__(self, alpha=10.0):
        self.alpha = alpha

    def _features(self, X):
        from skimage.feature import hog

        gray = X.astype(np.float32).mean(axis=1) / 255.0
        return np.stack([hog(g, orientations=9, pixels_per_cell=(8, 8),
                             cells_per_block=(2, 2)) for g in gray])

    def fit(self, X, y):
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        self.model_ = make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
        self.model_.fit(self._features(X), y[:, 1:])
        return self

    def predict(self, X):
        pts = np.clip(self.model_.predict(self._features(X)), 0, 1)
        return np.column_stack([np.ones(len(X)), pts])


class DlibShapePredictor:
    """dlib's ERT shape predictor, the whole image as the face box.

    dlib stores points as integers: the images are upscaled by ``upscale`` so
    that rounding costs it (almost) nothing.
    """

    def __init__(self, upscale=4, threads=2):
        self.upscale = upscale
        self.threads = threads

    def _images(self, X):
        imgs = np.moveaxis(X, 1, -1)
        if self.upscale > 1:
            imgs = imgs.repeat(self.upscale, axis=1).repeat(self.upscale, axis=2)
        return [np.ascontiguousarray(i) for i in imgs]

    def fit(self, X, y):
        import dlib

        h, w = X.shape[2] * self.upscale, X.shape[3] * self.upscale
        rect = dlib.rectangle(0, 0, w - 1, h - 1)
        objects = []
        for row in y:
            pts = [dlib.point(int(round(x * w - 0.5)), int(round(yy * h - 0.5)))
                   for x, yy in zip(row[1::2], row[2::2])]
            objects.append([dlib.full_object_detection(rect, pts)])
        options = dlib.shape_predictor_training_options()
        options.num_threads = self.threads
        options.be_verbose = False
        self.size_ = (h, w)
        self.predictor_ = dlib.train_shape_predictor(self._images(X), objects,
                                                     options)
        return self

    def predict(self, X):
        import dlib

        h, w = self.size_
        rect = dlib.rectangle(0, 0, w - 1, h - 1)
        out = np.ones((len(X), 1 + 2 * len(NAMES)))
        for i, img in enumerate(self._images(X)):
            shape = self.predictor_(img, rect)
            for k in range(shape.num_parts):
                p = shape.part(k)
                out[i, 1 + 2 * k] = (p.x + 0.5) / w
                out[i, 2 + 2 * k] = (p.y + 0.5) / h
        out[:, 1:] = np.clip(out[:, 1:], 0, 1)
        return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-root", required=True, type=Path)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--image-size", type=int, default=80,
                        help="side of the square faces, in pixels")
    parser.add_argument("--n-train", type=int, default=None,
                        help="train on this many faces of the training split "
                             "(the first of a shuffle), for a small-data run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["default", "pretrained", "fixed", "mean", "hog",
                                 "dlib"])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).parent / "results" / "landmarks_lfw.md")
    args = parser.parse_args(argv)
    if not (args.data_root / "landmarks.txt").is_file():
        parser.error(f"no landmarks.txt under --data-root {args.data_root}; see "
                     "../shared/datasets/README.md")
    torch.set_num_threads(args.threads)

    t0 = time.perf_counter()
    X, frame = load_landmarks(args.data_root / "landmarks.txt", args.data_root,
                              format="text", image_size=args.image_size,
                              landmark_names=NAMES)
    y = encode_landmark_target(frame, landmark_names=NAMES)
    idx_train, idx_test = train_test_split(np.arange(len(X)), test_size=0.2,
                                           random_state=0)
    if args.n_train is not None:  # idx_train is already a shuffle
        idx_train = idx_train[:args.n_train]
    X_train, y_train = X[idx_train], y[idx_train]
    X_test, y_test = X[idx_test], y[idx_test]
    test_sets = reframed_test_sets(X_test, y_test, args.seed)
    print(f"Loaded and re-framed in {time.perf_counter() - t0:.0f} s: train "
          f"{len(X_train)}, test {len(X_test)}", flush=True)

    fixed = Augmenter(scale=(1, 1), shift=0.0, rotation=12)
    models = {}  # name: (model, the prediction settings to report)
    if "default" not in args.skip:
        models["sklocalize LandmarkEstimator"] = (LandmarkEstimator(
            max_epochs=args.epochs, random_state=args.seed, flip_pairs=FLIP_PAIRS,
            landmark_names=NAMES), [{}, {"tta_flip": True}, {"tta_shift": 0.0},
                                    {"tta_reframe": 0},
                                    {"tta_reframe": 0, "tta_shift": 0.0}])
    if "pretrained" not in args.skip:  # ImageNet MobileNetV2 (make bench-deps)
        models["sklocalize, backbone='mobilenet_v2'"] = (LandmarkEstimator(
            max_epochs=args.epochs, random_state=args.seed, flip_pairs=FLIP_PAIRS,
            landmark_names=NAMES, backbone="mobilenet_v2"), [{}])
    if "fixed" not in args.skip:
        models["sklocalize, no zoom/shift augmentation"] = (LandmarkEstimator(
            max_epochs=args.epochs, random_state=args.seed, flip_pairs=FLIP_PAIRS,
            landmark_names=NAMES, augment=fixed), [{}, {"tta_flip": True}])
    if "mean" not in args.skip:
        models["mean shape"] = (MeanShape(), [{}])
    if "hog" not in args.skip:
        models["HOG + Ridge"] = (HOGRidge(), [{}])
    if "dlib" not in args.skip:
        try:
            import dlib  # noqa: F401

            models["dlib shape predictor (ERT)"] = (DlibShapePredictor(
                threads=args.threads), [{}])
        except ImportError:
            print("dlib is not installed (pip install dlib-bin): skipped")

    rows, preds = [], {}
    for name, (model, variants) in models.items():
        t0 = time.perf_counter()
        model.fit(X_train, y_train)
        seconds = time.perf_counter() - t0
        given = {k: model.get_params()[k]
                 for k in ("tta_flip", "tta_shift", "tta_reframe")} \
            if isinstance(model, LandmarkEstimator) else {}
        for settings in variants:
            label_model = name + "".join(f" + {k}={v!r}" for k, v in settings.items())
            if isinstance(model, LandmarkEstimator):
                model.set_params(**{**given, **settings})
            for label, (Xs_, ys_) in test_sets.items():
                t0 = time.perf_counter()
                pred = model.predict(Xs_)
                predict_ms = 1000 * (time.perf_counter() - t0) / len(Xs_)
                if label == "as given":
                    preds[label_model] = pred
                rows.append({"model": label_model, "test faces": label,
                             **scores(ys_, pred), "train s": seconds,
                             "predict ms/face": predict_ms})
                print(rows[-1], flush=True)

    table = records_table(rows)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    ced_path = args.out.with_name(args.out.stem + "_ced.png")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from sklocalize.plotting import CEDDisplay

        fig, ax = plt.subplots(figsize=(5.5, 4))
        for name, pred in preds.items():
            CEDDisplay.from_predictions(y_test, pred, normalize=EYES, max_error=0.15,
                                        name=name, ax=ax)
        ax.set_xlabel("Mean error / inter-ocular distance")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
        fig.savefig(ced_path, dpi=110, bbox_inches="tight")
    except ImportError:
        ced_path = None
    command = command_line(__file__, argv)
    args.out.write_text(
        "# LFW (MTFL): five facial landmarks\n\n"
        f"Command: `{command}`\n\n"
        f"Machine: {machine()}.\n\n"
        f"Split: 80/20 (random_state=0) of the {len(X)} faces, "
        f"{args.image_size}x{args.image_size} RGB; train "
        f"{len(X_train)}, test {len(X_test)}. NME is the mean point error divided "
        "by the inter-ocular distance; failures are faces above 10%; PCK counts "
        "points within 10% of the inter-ocular distance. Re-framed test faces: "
        "zoomed out (face at 1/1.5 and 1/2 of its size, padded with the image "
        "mean), zoomed in (1.5x and 2x, cropped to the frame; points pushed out "
        "are not scored) and shifted by 10% of the image in x and y. `tta_reframe` "
        "is the "
        "number of re-framing passes at prediction (default 1); `tta_shift` "
        "averages the last pass over four copies moved diagonally by that many "
        "pixels (default 0.5); 'no zoom/shift' "
        f"trains with `{fixed!r}`. 'predict ms/face' is the wall time of "
        "`predict` on that test set, per face.\n\n"
        f"{table}\n\n"
        + (f"![CED]({ced_path.name})\n\n" if ced_path else "")
        + "Annotations: MTFL (Zhang et al., ECCV 2014), LFW images; research use.\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
