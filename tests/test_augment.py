"""Augmentation moves the targets exactly with the pixels."""

import numpy as np
import pytest
import torch

from sklocalize import LocalizerEstimator
from sklocalize.augment import (
    Augmenter,
    ImageDataset,
    LandmarkTargets,
    LocalizationTargets,
    affine_matrix,
    map_points,
    mirrored_points,
    similarity_to,
    warp_images,
)

from ._helpers import TINY_MODULE, tiny_localization

SIZE = 32


def point_image(points):
    """One bright pixel under each point (x, y relative)."""
    img = torch.zeros(1, 1, SIZE, SIZE)
    for x, y in points:
        img[0, 0, int(y * SIZE), int(x * SIZE)] = 1.0
    return img


def pixel_centre(i):
    return (i + 0.5) / SIZE


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("kind", ["flip", "affine", "all"])
def test_bright_pixel_stays_under_its_landmark(seed, kind):
    torch.manual_seed(seed)
    pts = [(pixel_centre(5), pixel_centre(9)), (pixel_centre(22), pixel_centre(9)),
           (pixel_centre(14), pixel_centre(20))]
    y = torch.tensor([[1.0, *np.ravel(pts)]])
    targets = LandmarkTargets(flip_pairs=[(0, 1)])
    aug = {
        "flip": Augmenter(flip=1.0, scale=(1, 1), shift=0, brightness=0,
                          contrast=0),
        "affine": Augmenter(flip=0.0, scale=(0.7, 1.3), shift=0.15, brightness=0,
                            contrast=0),
        "all": Augmenter(flip=0.5, scale=(0.7, 1.3), shift=0.15),
    }[kind]
    for i, (x, yy) in enumerate(pts):  # one image per point: no blending
        X = point_image([(x, yy)])
        torch.manual_seed(seed)
        Xa, ya = aug(X, y, targets)
        px = ya[0, 1:].reshape(-1, 2)
        # a flip swaps points 0 and 1: the nose (2), right of their middle
        # before, is left of it after (zoom and shift keep the order)
        if not torch.isfinite(px).all():
            continue  # a point moved out of view: marked not visible
        flipped = bool(px[2, 0] < (px[0, 0] + px[1, 0]) / 2)
        assert flipped == (kind == "flip") or kind == "all"
        j = {0: 1, 1: 0, 2: 2}[i] if flipped else i
        img = Xa[0, 0] - Xa[0, 0].median()
        row, col = np.unravel_index(int(img.argmax()), img.shape)
        # the brightest pixel is under the moved landmark: exactly for a flip,
        # within a pixel after bilinear resampling
        tol = 1e-6 if kind == "flip" else 1.0 / SIZE + 1e-6
        assert abs((col + 0.5) / SIZE - px[j, 0]) <= tol
        assert abs((row + 0.5) / SIZE - px[j, 1]) <= tol


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("size", [(32, 32), (24, 40)])
@pytest.mark.parametrize("interpolation", ["bilinear", "bicubic"])
def test_bright_pixel_follows_a_rotation(seed, size, interpolation):
    # rotations act in pixel space: right on non-square images too
    h, w = size
    torch.manual_seed(seed)
    aug = Augmenter(flip=0.0, scale=(0.8, 1.2), shift=0.1, brightness=0,
                    contrast=0, rotation=40, interpolation=interpolation)
    for col, row in [(6, 5), (w - 8, 7), (w // 2, h - 6)]:
        X = torch.zeros(1, 1, h, w)
        X[0, 0, row, col] = 1.0
        y = torch.tensor([[1.0, (col + 0.5) / w, (row + 0.5) / h]])
        torch.manual_seed(seed)
        Xa, ya = aug(X, y, LandmarkTargets())
        if not torch.isfinite(ya).all():
            continue
        img = Xa[0, 0] - Xa[0, 0].median()
        r, c = np.unravel_index(int(img.argmax()), img.shape)
        assert abs((c + 0.5) / w - float(ya[0, 1])) <= 1.0 / w + 1e-6
        assert abs((r + 0.5) / h - float(ya[0, 2])) <= 1.0 / h + 1e-6


def test_rotation_by_a_right_angle_is_exact():
    from sklocalize.augment import affine_matrix, affine_transform

    X = torch.zeros(1, 1, 16, 16)
    X[0, 0, 2, 12] = 1.0  # row 2, column 12
    y = torch.tensor([[1.0, 12.5 / 16, 2.5 / 16]])
    matrix = affine_matrix(torch.ones(1), torch.tensor([np.pi / 2]), (16, 16))
    Xa, ya = affine_transform(X, y, LandmarkTargets(), matrix, torch.zeros(1, 2))
    # clockwise on screen (y down): (x, y) - c -> (-(y - c), x - c)
    r, c = np.unravel_index(int(Xa[0, 0].argmax()), (16, 16))
    assert (r, c) == (12, 13)
    torch.testing.assert_close(ya, torch.tensor([[1.0, 13.5 / 16, 12.5 / 16]]))
    assert float(Xa[0, 0, r, c]) == pytest.approx(1.0, abs=1e-5)


@pytest.mark.parametrize("seed", range(6))
def test_rotated_rectangle_stays_inside_its_enclosing_box(seed):
    torch.manual_seed(seed)
    X = torch.zeros(1, 1, SIZE, SIZE)
    X[0, 0, 10:18, 6:20] = 1.0
    y = torch.tensor([[1.0, 13 / SIZE, 14 / SIZE, 8 / SIZE, 14 / SIZE, 1.0]])
    Xa, ya = Augmenter(flip=0.5, scale=(0.8, 1.2), shift=0.1, brightness=0,
                       contrast=0, rotation=30)(X, y, LocalizationTargets())
    bx, by, bh, bw = ya[0, 1:5].tolist()
    rows, cols = torch.nonzero(Xa[0, 0] > 0.5, as_tuple=True)
    assert len(rows) > 0
    tol = 0.5 / SIZE + 1e-6
    assert ((cols + 0.5) / SIZE >= bx - bw / 2 - tol).all()
    assert ((cols + 0.5) / SIZE <= bx + bw / 2 + tol).all()
    assert ((rows + 0.5) / SIZE >= by - bh / 2 - tol).all()
    assert ((rows + 0.5) / SIZE <= by + bh / 2 + tol).all()


@pytest.mark.parametrize("seed", range(10))
def test_filled_rectangle_stays_inside_its_box(seed):
    torch.manual_seed(seed)
    x1, y1, x2, y2 = 6, 10, 20, 18  # pixel edges
    X = torch.zeros(1, 1, SIZE, SIZE)
    X[0, 0, y1:y2, x1:x2] = 1.0
    box = [(x1 + x2) / 2 / SIZE, (y1 + y2) / 2 / SIZE, (y2 - y1) / SIZE,
           (x2 - x1) / SIZE]
    y = torch.tensor([[1.0, *box, 1.0, 0.0]])
    Xa, ya = Augmenter(flip=0.5, scale=(0.6, 1.5), shift=0.2, brightness=0,
                       contrast=0)(X, y, LocalizationTargets())
    bx, by, bh, bw = ya[0, 1:5].tolist()
    inside = Xa[0, 0] > 0.5
    rows, cols = torch.nonzero(inside, as_tuple=True)
    assert ya[0, 0] == 1
    # every bright pixel's centre lies inside the moved box (half-pixel slack)
    tol = 0.5 / SIZE + 1e-6
    assert ((cols + 0.5) / SIZE >= bx - bw / 2 - tol).all()
    assert ((cols + 0.5) / SIZE <= bx + bw / 2 + tol).all()
    assert ((rows + 0.5) / SIZE >= by - bh / 2 - tol).all()
    assert ((rows + 0.5) / SIZE <= by + bh / 2 + tol).all()
    # and the box is tight: the bright area fills it
    assert inside.sum() / SIZE**2 >= 0.7 * bw * bh


def test_keep_inside_and_pushed_out_objects():
    y = torch.tensor([[1.0, 0.9, 0.5, 0.2, 0.2, 1.0]])
    targets = LocalizationTargets()
    moved = targets.affine(y, torch.tensor([1.0]), torch.tensor([[0.5, 0.0]]))
    assert moved[0, 0] == 0  # pushed out of the image: absent
    kept = targets.affine(y, torch.tensor([1.0]), torch.tensor([[0.05, 0.0]]))
    assert kept[0, 0] == 1 and kept[0, 4] == pytest.approx(0.15)  # clipped
    torch.manual_seed(0)
    X = torch.rand(64, 1, SIZE, SIZE)
    ys = y.repeat(64, 1)
    _, ya = Augmenter(flip=0, scale=(1, 1.3), shift=0.3, brightness=0,
                      contrast=0)(X, ys, targets)
    assert (ya[:, 0] == 1).all()  # keep_inside: never pushed out
    ext = targets.extent(ya)
    assert (ext >= -1e-6).all() and (ext <= 1 + 1e-6).all()


def test_landmarks_leaving_the_image_become_not_visible():
    y = torch.tensor([[1.0, 0.95, 0.5, 0.5, 0.5]])
    moved = LandmarkTargets().affine(y, torch.tensor([1.0]), torch.tensor([[0.1, 0]]))
    assert torch.isnan(moved[0, 1:3]).all() and torch.isfinite(moved[0, 3:]).all()


def test_inputs_are_not_modified_and_jitter_changes_pixels():
    X = torch.rand(4, 3, SIZE, SIZE)
    y = torch.tensor([[1.0, .5, .5, .3, .3, 1.0]] * 4)
    X0, y0 = X.clone(), y.clone()
    Xa, ya = Augmenter()(X, y, LocalizationTargets())
    assert torch.equal(X, X0) and torch.equal(y, y0)
    assert not torch.equal(Xa, X)


@pytest.mark.parametrize("kwargs,match", [
    ({"flip": 2}, "flip must be a probability"),
    ({"scale": (1.2, 0.8)}, "scale must be"),
    ({"shift": 1.5}, "shift must be in"),
    ({"rotation": -5}, "rotation must be in"),
    ({"reframe_prob": 1.5}, "reframe_prob must be a probability"),
    ({"interpolation": "nearest"}, "interpolation must be one of .*'nearest'"),
])
def test_bad_augmenter_settings(kwargs, match):
    X, y = tiny_localization()
    est = LocalizerEstimator(augment=Augmenter(**kwargs), max_epochs=1,
                             **TINY_MODULE)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_augmentation_is_training_only_and_reproducible():
    X, y = tiny_localization(n=24)
    params = dict(max_epochs=2, random_state=0, batch_size=8, augment="default",
                  train_split=0.25, **TINY_MODULE)
    a = LocalizerEstimator(**params).fit(X, y)
    b = LocalizerEstimator(**params).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    train, valid = a.get_split_datasets(torch.from_numpy(X),
                                        torch.from_numpy(y).float())
    assert type(train).__name__ == "AugmentedDataset"
    assert type(valid).__name__ == "Subset"
    noaug = LocalizerEstimator(**{**params, "augment": None}).fit(X, y)
    assert not np.array_equal(noaug.predict_proba(X), a.predict_proba(X))


def test_batched_dataset_scales_uint8():
    X = torch.full((3, 1, 16, 16), 255, dtype=torch.uint8)
    xb, yb = ImageDataset(X).__getitems__([0, 2])
    assert xb.dtype == torch.float32 and xb.max() == 1.0 and yb.shape == (2,)


@pytest.mark.parametrize("indices", [[3, 4, 5, 6], [6, 2, 4], [5], [2, 3, 5]])
def test_batched_dataset_serves_the_rows_asked_for(indices):
    X = torch.rand(8, 1, 4, 4)
    y = torch.rand(8, 5)
    xb, yb = ImageDataset(X, y).__getitems__(indices)
    torch.testing.assert_close(xb, X[indices])
    torch.testing.assert_close(yb, y[indices])
    # a run of consecutive rows (prediction's batches) is served without a copy
    consecutive = indices == list(range(indices[0], indices[-1] + 1))
    assert (xb.data_ptr() == X[indices[0]].data_ptr()) == consecutive


def test_reframe_prob_leaves_the_other_images_framed_as_given():
    torch.manual_seed(0)
    n = 400
    X = torch.rand(n, 1, 16, 16)
    y = torch.tensor([[1.0, 0.4, 0.45, 0.6, 0.55]]).repeat(n, 1)
    aug = Augmenter(flip=0.0, scale=(0.5, 0.7), shift=0.1, brightness=0,
                    contrast=0, reframe_prob=0.5)
    Xa, ya = aug(X, y, LandmarkTargets())
    same = (ya == y).all(dim=1)
    # the images left as given are untouched, pixels and targets alike
    torch.testing.assert_close(Xa[same], X[same], atol=1e-5, rtol=0)
    assert 0.4 < same.float().mean() < 0.6
    # the others were zoomed out by at least 1/0.7: the points drew together
    dist = (ya[~same, 3] - ya[~same, 1]).abs()
    assert (dist <= 0.2 * 0.7 + 1e-5).all()
    everything = Augmenter(flip=0.0, scale=(0.5, 0.7), shift=0.1, brightness=0,
                           contrast=0)(X, y, LandmarkTargets())[1]
    assert not (everything == y).all(dim=1).any()


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

