"""The training data pipeline: a batched image dataset and target-aware
augmentation.

:class:`ImageDataset` holds the images as one tensor (uint8 or float32, shared
with the caller's array where possible, never written to) and serves whole
batches through ``__getitems__``: one indexing operation and one conversion to
float per batch instead of per-sample indexing and collation (see skorch issue
#1100). The DataLoader is given :func:`collate_batch`, which passes the batch
through unchanged.
"""

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

__all__ = [
    "AugmentedDataset",
    "Augmenter",
    "ImageDataset",
    "affine_matrix",
    "affine_transform",
    "LandmarkTargets",
    "LocalizationTargets",
    "collate_batch",
    "is_batched_dataset",
    "map_points",
    "mirrored_points",
    "similarity_to",
    "warp_images",
]

_MODES = ("bilinear", "bicubic")  # grid_sample's interpolations warp_images takes


class ImageDataset(Dataset):
    """Images and (optionally) targets, served a batch at a time.

    A batch of consecutive rows (prediction's, in order) is a view of ``X``,
    not a copy; any other batch is gathered in one indexing operation.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_channels, height, width)
        uint8 (scaled to 0-1 per batch) or float32 images.
    y : torch.Tensor of shape (n_samples, n_outputs) or None
        float32 targets.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def _images(self, index):
        return _float_images(self.X[index])

    def _targets(self, index, n):
        if self.y is None:
            return torch.zeros(n, dtype=torch.float32)  # skorch's placeholder
        return self.y[index]

    def __getitem__(self, i):
        y = torch.zeros((), dtype=torch.float32) if self.y is None else self.y[i]
        return self._images(i), y

    def __getitems__(self, indices):
        index = np.asarray(indices, dtype=np.int64)
        if len(index) and (np.diff(index) == 1).all():
            # consecutive (prediction, in order): a view, not a copy of the batch
            index = slice(int(index[0]), int(index[-1]) + 1)
        else:
            index = torch.from_numpy(index)
        return self._images(index), self._targets(index, len(indices))


def _float_images(X):
    """uint8 images scaled to 0-1 as float32; float images unchanged."""
    if X.dtype == torch.uint8:
        return X.to(torch.float32).div_(255.0)
    return X


def collate_batch(batch):
    """Collate function for datasets whose ``__getitems__`` builds the batch.

    Parameters
    ----------
    batch : tuple of (X, y)
        What the dataset's ``__getitems__`` returned.

    Returns
    -------
    batch : tuple of (X, y)
        The same, unchanged.
    """
    return batch


def is_batched_dataset(dataset):
    """Whether ``dataset`` (or the dataset under a Subset) builds whole batches.

    Parameters
    ----------
    dataset : torch Dataset

    Returns
    -------
    batched : bool
    """
    while isinstance(dataset, (Subset, AugmentedDataset)):
        dataset = dataset.dataset
    return isinstance(dataset, ImageDataset)


# --------------------------------------------------------------------------
# target-aware augmentation


def _linear_part(scale, n, dtype=torch.float32):
    """``scale`` as (n, 2, 2) matrices acting on relative ``(x, y)``: a zoom
    factor per image (shape (n,)) or the matrices themselves."""
    scale = torch.as_tensor(scale, dtype=dtype)
    if scale.ndim == 3:
        return scale.reshape(n, 2, 2)
    return scale.reshape(n)[:, None, None] * torch.eye(2, dtype=dtype)


def _map_points(pts, matrix, shift):
    """``p -> A (p - 0.5) + 0.5 + t`` for points (n, k, 2)."""
    matrix, shift = matrix.to(pts.dtype), shift.to(pts.dtype)
    return torch.einsum("nij,nkj->nki", matrix, pts - 0.5) + 0.5 + shift[:, None, :]


def _corners(ext):
    """The four corners (n, 4, 2) of boxes (x1, y1, x2, y2)."""
    x1, y1, x2, y2 = ext.unbind(1)
    return torch.stack([torch.stack([x1, y1], 1), torch.stack([x2, y1], 1),
                        torch.stack([x1, y2], 1), torch.stack([x2, y2], 1)], 1)


def _enclosing(pts):
    """(x1, y1, x2, y2) enclosing points (n, k, 2)."""
    return torch.cat([pts.min(dim=1).values, pts.max(dim=1).values], dim=1)


class LocalizationTargets:
    """How augmentation moves a localization target ``[p_c, box, classes]``."""

    min_visible = 0.25

    def flip(self, y, mask):
        y = y.clone()
        y[mask, 1] = 1.0 - y[mask, 1]
        return y

    def extent(self, y):
        """(x1, y1, x2, y2) of what must stay in view; NaN where nothing."""
        bx, by, bh, bw = y[:, 1], y[:, 2], y[:, 3], y[:, 4]
        ext = torch.stack([bx - bw / 2, by - bh / 2, bx + bw / 2, by + bh / 2], 1)
        return torch.where((y[:, :1] == 1), ext, torch.full_like(ext, float("nan")))

    def affine(self, y, scale, shift):
        """Move boxes with pixels: ``p' = A (p - 0.5) + 0.5 + shift``.

        ``scale`` is a zoom factor per image or the matrices ``A`` (n, 2, 2);
        a rotated box is replaced by the box enclosing its corners.
        """
        y = y.clone()
        ext = self.extent(y)
        matrix = _linear_part(scale, len(y), y.dtype)
        x1, y1, x2, y2 = _enclosing(_map_points(_corners(ext), matrix, shift)
                                    ).unbind(1)
        area = (x2 - x1) * (y2 - y1)
        cx1, cy1, cx2, cy2 = (v.clamp(0, 1) for v in (x1, y1, x2, y2))
        visible = ((cx2 - cx1) * (cy2 - cy1)) / area.clamp(min=1e-12)
        present = y[:, 0] == 1
        annotated = present & torch.isfinite(area)
        new = torch.stack([(cx1 + cx2) / 2, (cy1 + cy2) / 2, cy2 - cy1, cx2 - cx1], 1)
        y[annotated, 1:5] = new[annotated]
        gone = annotated & (visible < self.min_visible)  # pushed out: absent
        y[gone, 0] = 0.0
        return y


def mirrored_points(points, pairs):
    """Relative points of the mirror images: ``x -> 1 - x``, pairs swapped.

    Parameters
    ----------
    points : ndarray or torch.Tensor of shape (n, n_landmarks, 2)
    pairs : sequence of (int, int)
        Points that swap under a horizontal flip.

    Returns
    -------
    points : a new array or tensor, of the input's type
    """
    pts = points.clone() if isinstance(points, torch.Tensor) else points.copy()
    pts[..., 0] = 1.0 - pts[..., 0]
    for i, j in pairs:
        pts[:, [i, j]] = pts[:, [j, i]]
    return pts


class LandmarkTargets:
    """How augmentation moves a landmark target ``[p, x_1, y_1, ...]``.

    Parameters
    ----------
    flip_pairs : sequence of (int, int)
        Points that swap under a horizontal flip.
    """

    def __init__(self, flip_pairs=()):
        self.flip_pairs = [tuple(p) for p in flip_pairs]

    def flip(self, y, mask):
        pts = y[:, 1:].reshape(len(y), -1, 2)
        pts = torch.where(mask[:, None, None], mirrored_points(pts, self.flip_pairs),
                          pts)
        return torch.cat([y[:, :1], pts.reshape(len(y), -1)], dim=1)

    def extent(self, y):
        pts = y[:, 1:].reshape(len(y), -1, 2)
        big = torch.full_like(pts[..., 0], float("inf"))
        finite = torch.isfinite(pts).all(dim=2)
        xs = torch.where(finite, pts[..., 0], big)
        ys = torch.where(finite, pts[..., 1], big)
        ext = torch.stack([xs.min(1).values, ys.min(1).values,
                           torch.where(finite, pts[..., 0], -big).max(1).values,
                           torch.where(finite, pts[..., 1], -big).max(1).values], 1)
        ok = (y[:, 0] == 1) & finite.any(dim=1)
        return torch.where(ok[:, None], ext, torch.full_like(ext, float("nan")))

    def affine(self, y, scale, shift):
        """Move points with pixels: ``p' = A (p - 0.5) + 0.5 + shift``.

        ``scale`` is a zoom factor per image or the matrices ``A`` (n, 2, 2).
        """
        y = y.clone()
        pts = y[:, 1:].reshape(len(y), -1, 2)
        pts = _map_points(pts, _linear_part(scale, len(y), y.dtype), shift)
        outside = ((pts < 0) | (pts > 1)).any(dim=2)
        pts[outside] = float("nan")  # moved out of view: not visible
        y[:, 1:] = pts.reshape(len(y), -1)
        return y


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
    keep_inside : bool, default=True
    rotation : float, default=0.0
        Largest in-plane rotation, in degrees, drawn uniformly in
        ``[-rotation, rotation]`` about the image centre (in pixel space, so
        angles stay true on non-square images). Points rotate exactly; a
        rotated box becomes the box enclosing its rotated corners, looser than
        the object, so leave it at 0 for localization unless that is wanted.
    reframe_prob : float, default=1.0
        Probability that an image gets the zoom and the shift; the others keep
        their framing (flip, rotation and jitter apply to every image). Below 1
        it mixes re-framed faces into training without moving most faces off
        the framing they come in, e.g. to make
        ``LandmarkEstimator(reframe=1)``'s first pass find faces framed
        differently.
    interpolation : {"bilinear", "bicubic"}, default="bilinear"
        How zoomed, shifted or rotated images are resampled (see
        :func:`warp_images`). Bilinear blurs a little, so the augmented images
        are softer than the images the model sees at prediction; bicubic blurs
        less and costs a little more per batch. On LFW bicubic training did
        not help (5.09% against 5.00% inter-ocular error,
        ``benchmarks/results/ablation.md``).

    Examples
    --------
    >>> from sklocalize import LocalizerEstimator
    >>> from sklocalize.augment import Augmenter
    >>> est = LocalizerEstimator(augment=Augmenter(flip=0.0, shift=0.05))
    """

    def __init__(self, flip=0.5, scale=(0.8, 1.2), shift=0.1, brightness=0.1,
                 contrast=0.2, keep_inside=True, rotation=0.0, reframe_prob=1.0,
                 interpolation="bilinear"):
        self.flip = flip
        self.scale = scale
        self.shift = shift
        self.brightness = brightness
        self.contrast = contrast
        self.keep_inside = keep_inside
        self.rotation = rotation
        self.reframe_prob = reframe_prob
        self.interpolation = interpolation

    def __repr__(self):
        return (f"Augmenter(flip={self.flip}, scale={self.scale}, shift={self.shift}, "
                f"brightness={self.brightness}, contrast={self.contrast}, "
                f"keep_inside={self.keep_inside}, rotation={self.rotation}, "
                f"reframe_prob={self.reframe_prob}, "
                f"interpolation={self.interpolation!r})")

    def check(self):
        """Validate the settings; raise ValueError naming the bad one."""
        for name in ("flip", "reframe_prob"):
            value = getattr(self, name)
            if not 0 <= value <= 1:
                raise ValueError(f"Augmenter {name} must be a probability in "
                                 f"[0, 1]; got {value!r}.")
        lo, hi = self.scale
        if not 0 < lo <= hi:
            raise ValueError(f"Augmenter scale must be (low, high) with 0 < low <= "
                             f"high; got {self.scale!r}.")
        for name in ("shift", "brightness", "contrast"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"Augmenter {name} must be in [0, 1); got "
                                 f"{value!r}.")
        if self.interpolation not in _MODES:
            raise ValueError(f"Augmenter interpolation must be one of {_MODES}; "
                             f"got {self.interpolation!r}.")
        if not 0 <= self.rotation <= 180:
            raise ValueError("Augmenter rotation must be in [0, 180] degrees; got "
                             f"{self.rotation!r}.")
        return self

    def __call__(self, X, y, targets):
        """Transform a batch.

        Parameters
        ----------
        X : torch.Tensor of shape (n, C, H, W)
        y : torch.Tensor of shape (n, n_outputs)
        targets : LocalizationTargets or LandmarkTargets

        Returns
        -------
        X, y : new tensors (the inputs are not modified)
        """
        n = len(X)
        if self.flip > 0:
            mask = torch.rand(n) < self.flip
            X = torch.where(mask[:, None, None, None], X.flip(-1), X)
            y = targets.flip(y, mask)
        lo, hi = self.scale
        if (lo, hi) != (1, 1) or self.shift > 0 or self.rotation > 0:
            X, y = self._affine(X, y, targets)
        if self.brightness > 0 or self.contrast > 0:
            mean = X.mean(dim=(1, 2, 3), keepdim=True)
            std = X.std(dim=(1, 2, 3), keepdim=True)
            c = 1 + (torch.rand(n, 1, 1, 1) * 2 - 1) * self.contrast
            b = (torch.rand(n, 1, 1, 1) * 2 - 1) * self.brightness
            X = (X - mean) * c + mean + b * std
        return X, y

    def _affine(self, X, y, targets):
        n = len(X)
        lo, hi = self.scale
        log_s = torch.rand(n) * (np.log(hi) - np.log(lo)) + np.log(lo)
        s = torch.exp(log_s)
        limit = torch.full((n, 1), float(self.shift))
        if self.reframe_prob < 1:  # the rest keep zoom 1 and no shift
            reframed = torch.rand(n) < self.reframe_prob
            s = torch.where(reframed, s, torch.ones_like(s))
            limit = limit * reframed[:, None]
        t = (torch.rand(n, 2) * 2 - 1) * limit
        angle = None
        if self.rotation > 0:
            angle = (torch.rand(n) * 2 - 1) * np.deg2rad(self.rotation)
        matrix = affine_matrix(s, angle, X.shape[-2:])
        if self.keep_inside:
            ext = targets.extent(y)
            # extent after zoom and rotation, no shift
            moved = _enclosing(_map_points(_corners(ext), matrix, torch.zeros(n, 2)))
            low = torch.stack([-moved[:, 0], -moved[:, 1]], 1)  # shift >= this
            high = torch.stack([1 - moved[:, 2], 1 - moved[:, 3]], 1)
            fits = (low <= high) & torch.isfinite(low) & torch.isfinite(high)
            lo_t = torch.maximum(low, -limit)
            hi_t = torch.minimum(high, limit)
            ok = fits & (lo_t <= hi_t)
            drawn = lo_t + torch.rand(n, 2) * (hi_t - lo_t)
            # fits but not within +-shift: the allowed shift nearest to none
            nearest = torch.minimum(torch.maximum(torch.zeros_like(low), low), high)
            t = torch.where(ok, drawn, torch.where(fits, nearest, t))
        return affine_transform(X, y, targets, matrix, t,
                                mode=self.interpolation)


