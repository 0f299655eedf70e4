"""save and load keep everything predict needs, and loading runs no code."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError

import sklocalize
from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.augment import Augmenter
from sklocalize.datasets import FACE_FLIP_PAIRS
from sklocalize.nn import LocalizationLoss

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization


def _same_predictions(a, b, X):
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


@pytest.mark.slow
@pytest.mark.parametrize("device", [None, "cpu"])
def test_localizer_round_trip(tmp_path, device):
    X, y = tiny_localization(n_classes=3, as_frame=True)
    # labels seen in an order of their own: the columns must follow classes_
    y["label"] = y["label"].map({"square": "zebra", "circle": "apple",
                                 "triangle": "mango"}).fillna(y["label"])
    est = tiny_estimator(LocalizerEstimator, augment=Augmenter(flip=0.2),
                         criterion=LocalizationLoss(beta=0.1), tta_shift=0.5)
    est.fit(X, y)
    path = est.save(tmp_path / "model.skl")
    kwargs = {} if device is None else {"device": device}
    loaded = LocalizerEstimator.load(path, **kwargs)
    _same_predictions(est, loaded, X)
    np.testing.assert_array_equal(loaded.classes_, est.classes_)
    assert loaded.image_size_ == est.image_size_
    assert loaded.criterion_.beta == 0.1
    assert loaded.augment.flip == 0.2 and loaded.augment.scale == (0.8, 1.2)
    assert loaded.get_params()["module__width"] == est.get_params()["module__width"]
    pd.testing.assert_frame_equal(loaded.predict_frame(X), est.predict_frame(X))
    assert isinstance(sklocalize.load(path), LocalizerEstimator)


def test_the_file_names_the_class_by_its_path_and_old_files_load(tmp_path):
    X, y = tiny_localization()
    est = tiny_estimator(LocalizerEstimator, max_epochs=0).fit(X, y)
    path = est.save(tmp_path / "model.skl")
    archive = torch.load(path, weights_only=True)
    assert archive["estimator"] == "sklocalize.localizer:LocalizerEstimator"
    # a file written when only the class's name was stored
    archive["estimator"] = "LocalizerEstimator"
    torch.save(archive, tmp_path / "old.skl")
    _same_predictions(est, sklocalize.load(tmp_path / "old.skl"), X)
    for stored in ("os:system", "sklocalize.persistence:load", "NoSuchClass",
                   "sklocalize.localizer:_private"):
        archive["estimator"] = stored
        torch.save(archive, tmp_path / "bad.skl")
        with pytest.raises(ValueError, match="unknown class"):
            sklocalize.load(tmp_path / "bad.skl")


@pytest.mark.slow
def test_landmark_round_trip_keeps_the_mean_shape(tmp_path):
    X, y = tiny_landmarks()
    est = tiny_estimator(LandmarkEstimator, flip_pairs=list(FACE_FLIP_PAIRS),
                         tta_flip=True, tta_reframe=2).fit(X, y)
    loaded = sklocalize.load(est.save(tmp_path / "faces.skl"))
    _same_predictions(est, loaded, X)
    np.testing.assert_array_equal(loaded.mean_shape_, est.mean_shape_)
    assert loaded.flip_pairs == est.flip_pairs
    # loading leaves the global torch RNG as it was
    state = torch.random.get_rng_state()
    sklocalize.load(tmp_path / "faces.skl")
    assert torch.equal(state, torch.random.get_rng_state())


def test_load_refuses_other_and_bad_files(tmp_path):
    X, y = tiny_localization()
    path = tiny_estimator(LocalizerEstimator).fit(X, y).save(tmp_path / "m.skl")
    with pytest.raises(ValueError, match="holds a LocalizerEstimator, not a "
                                         "LandmarkEstimator"):
        LandmarkEstimator.load(path)
    truncated = tmp_path / "truncated.skl"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="damaged or truncated"):
        sklocalize.load(truncated)
    onnx_like = tmp_path / "model.onnx"
    onnx_like.write_bytes(b"\x08\x08\x12\x07pytorch\x1a\x03onnx")
    with pytest.raises(ValueError, match="not a sklocalize model file: it looks "
                       "like an ONNX model .* onnxruntime"):
        sklocalize.load(onnx_like)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(2)}, other)
    with pytest.raises(ValueError, match="not a sklocalize model file"):
        sklocalize.load(other)
    archive = torch.load(path, weights_only=True)
    archive["format_version"] = 99
    torch.save(archive, other)
    with pytest.raises(ValueError, match="format version 99.*reads version 1"):
        sklocalize.load(other)


class _Marker:
    """Unpickling it would create a file: the proof that code ran."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_loading_runs_no_code(tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.skl"
    with open(evil, "wb") as f:
        pickle.dump({"format": "sklocalize", "x": _Marker(marker)}, f)
    with pytest.raises(ValueError, match="not a sklocalize model file: it is a "
                       "Python pickle .* load it with joblib.load only if you "
                       "trust its source") as caught:
        sklocalize.load(evil)
    assert "weights_only" not in str(caught.value)  # not torch's advice
    assert not marker.exists()
    # a class named in the file is imported only from sklocalize and torch
    X, y = tiny_localization()
    path = tiny_estimator(LocalizerEstimator).fit(X, y).save(tmp_path / "m.skl")
    archive = torch.load(path, weights_only=True)
    archive["params"] = archive["params"].replace(
        "sklocalize.nn.modules:LocalizerNet", "os:system")
    torch.save(archive, evil)
    with pytest.raises(ValueError, match="'os:system', not a class of sklocalize's"):
        sklocalize.load(evil)


def test_save_needs_a_fitted_estimator_and_plain_parameters(tmp_path):
    with pytest.raises(NotFittedError, match="not fitted"):
        tiny_estimator(LocalizerEstimator).save(tmp_path / "m.skl")
    X, y = tiny_localization()
    est = tiny_estimator(LocalizerEstimator).fit(X, y)
    est.set_params(image_shape=object())
    with pytest.raises(TypeError, match="save cannot store image_shape=<object"):
        est.save(tmp_path / "m.skl")


def test_the_column_names_of_a_pixel_frame_are_kept(tmp_path):
    X, y = tiny_localization(n=16)
    frame = pd.DataFrame(X.reshape(len(X), -1),
                         columns=[f"px{i}" for i in range(X[0].size)])
    est = tiny_estimator(LocalizerEstimator, image_shape=(1, 16, 16)).fit(frame, y)
    loaded = sklocalize.load(est.save(tmp_path / "frame.skl"))
    np.testing.assert_array_equal(loaded.feature_names_in_, est.feature_names_in_)
    with pytest.raises(ValueError, match="feature names should match"):
        loaded.predict(frame[frame.columns[::-1]])
