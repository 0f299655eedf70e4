"""Augmentation moves the targets exactly with the pixels."""

import numpy as np
import pytest
import torch

from sklocalize import LocalizerEstimator
from sklocalize.augment import Augmenter, affine_transform
from sklocalize.geometry import affine_matrix
from sklocalize.tasks import LandmarkTask, LocalizationTask

from ._helpers import TINY_MODULE, pixel_centre, point_image, tiny_localization

SIZE = 32


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("kind", ["flip", "affine", "all"])
def test_bright_pixel_stays_under_its_landmark(seed, kind):
    torch.manual_seed(seed)
    pts = [(pixel_centre(5), pixel_centre(9)), (pixel_centre(22), pixel_centre(9)),
           (pixel_centre(14), pixel_centre(20))]
    y = torch.tensor([[1.0, *np.ravel(pts)]])
    targets = LandmarkTask(flip_pairs=[(0, 1)])
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


@pytest.mark.slow
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
        Xa, ya = aug(X, y, LandmarkTask())
        if not torch.isfinite(ya).all():
            continue
        img = Xa[0, 0] - Xa[0, 0].median()
        r, c = np.unravel_index(int(img.argmax()), img.shape)
        assert abs((c + 0.5) / w - float(ya[0, 1])) <= 1.0 / w + 1e-6
        assert abs((r + 0.5) / h - float(ya[0, 2])) <= 1.0 / h + 1e-6


@pytest.mark.slow
def test_rotation_by_a_right_angle_is_exact():

    X = torch.zeros(1, 1, 16, 16)
    X[0, 0, 2, 12] = 1.0  # row 2, column 12
    y = torch.tensor([[1.0, 12.5 / 16, 2.5 / 16]])
    matrix = affine_matrix(torch.ones(1), torch.tensor([np.pi / 2]), (16, 16))
    Xa, ya = affine_transform(X, y, LandmarkTask(), matrix, torch.zeros(1, 2))
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
                       contrast=0, rotation=30)(X, y, LocalizationTask())
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
                       contrast=0)(X, y, LocalizationTask())
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


@pytest.mark.parametrize("seed", range(6))
def test_aspect_change_moves_the_box_with_the_rectangle(seed):
    torch.manual_seed(seed)
    x1, y1, x2, y2 = 8, 8, 24, 20  # pixel edges, 16 wide and 12 high
    X = torch.zeros(1, 1, SIZE, SIZE)
    X[0, 0, y1:y2, x1:x2] = 1.0
    y = torch.tensor([[1.0, 0.5, 14 / SIZE, 12 / SIZE, 16 / SIZE, 1.0]])
    Xa, ya = Augmenter(flip=0, scale=(1, 1), shift=0, brightness=0, contrast=0,
                       aspect=0.5)(X, y, LocalizationTask())
    bh, bw = ya[0, 3].item(), ya[0, 4].item()
    change = (bw / bh) / (16 / 12)  # the aspect ratio's: r squared
    assert 1 / 1.5 ** 2 - 1e-6 <= change <= 1.5 ** 2 + 1e-6
    assert bh * bw == pytest.approx(12 * 16 / SIZE ** 2, rel=1e-5)  # area kept
    # the bright pixels still fill the moved box
    inside = Xa[0, 0] > 0.5
    assert abs(inside.sum().item() / SIZE ** 2 - bw * bh) <= 2 * (bw + bh) / SIZE


@pytest.mark.slow
def test_saturation_is_a_blend_with_each_pixels_grey():
    X = torch.rand(5, 3, 8, 8)
    y = torch.tensor([[1.0, .4, .5, .3, .2, 1.0]] * 5)
    aug = Augmenter(flip=0, scale=(1, 1), shift=0, brightness=0, contrast=0,
                    saturation=0.5)
    Xa, _ = aug(X, y, LocalizationTask(), generator=torch.Generator().manual_seed(3))
    f = 1 + (torch.rand(5, 1, 1, 1, generator=torch.Generator().manual_seed(3))
             * 2 - 1) * 0.5
    grey = X.mean(dim=1, keepdim=True)
    torch.testing.assert_close(Xa, grey + (X - grey) * f, rtol=0, atol=1e-6)
    torch.testing.assert_close(Xa.mean(dim=1), grey[:, 0], rtol=0, atol=1e-6)
    one = torch.rand(2, 1, 8, 8)  # a grey image has no saturation to change
    assert torch.equal(aug(one, y[:2], LocalizationTask())[0], one)


