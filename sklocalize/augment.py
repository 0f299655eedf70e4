"""Training-time augmentation that moves the targets with the pixels.

:class:`Augmenter` transforms each training batch (flip, zoom, aspect ratio,
shift, rotation, brightness, contrast and saturation) and asks the estimator's task
(:mod:`sklocalize.tasks`) how the targets move; :func:`affine_transform` is
its deterministic building block. The geometry is :mod:`sklocalize.geometry`'s.
"""

from functools import partial
from numbers import Real

import numpy as np
import torch

from .geometry import (
    INTERPOLATIONS,
    affine_matrix,
    as_matrices,
    box_corners,
    enclosing_boxes,
    map_points,
    warp_images,
)

__all__ = ["Augmenter", "affine_transform"]


class Augmenter:
    """Random, target-aware transforms applied to each training batch.

    The targets move exactly with the pixels: a horizontal flip maps a relative
    x to ``1 - x`` (pixel edges, so pixel ``i`` of ``W`` lands on ``W - 1 - i``)
    and swaps the ``flip_pairs`` of landmarks; a zoom by ``s`` and a shift
    ``t`` map ``p -> (p - 0.5) * s + 0.5 + t``, the pixels being resampled
    bilinearly with the same map (``align_corners=False``) and padded with
    the image's mean where the image runs out. With ``keep_inside`` the shift
    is drawn so that the object's box (or the face's points) stays in view
    whenever it fits; otherwise boxes are clipped, and an object with less than
    a quarter of its box left in view becomes absent (``p_c = 0``), and points
    leaving the image become not visible (NaN).

    Parameters
    ----------
    flip : float, default=0.5
        Probability of a horizontal flip.
    scale : tuple of float, default=(0.8, 1.2)
        Zoom factor range (log-uniform); below 1 zooms out. ``(1, 1)`` turns it off.
    shift : float, default=0.1
        Largest shift, as a share of the image, in x and in y.
    brightness : float, default=0.1
        Largest brightness offset, in units of each image's standard deviation.
    contrast : float, default=0.2
        Contrast factor drawn in ``[1 - contrast, 1 + contrast]``.
    aspect : float, default=0.0
        Largest change of the aspect ratio: the width is stretched by ``r``
        and the height by ``1 / r``, ``r`` log-uniform in ``[1 / (1 +
        aspect), 1 + aspect]``, on the images that get the zoom. Photos of
        every shape are resized to one, so their objects come squeezed by
        their photo's aspect ratio; 0 turns it off.
    saturation : float, default=0.0
        Colour saturation factor drawn in ``[1 - saturation, 1 + saturation]``
        (0 is grey, each pixel's channel mean), for colour images; 0 turns it
        off.
    keep_inside : bool, default=True
    cut : float, default=0.0
        Probability that an image is cut to a window around its object (its
        box, or its points) and the rest filled with the image's mean, after
        the other moves: what a face cropped tighter than the training faces
        looks like once re-framing zooms it back out (its hair, chin and
        background gone). 0 turns it off.
    cut_scale : tuple of float, default=(0.5, 1.0)
        The window's side, as a share of the image's, drawn uniformly; never
        smaller than the object.
    lowres : float, default=0.0
        Probability that an image is shrunk by a factor drawn in
        ``lowres_scale`` (with antialiasing) and enlarged back (bilinear):
        the detail a small object keeps once re-framing enlarges it. 0 turns
        it off.
    lowres_scale : tuple of float, default=(1.0, 2.5)
        The range of the shrinking factor, log-uniform.
    rotation : float, default=0.0
        Largest in-plane rotation, in degrees, drawn uniformly in
        ``[-rotation, rotation]`` about the image centre (in pixel space, so
        angles stay true on non-square images). Points rotate exactly; a
        rotated box becomes the box enclosing its rotated corners, looser than
        the object, so leave it at 0 for localization unless that is wanted.
    reframe_rotation : float or None, default=None
        Largest rotation, in degrees, of the images that get the zoom and the
        shift (``reframe_prob``), the others keeping ``rotation``: tilted
        faces for a re-framing first pass to find, without tilting the
        faces that teach the framing the last pass sees. None: ``rotation``.
    reframe_prob : float, default=1.0
        Probability that an image gets the zoom and the shift; the others keep
        their framing (flip, rotation and jitter apply to every image). Below 1
        it mixes re-framed faces into training without moving most faces off
        the framing they come in, e.g. to make
        ``LandmarkEstimator(tta_reframe=1)``'s first pass find faces framed
        differently.
    interpolation : {"bilinear", "bicubic"}, default="bilinear"
        How zoomed, shifted or rotated images are resampled (see
        :func:`~sklocalize.geometry.warp_images`). Bilinear blurs a little, so
        the augmented images are softer than the images the model sees at
        prediction; bicubic blurs less and costs a little more per batch.
        Bilinear, because bicubic training did not lower the error (see
        :ref:`bench-augmenter-interpolation`).

    Examples
    --------
    >>> from sklocalize import LocalizerEstimator
    >>> from sklocalize.augment import Augmenter
    >>> est = LocalizerEstimator(augment=Augmenter(flip=0.0, shift=0.05))
    """

    def __init__(self, flip=0.5, scale=(0.8, 1.2), shift=0.1, brightness=0.1,
                 contrast=0.2, aspect=0.0, saturation=0.0, keep_inside=True,
                 cut=0.0, cut_scale=(0.5, 1.0), lowres=0.0,
                 lowres_scale=(1.0, 2.5), rotation=0.0,
                 reframe_rotation=None, reframe_prob=1.0, interpolation="bilinear"):
        self.flip = flip
        self.scale = scale
        self.shift = shift
        self.brightness = brightness
        self.contrast = contrast
        self.aspect = aspect
        self.saturation = saturation
        self.keep_inside = keep_inside
        self.cut = cut
        self.cut_scale = cut_scale
        self.lowres = lowres
        self.lowres_scale = lowres_scale
        self.rotation = rotation
        self.reframe_rotation = reframe_rotation
        self.reframe_prob = reframe_prob
        self.interpolation = interpolation

    def __repr__(self):
        return (f"Augmenter(flip={self.flip}, scale={self.scale}, shift={self.shift}, "
                f"brightness={self.brightness}, contrast={self.contrast}, "
                f"aspect={self.aspect}, saturation={self.saturation}, "
                f"keep_inside={self.keep_inside}, cut={self.cut}, "
                f"cut_scale={self.cut_scale}, lowres={self.lowres}, "
                f"lowres_scale={self.lowres_scale}, rotation={self.rotation}, "
                f"reframe_rotation={self.reframe_rotation}, "
                f"reframe_prob={self.reframe_prob}, "
                f"interpolation={self.interpolation!r})")

    def check(self):
        """Validate the settings; raise ValueError naming the bad one."""
        for name, ok, expected in (
                ("scale", lambda lo, hi: 0 < lo <= hi, "0 < low <= high"),
                ("cut_scale", lambda lo, hi: 0 < lo <= hi <= 1,
                 "0 < low <= high <= 1"),
                ("lowres_scale", lambda lo, hi: 1 <= lo <= hi, "1 <= low <= high")):
            _check_range(getattr(self, name), name, ok, expected)
        for name in ("flip", "reframe_prob", "cut", "lowres"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"Augmenter {name} must be a probability in "
                                 f"[0, 1]; got {value!r}.")
        for name in ("shift", "brightness", "contrast", "saturation"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"Augmenter {name} must be in [0, 1); got "
                                 f"{value!r}.")
        if not 0 <= self.aspect <= 1:
            raise ValueError(f"Augmenter aspect must be in [0, 1]; got "
                             f"{self.aspect!r}.")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError("Augmenter interpolation must be one of "
                             f"{INTERPOLATIONS}; got {self.interpolation!r}.")
        for name in ("rotation", "reframe_rotation"):
            value = getattr(self, name)
            if value is None and name == "reframe_rotation":
                continue
            if not (isinstance(value, Real) and 0 <= value <= 180):
                raise ValueError(f"Augmenter {name} must be in [0, 180] degrees; "
                                 f"got {value!r}.")
        return self

    def __call__(self, X, y, task, generator=None):
        """Transform a batch.

        Parameters
        ----------
        X : torch.Tensor of shape (n, C, H, W)
        y : torch.Tensor of shape (n, n_outputs)
        task : LocalizationTask or LandmarkTask
            How the targets move (:mod:`sklocalize.tasks`).
        generator : torch.Generator, default=None
            Where the random draws come from (the estimator passes its fit's
            own); None draws from torch's global generator.

        Returns
        -------
        X, y : new tensors (the inputs are not modified)
        """
        n = len(X)
        given = X  # the caller's: mirrored into a copy, never in place
        rand = partial(torch.rand, generator=generator)
        flipped = None  # the images to mirror, not yet mirrored
        if self.flip > 0:
            mask = rand(n) < self.flip
            y = task.flip(y, mask)
            flipped = mask.nonzero().squeeze(1)
        lo, hi = self.scale
        moves = ((lo, hi) != (1, 1) or self.shift > 0 or self.rotation > 0
                 or self.aspect > 0 or self.reframe_rotation)
        if moves or self.cut > 0 or self.lowres > 0:
            # these read where the pixels are: mirror first, into a copy
            X = _mirrored(X, flipped, in_place=False)
            flipped = None
        if moves:
            X, y = self._affine(X, y, task, generator)
        if self.cut > 0:
            X = _cut_windows(X, y, task, self.cut, self.cut_scale, generator)
        if self.lowres > 0:
            X = _low_resolution(X, self.lowres, self.lowres_scale, generator)
        if self.saturation > 0 and X.shape[1] == 3:
            # towards (or away from) each pixel's grey: one pass, a new tensor
            f = 1 + (rand(n, 1, 1, 1) * 2 - 1) * self.saturation
            X = torch.lerp(X.mean(dim=1, keepdim=True), X, f)
        if self.brightness > 0 or self.contrast > 0:
            # a mirror image keeps its mean and spread, so the jitter may come
            # first: (X - mean) * c + mean + b * std as one pass over the
            # pixels, into a new tensor that the flip then changes in place
            std, mean = _std_mean(X)
            c = 1 + (rand(n, 1, 1, 1) * 2 - 1) * self.contrast
            b = (rand(n, 1, 1, 1) * 2 - 1) * self.brightness
            X = torch.addcmul(mean * (1 - c) + b * std, X, c)
        return _mirrored(X, flipped, in_place=X is not given), y

    def _affine(self, X, y, task, generator):
        n = len(X)
        rand = partial(torch.rand, generator=generator)
        lo, hi = self.scale
        log_s = rand(n) * (np.log(hi) - np.log(lo)) + np.log(lo)
        s = torch.exp(log_s)
        limit = torch.full((n, 1), float(self.shift))
        reframed = None  # every image
        if self.reframe_prob < 1:  # the rest keep zoom 1 and no shift
            reframed = rand(n) < self.reframe_prob
            s = torch.where(reframed, s, torch.ones_like(s))
            limit = limit * reframed[:, None]
        t = (rand(n, 2) * 2 - 1) * limit
        angle = None
        wide = self.rotation if self.reframe_rotation is None else self.reframe_rotation
        largest = (torch.tensor(float(np.deg2rad(wide))) if reframed is None else
                   torch.where(reframed, np.deg2rad(wide), np.deg2rad(self.rotation)))
        if (largest > 0).any():
            angle = (rand(n) * 2 - 1) * largest
        matrix = affine_matrix(s, angle, X.shape[-2:])
        if self.aspect > 0:
            log_r = (rand(n) * 2 - 1) * np.log1p(self.aspect)
            if self.reframe_prob < 1:
                log_r = log_r * reframed
            r = torch.exp(log_r).to(matrix.dtype)
            matrix = torch.stack([matrix[:, 0] * r[:, None],
                                  matrix[:, 1] / r[:, None]], dim=1)
        if self.keep_inside:
            ext = task.extent(y)
            # extent after zoom and rotation, no shift
            moved = enclosing_boxes(map_points(box_corners(ext), matrix,
                                               torch.zeros(n, 2)))
            low = torch.stack([-moved[:, 0], -moved[:, 1]], 1)  # shift >= this
            high = torch.stack([1 - moved[:, 2], 1 - moved[:, 3]], 1)
            fits = (low <= high) & torch.isfinite(low) & torch.isfinite(high)
            lo_t = torch.maximum(low, -limit)
            hi_t = torch.minimum(high, limit)
            ok = fits & (lo_t <= hi_t)
            drawn = lo_t + rand(n, 2) * (hi_t - lo_t)
            # fits but not within +-shift: the allowed shift nearest to none
            nearest = torch.minimum(torch.maximum(torch.zeros_like(low), low), high)
            t = torch.where(ok, drawn, torch.where(fits, nearest, t))
        return affine_transform(X, y, task, matrix, t, mode=self.interpolation)


