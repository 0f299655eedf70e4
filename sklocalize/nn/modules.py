"""The networks: a convolutional trunk feeding separate heads.

Every network takes a float batch ``(n_samples, n_channels, height, width)``
of any size from 16 px up (adaptive pooling makes the heads size-independent)
and returns a tuple:

- :class:`LocalizerNet`: ``(presence_logit (n,), boxes (n, 4), class_logits (n, K))``,
  the boxes relative ``"cxcyhw"`` in (0, 1); in training mode the edge head
  also returns its edge logits ``(columns (n, 2, w), rows (n, 2, h))`` as a
  fourth element, for the criterion's optional edge term.
- :class:`LandmarkNet`: ``(presence_logit (n,), points (n, 2L))``, the points
  relative ``x_1, y_1, ...`` in [0, 1]; in training mode the heatmap head also
  returns its heatmap logits ``(n, L, h, w)`` as a third element, for the
  criterion's optional heatmap term.

A user module passed to an estimator must return the same tuple. The estimators
pass the sizes they learn at fit (``in_channels`` and ``n_classes`` or
``n_landmarks``) to a module class whose ``__init__`` accepts them.
"""

import numpy as np
import torch
from torch import nn

from ..boxes import box_convert
from ..geometry import cell_centres

__all__ = ["ConvTrunk", "Dropout", "LandmarkNet", "LocalizerNet", "SoftArgmax2d"]


def _check_sizes(**values):
    """Raise a ValueError naming the first of ``values`` that is not a
    positive integer."""
    for name, value in values.items():
        if not _is_positive_int(value):
            raise ValueError(f"{name} must be a positive integer; got {value!r}.")


def _check_dropout(dropout):
    if not (isinstance(dropout, (int, float, np.floating))
            and not isinstance(dropout, bool) and 0 <= dropout < 1):
        raise ValueError(f"dropout must be a probability in [0, 1); got {dropout!r}.")


class Dropout(nn.Dropout):
    """``nn.Dropout`` drawing its masks from a generator of its own.

    torch's dropout draws from the global generator, which every thread
    shares: two estimators training in two threads (``GridSearchCV`` with
    joblib's threading backend) would draw each other's masks. This one's
    generator is seeded when it is built, from the global generator, which
    the estimators seed from ``random_state`` while they build the network;
    so a fit's masks depend on its ``random_state`` alone. The masks are
    drawn on the CPU (the heads' dropout acts on small pooled features).

    Parameters
    ----------
    p : float, default=0.5
        The probability of zeroing an element.
    """

    def __init__(self, p=0.5):
        super().__init__(p)
        self.generator = None
        if p > 0:
            seed = int(torch.randint(2**62, ()).item())
            self.generator = torch.Generator().manual_seed(seed)

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        keep = torch.rand(x.shape, generator=self.generator) >= self.p
        return x * keep.to(device=x.device, dtype=x.dtype) / (1 - self.p)


def _is_positive_int(value):
    """Whether ``value`` is a positive integer (numpy's too; not a bool)."""
    return (isinstance(value, (int, np.integer)) and not isinstance(value, bool)
            and value >= 1)


def resolve_stem_stride(stem_stride, image_size):
    """``"auto"``: 2 for images of 48 px and more a side, else 1."""
    if stem_stride == "auto":
        return 2 if image_size is not None and min(image_size) >= 48 else 1
    if stem_stride not in (1, 2):
        raise ValueError(f"stem_stride must be 1, 2 or 'auto'; got {stem_stride!r}.")
    return stem_stride


def resolve_depth(depth, image_size, stem_stride):
    """``"auto"``: the fewest trunk stages, at most 4, that bring the deepest
    feature map down to 4 cells a side or fewer (4 without an
    ``image_size``)."""
    if depth == "auto":
        if image_size is None:
            return 4
        side = min(image_size) / stem_stride
        return next((d for d in range(1, 4) if side / 2 ** d <= 4), 4)
    if not _is_positive_int(depth):
        raise ValueError(f"depth must be a positive integer or 'auto'; got {depth!r}.")
    return int(depth)


