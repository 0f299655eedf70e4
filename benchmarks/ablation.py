"""Train a list of estimator configurations on the Caltech-3 or LFW split of the
main benchmarks and print one line of held-out metrics each. This is how the
defaults were chosen (see the results files for the figures).

    python benchmarks/ablation.py caltech3 --data-root ../shared/datasets/caltech3 \\
        --configs '[{"max_epochs": 30}, {"max_epochs": 30, "augment": null}]'
    python benchmarks/ablation.py lfw --data-root ../shared/datasets/mtfl-lfw \\
        --configs '[{"max_epochs": 40, "heatmap_weight": 0.0}]'

Each configuration is a JSON object of estimator parameters; an ``augment``
object is passed to ``Augmenter`` (e.g. ``{"scale": [0.5, 1.25], "shift":
0.1}``). ``--validation`` scores on a fifth of the training split instead
of the test split. Every run also reports the same model with ``tta_flip`` switched,
or, with ``--predict``, with each of a list of prediction settings instead
(the model trained once), e.g. ``--predict '[{}, {"tta_shift": 0},
{"tta_shift": 1.0, "tta_reframe": 2}]'``.
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).parent))

from sklocalize import LandmarkEstimator, LocalizerEstimator  # noqa: E402
from sklocalize.augment import Augmenter  # noqa: E402


def caltech3_split(root):
    """The split of ``caltech3.py``: training images and tidy targets, test
    images and their encoded targets."""
    from caltech3 import add_negatives, load

    from sklocalize.targets import encode_localization_target

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        X, y = load(root, (64, 64))
    itr, ite = train_test_split(np.arange(len(y)), test_size=0.2,
                                stratify=y["label"].to_numpy(), random_state=0)
    X_train, y_train = add_negatives(X[itr], y.iloc[itr], (64, 64), 0.2, 0)
    X_test, y_test = add_negatives(X[ite], y.iloc[ite], (64, 64), 0.2, 1)
    _, classes = encode_localization_target(y_train)
    yt_test, _ = encode_localization_target(y_test, classes=classes)
    return X_train, y_train, X_test, yt_test


def caltech3_validation_split(X_train, y_train):
    """A fifth of the training split held out as a validation set (stratified
    on the label, absent images as a label of their own; random_state=0):
    training images and tidy targets, validation images and their encoded
    targets."""
    from sklocalize.targets import encode_localization_target

    strata = y_train["label"].fillna("none").to_numpy()
    itr, iva = train_test_split(np.arange(len(y_train)), test_size=0.2,
                                stratify=strata, random_state=0)
    _, classes = encode_localization_target(y_train.iloc[itr])
    yt_val, _ = encode_localization_target(y_train.iloc[iva], classes=classes)
    return X_train[itr], y_train.iloc[itr], X_train[iva], yt_val


def caltech3(root, validation=False):
    from caltech3 import evaluate

    X_train, y_train, X_test, yt_test = caltech3_split(root)
    if validation:
        X_train, y_train, X_test, yt_test = caltech3_validation_split(X_train,
                                                                      y_train)
    return (LocalizerEstimator, {}, X_train, y_train,
            lambda est: evaluate(yt_test, est.predict(X_test)))


def lfw(root, validation=False):
    from landmarks_lfw import FLIP_PAIRS, NAMES, reframed_test_sets, scores

    from sklocalize.datasets import load_landmarks
    from sklocalize.targets import encode_landmark_target

    X, frame = load_landmarks(root / "landmarks.txt", root, format="text",
                              image_size=80, landmark_names=NAMES)
    y = encode_landmark_target(frame, landmark_names=NAMES)
    itr, ite = train_test_split(np.arange(len(X)), test_size=0.2, random_state=0)
    if validation:  # a fifth of the training faces instead of the test faces
        itr, ite = train_test_split(itr, test_size=0.2, random_state=0)
    test_sets = reframed_test_sets(X[ite], y[ite], seed=0)
    seen = itr[:len(ite)]  # as many training faces as test faces

    def evaluate(est):
        out = scores(y[ite], est.predict(X[ite]))
        for label, short in (("zoomed out 1/2", "half-size"),
                             ("shifted 10%", "shifted")):
            Xs, ys = test_sets[label]
            out[f"NME {short} (% IOD)"] = scores(ys, est.predict(Xs))["NME (% IOD)"]
        out["NME train faces (% IOD)"] = scores(y[seen], est.predict(X[seen]))[
            "NME (% IOD)"]
        return out

    return (LandmarkEstimator, {"flip_pairs": FLIP_PAIRS}, X[itr], y[itr],
            evaluate)


def fit_and_report(label, est, X, y, evaluate, variants=None):
    """Fit ``est`` and print one line of ``evaluate(est)`` per prediction
    setting in ``variants`` (default: ``tta_flip`` as trained, then
    switched), each starting from the settings the model was trained with.
    Returns the fitted estimator."""
    t0 = time.perf_counter()
    est.fit(X, y)
    seconds = time.perf_counter() - t0
    if variants is None:
        variants = [{"tta_flip": est.tta_flip}, {"tta_flip": not est.tta_flip}]
    trained = {key: getattr(est, key) for key in set().union(*variants)}
    for settings in variants:
        est.set_params(**{**trained, **settings})
        result = evaluate(est)
        print(label, json.dumps(settings),
              " ".join(f"{k}={v:.3f}" for k, v in result.items()),
              f"train {seconds:.0f}s", flush=True)
    return est


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("task", choices=["caltech3", "lfw"])
    parser.add_argument("--data-root", required=True, type=Path)
    parser.add_argument("--configs", required=True,
                        help="a JSON list of parameter objects")
    parser.add_argument("--predict", default=None,
                        help="a JSON list of prediction parameter objects (e.g. "
                             "tta_flip, tta_shift, tta_reframe) to report for each "
                             "trained configuration; default: tta_flip as "
                             "trained and switched")
    parser.add_argument("--validation", action="store_true",
                        help="train on four fifths of the training split and "
                             "score on the last fifth (random_state=0; Caltech-3 "
                             "stratified on the label), so that choices are made "
                             "without the test split")
    parser.add_argument("--seed", type=int, default=0,
                        help="random_state of each configuration that sets none")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    cls, fixed, X, y, evaluate = (caltech3 if args.task == "caltech3" else lfw)(
        args.data_root, validation=args.validation)
    for cfg in json.loads(args.configs):
        params = dict(cfg)
        if isinstance(params.get("augment"), dict):
            params["augment"] = Augmenter(**params["augment"])
        variants = json.loads(args.predict) if args.predict is not None else None
        params.setdefault("random_state", args.seed)  # a config's own seed wins
        fit_and_report(json.dumps(cfg), cls(**fixed, **params), X, y, evaluate,
                       variants)


if __name__ == "__main__":
    main()