def test_keep_inside_and_pushed_out_objects():
    y = torch.tensor([[1.0, 0.9, 0.5, 0.2, 0.2, 1.0]])
    targets = LocalizationTask()
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
    moved = LandmarkTask().affine(y, torch.tensor([1.0]), torch.tensor([[0.1, 0]]))
    assert torch.isnan(moved[0, 1:3]).all() and torch.isfinite(moved[0, 3:]).all()


def test_inputs_are_not_modified_and_jitter_changes_pixels():
    X = torch.rand(4, 3, SIZE, SIZE)
    y = torch.tensor([[1.0, .5, .5, .3, .3, 1.0]] * 4)
    X0, y0 = X.clone(), y.clone()
    Xa, ya = Augmenter()(X, y, LocalizationTask())
    assert torch.equal(X, X0) and torch.equal(y, y0)
    assert not torch.equal(Xa, X)


@pytest.mark.parametrize("jitter", [True, False])
def test_flip_and_jitter_are_the_textbook_formulas(jitter):
    # the batch is mirrored where drawn, then (x - mean) * c + mean + b * std
    # per image, whatever order the augmenter computes them in
    X = torch.rand(6, 3, 8, 10)
    y = torch.tensor([[1.0, .4, .5, .3, .2, 1.0]] * 6)
    aug = Augmenter(flip=0.5, scale=(1, 1), shift=0, brightness=0.3 * jitter,
                    contrast=0.4 * jitter)
    Xa, ya = aug(X, y, LocalizationTask(), generator=torch.Generator().manual_seed(1))
    draws = torch.Generator().manual_seed(1)
    mask = torch.rand(6, generator=draws) < 0.5
    assert 0 < mask.sum() < 6
    want = torch.where(mask[:, None, None, None], X.flip(-1), X)
    if jitter:
        mean = want.mean(dim=(1, 2, 3), keepdim=True)
        std = want.std(dim=(1, 2, 3), keepdim=True)
        c = 1 + (torch.rand(6, 1, 1, 1, generator=draws) * 2 - 1) * 0.4
        b = (torch.rand(6, 1, 1, 1, generator=draws) * 2 - 1) * 0.3
        want = (want - mean) * c + mean + b * std
    torch.testing.assert_close(Xa, want, rtol=0, atol=1e-6)
    torch.testing.assert_close(ya[:, 1], torch.where(mask, 0.6, 0.4))


@pytest.mark.parametrize("kwargs,match", [
    ({"flip": 2}, "flip must be a probability"),
    ({"scale": (1.2, 0.8)}, "scale must be"),
    ({"shift": 1.5}, "shift must be in"),
    ({"rotation": -5}, "rotation must be in"),
    ({"reframe_prob": 1.5}, "reframe_prob must be a probability"),
    ({"aspect": 1.5}, r"aspect must be in \[0, 1\]; got 1.5"),
    ({"saturation": -0.1}, r"saturation must be in \[0, 1\); got -0.1"),
    ({"interpolation": "nearest"}, "interpolation must be one of .*'nearest'"),
])
def test_bad_augmenter_settings(kwargs, match):
    X, y = tiny_localization()
    est = LocalizerEstimator(augment=Augmenter(**kwargs), max_epochs=1,
                             **TINY_MODULE)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


@pytest.mark.slow
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


def test_reframe_prob_leaves_the_other_images_framed_as_given():
    torch.manual_seed(0)
    n = 400
    X = torch.rand(n, 1, 16, 16)
    y = torch.tensor([[1.0, 0.4, 0.45, 0.6, 0.55]]).repeat(n, 1)
    aug = Augmenter(flip=0.0, scale=(0.5, 0.7), shift=0.1, brightness=0,
                    contrast=0, reframe_prob=0.5)
    Xa, ya = aug(X, y, LandmarkTask())
    same = (ya == y).all(dim=1)
    # the images left as given are untouched, pixels and targets alike
    torch.testing.assert_close(Xa[same], X[same], atol=1e-5, rtol=0)
    assert 0.4 < same.float().mean() < 0.6
    # the others were zoomed out by at least 1/0.7: the points drew together
    dist = (ya[~same, 3] - ya[~same, 1]).abs()
    assert (dist <= 0.2 * 0.7 + 1e-5).all()
    everything = Augmenter(flip=0.0, scale=(0.5, 0.7), shift=0.1, brightness=0,
                           contrast=0)(X, y, LandmarkTask())[1]
    assert not (everything == y).all(dim=1).any()