def _conv_bn(c_in, c_out, stride=1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class ConvTrunk(nn.Module):
    """A plain VGG-style trunk: ``depth`` stages, each halving the resolution.

    :class:`LocalizerNet` and :class:`LandmarkNet` run it in the channels_last
    memory format, which trains at least as fast as the default layout on CPU
    (see :ref:`bench-channels-last`).

    Stage ``i`` has ``min(width * 2**i, max_width)`` channels: a stride-2 3x3
    convolution then a 3x3 convolution, each with batch norm and ReLU, after a
    3x3 stem of ``width`` channels.

    Parameters
    ----------
    in_channels : int, default=3
        Number of image channels.
    width : int, default=32
        Channels of the stem and first stage.
    depth : int, default=4
        Number of stages; the output stride is ``2 ** depth``.
    max_width : int, default=256
        Most channels a stage may have.
    stem_stride : int, default=1
        Stride of the stem: 2 halves the resolution before the first stage,
        for much less compute and a coarser first stage (see
        :ref:`bench-stem-stride`).

    Attributes
    ----------
    out_channels : int
        Channels of the output feature map.
    stage_channels, stage_strides : list of int
        Channels and output stride of each stage, the stem first (index 0).
    """

    def __init__(self, in_channels=3, width=32, depth=4, max_width=256,
                 stem_stride=1):
        super().__init__()
        _check_sizes(in_channels=in_channels, width=width, depth=depth,
                     max_width=max_width)
        layers = [_conv_bn(in_channels, width, stride=stem_stride)]
        c = width
        self.stage_channels = [width]
        self.stage_strides = [stem_stride * 2 ** i for i in range(depth + 1)]
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
        """Feature map of the last stage (and of the stem and every stage if
        asked)."""
        x = self.stem(x)
        outs = [x]
        for stage in self.stages:
            x = stage(x)
            outs.append(x)
        return (x, outs) if return_stages else x


BACKBONES = ("scratch", "mobilenet_v2", "efficientnet_lite0")


def build_trunk(backbone, in_channels, width, depth, stem_stride):
    """The trunk a network's ``backbone`` names (see :class:`LocalizerNet`).

    Parameters
    ----------
    backbone : {"scratch", "mobilenet_v2", "efficientnet_lite0"}
    in_channels, width, depth, stem_stride
        The image channels, and the shape of a ``"scratch"`` trunk.

    Returns
    -------
    trunk : nn.Module
        With ``ConvTrunk``'s interface: ``forward(x, return_stages)``,
        ``out_channels``, ``stage_channels``, ``stage_strides``.
    """
    if backbone == "scratch":
        return ConvTrunk(in_channels, width, depth, stem_stride=stem_stride)
    if backbone in ("mobilenet_v2", "efficientnet_lite0"):
        from .backbones import EfficientNetLite0, MobileNetV2

        cls = MobileNetV2 if backbone == "mobilenet_v2" else EfficientNetLite0
        # stride 4 too, for the heads' fine maps (edge_stride, heatmap_stride)
        return cls(in_channels, out_strides=(4, 8, 16, 32))
    raise ValueError(f"backbone must be one of {BACKBONES}; got {backbone!r}.")


class _GridHead(nn.Module):
    """Pool a feature map to a ``grid x grid`` map, flatten, MLP to ``n_out``.

    Keeping a coarse spatial grid (rather than global pooling) keeps the
    information on *where* things are that box and point regression need.
    """

    def __init__(self, c_in, n_out, grid=4, hidden=256, dropout=0.0):
        super().__init__()
        _check_sizes(grid=grid, hidden=hidden)
        self.pool = nn.AdaptiveAvgPool2d(grid)
        self.mlp = nn.Sequential(
            nn.Flatten(),
            nn.Linear(c_in * grid * grid, hidden),
            nn.ReLU(inplace=True),
            Dropout(dropout),
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
    backbone : {"scratch", "mobilenet_v2", "efficientnet_lite0"}, default="scratch"
        The trunk: ``"scratch"``, the package's :class:`ConvTrunk`
        (``width``, ``depth`` and ``stem_stride`` shape it), or a trunk for
        ImageNet weights (the estimators load them; ``width``, ``depth`` and
        ``stem_stride`` do not apply): ``"mobilenet_v2"``,
        :class:`~sklocalize.nn.backbones.MobileNetV2` with torchvision's
        layout, or ``"efficientnet_lite0"``,
        :class:`~sklocalize.nn.backbones.EfficientNetLite0`.
        ``"scratch"``, the trunk every benchmark default was chosen with.
    width : int, default=48
        Width of the trunk's first stage (see :class:`ConvTrunk`). 48, because
        it gave the best mean IoU for the training time of the widths tried
        (see :ref:`bench-localizer-width`).
    depth : int or "auto", default="auto"
        Number of trunk stages. ``"auto"``: the fewest, at most 4, that bring
        the deepest feature map down to 4 cells a side or fewer, counting the
        stem's stride (3 for 64-px images, 4 for 128-px ones, 2 for 16-px
        ones; 4 without an ``image_size``). ``"auto"``, because with the
        estimator's edge term the 3 stages it picks at 64 px trained faster
        than 4 and scored a higher mean IoU (see
        :ref:`bench-localizer-depth`).
    grid : int, default=4
        For ``box_head="grid"``: the size of the pooled feature map.
    hidden : int, default=256
        For ``box_head="grid"``: hidden units of the MLP.
    dropout : float, default=0.0
        Dropout before the heads' last layers.
    stem_stride : {1, 2, "auto"}, default="auto"
        See :class:`ConvTrunk`; ``"auto"`` is 2 for images of 48 px and more a
        side (``image_size``), else 1, so that large images cost less and
        small ones keep their detail (see :ref:`bench-stem-stride`).
    box_head : {"edges", "grid"}, default="edges"
        ``"edges"``: each edge is the soft-argmax of a 1-D distribution over the
        columns (left, right) or rows (top, bottom) of a fine feature map
        (stride ``edge_stride``; integral regression, as the landmark
        heatmaps). ``"grid"``: an MLP on
        a ``grid x grid`` pooled map regresses the box.
    edge_stride : int, default=4
        For ``box_head="edges"``: the stride, in input pixels, of the feature
        map the edges are read from (the trunk stage nearest it, the stem
        included; see ``heatmap_stride`` in :class:`LandmarkNet`).
    edge_top_down : {"auto", "direct", "every_stage"}, default="auto"
        For ``box_head="edges"``: how the deepest features reach that map, in
        one step or through every trunk stage in turn (an FPN's top-down
        path). ``"auto"``: ``"direct"`` on the scratch trunk, because
        ``"every_stage"`` costs more training time per epoch there and did
        not score higher in the same training time (see
        :ref:`bench-localizer-edge-top-down`); ``"every_stage"`` on a
        pretrained trunk, whose stride-4 stage holds only low-level features
        (see :ref:`bench-pretrained-ablation`).
    image_size : tuple of (height, width), default=None
        Set by the estimator from the data; used by ``stem_stride="auto"`` and
        ``depth="auto"``.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn import LocalizerNet
    >>> net = LocalizerNet(n_classes=3, in_channels=1, width=8, depth=2).eval()
    >>> [tuple(t.shape) for t in net(torch.zeros(2, 1, 16, 16))]
    [(2,), (2, 4), (2, 3)]
    """

    def __init__(self, n_classes, in_channels=3, backbone="scratch", width=48,
                 depth="auto", grid=4, hidden=256, dropout=0.0, stem_stride="auto",
                 box_head="edges", edge_stride=4, edge_top_down="auto",
                 image_size=None):
        super().__init__()
        stem_stride = resolve_stem_stride(stem_stride, image_size)
        depth = resolve_depth(depth, image_size, stem_stride)
        _check_sizes(n_classes=n_classes)
        _check_dropout(dropout)
        if box_head not in ("grid", "edges"):
            raise ValueError(f"box_head must be 'grid' or 'edges'; got {box_head!r}.")
        edge_top_down = resolve_top_down(edge_top_down, backbone, "edge_top_down")
        self.box_head = box_head
        self.trunk = build_trunk(backbone, in_channels, width, depth, stem_stride)
        c = self.trunk.out_channels
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.presence = nn.Sequential(Dropout(dropout), nn.Linear(c, 1))
        self.classes = nn.Sequential(Dropout(dropout), nn.Linear(c, n_classes))
        if box_head == "grid":
            self.box = _GridHead(c, 4, grid=grid, hidden=hidden, dropout=dropout)
        else:
            self.box = _EdgeHead(self.trunk, edge_stride, edge_top_down)

    def forward(self, x):
        f, stages = self.trunk(self._prepare(x), return_stages=True)
        g = self.global_pool(f)
        if self.box_head == "grid":
            boxes, edges = torch.sigmoid(self.box(f)), None
        else:
            boxes, edges = self.box(f, stages)
        out = (self.presence(g).squeeze(1), boxes, self.classes(g))
        if self.training and edges is not None:
            return out + (edges,)  # the criterion may supervise the edges too
        return out


def _fine_stage(trunk, stride=4):
    """Index of the trunk stage whose output stride is nearest ``stride``."""
    return int(np.argmin([abs(np.log2(st / stride)) for st in trunk.stage_strides]))


_TOP_DOWN = ("direct", "every_stage")


def resolve_top_down(top_down, backbone, name):
    """The top-down path a head's ``top_down`` parameter (``name``) asks for;
    ``"auto"`` is ``"every_stage"`` on a pretrained trunk and ``"direct"`` on
    the scratch one (see :class:`LocalizerNet`)."""
    if top_down == "auto":
        return "direct" if backbone == "scratch" else "every_stage"
    if top_down not in _TOP_DOWN:
        raise ValueError(f"{name} must be 'auto' or one of {_TOP_DOWN}; got "
                         f"{top_down!r}.")
    return top_down


class _FineMap(nn.Module):
    """The deepest features brought up to a fine stride, top-down.

    ``top_down="direct"``: the deepest map is upsampled onto the stage nearest
    stride 4 (or nearest a coarser ``stride``) and refined (a lateral 1x1
    convolution, a sum with the stage's own features, a 3x3 convolution).
    ``"every_stage"``: the same step onto each stage in turn, from the one
    below the deepest down (an FPN's top-down path), so the fine map also
    holds the middle stages' features. For a finer ``stride`` the step
    repeats onto each shallower stage (and the stem) down to the one nearest
    ``stride``. ``name`` is the parameter that set ``stride``, for error
    messages; ``top_down`` is one of ``_TOP_DOWN``, checked by the network
    that exposes it.
    """

    def __init__(self, trunk, stride=4, name="stride", top_down="direct"):
        super().__init__()
        if not _is_positive_int(stride):
            raise ValueError(f"{name} must be a positive integer (a stride in input "
                             f"pixels); got {stride!r}.")
        target = _fine_stage(trunk, stride)
        if top_down == "every_stage":
            first = max(len(trunk.stage_channels) - 2, target)
        else:
            first = max(_fine_stage(trunk, 4), target)
        self.levels = list(range(first, target - 1, -1))
        c_in = trunk.out_channels
        self.lateral = nn.ModuleList()
        self.refine = nn.ModuleList()
        for i in self.levels:
            c = trunk.stage_channels[i]
            self.lateral.append(nn.Conv2d(c_in, c, 1))
            self.refine.append(_conv_bn(c, c))
            c_in = c
        self.out_channels = c_in
        self.stride = trunk.stage_strides[self.levels[-1]]

    def forward(self, f, stages):
        x = f
        for i, lateral, refine in zip(self.levels, self.lateral, self.refine,
                                      strict=True):
            skip = stages[i]
            up = nn.functional.interpolate(lateral(x), size=skip.shape[-2:],
                                           mode="bilinear", align_corners=False)
            x = refine(skip + up)
        return x


class _EdgeHead(nn.Module):
    """Box edges as soft-argmaxes of 1-D distributions over columns and rows.

    ``forward`` returns the boxes and the distributions' logits
    ``(columns (n, 2, w), rows (n, 2, h))``: left and right edges over the
    fine map's columns, top and bottom over its rows.
    """

    def __init__(self, trunk, stride=4, top_down="direct"):
        super().__init__()
        self.fine = _FineMap(trunk, stride, "edge_stride", top_down)
        self.logits = nn.Conv2d(self.fine.out_channels, 4, 1)
        self.prior = 4.0

    def forward(self, f, stages):
        m = self.logits(self.fine(f, stages)).float()  # (n, 4, h, w)
        n, _, h, w = m.shape
        xs, ys = cell_centres(w, m), cell_centres(h, m)
        # a fixed prior so that an untrained head starts from a centred box
        # half the image wide (left edges lean left, right edges right)
        sign = torch.tensor([-1.0, 1.0], device=m.device, dtype=m.dtype)[:, None]
        cols = torch.logsumexp(m[:, :2], dim=2) + self.prior * sign * (xs - 0.5)
        rows = torch.logsumexp(m[:, 2:], dim=3) + self.prior * sign * (ys - 0.5)
        x1, x2 = (torch.softmax(cols, dim=2) * xs).sum(dim=2).unbind(1)
        y1, y2 = (torch.softmax(rows, dim=2) * ys).sum(dim=2).unbind(1)
        boxes = box_convert(torch.stack([x1, y1, x2, y2], dim=1), "xyxy", "cxcyhw")
        return boxes, (cols, rows)


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
        xs, ys = cell_centres(w, prob), cell_centres(h, prob)
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
        Number of image channels (set by the estimator from ``X``).
    backbone : {"scratch", "mobilenet_v2", "efficientnet_lite0"}, default="scratch"
        The trunk; see :class:`LocalizerNet`.
    width : int, default=32
        Width of the trunk's first stage (see :class:`ConvTrunk`).
    depth : int or "auto", default=4
        Number of trunk stages; ``"auto"`` chooses it from ``image_size`` by
        the rule of :class:`LocalizerNet`. 4, the trunk the landmark
        defaults were chosen with (see :ref:`bench-lfw`).
    head : {"heatmap", "regression"}, default="heatmap"
        ``"heatmap"``: one heatmap per point at stride ``heatmap_stride`` (the
        trunk's deepest features upsampled and added to the stage nearest
        stride 4, then onto each finer stage down to ``heatmap_stride``), read
        out by :class:`SoftArgmax2d`. ``"regression"``: an MLP on a ``grid x grid``
        pooled map.
    heatmap_stride : int, default=4
        For ``head="heatmap"``: the heatmaps' stride, in input pixels (the
        trunk stage nearest it, the stem included). 2 doubles the heatmaps'
        resolution for a further top-down step onto the stem's features.
    heatmap_top_down : {"auto", "direct", "every_stage"}, default="auto"
        For ``head="heatmap"``: how the deepest features reach the heatmaps'
        map; see ``edge_top_down`` in :class:`LocalizerNet`. ``"auto"``:
        ``"direct"`` on the scratch trunk, the one the defaults were chosen
        with, and ``"every_stage"`` on a pretrained one, because it made the
        pretrained model markedly more accurate (see :ref:`bench-pretrained-ablation`).
    grid : int, default=4
        For ``head="regression"``: the size of the pooled feature map.
    hidden : int, default=256
        For ``head="regression"``: hidden units of the MLP.
    dropout : float, default=0.0
        Dropout before the heads' last layers.
    stem_stride : {1, 2, "auto"}, default="auto"
        See :class:`LocalizerNet`.
    image_size : tuple of (height, width), default=None
        Set by the estimator from the data; used by ``stem_stride="auto"`` and
        ``depth="auto"``.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn import LandmarkNet
    >>> net = LandmarkNet(n_landmarks=5, in_channels=1, width=8, depth=3).eval()
    >>> [tuple(t.shape) for t in net(torch.zeros(2, 1, 16, 16))]
    [(2,), (2, 10)]
    """

    def __init__(self, n_landmarks, in_channels=3, backbone="scratch", width=32,
                 depth=4, head="heatmap", heatmap_stride=4, heatmap_top_down="auto",
                 grid=4, hidden=256, dropout=0.0, stem_stride="auto",
                 image_size=None):
        super().__init__()
        stem_stride = resolve_stem_stride(stem_stride, image_size)
        depth = resolve_depth(depth, image_size, stem_stride)
        _check_sizes(n_landmarks=n_landmarks)
        _check_dropout(dropout)
        if head not in ("heatmap", "regression"):
            raise ValueError(
                f"head must be 'heatmap' or 'regression'; got {head!r}."
            )
        heatmap_top_down = resolve_top_down(heatmap_top_down, backbone,
                                            "heatmap_top_down")
        self.head = head
        self.trunk = build_trunk(backbone, in_channels, width, depth, stem_stride)
        c = self.trunk.out_channels
        self.global_pool = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.presence = nn.Sequential(Dropout(dropout), nn.Linear(c, 1))
        if head == "heatmap":
            self.fine = _FineMap(self.trunk, heatmap_stride, "heatmap_stride",
                                 heatmap_top_down)
            self.heatmaps = nn.Conv2d(self.fine.out_channels, n_landmarks, 1)
            self.soft_argmax = SoftArgmax2d()
        else:
            self.points = _GridHead(c, 2 * n_landmarks, grid=grid, hidden=hidden,
                                    dropout=dropout)

    def forward(self, x):
        f, stages = self.trunk(self._prepare(x), return_stages=True)
        presence = self.presence(self.global_pool(f)).squeeze(1)
        if self.head == "regression":
            return presence, torch.sigmoid(self.points(f))
        maps = self.heatmaps(self.fine(f, stages))
        if self.training:  # the criterion may supervise the heatmaps too
            return presence, self.soft_argmax(maps), maps
        return presence, self.soft_argmax(maps)
