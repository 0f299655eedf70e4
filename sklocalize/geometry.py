"""Image geometry in torch: affine maps of relative coordinates, warping
images, mapping points, similarity fits, cell centres.

The one home of these ideas: training-time augmentation
(:mod:`sklocalize.augment`), test-time augmentation (:mod:`sklocalize.tta`),
the tasks that move targets and outputs (:mod:`sklocalize.tasks`) and the
networks and losses (:mod:`sklocalize.nn`) all use them.

Every map acts on relative ``(x, y)`` coordinates (0-1 of the image, x before
y) as ``p -> A (p - 0.5) + 0.5 + t``: ``A`` a (2, 2) matrix per image (a zoom,
a rotation), ``t`` a shift per image as a share of the image. Pixel edges, not
centres, sit at 0 and 1 (``align_corners=False``), so pixel ``i`` of ``w`` has
its centre at ``(i + 0.5) / w``.
"""

import torch

__all__ = [
    "affine_matrix",
    "as_matrices",
    "box_corners",
    "cell_centres",
    "enclosing_boxes",
    "map_points",
    "mirrored_points",
    "similarity_to",
    "warp_images",
]

INTERPOLATIONS = ("bilinear", "bicubic")


def cell_centres(k, like):
    """Centres of ``k`` equal cells spanning [0, 1].

    Cell ``i`` has its centre at ``(i + 0.5) / k``: the pixel-centre
    convention of every map read out in the package (heatmaps, edge
    distributions, their Gaussian targets).

    Parameters
    ----------
    k : int
    like : torch.Tensor
        The result takes its device and dtype.

    Returns
    -------
    centres : torch.Tensor of shape (k,)
    """
    return (torch.arange(k, device=like.device, dtype=like.dtype) + 0.5) / k


