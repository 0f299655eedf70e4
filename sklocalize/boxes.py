"""Box operations for numpy arrays and torch tensors.

Box formats (the names follow ``torchvision.ops``):

``"xyxy"``
    ``(x1, y1, x2, y2)``: the top-left and bottom-right corners.
``"xywh"``
    ``(x1, y1, w, h)``: the top-left corner, width and height.
``"cxcywh"``
    ``(cx, cy, w, h)``: the centre, width and height.
``"cxcyhw"``
    ``(cx, cy, h, w)``: the centre, then height *before* width. This is the
    order of the seed's target vector ``[p_c, b_x, b_y, b_h, b_w, ...]``; it is
    converted to and from the other formats here and nowhere else.

Coordinates are x before y. Unless a function says pixels, they are relative to
the image: 0 is the left (top) edge of the image and 1 its right (bottom) edge.
Pixel coordinates are continuous: the left edge of the first pixel column is 0
and the right edge of the last one is ``width`` (so a pixel's centre is at
``i + 0.5``).

Every function accepts a numpy array or a torch tensor of shape ``(..., 4)`` and
returns the same kind of object; the torch versions are differentiable.

Degenerate boxes (zero width or height) have zero area; the IoU of two boxes
whose union is empty is defined as 0, never NaN. A NaN coordinate in either box
of a pair gives NaN for that pair: a missing box is not a zero overlap.
"""

import operator

import numpy as np
import torch

from ._validation import check_image_sizes

__all__ = [
    "BOX_FORMATS",
    "box_area",
    "box_convert",
    "box_iou",
    "clip_boxes",
    "elementwise_box_iou",
    "elementwise_generalized_box_iou",
    "boxes_to_pixels",
    "boxes_to_relative",
]

BOX_FORMATS = ("xyxy", "xywh", "cxcywh", "cxcyhw")


# --------------------------------------------------------------------------
# numpy / torch dispatch: the few array operations the box code needs.


def _is_torch(x):
    return isinstance(x, torch.Tensor)


def _stack(parts, like):
    if _is_torch(like):
        return torch.stack(parts, dim=-1)
    return np.stack(parts, axis=-1)


def _unbind(boxes):
    if _is_torch(boxes):
        return boxes.unbind(-1)
    return tuple(np.moveaxis(boxes, -1, 0))


def _maximum(a, b):
    return torch.maximum(a, b) if _is_torch(a) else np.maximum(a, b)


def _minimum(a, b):
    return torch.minimum(a, b) if _is_torch(a) else np.minimum(a, b)


def _clip_min(a, low):
    return a.clamp(min=low) if _is_torch(a) else np.clip(a, low, None)


def _safe_divide(num, den):
    """``num / den`` where ``den > 0``, else 0 (no NaN, finite gradients)."""
    if _is_torch(num):
        positive = den > 0
        safe_den = torch.where(positive, den, torch.ones_like(den))
        return torch.where(positive, num / safe_den, torch.zeros_like(num))
    positive = den > 0
    out = np.zeros(np.broadcast(num, den).shape, dtype=np.result_type(num, den))
    np.divide(num, den, out=out, where=positive)
    return out


def _nan_where_missing(values, b1, b2):
    """``values`` with NaN wherever ``b1`` or ``b2`` (broadcast against each
    other) has a NaN coordinate."""
    if _is_torch(values):
        missing = torch.isnan(b1).any(dim=-1) | torch.isnan(b2).any(dim=-1)
        return torch.where(missing, torch.full_like(values, float("nan")), values)
    missing = np.isnan(b1).any(axis=-1) | np.isnan(b2).any(axis=-1)
    return np.where(missing, np.nan, values)


# --------------------------------------------------------------------------
# validation


def _check_format(fmt, name):
    if not isinstance(fmt, str) or fmt not in BOX_FORMATS:
        raise ValueError(
            f"Unknown box format {name}={fmt!r}. Expected one of "
            f"{', '.join(repr(f) for f in BOX_FORMATS)}."
        )


