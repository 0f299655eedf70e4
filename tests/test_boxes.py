import itertools

import numpy as np
import pytest
import torch

from sklocalize.boxes import (
    BOX_FORMATS,
    box_area,
    box_convert,
    box_iou,
    boxes_to_pixels,
    boxes_to_relative,
    clip_boxes,
    elementwise_box_iou,
    elementwise_generalized_box_iou,
)

XYXY = np.array([[0.1, 0.2, 0.5, 0.8], [0.0, 0.0, 1.0, 1.0]])
EXPECTED = {
    "xyxy": XYXY,
    "xywh": np.array([[0.1, 0.2, 0.4, 0.6], [0.0, 0.0, 1.0, 1.0]]),
    "cxcywh": np.array([[0.3, 0.5, 0.4, 0.6], [0.5, 0.5, 1.0, 1.0]]),
    "cxcyhw": np.array([[0.3, 0.5, 0.6, 0.4], [0.5, 0.5, 1.0, 1.0]]),
}


@pytest.mark.parametrize("out_fmt", BOX_FORMATS)
def test_convert_from_xyxy_hand_computed(out_fmt):
    np.testing.assert_allclose(box_convert(XYXY, "xyxy", out_fmt), EXPECTED[out_fmt])


PAIRS = list(itertools.product(BOX_FORMATS, BOX_FORMATS))


@pytest.mark.parametrize("in_fmt,out_fmt", PAIRS)
@pytest.mark.parametrize("as_torch", [False, True])
def test_round_trip_every_pair(in_fmt, out_fmt, as_torch):
    boxes = EXPECTED[in_fmt]
    if as_torch:
        boxes = torch.tensor(boxes)
    out = box_convert(boxes, in_fmt, out_fmt)
    assert isinstance(out, torch.Tensor) == as_torch
    back = box_convert(out, out_fmt, in_fmt)
    np.testing.assert_allclose(np.asarray(back), EXPECTED[in_fmt], atol=1e-12)
    np.testing.assert_allclose(np.asarray(out), EXPECTED[out_fmt], atol=1e-12)


def test_convert_keeps_batch_dims_and_does_not_modify_input():
    boxes = np.tile(EXPECTED["cxcyhw"], (3, 1, 1))
    before = boxes.copy()
    out = box_convert(boxes, "cxcyhw", "cxcyhw")
    out[...] = 0
    assert out.shape == (3, 2, 4)
    np.testing.assert_array_equal(boxes, before)


def test_convert_empty():
    assert box_convert(np.zeros((0, 4)), "xyxy", "cxcyhw").shape == (0, 4)
    assert box_iou(np.zeros((0, 4)), XYXY).shape == (0, 2)
    assert elementwise_box_iou(np.zeros((0, 4)), np.zeros((0, 4))).shape == (0,)


@pytest.mark.parametrize("fmt", ["xywz", "", None, "XYXY"])
def test_unknown_format(fmt):
    with pytest.raises(ValueError, match="Unknown box format in_fmt="):
        box_convert(XYXY, fmt, "xyxy")


@pytest.mark.parametrize("shape", [(4,), (3, 5), (2, 3)])
def test_wrong_shape(shape):
    bad = np.zeros(shape)
    if shape == (4,):
        assert box_convert(bad, "xyxy", "xywh").shape == (4,)  # one box is fine
        return
    with pytest.raises(ValueError, match=r"must have shape \(\.\.\., 4\)"):
        box_convert(bad, "xyxy", "xywh")


def test_non_numeric_boxes():
    with pytest.raises(TypeError, match="must hold numbers"):
        box_convert(np.array([["a", "b", "c", "d"]]), "xyxy", "xywh")


def test_pairwise_iou_hand_computed():
    a = np.array([[0, 0, 2, 2]])
    b = np.array([[1, 1, 3, 3], [0, 0, 2, 2], [5, 5, 6, 6], [0, 0, 1, 2]])
    iou = box_iou(a, b)
    assert iou.shape == (1, 4)
    np.testing.assert_allclose(iou, [[1 / 7, 1.0, 0.0, 0.5]])


def test_pairwise_iou_needs_2d():
    with pytest.raises(ValueError, match=r"boxes1 must have shape \(N, 4\)"):
        box_iou(np.zeros((2, 2, 4)), np.zeros((1, 4)))


def test_elementwise_iou_and_format():
    a = EXPECTED["cxcyhw"]
    np.testing.assert_allclose(elementwise_box_iou(a, a, fmt="cxcyhw"), [1.0, 1.0])
    np.testing.assert_allclose(
        elementwise_box_iou(XYXY, XYXY[::-1]), [0.24, 0.24]
    )
    with pytest.raises(ValueError, match="same shape"):
        elementwise_box_iou(XYXY, XYXY[:1])


def test_zero_area_boxes_give_zero_not_nan():
    point = np.array([[0.5, 0.5, 0.5, 0.5]])
    line = np.array([[0.2, 0.5, 0.8, 0.5]])
    for a, b in [(point, point), (point, line), (line, line)]:
        assert elementwise_box_iou(a, b)[0] == 0.0
        assert box_iou(a, b)[0, 0] == 0.0
        assert np.isfinite(elementwise_generalized_box_iou(a, b)).all()
    t = torch.tensor(point, requires_grad=True)
    giou = elementwise_generalized_box_iou(t, t)
    giou.sum().backward()
    assert torch.isfinite(t.grad).all()
    assert box_area(point)[0] == 0.0


