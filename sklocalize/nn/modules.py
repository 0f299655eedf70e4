"""The networks: a convolutional trunk feeding separate heads.

Every network takes a float batch ``(n_samples, n_channels, height, width)``
of any size from 16 px up (adaptive pooling makes the heads size-independent)
and returns a tuple:

- :class:`LocalizerNet`: ``(presence_logit (n,), boxes (n, 4), class_logits (n, K))``,
  the boxes relative ``"cxcyhw"`` in (0, 1) through a sigmoid.
- :class:`LandmarkNet`: ``(presence_logit (n,), points (n, 2L))``, the points
  relative ``x_1, y_1, ...`` in [0, 1].

A user module passed to an estimator must return the same tuple. The estimators
pass the sizes they learn at fit (``in_channels`` and ``n_classes`` or
``n_landmarks``) to a module class whose ``__init__`` accepts them.
"""

import torch
from torch import nn

__all__ = ["ConvTrunk", "LandmarkNet", "LocalizerNet", "SoftArgmax2d"]


def _conv_bn(c_in, c_out, stride=1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ConvTrunk(nn.Module):
    """A plain VGG-style trunk: ``depth`` stages, each halving the resolution.

    Stage ``i`` has ``min(width * 2**i, max_width)`` channels: a stride-2 3x3
    convolution then a 3x3 convolution, each with batch norm and ReLU, after a
    stride-1 stem.

    Parameters
    ----------
    in_channels : int, default=3
    width : int, default=32
        Channels of the stem and first stage.
    depth : int, default=4
        Number of stages; the output stride is ``2 ** depth``.
    max_width : int, default=256

    Attributes
    ----------
    out_channels : int
        Channels of the output feature map.
    """

    def __init__(self, in_channels=3, width=32, depth=4, max_width=256):
        super().__init__()
        layers = [_conv_bn(in_channels, width)]
        c = width
        self.stage_channels = []
        for i in range(depth):
            c_out = min(width * 2**i, max_width)
            layers.append(nn.Sequential(_conv_bn(c, c_out, stride=2),
                                        _conv_bn(c_out, c_out)))
            self.stage_channels.append(c_out)
            c = c_out
        self.stem = layers[0]
        self.stages = nn.ModuleList(layers[1:])
        self.out_channels = c

    def forward(self, x, return_stages=False):
        """Feature map of the last stage (and of every stage if asked)."""
        x = self.stem(x)
        outs = []
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return (x, outs) if return_stages else x


class _GridHead(nn.Module):
    """Pool a feature map to a ``grid x grid`` map, flatten, MLP to ``n_out``.

    Keeping a coarse spatial grid (rather than global pooling) keeps the
    information on *where* things are that box and point regression need.
    """

    def __init__(self, c_in, n_out, grid=4, hidden=256, dropout=0.0):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * grid * grid, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(dropout),
            nn.Linear(hidden, n_out),
        )

    def forward(self, x):
        return self.mlp(self.pool(x))


class _ImageNetBase(nn.Module):
    def _prepare(self, x):
        if x.ndim != 4:
            raise ValueError(
                "The module expects a batch of shape (n_samples, n_channels, height, "
                f"width); got shape {tuple(x.shape)}."
            )
        return x.contiguous(memory_format=torch.channels_last)


class LocalizerNet(_ImageNetBase):
    """Trunk + presence, box and class heads for classification with
    localization.

    Parameters
    ----------
    n_classes : int
        Number of classes (set by the estimator from ``y``).
    in_channels : int, default=3
        Number of image channels (set by the estimator from ``X``).
    width : int, default=32
        Width of the trunk's first stage (see :class:`ConvTrunk`).
    depth : int, default=4
        Number of trunk stages.
    grid : int, default=4
        The box head reads a ``grid x grid`` pooled feature map.
    hidden : int, default=256
        Hidden units of the box head.
    dropout : float, default=0.0
        Dropout before the heads' last layers.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn import LocalizerNet
    >>> net = LocalizerNet(n_classes=3, in_channels=1, width=8, depth=2)
    >>> [tuple(t.shape) for t in net(torch.zeros(2, 1, 16, 16))]
    [(2,), (2, 4), (2, 3)]
    """

    def __init__(self, n_classes, in_channels=3, width=32, depth=4, grid=4,
                 hidden=256, dropout=0.0):
        super().__init__()
        self.trunk = ConvTrunk(in_channels, width, depth)
        c = self.trunk.out_channels
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.presence = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, 1))
        self.classes = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, n_classes))
        self.box = _GridHead(c, 4, grid=grid, hidden=hidden, dropout=dropout)

    def forward(self, x):
        f = self.trunk(self._prepare(x))
        g = self.global_pool(f)
        return (
            self.presence(g).squeeze(1),
            torch.sigmoid(self.box(f)),
            self.classes(g),
        )