def affine_matrix(scale, angle=None, image_size=(1, 1)):
    """The linear part of a zoom and rotation, acting on relative coordinates.

    Parameters
    ----------
    scale : torch.Tensor of shape (n,)
        Zoom factors; below 1 zooms out.
    angle : torch.Tensor of shape (n,) or None
        Rotations in radians (clockwise on screen, the y axis pointing down),
        about the image centre in pixel space.
    image_size : tuple of (height, width), default=(1, 1)
        Needed for rotations of non-square images.

    Returns
    -------
    matrix : torch.Tensor of shape (n, 2, 2)
        ``A`` in ``p -> A (p - 0.5) + 0.5``, ``p`` relative ``(x, y)``.
    """
    scale = torch.as_tensor(scale, dtype=torch.float32).reshape(-1)
    matrix = _linear_part(scale, len(scale))
    if angle is None:
        return matrix
    h, w = (float(v) for v in image_size)
    angle = torch.as_tensor(angle, dtype=torch.float32).reshape(-1)
    c, s = torch.cos(angle), torch.sin(angle)
    # the pixel-space rotation conjugated by the scaling to relative units
    rot = torch.stack([torch.stack([c, -s * h / w], 1),
                       torch.stack([s * w / h, c], 1)], 1)
    return scale[:, None, None] * rot