def test_giou_hand_computed_and_bounds():
    a = np.array([[0, 0, 1, 1], [0, 0, 2, 2], [0, 0, 1, 1]])
    b = np.array([[2, 0, 3, 1], [1, 1, 3, 3], [0, 0, 1, 1]])
    giou = elementwise_generalized_box_iou(a, b)
    # disjoint: iou 0, enclosing 3, union 2 -> -1/3; overlapping: 1/7 - (9-7)/9
    np.testing.assert_allclose(giou, [-1 / 3, 1 / 7 - 2 / 9, 1.0])
    assert np.all((giou >= -1) & (giou <= 1))


def test_giou_is_differentiable_when_disjoint():
    pred = torch.tensor([[0.0, 0.0, 0.2, 0.2]], requires_grad=True)
    target = torch.tensor([[0.6, 0.6, 0.9, 0.9]])
    loss = (1 - elementwise_generalized_box_iou(pred, target)).sum()
    loss.backward()
    assert pred.grad.abs().sum() > 0
    # moving towards the target lowers the loss
    with torch.no_grad():
        moved = pred + 0.1
    assert (1 - elementwise_generalized_box_iou(moved, target)).sum() < loss


def test_integer_tensor_boxes_are_promoted():
    out = box_convert(torch.tensor([[0, 0, 2, 4]]), "xyxy", "cxcywh")
    assert out.dtype == torch.get_default_dtype()
    assert out.tolist() == [[1.0, 2.0, 2.0, 4.0]]


@pytest.mark.parametrize("fmt", BOX_FORMATS)
def test_pixels_relative_round_trip(fmt):
    rel = EXPECTED[fmt]
    px = boxes_to_pixels(rel, (100, 200), fmt=fmt)
    np.testing.assert_allclose(boxes_to_relative(px, (100, 200), fmt=fmt), rel)


def test_pixels_hand_computed():
    px = boxes_to_pixels(np.array([[0.5, 0.5, 0.2, 0.4]]), (100, 200), fmt="cxcyhw")
    # x scales with width 200, y and height with 100
    np.testing.assert_allclose(px, [[100, 50, 20, 80]])


def test_boxes_to_relative_divides():
    # x / width, not x * (1 / width): 49 * (1 / 49) is 0.9999999999999999
    rel = boxes_to_relative(np.array([[0.0, 0.0, 49.0, 49.0]]), (49, 49))
    np.testing.assert_array_equal(rel, [[0, 0, 1, 1]])


@pytest.mark.parametrize("size", [(0, 10), (-1, 5), ("a", 3), 7, (10, np.inf)])
def test_bad_image_size(size):
    with pytest.raises((ValueError, TypeError), match="image_size must be a pair"):
        boxes_to_pixels(XYXY, size)


def test_clip_boxes():
    boxes = np.array([[-0.2, 0.1, 0.5, 1.3], [1.2, 1.2, 1.5, 1.5]])
    np.testing.assert_allclose(clip_boxes(boxes), [[0, 0.1, 0.5, 1], [1, 1, 1, 1]])
    px = clip_boxes(np.array([[-5.0, 2.0, 50.0, 20.0]]), image_size=(10, 40))
    np.testing.assert_allclose(px, [[0, 2, 40, 10]])
    cxcyhw = clip_boxes(np.array([[0.9, 0.5, 0.2, 0.4]]), fmt="cxcyhw")
    np.testing.assert_allclose(cxcyhw, [[0.85, 0.5, 0.2, 0.3]])


@pytest.mark.parametrize("as_torch", [False, True])
@pytest.mark.parametrize("where", ["first", "second", "both"])
def test_a_nan_box_gives_nan_not_zero(as_torch, where):
    good = np.array([[0.1, 0.1, 0.5, 0.5], [0.2, 0.2, 0.6, 0.6], [0.5, 0.5, 0.5, 0.5]])
    a, b = good.copy(), good[::-1].copy()
    if where in ("first", "both"):
        a[0, 2] = np.nan
    if where in ("second", "both"):
        b[0, 0] = np.nan
    if as_torch:
        a, b = torch.tensor(a), torch.tensor(b)
    for func in (elementwise_box_iou, elementwise_generalized_box_iou):
        out = np.asarray(func(a, b))
        assert np.isnan(out[0]), func.__name__
        assert np.isfinite(out[1:]).all(), func.__name__
        assert out[2] == func(good[2:], good[:1])[0]  # the others are unchanged
    pairwise = np.asarray(box_iou(a, b))
    assert np.isnan(pairwise[0]).all() if where != "second" else True
    assert np.isnan(pairwise[:, 0]).all() if where != "first" else True
    assert np.isfinite(pairwise[1:, 1:]).all()


def test_nan_box_check_keeps_giou_gradients_finite_elsewhere():
    pred = torch.tensor([[0.0, 0.0, 0.2, 0.2], [0.1, 0.1, 0.3, 0.3]],
                        requires_grad=True)
    target = torch.tensor([[0.6, 0.6, 0.9, 0.9], [np.nan, 0.1, 0.3, 0.3]])
    giou = elementwise_generalized_box_iou(pred, target)
    assert torch.isnan(giou[1]) and torch.isfinite(giou[0])
    giou[0].backward()
    # the other pair's gradient is finite (a NaN box's own is not: losses mask
    # such boxes out before calling it)
    assert torch.isfinite(pred.grad[0]).all() and pred.grad[0].abs().sum() > 0