def _check_range(value, name, ok, expected):
    """Raise unless ``value`` is a pair ``(low, high)`` that ``ok`` accepts."""
    try:
        low, high = (float(v) for v in value)
    except (TypeError, ValueError):
        low = high = None
    if low is None or not ok(low, high):
        raise ValueError(f"Augmenter {name} must be (low, high) with {expected}; "
                         f"got {value!r}.")


def _cut_windows(X, y, task, probability, scale, generator=None):
    """``X`` outside a random window around each object set to the image's
    mean, for a share ``probability`` of the images (a new tensor)."""
    n, _, h, w = X.shape
    rand = partial(torch.rand, generator=generator)
    chosen = rand(n) < probability
    lo, hi = scale
    side = (lo + rand(n) * (hi - lo))[:, None].expand(n, 2)
    ext = task.extent(y).to(X.dtype)
    known = torch.isfinite(ext).all(dim=1, keepdim=True)
    size = torch.nan_to_num(ext[:, 2:] - ext[:, :2], nan=0.0)
    side = torch.minimum(torch.maximum(side, size), torch.ones_like(side))
    # the window's low corner: it holds the object and stays in the image
    first = torch.where(known, (ext[:, 2:] - side).clamp(min=0),
                        torch.zeros_like(side))
    last = torch.where(known, torch.minimum(ext[:, :2], 1 - side),
                       1 - side).clamp(min=0)
    start = first + rand(n, 2) * (last - first).clamp(min=0)
    xs = (torch.arange(w, dtype=X.dtype) + 0.5) / w
    ys = (torch.arange(h, dtype=X.dtype) + 0.5) / h
    in_x = (xs >= start[:, :1]) & (xs <= start[:, :1] + side[:, :1])
    in_y = (ys >= start[:, 1:]) & (ys <= start[:, 1:] + side[:, 1:])
    keep = (in_y[:, :, None] & in_x[:, None, :]) | ~chosen[:, None, None]
    mean = X.mean(dim=(2, 3), keepdim=True)
    return torch.where(keep[:, None], X, mean)