def as_matrices(scale, n, dtype=torch.float32):
    """``A`` as (n, 2, 2) matrices: from a zoom factor per image (shape (n,)),
    or the matrices themselves.

    Parameters
    ----------
    scale : array-like or torch.Tensor of shape (n,) or (n, 2, 2)
    n : int
    dtype : torch.dtype, default=torch.float32

    Returns
    -------
    matrix : torch.Tensor of shape (n, 2, 2)
    """
    scale = torch.as_tensor(scale, dtype=dtype)
    if scale.ndim == 3:
        return scale.reshape(n, 2, 2)
    return scale.reshape(n)[:, None, None] * torch.eye(2, dtype=dtype)


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
    matrix = as_matrices(scale, len(scale))
    if angle is None:
        return matrix
    h, w = (float(v) for v in image_size)
    angle = torch.as_tensor(angle, dtype=torch.float32).reshape(-1)
    c, s = torch.cos(angle), torch.sin(angle)
    # the pixel-space rotation conjugated by the scaling to relative units
    rot = torch.stack([torch.stack([c, -s * h / w], 1),
                       torch.stack([s * w / h, c], 1)], 1)
    return scale[:, None, None] * rot


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
    points : torch.Tensor of shape (n, k, 2), in the dtype of ``points``
    """
    matrix = torch.as_tensor(matrix, dtype=points.dtype)
    shift = torch.as_tensor(shift, dtype=points.dtype)
    if inverse:
        matrix = torch.linalg.inv(matrix)
        shift = -(matrix @ shift[:, :, None])[:, :, 0]
    return (torch.einsum("nij,nkj->nki", matrix, points - 0.5) + 0.5
            + shift[:, None, :])


def box_corners(boxes):
    """The four corners of ``"xyxy"`` boxes.

    Parameters
    ----------
    boxes : torch.Tensor of shape (n, 4)

    Returns
    -------
    corners : torch.Tensor of shape (n, 4, 2)
        Top-left, top-right, bottom-left, bottom-right.
    """
    x1, y1, x2, y2 = boxes.unbind(1)
    return torch.stack([torch.stack([x1, y1], 1), torch.stack([x2, y1], 1),
                        torch.stack([x1, y2], 1), torch.stack([x2, y2], 1)], 1)


def enclosing_boxes(points):
    """The ``"xyxy"`` boxes enclosing sets of points.

    Parameters
    ----------
    points : torch.Tensor of shape (n, k, 2)

    Returns
    -------
    boxes : torch.Tensor of shape (n, 4)
    """
    return torch.cat([points.min(dim=1).values, points.max(dim=1).values], dim=1)


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


def similarity_to(points, reference, image_size=(1, 1), max_zoom=4.0):
    """The zoom, rotation and shift that best map each set of points onto
    ``reference`` (least squares, in pixel space).

    Parameters
    ----------
    points : torch.Tensor or array-like of shape (n, k, 2)
        Relative ``(x, y)`` points per image.
    reference : torch.Tensor or array-like of shape (k, 2)
        Where they should go; a NaN point is left out of the fit.
    image_size : tuple of (height, width), default=(1, 1)
    max_zoom : float, default=4.0
        The zoom factor is clipped to ``[1 / max_zoom, max_zoom]``.

    Returns
    -------
    matrix, shift : torch.Tensor of shape (n, 2, 2) and (n, 2), float32
        ``A`` and ``t`` of ``p -> A (p - 0.5) + 0.5 + t``. The identity where
        fewer than two reference points, or coinciding points, leave the fit
        undetermined.
    """
    h, w = (float(v) for v in image_size)
    size = torch.tensor([w, h], dtype=torch.float64)
    pts = torch.as_tensor(points, dtype=torch.float64) * size
    ref = torch.as_tensor(reference, dtype=torch.float64)[None] * size
    weight = (torch.isfinite(ref).all(dim=2) & torch.isfinite(pts).all(dim=2)
              ).to(torch.float64)
    pts, ref = torch.nan_to_num(pts), torch.nan_to_num(ref)
    total = weight.sum(dim=1, keepdim=True)

    def mean(v):
        return (weight[..., None] * v).sum(dim=1, keepdim=True) / total.clamp(min=1)[
            ..., None]

    dp, dr = pts - mean(pts), ref - mean(ref)  # centred, (n, k, 2)
    spread = (weight * (dp ** 2).sum(dim=2)).sum(dim=1)
    # a = sum(conj(dp) dr) / spread, dp and dr read as complex numbers x + iy
    dot = (weight * (dp * dr).sum(dim=2)).sum(dim=1)
    cross = (weight * (dp[..., 0] * dr[..., 1] - dp[..., 1] * dr[..., 0])).sum(dim=1)
    denominator = spread.clamp(min=1e-12)
    a_re, a_im = dot / denominator, cross / denominator
    zoom = torch.hypot(a_re, a_im)
    ok = (total[:, 0] >= 2) & (spread > 1e-12) & (zoom > 0)
    a_re = torch.where(ok, a_re, torch.ones_like(a_re))
    a_im = torch.where(ok, a_im, torch.zeros_like(a_im))
    zoom = torch.hypot(a_re, a_im)
    clipped = zoom.clamp(1.0 / max_zoom, max_zoom)
    a_re, a_im = a_re / zoom * clipped, a_im / zoom * clipped
    # b = mean(ref) - a mean(pts), complex
    mp, mr = mean(pts)[:, 0], mean(ref)[:, 0]
    b_re = mr[:, 0] - (a_re * mp[:, 0] - a_im * mp[:, 1])
    b_im = mr[:, 1] - (a_re * mp[:, 1] + a_im * mp[:, 0])
    b_re = torch.where(ok, b_re, torch.zeros_like(b_re))
    b_im = torch.where(ok, b_im, torch.zeros_like(b_im))
    # relative units: A = D^-1 R D with D = diag(w, h)
    matrix = torch.stack([torch.stack([a_re, -a_im * h / w], 1),
                          torch.stack([a_im * w / h, a_re], 1)], 1)
    shift = (torch.stack([b_re / w, b_im / h], 1) + matrix.sum(dim=2) / 2 - 0.5)
    return matrix.to(torch.float32), shift.to(torch.float32)


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
        range a little), which matters for sub-pixel work such as test-time
        shifts.

    Returns
    -------
    X : torch.Tensor of shape (n, C, H, W), a new tensor
    """
    if mode not in INTERPOLATIONS:
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