def similarity_to(points, reference, image_size=(1, 1), max_zoom=4.0):
    """The zoom, rotation and shift that best map each set of points onto
    ``reference`` (least squares, in pixel space).

    Parameters
    ----------
    points : array-like of shape (n, k, 2)
        Relative ``(x, y)`` points per image.
    reference : array-like of shape (k, 2)
        Where they should go; a NaN point is left out of the fit.
    image_size : tuple of (height, width), default=(1, 1)
    max_zoom : float, default=4.0
        The zoom factor is clipped to ``[1 / max_zoom, max_zoom]``.

    Returns
    -------
    matrix, shift : torch.Tensor of shape (n, 2, 2) and (n, 2)
        ``A`` and ``t`` of ``p -> A (p - 0.5) + 0.5 + t``, as in
        :func:`affine_transform`. The identity where fewer than two reference
        points, or coinciding points, leave the fit undetermined.
    """
    h, w = (float(v) for v in image_size)
    size = np.array([w, h])
    pts = np.asarray(points, dtype=np.float64) * size
    ref = np.asarray(reference, dtype=np.float64) * size
    weight = (np.isfinite(ref).all(axis=1) & np.isfinite(pts).all(axis=2)
              ).astype(np.float64)
    zp = np.nan_to_num(pts[..., 0] + 1j * pts[..., 1])
    zr = np.nan_to_num(ref[:, 0] + 1j * ref[:, 1])[None, :]
    total = weight.sum(axis=1, keepdims=True)
    mp = (weight * zp).sum(axis=1, keepdims=True) / np.maximum(total, 1)
    mr = (weight * zr).sum(axis=1, keepdims=True) / np.maximum(total, 1)
    spread = (weight * np.abs(zp - mp) ** 2).sum(axis=1)
    a = (weight * np.conj(zp - mp) * (zr - mr)).sum(axis=1) / np.maximum(spread, 1e-12)
    ok = (total[:, 0] >= 2) & (spread > 1e-12) & (np.abs(a) > 0)
    a = np.where(ok, a, 1.0)
    zoom = np.abs(a)
    a = a / zoom * np.clip(zoom, 1.0 / max_zoom, max_zoom)
    b = np.where(ok, mr[:, 0] - a * mp[:, 0], 0.0)
    # relative units: A = D^-1 R D with D = diag(w, h)
    matrix = np.stack([np.stack([a.real, -a.imag * h / w], 1),
                       np.stack([a.imag * w / h, a.real], 1)], 1)
    shift = np.stack([b.real / w, b.imag / h], 1) + matrix.sum(axis=2) / 2 - 0.5
    return (torch.as_tensor(matrix, dtype=torch.float32),
            torch.as_tensor(shift, dtype=torch.float32))