def _check_boxes(boxes, name="boxes"):
    """Return ``boxes`` as a float numpy array or tensor of shape (..., 4)."""
    if _is_torch(boxes):
        if not boxes.is_floating_point():
            boxes = boxes.to(torch.get_default_dtype())
    else:
        try:
            boxes = np.asarray(boxes)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be a numpy array or a torch tensor of shape (..., 4); "
                f"got an object of type {type(boxes).__name__}."
            ) from exc
        if boxes.dtype.kind not in "fiub":
            raise TypeError(
                f"{name} must hold numbers; got an array of dtype {boxes.dtype}."
            )
        if boxes.dtype.kind != "f":
            boxes = boxes.astype(np.float64)
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{name} must have shape (..., 4) (four coordinates per box); "
            f"got shape {tuple(boxes.shape)}."
        )
    return boxes


# --------------------------------------------------------------------------
# conversion


def _to_xyxy(boxes, fmt):
    a, b, c, d = _unbind(boxes)
    if fmt == "xyxy":
        return boxes
    if fmt == "xywh":
        return _stack([a, b, a + c, b + d], boxes)
    if fmt == "cxcywh":
        w, h = c, d
    else:  # "cxcyhw": height before width
        h, w = c, d
    return _stack([a - w / 2, b - h / 2, a + w / 2, b + h / 2], boxes)


def _from_xyxy(boxes, fmt):
    x1, y1, x2, y2 = _unbind(boxes)
    if fmt == "xyxy":
        return boxes
    w, h = x2 - x1, y2 - y1
    if fmt == "xywh":
        return _stack([x1, y1, w, h], boxes)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    if fmt == "cxcywh":
        return _stack([cx, cy, w, h], boxes)
    return _stack([cx, cy, h, w], boxes)


def box_convert(boxes, in_fmt, out_fmt):
    """Convert boxes from one format to another.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (..., 4)
        The boxes in ``in_fmt``.
    in_fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}
        The format of ``boxes``.
    out_fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}
        The format to return.

    Returns
    -------
    boxes : ndarray or torch.Tensor of shape (..., 4)
        The converted boxes, of the same kind as the input (a new object; the
        input is not modified).

    Examples
    --------
    >>> from sklocalize.boxes import box_convert
    >>> box_convert([[0.5, 0.5, 0.2, 0.4]], "cxcyhw", "xyxy")
    array([[0.3, 0.4, 0.7, 0.6]])
    """
    _check_format(in_fmt, "in_fmt")
    _check_format(out_fmt, "out_fmt")
    boxes = _check_boxes(boxes)
    if in_fmt == out_fmt:
        return boxes.clone() if _is_torch(boxes) else boxes.copy()
    return _from_xyxy(_to_xyxy(boxes, in_fmt), out_fmt)


def box_area(boxes, fmt="xyxy"):
    """Area of each box (0 for a degenerate or inverted box).

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (..., 4)
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"

    Returns
    -------
    area : ndarray or torch.Tensor of shape (...)
    """
    boxes = box_convert(boxes, fmt, "xyxy")
    x1, y1, x2, y2 = _unbind(boxes)
    return _clip_min(x2 - x1, 0) * _clip_min(y2 - y1, 0)


def _intersection_union(b1, b2):
    """Intersection and union areas of broadcastable xyxy boxes."""
    x1a, y1a, x2a, y2a = _unbind(b1)
    x1b, y1b, x2b, y2b = _unbind(b2)
    iw = _clip_min(_minimum(x2a, x2b) - _maximum(x1a, x1b), 0)
    ih = _clip_min(_minimum(y2a, y2b) - _maximum(y1a, y1b), 0)
    inter = iw * ih
    area_a = _clip_min(x2a - x1a, 0) * _clip_min(y2a - y1a, 0)
    area_b = _clip_min(x2b - x1b, 0) * _clip_min(y2b - y1b, 0)
    return inter, area_a + area_b - inter


