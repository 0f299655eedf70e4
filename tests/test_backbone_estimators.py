"""The estimators with a pretrained trunk (backbone="mobilenet_v2",
"efficientnet_lite0")."""

import numpy as np
import pytest
import torch

import sklocalize
from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.nn.backbones import EfficientNetLite0, MobileNetV2

from ._helpers import tiny_landmarks, tiny_localization

PARAMS = {"max_epochs": 1, "random_state": 0, "batch_size": 8}


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """A state dict in torchvision's layout (random values), saved to a file."""
    torch.manual_seed(1)
    path = tmp_path_factory.mktemp("weights") / "mobilenet.pth"
    torch.save(MobileNetV2().state_dict(), path)
    return path


@pytest.fixture(scope="module")
def lite0_weights(tmp_path_factory):
    """A state dict in EfficientNet-PyTorch's layout (random values), saved to
    a file."""
    torch.manual_seed(2)
    path = tmp_path_factory.mktemp("weights") / "efficientnet-lite0.pth"
    torch.save(EfficientNetLite0().state_dict(), path)
    return path


@pytest.mark.slow
def test_an_efficientnet_lite0_trunk_fits_predicts_and_reloads(tmp_path,
                                                               lite0_weights):
    X, y = tiny_localization(n=16, size=32)
    est = LocalizerEstimator(backbone="efficientnet_lite0",
                             backbone_weights=lite0_weights, **PARAMS).fit(X, y)
    assert isinstance(est.module_.trunk, EfficientNetLite0)
    assert len(est.history_) == 1
    assert est.module_.trunk.stage_strides == [4, 8, 16, 32]
    y_pred = est.predict(X)
    assert y_pred.shape == (16, 5 + len(est.classes_))
    assert np.isfinite(y_pred).all()
    path = est.save(tmp_path / "model.skl")
    loaded = sklocalize.load(path)
    assert loaded.backbone == "efficientnet_lite0"
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), y_pred)


def test_a_mobilenet_file_is_refused_for_efficientnet_lite0(weights):
    X, y = tiny_localization(n=16, size=32)
    with pytest.raises(ValueError, match="does not fit EfficientNetLite0: .* "
                       "EfficientNet-Lite-PyTorch's key names"):
        LocalizerEstimator(backbone="efficientnet_lite0", backbone_weights=weights,
                           **{**PARAMS, "max_epochs": 0}).fit(X, y)


@pytest.mark.slow
def test_fit_starts_the_trunk_from_the_weights_given(weights):
    X, y = tiny_localization(n=16, size=32)
    est = LocalizerEstimator(backbone="mobilenet_v2", backbone_weights=weights,
                             **{**PARAMS, "max_epochs": 0}).fit(X, y)
    saved = torch.load(weights, weights_only=True)
    trunk = est.module_.trunk.state_dict()
    torch.testing.assert_close(trunk["features.0.0.weight"],
                               saved["features.0.0.weight"])
    random = LocalizerEstimator(backbone="mobilenet_v2", backbone_weights=None,
                                **{**PARAMS, "max_epochs": 0}).fit(X, y)
    assert not torch.equal(random.module_.trunk.state_dict()["features.0.0.weight"],
                           saved["features.0.0.weight"])


@pytest.mark.slow
def test_the_pretrained_trunk_learns_at_a_lower_rate(weights):
    X, y = tiny_landmarks(n=16, size=32)
    est = LandmarkEstimator(backbone="mobilenet_v2", backbone_weights=weights,
                            lr=1e-2, backbone_lr_scale=0.2,
                            callbacks__lr_schedule=None, **PARAMS).fit(X, y)
    lrs = sorted(g["lr"] for g in est.optimizer_.param_groups)
    assert lrs == pytest.approx([2e-3, 1e-2])
    trunk = {id(p) for p in est.module_.trunk.parameters()}
    slow = min(est.optimizer_.param_groups, key=lambda g: g["lr"])
    assert {id(p) for p in slow["params"]} == trunk
    own = LandmarkEstimator(backbone="mobilenet_v2", backbone_weights=weights,
                            optimizer__param_groups=[("presence.*", {"lr": 0.5})],
                            callbacks__lr_schedule=None, **PARAMS).fit(X, y)
    assert 0.5 in [g["lr"] for g in own.optimizer_.param_groups]


@pytest.mark.slow
def test_a_saved_pretrained_model_loads_without_the_weights_file(tmp_path, weights):
    X, y = tiny_localization(n=16, size=32)
    copy = tmp_path / "copy.pth"
    copy.write_bytes(weights.read_bytes())
    est = LocalizerEstimator(backbone="mobilenet_v2", backbone_weights=copy,
                             **PARAMS).fit(X, y)
    path = est.save(tmp_path / "model.skl")
    copy.unlink()
    loaded = sklocalize.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), est.predict_proba(X))


def test_bad_backbone_settings_are_named(tmp_path):
    X, y = tiny_localization(n=16, size=32)
    with pytest.raises(ValueError, match="'backbone' parameter"):
        LocalizerEstimator(backbone="resnet", **PARAMS).fit(X, y)
    torch.save({"features.0.0.weight": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="features"):
        LocalizerEstimator(backbone="mobilenet_v2",
                           backbone_weights=tmp_path / "bad.pth", **PARAMS).fit(X, y)

    class Plain(torch.nn.Module):
        def __init__(self, n_classes):
            super().__init__()

    with pytest.raises(ValueError, match="needs a module class that takes a "
                                         "backbone"):
        LocalizerEstimator(module=Plain, backbone="mobilenet_v2",
                           **PARAMS).fit(X, y)


@pytest.mark.slow
def test_skorch_freezer_holds_the_trunk_until_the_unfreezer(weights):
    # the head-first schedule of the user guide: trunk frozen for epochs 1-2
    from skorch.callbacks import Callback, Freezer, Unfreezer

    class Trunk(Callback):
        def initialize(self):
            self.weights, self.head = [], []
            return self

        def on_epoch_end(self, net, **kwargs):
            self.weights.append(net.module_.trunk.features[0][0].weight.clone())
            self.head.append(net.module_.presence[1].weight.clone())

    X, y = tiny_localization(n=16, size=32)
    record = Trunk()
    LocalizerEstimator(backbone="mobilenet_v2", backbone_weights=weights,
                       callbacks=[Freezer("trunk.*", at=1),
                                  Unfreezer("trunk.*", at=3), record],
                       **{**PARAMS, "max_epochs": 3}).fit(X, y)
    start = torch.load(weights, weights_only=True)["features.0.0.weight"]
    assert torch.equal(record.weights[0], start)
    assert torch.equal(record.weights[1], start)
    assert not torch.equal(record.weights[2], start)  # learns once unfrozen
    assert not torch.equal(record.head[0], record.head[1])  # the heads learn