def _low_resolution(X, probability, scale, generator=None):
    """A share ``probability`` of the images shrunk by a factor in ``scale``
    (log-uniform, antialiased) and enlarged back (bilinear); a new tensor."""
    n, _, h, w = X.shape
    rand = partial(torch.rand, generator=generator)
    chosen = rand(n) < probability
    lo, hi = scale
    factor = torch.exp(np.log(lo) + rand(n) * (np.log(hi) - np.log(lo)))
    out = X.clone()
    for i in chosen.nonzero()[:, 0].tolist():
        f = float(factor[i])
        small = torch.nn.functional.interpolate(
            X[i:i + 1], size=(max(1, round(h / f)), max(1, round(w / f))),
            mode="bilinear", antialias=True, align_corners=False)
        out[i] = torch.nn.functional.interpolate(small, size=(h, w), mode="bilinear",
                                                 align_corners=False)[0]
    return out


def _std_mean(X):
    """Each image's standard deviation (Bessel-corrected) and mean, of shape
    (n, 1, 1, 1): the mean, then the norm of the deviations from it, two
    passes that run about ten times faster on a CPU than ``torch.std_mean``
    over three dimensions, with the same two-pass accuracy."""
    flat = X.reshape(len(X), -1)
    mean = flat.mean(dim=1, keepdim=True)
    std = torch.linalg.vector_norm(flat - mean, dim=1, keepdim=True)
    std = std / max(flat.shape[1] - 1, 1) ** 0.5
    return std.view(-1, 1, 1, 1), mean.view(-1, 1, 1, 1)