class SoftArgmax2d(nn.Module):
    """Soft-argmax (integral regression): heatmaps to expected coordinates.

    Each heatmap is turned into a probability map by a softmax over its pixels;
    the point is the expectation of the pixel-centre coordinates under it,
    relative to the map (pixel ``i`` of ``w`` has its centre at
    ``(i + 0.5) / w``). Differentiable, with sub-pixel precision.

    References
    ----------
    .. [1] X. Sun et al., "Integral Human Pose Regression", ECCV 2018.
    """

    def forward(self, heatmaps):
        n, k, h, w = heatmaps.shape
        prob = torch.softmax(heatmaps.reshape(n, k, h * w).float(), dim=2)
        prob = prob.reshape(n, k, h, w)
        xs = (torch.arange(w, device=heatmaps.device, dtype=prob.dtype) + 0.5) / w
        ys = (torch.arange(h, device=heatmaps.device, dtype=prob.dtype) + 0.5) / h
        x = (prob.sum(dim=2) * xs).sum(dim=2)
        y = (prob.sum(dim=3) * ys).sum(dim=2)
        return torch.stack([x, y], dim=2).reshape(n, 2 * k)


class LandmarkNet(_ImageNetBase):
    """Trunk + presence and point heads for landmark detection.

    Parameters
    ----------
    n_landmarks : int
        Number of points (set by the estimator from ``y``).
    in_channels : int, default=3
    width : int, default=32
    depth : int, default=4
    head : {"heatmap", "regression"}, default="heatmap"
        ``"heatmap"``: one heatmap per point at stride 4 (the trunk's deepest
        features upsampled and added to the stride-4 stage), read out by
        :class:`SoftArgmax2d`. ``"regression"``: an MLP on a ``grid x grid``
        pooled map.
    grid : int, default=4
        For ``head="regression"``.
    hidden : int, default=256
        For ``head="regression"``.
    dropout : float, default=0.0

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn import LandmarkNet
    >>> net = LandmarkNet(n_landmarks=5, in_channels=1, width=8, depth=3)
    >>> [tuple(t.shape) for t in net(torch.zeros(2, 1, 16, 16))]
    [(2,), (2, 10)]
    """

    def __init__(self, n_landmarks, in_channels=3, width=32, depth=4,
                 head="heatmap", grid=4, hidden=256, dropout=0.0):
        super().__init__()
        if head not in ("heatmap", "regression"):
            raise ValueError(
                f"head must be 'heatmap' or 'regression'; got {head!r}."
            )
        self.head = head
        self.trunk = ConvTrunk(in_channels, width, depth)
        c = self.trunk.out_channels
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.presence = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, 1))
        if head == "heatmap":
            # stride-4 features when the trunk is deep enough, else the finest
            self.skip_stage = min(1, depth - 1)
            c_skip = self.trunk.stage_channels[self.skip_stage]
            self.lateral = nn.Conv2d(c, c_skip, 1)
            self.refine = _conv_bn(c_skip, c_skip)
            self.heatmaps = nn.Conv2d(c_skip, n_landmarks, 1)
            self.soft_argmax = SoftArgmax2d()
        else:
            self.points = _GridHead(c, 2 * n_landmarks, grid=grid, hidden=hidden,
                                    dropout=dropout)

    def forward(self, x):
        f, stages = self.trunk(self._prepare(x), return_stages=True)
        presence = self.presence(self.global_pool(f)).squeeze(1)
        if self.head == "regression":
            return presence, torch.sigmoid(self.points(f))
        skip = stages[self.skip_stage]
        up = nn.functional.interpolate(self.lateral(f), size=skip.shape[-2:],
                                       mode="bilinear", align_corners=False)
        maps = self.heatmaps(self.refine(skip + up))
        return presence, self.soft_argmax(maps)