def test_reframe_rotation_tilts_only_the_reframed_share():
    from sklocalize.tasks import LandmarkTask

    task = LandmarkTask(2, [])
    n = 2000
    X = torch.rand(n, 1, 16, 16)
    points = torch.tensor([0.4, 0.5, 0.6, 0.5]).repeat(n, 1)
    y = torch.cat([torch.ones(n, 1), points], 1)

    def angles(aug):
        _, out = aug(X, y, task, torch.Generator().manual_seed(0))
        p = out[:, 1:].reshape(-1, 2, 2)
        d = p[:, 1] - p[:, 0]
        return torch.rad2deg(torch.atan2(d[:, 1], d[:, 0])).abs()

    still = dict(flip=0, scale=(1, 1), shift=0, brightness=0, contrast=0, rotation=10)
    tilted = angles(Augmenter(**still, reframe_rotation=45, reframe_prob=0.3))
    assert tilted.max() > 40 and tilted.max() <= 45 + 1e-3
    # 30% drawn from +-45 degrees, 35/45 of them beyond the others' 10
    assert abs((tilted > 10 + 1e-3).float().mean() - 0.3 * 35 / 45) < 0.03
    assert angles(Augmenter(**still)).max() <= 10 + 1e-3
    every = angles(Augmenter(**still, reframe_rotation=45))  # reframe_prob=1
    assert (every > 10 + 1e-3).float().mean() > 0.7
    with pytest.raises(ValueError, match="reframe_rotation must be in"):
        Augmenter(reframe_rotation=200).check()


def test_cut_keeps_a_window_around_the_points_and_fills_the_rest():
    from sklocalize.tasks import LandmarkTask

    task = LandmarkTask(2, [])
    n = 400
    X = torch.rand(n, 3, 40, 40) + 1.0
    points = torch.tensor([0.4, 0.45, 0.6, 0.55]).repeat(n, 1)
    y = torch.cat([torch.ones(n, 1), points], 1)
    X_before = X.clone()
    aug = Augmenter(flip=0, scale=(1, 1), shift=0, brightness=0, contrast=0,
                    cut=0.5, cut_scale=(0.5, 0.5))
    out, y_out = aug(X, y, task, torch.Generator().manual_seed(0))
    torch.testing.assert_close(X, X_before)  # the caller's images untouched
    torch.testing.assert_close(y_out, y)  # nothing moved
    cut = (out != X).flatten(1).any(dim=1)
    assert 0.4 < cut.float().mean() < 0.6
    for i in cut.nonzero()[:20, 0]:
        kept = (out[i] == X[i]).all(dim=0)
        rows, cols = kept.any(dim=1).nonzero()[:, 0], kept.any(dim=0).nonzero()[:, 0]
        assert len(rows) == len(cols) == 20  # half the side
        # the window holds the points (x 16-24 px, y 18-22 px)
        assert rows.min() <= 18 and rows.max() >= 21
        assert cols.min() <= 16 and cols.max() >= 23
        mean = X[i].mean(dim=(1, 2))
        outside = out[i][:, ~kept]
        torch.testing.assert_close(outside, mean[:, None].expand_as(outside))
    # a window never smaller than the object
    wide = torch.tensor([0.1, 0.5, 0.9, 0.5]).repeat(n, 1)
    out, _ = aug(X, torch.cat([torch.ones(n, 1), wide], 1), task,
                 torch.Generator().manual_seed(0))
    for i in (out != X).flatten(1).any(dim=1).nonzero()[:5, 0]:
        kept = (out[i] == X[i]).all(dim=0)
        assert kept.any(dim=0).sum() >= 32  # x from 0.1 to 0.9 of 40 px
    with pytest.raises(ValueError, match="cut_scale must be"):
        Augmenter(cut_scale=(0.0, 1.0)).check()


def test_lowres_blurs_a_share_of_the_images_and_moves_nothing():
    from sklocalize.tasks import LandmarkTask

    task = LandmarkTask(2, [])
    n = 200
    X = torch.rand(n, 3, 32, 32)
    y = torch.cat([torch.ones(n, 1), torch.tensor([0.4, 0.5, 0.6, 0.5]).repeat(n, 1)],
                  1)
    aug = Augmenter(flip=0, scale=(1, 1), shift=0, brightness=0, contrast=0,
                    lowres=0.5, lowres_scale=(2.0, 2.0))
    out, y_out = aug(X, y, task, torch.Generator().manual_seed(0))
    torch.testing.assert_close(y_out, y)
    changed = (out != X).flatten(1).any(dim=1)
    assert 0.4 < changed.float().mean() < 0.6
    # shrunk to 16 px and enlarged back: the noise's detail is gone
    assert (out[changed].std(dim=(1, 2, 3)) < 0.6 * X[changed].std(dim=(1, 2, 3))).all()
    torch.testing.assert_close(out[~changed], X[~changed])
    with pytest.raises(ValueError, match="lowres_scale must be"):
        Augmenter(lowres_scale=(0.5, 2.0)).check()