def box_iou(boxes1, boxes2, fmt="xyxy"):
    """Pairwise intersection over union.

    Parameters
    ----------
    boxes1 : array-like or torch.Tensor of shape (N, 4)
    boxes2 : array-like or torch.Tensor of shape (M, 4)
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"
        The format of both sets of boxes.

    Returns
    -------
    iou : ndarray or torch.Tensor of shape (N, M)
        ``iou[i, j]`` is the IoU of ``boxes1[i]`` and ``boxes2[j]``; 0 where the
        union is empty, NaN where either box has a NaN coordinate.

    Examples
    --------
    >>> from sklocalize.boxes import box_iou
    >>> box_iou([[0, 0, 2, 2]], [[1, 1, 3, 3], [0, 0, 2, 2]])
    array([[0.14285714, 1.        ]])
    """
    b1 = box_convert(boxes1, fmt, "xyxy")
    b2 = box_convert(boxes2, fmt, "xyxy")
    for name, b in (("boxes1", b1), ("boxes2", b2)):
        if b.ndim != 2:
            raise ValueError(
                f"{name} must have shape (N, 4) for pairwise IoU; "
                f"got shape {tuple(b.shape)}."
            )
    b1, b2 = b1[:, None, :], b2[None, :, :]
    inter, union = _intersection_union(b1, b2)
    return _nan_where_missing(_safe_divide(inter, union), b1, b2)


def _check_same_shape(b1, b2):
    if tuple(b1.shape) != tuple(b2.shape):
        raise ValueError(
            "boxes1 and boxes2 must have the same shape (..., 4) for an "
            f"elementwise IoU; got {tuple(b1.shape)} and {tuple(b2.shape)}."
        )


def elementwise_box_iou(boxes1, boxes2, fmt="xyxy"):
    """IoU of ``boxes1[i]`` with ``boxes2[i]``.

    Parameters
    ----------
    boxes1, boxes2 : array-like or torch.Tensor of shape (..., 4)
        Boxes of the same shape.
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"

    Returns
    -------
    iou : ndarray or torch.Tensor of shape (...)
        0 where the union is empty, NaN where either box has a NaN
        coordinate.

    Examples
    --------
    >>> from sklocalize.boxes import elementwise_box_iou
    >>> elementwise_box_iou([[0, 0, 2, 2], [0, 0, 1, 1]], [[1, 1, 3, 3], [2, 2, 3, 3]])
    array([0.14285714, 0.        ])
    """
    b1 = box_convert(boxes1, fmt, "xyxy")
    b2 = box_convert(boxes2, fmt, "xyxy")
    _check_same_shape(b1, b2)
    inter, union = _intersection_union(b1, b2)
    return _nan_where_missing(_safe_divide(inter, union), b1, b2)


def elementwise_generalized_box_iou(boxes1, boxes2, fmt="xyxy"):
    """Generalized IoU of ``boxes1[i]`` with ``boxes2[i]``.

    ``GIoU = IoU - (|C| - |A u B|) / |C|`` where ``C`` is the smallest box that
    encloses both (Rezatofighi et al., CVPR 2019). It lies in [-1, 1] and, unlike
    the IoU, still has a gradient when the boxes do not overlap, so ``1 - GIoU``
    is usable as a regression loss.

    Parameters
    ----------
    boxes1, boxes2 : array-like or torch.Tensor of shape (..., 4)
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"

    Returns
    -------
    giou : ndarray or torch.Tensor of shape (...)
        Where the enclosing box is empty (both boxes are the same point) the
        penalty term is 0 and the GIoU equals the IoU (0). NaN where either
        box has a NaN coordinate (a loss masks such boxes out first).

    References
    ----------
    .. [1] H. Rezatofighi et al., "Generalized Intersection over Union: A Metric
       and A Loss for Bounding Box Regression", CVPR 2019.

    Examples
    --------
    >>> from sklocalize.boxes import elementwise_generalized_box_iou
    >>> elementwise_generalized_box_iou([[0, 0, 1, 1]], [[2, 0, 3, 1]])
    array([-0.33333333])
    """
    b1 = box_convert(boxes1, fmt, "xyxy")
    b2 = box_convert(boxes2, fmt, "xyxy")
    _check_same_shape(b1, b2)
    inter, union = _intersection_union(b1, b2)
    iou = _safe_divide(inter, union)
    x1a, y1a, x2a, y2a = _unbind(b1)
    x1b, y1b, x2b, y2b = _unbind(b2)
    cw = _clip_min(_maximum(x2a, x2b) - _minimum(x1a, x1b), 0)
    ch = _clip_min(_maximum(y2a, y2b) - _minimum(y1a, y1b), 0)
    enclosing = cw * ch
    return _nan_where_missing(iou - _safe_divide(enclosing - union, enclosing), b1, b2)