def map_points(points, matrix, shift, inverse=False):
    """Move relative points by ``p -> A (p - 0.5) + 0.5 + t`` (or back).

    Parameters
    ----------
    points : torch.Tensor of shape (n, k, 2)
    matrix, shift : torch.Tensor of shape (n, 2, 2) and (n, 2)
    inverse : bool, default=False
        Apply the inverse map instead.

    Returns
    -------
    points : torch.Tensor of shape (n, k, 2)
    """
    matrix = torch.as_tensor(matrix, dtype=points.dtype)
    shift = torch.as_tensor(shift, dtype=points.dtype)
    if inverse:
        matrix = torch.linalg.inv(matrix)
        shift = -(matrix @ shift[:, :, None])[:, :, 0]
    return _map_points(points, matrix, shift)


def affine_transform(X, y, targets, scale, shift, mode="bilinear"):
    """Zoom (and rotate) and shift images and move their targets with the
    pixels.

    A relative point ``p`` goes to ``A (p - 0.5) + 0.5 + shift``, ``A = scale``
    times the identity for a zoom factor (or a matrix from
    :func:`affine_matrix`); pixels are resampled bilinearly with the same map
    (``align_corners=False``, so pixel edges, not centres, sit at 0 and 1) and
    the image runs out into its mean value.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W)
    y : torch.Tensor of shape (n, n_outputs)
    targets : LocalizationTargets or LandmarkTargets
    scale : torch.Tensor of shape (n,) or (n, 2, 2)
        Zoom factors (below 1 zooms out), or the matrices ``A``.
    shift : torch.Tensor of shape (n, 2)
        Shifts in x and y, as a share of the image.
    mode : {"bilinear", "bicubic"}, default="bilinear"
        The interpolation (see :func:`warp_images`).

    Returns
    -------
    X, y : new tensors
    """
    n = len(X)
    matrix = _linear_part(scale, n, X.dtype)
    shift = torch.as_tensor(shift, dtype=X.dtype).reshape(n, 2)
    return (warp_images(X, matrix, shift, mode=mode),
            targets.affine(y, matrix, shift))