def _mirrored(X, index, in_place):
    """``X`` with the images at ``index`` mirrored left to right: ``X``
    itself, changed, when ``in_place``; else ``X`` unchanged if there are
    none, or a new tensor."""
    if index is None or not len(index):
        return X
    out = X if in_place else X.clone()
    out[index] = X[index].flip(-1)
    return out


def affine_transform(X, y, task, scale, shift, mode="bilinear"):
    """Zoom (and rotate) and shift images and move their targets with the
    pixels.

    A relative point ``p`` goes to ``A (p - 0.5) + 0.5 + shift``, ``A = scale``
    times the identity for a zoom factor (or a matrix from
    :func:`~sklocalize.geometry.affine_matrix`); pixels are resampled
    bilinearly with the same map (``align_corners=False``, so pixel edges, not
    centres, sit at 0 and 1) and the image runs out into its mean value.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W)
    y : torch.Tensor of shape (n, n_outputs)
    task : LocalizationTask or LandmarkTask
        How the targets move (:mod:`sklocalize.tasks`).
    scale : torch.Tensor of shape (n,) or (n, 2, 2)
        Zoom factors (below 1 zooms out), or the matrices ``A``.
    shift : torch.Tensor of shape (n, 2)
        Shifts in x and y, as a share of the image.
    mode : {"bilinear", "bicubic"}, default="bilinear"
        The interpolation (see :func:`~sklocalize.geometry.warp_images`).

    Returns
    -------
    X, y : new tensors
    """
    n = len(X)
    matrix = as_matrices(scale, n, X.dtype)
    shift = torch.as_tensor(shift, dtype=X.dtype).reshape(n, 2)
    return (warp_images(X, matrix, shift, mode=mode),
            task.affine(y, matrix, shift))