# --------------------------------------------------------------------------
# pixels <-> relative, clipping


def _scale_xyxy(boxes, fmt, image_size, op):
    """``op(x, width)`` and ``op(y, height)`` on the corners of ``boxes``."""
    height, width = check_image_sizes(image_size, name="image_size")
    xyxy = box_convert(boxes, fmt, "xyxy")
    if isinstance(xyxy, torch.Tensor) and isinstance(height, np.ndarray):
        height, width = (torch.as_tensor(v, dtype=xyxy.dtype, device=xyxy.device)
                         for v in (height, width))
    x1, y1, x2, y2 = _unbind(xyxy)
    corners = [op(x1, width), op(y1, height), op(x2, width), op(y2, height)]
    return _from_xyxy(_stack(corners, xyxy), fmt)


def boxes_to_pixels(boxes, image_size, fmt="xyxy"):
    """Relative (0-1) boxes to pixel coordinates.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (..., 4)
        Relative boxes in ``fmt``.
    image_size : tuple of (height, width), or array-like of shape (n, 2)
        The image size in pixels, or each box's image's ``(height, width)``.
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"
        The format of ``boxes``, kept in the output.

    Returns
    -------
    boxes : ndarray or torch.Tensor of shape (..., 4)
        x values (and widths) times ``width``, y values (and heights) times
        ``height``.
    """
    return _scale_xyxy(boxes, fmt, image_size, operator.mul)


def boxes_to_relative(boxes, image_size, fmt="xyxy"):
    """Pixel boxes to relative (0-1) coordinates; the inverse of
    :func:`boxes_to_pixels`.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (..., 4)
        Pixel boxes in ``fmt``.
    image_size : tuple of (height, width), or array-like of shape (n, 2)
        The image size in pixels, or each box's image's ``(height, width)``.
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"

    Returns
    -------
    boxes : ndarray or torch.Tensor of shape (..., 4)
    """
    return _scale_xyxy(boxes, fmt, image_size, operator.truediv)


def clip_boxes(boxes, fmt="xyxy", image_size=(1.0, 1.0)):
    """Clip boxes to the image.

    Parameters
    ----------
    boxes : array-like or torch.Tensor of shape (..., 4)
    fmt : {"xyxy", "xywh", "cxcywh", "cxcyhw"}, default="xyxy"
    image_size : tuple of (height, width), default=(1.0, 1.0)
        The image size in the boxes' units: ``(1, 1)`` for relative boxes, the
        size in pixels for pixel boxes.

    Returns
    -------
    boxes : ndarray or torch.Tensor of shape (..., 4)
        The part of each box inside the image, in ``fmt``. A box wholly outside
        the image becomes a degenerate box (zero width or height) on its edge.
    """
    height, width = check_image_sizes(image_size, name="image_size")
    xyxy = box_convert(boxes, fmt, "xyxy")
    if isinstance(xyxy, torch.Tensor) and isinstance(height, np.ndarray):
        height, width = (torch.as_tensor(v, dtype=xyxy.dtype, device=xyxy.device)
                         for v in (height, width))
    x1, y1, x2, y2 = _unbind(xyxy)
    if _is_torch(xyxy):
        parts = [
            x1.clamp(0, width), y1.clamp(0, height),
            x2.clamp(0, width), y2.clamp(0, height),
        ]
    else:
        parts = [
            np.clip(x1, 0, width), np.clip(y1, 0, height),
            np.clip(x2, 0, width), np.clip(y2, 0, height),
        ]
    return _from_xyxy(_stack(parts, xyxy), fmt)