def warp_images(X, matrix, shift, mode="bilinear"):
    """Resample images so that relative ``p`` moves to ``A (p - 0.5) + 0.5 + t``.

    ``align_corners=False``; where the image runs out, its mean.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W), float
    matrix : torch.Tensor of shape (n, 2, 2)
        ``A``, e.g. from :func:`affine_matrix`.
    shift : torch.Tensor of shape (n, 2)
        ``t``, in x and y, as a share of the image.
    mode : {"bilinear", "bicubic"}, default="bilinear"
        The interpolation. Bicubic blurs less (it may overshoot the input's
        range a little): on LFW, a half-pixel bilinear shift alone costs a
        landmark model 0.5 point of inter-ocular error.

    Returns
    -------
    X : torch.Tensor of shape (n, C, H, W), a new tensor
    """
    if mode not in _MODES:
        raise ValueError(f"warp_images mode must be 'bilinear' or 'bicubic'; got "
                         f"{mode!r}.")
    matrix = torch.as_tensor(matrix, dtype=X.dtype)
    shift = torch.as_tensor(shift, dtype=X.dtype)
    # output pixel u (normalised -1..1) samples input A^-1 (u - 2 t)
    inverse = torch.linalg.inv(matrix)
    theta = torch.cat([inverse, -2 * (inverse @ shift[:, :, None])], dim=2)
    grid = torch.nn.functional.affine_grid(theta, list(X.shape), align_corners=False)
    mean = X.mean(dim=(2, 3), keepdim=True)
    return torch.nn.functional.grid_sample(X - mean, grid, mode=mode,
                                           padding_mode="zeros",
                                           align_corners=False) + mean


class AugmentedDataset(Dataset):
    """A batched dataset whose batches go through an :class:`Augmenter`.

    Parameters
    ----------
    dataset : ImageDataset or Subset of one
    augmenter : callable
        ``augmenter(X, y, targets) -> (X, y)``.
    targets : LocalizationTargets or LandmarkTargets
    """

    def __init__(self, dataset, augmenter, targets):
        self.dataset = dataset
        self.augmenter = augmenter
        self.targets = targets

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        X, y = self.__getitems__([i])
        return X[0], y[0]

    def __getitems__(self, indices):
        X, y = self.dataset.__getitems__(indices)
        return self.augmenter(X, y, self.targets)
