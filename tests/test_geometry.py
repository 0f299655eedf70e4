"""Image geometry: points, similarity fits, warping."""

import numpy as np
import pytest
import torch

from sklocalize.geometry import (
    affine_matrix,
    map_points,
    mirrored_points,
    similarity_to,
    warp_images,
)

from ._helpers import pixel_centre, point_image

SIZE = 32


@pytest.mark.parametrize("kind", ["numpy", "torch"])
def test_mirrored_points_flips_x_and_swaps_pairs(kind):
    pts = np.array([[[0.2, 0.3], [0.7, 0.35], [0.5, 0.6]]])
    points = torch.from_numpy(pts) if kind == "torch" else pts.copy()
    out = mirrored_points(points, [(0, 1)])
    assert type(out) is type(points)
    np.testing.assert_allclose(np.asarray(out), [[[0.3, 0.35], [0.8, 0.3],
                                                  [0.5, 0.6]]])
    np.testing.assert_array_equal(np.asarray(points), pts)  # input kept
    np.testing.assert_allclose(np.asarray(mirrored_points(out, [(0, 1)])), pts)


def test_similarity_to_recovers_a_zoom_rotation_and_shift():
    rng = np.random.default_rng(0)
    ref = rng.uniform(0.3, 0.7, (5, 2))
    size = (40, 24)  # non-square: the rotation is in pixel space
    matrix = affine_matrix(torch.tensor([0.6, 1.5]), torch.tensor([0.3, -0.2]), size)
    shift = torch.tensor([[0.05, -0.1], [-0.02, 0.03]])
    ref_t = torch.tensor(np.stack([ref, ref]), dtype=torch.float32)
    pts = map_points(ref_t, matrix, shift)
    A, t = similarity_to(pts.numpy(), ref, size)
    torch.testing.assert_close(map_points(pts, A, t), ref_t, atol=1e-5, rtol=0)
    torch.testing.assert_close(map_points(ref_t, A, t, inverse=True), pts,
                               atol=1e-5, rtol=0)
    # a NaN reference point is left out of the fit
    ref_nan = ref.copy()
    ref_nan[2] = np.nan
    A2, t2 = similarity_to(pts.numpy(), ref_nan, size)
    torch.testing.assert_close(A2, A, atol=1e-5, rtol=0)


def test_similarity_to_degenerate_and_clipped():
    ref = np.array([[0.3, 0.5], [0.7, 0.5]])
    same_place = np.full((1, 2, 2), 0.5)
    A, t = similarity_to(same_place, ref)
    torch.testing.assert_close(A, torch.eye(2)[None])
    torch.testing.assert_close(t, torch.zeros(1, 2))
    tiny = np.array([[[0.49, 0.5], [0.51, 0.5]]])  # 20x zoom wanted
    A, _ = similarity_to(tiny, ref, max_zoom=4.0)
    assert abs(float(torch.linalg.det(A[0])) - 16.0) < 1e-4


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_warp_images_moves_a_bright_pixel_onto_the_reference(mode):
    # a bright pixel at each of two points; after the warp that maps the
    # points onto the reference, the bright pixels sit under the reference
    pts = np.array([[[pixel_centre(10), pixel_centre(12)],
                     [pixel_centre(16), pixel_centre(14)]]])
    ref = np.array([[pixel_centre(8), pixel_centre(16)],
                    [pixel_centre(24), pixel_centre(16)]])
    A, t = similarity_to(pts, ref)
    for k in range(2):
        X = point_image([pts[0, k]])
        out = warp_images(X, A, t, mode=mode)[0, 0]
        out = out - out.median()
        row, col = np.unravel_index(int(out.argmax()), out.shape)
        assert abs(pixel_centre(col) - ref[k, 0]) <= 1.0 / SIZE + 1e-6
        assert abs(pixel_centre(row) - ref[k, 1]) <= 1.0 / SIZE + 1e-6


def test_warp_images_bicubic_blurs_less_and_checks_its_mode():
    torch.manual_seed(0)
    X = torch.rand(2, 3, 20, 20)
    half_pixel = torch.full((2, 2), 0.5 / 20)
    A = torch.eye(2).repeat(2, 1, 1)
    back = -half_pixel
    # there and back by half a pixel: bicubic keeps more of the detail
    errors = {mode: (warp_images(warp_images(X, A, half_pixel, mode=mode), A, back,
                                 mode=mode) - X)[..., 2:-2, 2:-2].abs().mean()
              for mode in ("bilinear", "bicubic")}
    assert errors["bicubic"] < 0.8 * errors["bilinear"]
    with pytest.raises(ValueError, match="mode must be 'bilinear' or 'bicubic'"):
        warp_images(X, A, half_pixel, mode="nearest")
