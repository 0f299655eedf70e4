import pickle
from functools import partial

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import sklocalize
from sklocalize import LandmarkEstimator
from sklocalize.augment import Augmenter
from sklocalize.datasets import FACE_FLIP_PAIRS, FACE_LANDMARKS
from sklocalize.geometry import similarity_to, warp_images
from sklocalize.metrics import landmark_nme, landmark_presence_accuracy
from sklocalize.targets import check_landmark_target

from ._helpers import tiny_estimator, tiny_landmarks

ESTIMATOR = LandmarkEstimator  # conftest's data and fitted fixtures are for this task
tiny = partial(tiny_estimator, ESTIMATOR)


@pytest.mark.slow
def test_fit_predict_layout(fitted, data):
    X, y = data
    pred = fitted.predict(X)
    assert pred.shape == y.shape
    check_landmark_target(pred)
    assert np.all(pred[pred[:, 0] == 0, 1:] == 0)
    assert fitted.n_landmarks_ == 6
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 1)
    np.testing.assert_array_equal(pred[:, 0], proba[:, 0] >= 0.5)


@pytest.mark.slow
@pytest.mark.parametrize("head", ["heatmap", "regression"])
@pytest.mark.parametrize("point_loss", ["wing", "smooth_l1", "mse"])
def test_heads_and_point_losses(data, head, point_loss):
    X, y = data
    est = tiny(module__head=head, point_loss=point_loss).fit(X, y)
    row = est.history_[-1]
    heat = row["train_heatmap_loss"] if head == "heatmap" else 0.0
    assert row["train_loss"] == pytest.approx(
        row["train_presence_loss"] + 5.0 * row["train_points_loss"] + heat,
        rel=1e-4)
    assert est.predict(X).shape == y.shape


@pytest.mark.slow
def test_squared_error_loss(data):
    X, y = data
    est = tiny(loss="squared_error", train_split=0.25).fit(X, y)
    assert np.isfinite(est.history_[-1, "valid_points_loss"])


@pytest.mark.slow
def test_nan_points_are_masked(data):
    X, y = data
    y = y.copy()
    present = np.flatnonzero(y[:, 0] == 1)
    y[present[:4], 1:3] = np.nan  # left eye not visible
    est = tiny().fit(X, y)
    assert np.isfinite(est.history_[-1, "train_loss"])
    assert np.isfinite(est.score(X, y))


@pytest.mark.slow
def test_dataframe_with_names(data):
    X, frame = tiny_landmarks(as_frame=True)
    before = frame.copy()
    est = tiny(landmark_names=list(FACE_LANDMARKS)).fit(X, frame)
    pd.testing.assert_frame_equal(frame, before)
    out = est.predict_frame(X)
    assert list(out.columns[:3]) == ["p", "left_eye_x", "left_eye_y"]
    assert out.loc[out["p"] == 0, "chin_y"].isna().all()
    px = est.predict_frame(X, pixels=True)
    present = out["p"] == 1
    np.testing.assert_allclose(px.loc[present, "nose_x"], out.loc[present,
                                                                   "nose_x"] * 16)
    assert np.isfinite(est.score(X, frame))


@pytest.mark.slow
def test_point_names_are_learned_from_a_named_frame(tmp_path):
    # load_landmarks returns <name>_x, <name>_y columns: a model fitted on
    # them names its predictions' columns without being told the names
    X, frame = tiny_landmarks(as_frame=True)
    est = tiny().fit(X, frame)
    assert est.landmark_names is None
    assert est.landmark_names_ == list(FACE_LANDMARKS)
    out = est.predict_frame(X)
    assert list(out.columns[:3]) == ["p", "left_eye_x", "left_eye_y"]
    # the learned names read later frames: a frame with its columns reordered
    # scores as the original
    shuffled = frame[frame.columns[::-1]]
    assert est.score(X, shuffled) == est.score(X, frame)
    loaded = sklocalize.load(est.save(tmp_path / "faces.skl"))
    assert loaded.landmark_names_ == list(FACE_LANDMARKS)
    # an array, or numbered columns, carry no names
    assert tiny().fit(X, frame.to_numpy(dtype=float)).landmark_names_ is None


def test_score_is_negative_nme(fitted, data):
    X, y = data
    assert fitted.score(X, y) == pytest.approx(-landmark_nme(y, fitted.predict(X)))


def test_tta_flip_is_mirror_consistent(data):
    X, y = data
    est = tiny(flip_pairs=list(FACE_FLIP_PAIRS), tta_flip=True).fit(X, y)
    a = est.predict(X)
    b = est.predict(X[..., ::-1].copy())
    # the prediction on a mirrored image is the mirrored prediction
    mirrored = b.copy()
    pts = mirrored[:, 1:].reshape(len(b), -1, 2)
    pts[..., 0] = np.where(b[:, :1] == 1, 1 - pts[..., 0], 0)
    pts[:, [0, 1, 3, 4]] = pts[:, [1, 0, 4, 3]]
    mirrored[:, 1:] = pts.reshape(len(b), -1)
    np.testing.assert_allclose(a, mirrored, atol=1e-5)


def test_flip_needs_flip_pairs(data):
    X, y = data
    with pytest.raises(ValueError, match="augment flips images horizontally.*set "
                                         "flip_pairs"):
        tiny(augment=Augmenter(flip=0.5)).fit(X, y)
    # the default augmentation flips only when the pairs are known
    assert tiny().fit(X, y)._augmenter().flip == 0.0
    assert tiny(flip_pairs=[(0, 1)])._augmenter().flip == 0.5
    # points rotate exactly, so the default rotates (boxes would loosen: the
    # localizer's does not); it zooms and shifts a share of the faces, for
    # the default re-framing pass
    aug = tiny()._augmenter()
    assert aug.rotation > 0 and aug.scale[0] < 1 and aug.shift > 0
    assert 0 < aug.reframe_prob < 1 and aug.reframe_rotation > aug.rotation
    assert 0 < aug.cut < 1 and tiny().tta_reframe > 1
    from sklocalize import LocalizerEstimator
    assert LocalizerEstimator()._augmenter().rotation == 0
    est = tiny().fit(X, y)
    est.set_params(tta_flip=True)
    with pytest.raises(ValueError, match="tta_flip flips images horizontally"):
        est.predict(X)
    tiny(augment=Augmenter(flip=0.0)).fit(X, y)  # no flip, no pairs needed
    tiny(augment="default", flip_pairs=[]).fit(X, y)


@pytest.mark.parametrize("pairs,match", [
    ([(0, 6)], r"indices in \[0, 5\]"),
    ([(1, 1)], "two different"),
    ([(0, 1), (1, 2)], "at most once"),
    ([0, 1], "must be pairs"),
])
def test_bad_flip_pairs(data, pairs, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny(flip_pairs=pairs).fit(X, y)


@pytest.mark.slow
def test_pickle(fitted, data):
    X, _ = data
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))


@pytest.mark.slow
def test_reproducible(data):
    X, y = data
    np.testing.assert_array_equal(tiny().fit(X, y).predict_proba(X),
                                  tiny().fit(X, y).predict_proba(X))


@pytest.mark.slow
def test_learns_synthetic_faces():
    """A real learning test: NME <= 0.10 (face-box normalised) in seconds."""
    X, y = tiny_landmarks(n=600, size=32, seed=0)
    X_test, y_test = tiny_landmarks(n=200, size=32, seed=1)
    est = LandmarkEstimator(max_epochs=20, batch_size=32, module__width=16,
                            random_state=0).fit(X, y)
    pred = est.predict(X_test)
    assert landmark_nme(y_test, pred) <= 0.10
    assert landmark_presence_accuracy(y_test, pred) >= 0.95


# ---------------------------------------------------------------------------
# bad input


def test_odd_number_of_coordinate_columns(data):
    X, y = data
    with pytest.raises(ValueError, match=r"1 \+ 2 \* n_landmarks columns .* got 12 "
                                         "columns"):
        tiny().fit(X, y[:, :-1])


def test_coordinates_outside_unit_interval(data):
    X, y = data
    bad = y.copy()
    bad[np.flatnonzero(y[:, 0] == 1)[0], 3] = 1.2
    with pytest.raises(ValueError, match=r"coordinate outside \[0, 1\] where p = 1"):
        tiny().fit(X, bad)


def test_other_number_of_landmarks_at_score(fitted, data):
    X, y = data
    with pytest.raises(ValueError, match="for the 6 landmarks seen at fit; got 11 "
                                         r"columns \(5 landmarks\)"):
        fitted.score(X, y[:, :11])


def test_landmark_names_length(data):
    X, y = data
    with pytest.raises(ValueError, match="landmark_names must name the 6 landmarks"):
        tiny(landmark_names=["a", "b"]).fit(X, y)


def test_predict_before_fit_and_other_size(fitted, data):
    X, _ = data
    with pytest.raises(NotFittedError):
        tiny().predict(X)
    with pytest.raises(ValueError, match="was fitted on"):
        fitted.predict(np.zeros((2, 1, 24, 24), np.float32))


@pytest.mark.parametrize("params,match", [
    ({"point_loss": "l1"}, "The 'point_loss' parameter of LandmarkEstimator"),
    ({"point_weight": -2}, "The 'point_weight' parameter"),
    ({"lr": 0}, "The 'lr' parameter"),
    ({"augment": "strong"}, "The 'augment' parameter"),
])
def test_invalid_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny(**params).fit(X, y)


def test_clone_and_set_params(fitted, data):
    X, y = data
    est = clone(fitted).set_params(point_loss="mse", module__head="regression")
    est.fit(X, y)
    assert est.criterion_.point_loss == "mse"
    assert est.module_.head == "regression"
    assert torch.isfinite(torch.tensor(est.history_[-1, "train_loss"]))


def test_heatmap_term(data):
    X, y = data
    est = tiny().fit(X, y)  # heatmap_weight=1.0 by default
    row = est.history_[-1]
    assert row["train_heatmap_loss"] > 0
    assert row["train_loss"] == pytest.approx(
        row["train_presence_loss"] + 5.0 * row["train_points_loss"]
        + row["train_heatmap_loss"], rel=1e-4)
    assert "train_heatmap_loss" not in tiny(heatmap_weight=0.0).fit(X, y).history_[-1]
    assert est.predict(X).shape == y.shape  # eval mode: no heatmaps returned


def test_heatmap_loss_is_lowest_at_the_true_point():
    from sklocalize.nn import heatmap_loss

    target = torch.tensor([[1.0, 0.25, 0.55]])  # column 2, row 5 of 10
    losses = {}
    for row, col in [(5, 2), (5, 3), (1, 8)]:
        maps = torch.zeros(1, 1, 10, 10)
        maps[0, 0, row, col] = 5.0
        losses[(row, col)] = float(heatmap_loss(maps, target))
    assert losses[(5, 2)] < losses[(5, 3)] < losses[(1, 8)]
    hidden = torch.tensor([[1.0, float("nan"), float("nan")]])
    assert float(heatmap_loss(torch.zeros(1, 1, 10, 10), hidden)) == 0.0


# ---------------------------------------------------------------------------
# re-framing passes


class BlobCentroids(torch.nn.Module):
    """Point k = the centroid of channel k's bright blob: exact wherever the
    blob is, so re-framing must give the same points back."""

    def __init__(self, n_landmarks=2, in_channels=2):
        super().__init__()
        self.presence = torch.nn.Parameter(torch.full((1,), 5.0))

    def forward(self, X):
        n, c, h, w = X.shape
        weight = (X - 0.1).clamp(min=0)  # drop the background and the padding
        xs = (torch.arange(w, dtype=X.dtype) + 0.5) / w
        ys = (torch.arange(h, dtype=X.dtype) + 0.5) / h
        total = weight.sum(dim=(2, 3))
        cx = (weight.sum(dim=2) * xs).sum(-1) / total
        cy = (weight.sum(dim=3) * ys).sum(-1) / total
        return self.presence.expand(n), torch.stack([cx, cy], -1).reshape(n, -1)


def blob_images(points, size=48, sigma=1.5):
    """One Gaussian blob per channel at each relative point."""
    grid = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    pts = torch.as_tensor(points, dtype=torch.float32)  # (n, k, 2)
    gx = (grid[None, None, None, :] - pts[..., 0, None, None]) * size
    gy = (grid[None, None, :, None] - pts[..., 1, None, None]) * size
    return torch.exp(-(gx ** 2 + gy ** 2) / (2 * sigma ** 2)).numpy()


def test_reframe_maps_points_back_through_the_warp():
    train_pts = np.array([[[0.3, 0.5], [0.7, 0.5]]] * 4)
    y_train = np.column_stack([np.ones(4), train_pts.reshape(4, -1)])
    # small, tilted, off-centre pairs: the pass zooms in 2-3x and rotates
    test_pts = np.array([[[0.40, 0.30], [0.55, 0.38]],
                         [[0.62, 0.70], [0.80, 0.66]],
                         [[0.25, 0.52], [0.45, 0.45]]])
    est = LandmarkEstimator(BlobCentroids, max_epochs=0, augment=None,
                            random_state=0)
    est.fit(blob_images(train_pts), y_train)
    np.testing.assert_allclose(est.mean_shape_, train_pts[0], atol=1e-12)
    X = blob_images(test_pts)
    X_before = X.copy()
    given = est.predict(X)[:, 1:].reshape(-1, 2, 2)
    np.testing.assert_allclose(given, test_pts, atol=2e-3)
    # the re-framed image has the blobs where the mean shape is
    A, t = similarity_to(given, est.mean_shape_, est.image_size_)
    warped = est.module_(warp_images(torch.from_numpy(X), A, t))[1]
    np.testing.assert_allclose(warped.reshape(-1, 2, 2).numpy(),
                               np.stack([est.mean_shape_] * 3), atol=5e-3)
    for passes in (1, 2):
        est.set_params(tta_reframe=passes)
        pred = est.predict(X)
        np.testing.assert_allclose(pred[:, 1:].reshape(-1, 2, 2), test_pts,
                                   atol=2e-3)
        np.testing.assert_array_equal(pred[:, 0], 1)
    np.testing.assert_array_equal(X, X_before)


class ShyCentroids(BlobCentroids):
    """Blob centroids pulled halfway to where the training faces have their
    points, as a network does on faces framed unlike any it learned from:
    each re-framing pass halves the distance to the training framing, so
    only passes repeated until the frame settles put the points right."""

    REFERENCE = torch.tensor([[0.35, 0.40], [0.65, 0.40], [0.50, 0.65]])

    def forward(self, X):
        presence, points = super().forward(X)
        ref = self.REFERENCE.to(points.dtype).flatten()
        return presence, ref + 0.5 * (points - ref)


@pytest.mark.slow
@pytest.mark.parametrize("zoom, degrees", [(2.0, 0.0), (0.5, 0.0), (2.0, 30.0),
                                           (0.5, -30.0)])
def test_reframe_converges_from_tighter_and_looser_frames(zoom, degrees):
    """Faces framed 2x tighter or 2x looser than training (and tilted): the
    passes repeat until each frame stops moving, and land on the points."""
    from sklocalize.geometry import affine_matrix, map_points

    train = ShyCentroids.REFERENCE.numpy()[None].repeat(4, axis=0)
    y_train = np.column_stack([np.ones(4), train.reshape(4, -1)])
    est = LandmarkEstimator(partial(ShyCentroids, n_landmarks=3, in_channels=3),
                            max_epochs=0, augment=None, random_state=0,
                            tta_shift=0.0)
    est.fit(blob_images(train, size=64), y_train)
    angle = torch.tensor([np.deg2rad(degrees)] * 2, dtype=torch.float32)
    shift = torch.tensor([[0.03, -0.02], [-0.04, 0.02]])
    truth = map_points(torch.as_tensor(train[:2]).float(),
                       affine_matrix(torch.full((2,), zoom), angle, (64, 64)),
                       shift).numpy()
    X = blob_images(truth, size=64, sigma=1.5 * zoom)
    calls = []
    forward = est._forward
    est._forward = lambda X, n: calls.append(len(X)) or forward(X, n)

    def error(passes):
        calls.clear()
        est.set_params(tta_reframe=passes)
        pred = est.predict(X)[:, 1:].reshape(-1, 3, 2)
        return np.abs(pred - truth).max()

    assert error(1) > 0.02  # one pass leaves the frame half way
    assert error(20) < 2e-3  # converged from either side
    # and stopped once the frames settled: far fewer than 20 passes
    assert len(calls) < 12 and calls[-1] == 2
    # a traced graph makes every pass, keeping settled frames: the same points
    from sklocalize.tta import predict_outputs

    def outputs(traceable):
        return predict_outputs(lambda images: forward(images, 2),
                               est._check_X(X, reset=False), est._task(),
                               image_size=est.image_size_, tta_reframe=20,
                               traceable=traceable)[1]

    calls.clear()
    torch.testing.assert_close(outputs(True), outputs(False), rtol=0, atol=1e-9)


def test_frame_motion_in_input_pixels():
    from sklocalize.tta import frame_motion

    eye = torch.eye(2).expand(3, 2, 2)
    none = torch.zeros(3, 2)
    moved = torch.tensor([[1 / 40, 0.0], [0.0, 0.0], [0.0, 0.0]])
    zoom = torch.stack([torch.eye(2), torch.eye(2), 1.1 * torch.eye(2)])
    motion = frame_motion((eye, none), (zoom, moved), (20, 40))
    np.testing.assert_allclose(motion.numpy(), [1.0, 0.0, 0.05 * np.hypot(40, 20)],
                               atol=1e-6)


@pytest.mark.parametrize("reframe", [0, 1])
def test_tta_shift_moves_copies_and_maps_points_back(reframe):
    train_pts = np.array([[[0.3, 0.5], [0.7, 0.5]]] * 4)
    y_train = np.column_stack([np.ones(4), train_pts.reshape(4, -1)])
    test_pts = np.array([[[0.35, 0.40], [0.60, 0.45]],
                         [[0.30, 0.55], [0.72, 0.52]]])
    est = LandmarkEstimator(BlobCentroids, max_epochs=0, augment=None,
                            random_state=0, tta_reframe=reframe, tta_shift=1.5)
    est.fit(blob_images(train_pts), y_train)
    X = blob_images(test_pts)
    seen = []
    forward = est._forward

    def spy(Xt, n_outputs):
        outputs = forward(Xt, n_outputs)
        seen.append(outputs[1].reshape(len(Xt), -1, 2).numpy())
        return outputs

    est._forward = spy
    pred = est.predict(X)[:, 1:].reshape(-1, 2, 2)
    np.testing.assert_allclose(pred, test_pts, atol=2e-3)
    # the last pass saw four copies, moved 1.5 px (of 48) diagonally, each
    # one's points where the blobs are: (the previous pass's frame) + move
    copies = np.stack(seen[-4:])
    base = copies.mean(axis=0)
    moves = copies - base
    np.testing.assert_allclose(np.abs(moves), 1.5 / 48, atol=2e-3)
    assert {tuple(np.sign(m[0, 0])) for m in moves} == {(-1, -1), (-1, 1),
                                                        (1, -1), (1, 1)}
    assert len(seen) == 4 + reframe  # the first, locating pass: one copy
    est.set_params(tta_shift=0)
    seen.clear()
    np.testing.assert_allclose(est.predict(X)[:, 1:].reshape(-1, 2, 2), test_pts,
                               atol=2e-3)
    assert len(seen) == 1 + reframe


def test_tta_shift_validation(data):
    X, y = data
    with pytest.raises(ValueError, match="The 'tta_shift' parameter"):
        tiny(tta_shift=-0.5).fit(X, y)
    assert tiny().tta_shift == 0.5 and "tta_shift" in tiny().get_params()


class ExtraOutputs(BlobCentroids):
    """Returns a third output in evaluation mode too (a user's module may)."""

    def forward(self, X):
        presence, points = super().forward(X)
        return presence, points, X.mean(dim=1)


class NotATuple(BlobCentroids):
    def forward(self, X):
        return super().forward(X)[1]


def test_prediction_reads_the_leading_outputs_only():
    pts = np.array([[[0.3, 0.5], [0.7, 0.5]]] * 4)
    y = np.column_stack([np.ones(4), pts.reshape(4, -1)])
    X = blob_images(pts)
    kw = {"max_epochs": 0, "augment": None, "random_state": 0, "tta_reframe": 0}
    plain = LandmarkEstimator(BlobCentroids, **kw).fit(X, y)
    extra = LandmarkEstimator(ExtraOutputs, **kw).fit(X, y)
    np.testing.assert_array_equal(extra.predict(X), plain.predict(X))
    outputs = extra._forward(torch.from_numpy(X), 2)
    assert len(outputs) == 2 and all(o.dtype == torch.float64 for o in outputs)
    bad = LandmarkEstimator(NotATuple, **kw).fit(X, y)
    with pytest.raises(TypeError, match="tuple of at least 2 tensors.*got Tensor"):
        bad.predict(X)


def test_reframe_validation(data):
    X, y = data
    with pytest.raises(ValueError, match="The 'tta_reframe' parameter"):
        tiny(tta_reframe=-1).fit(X, y)


def test_predict_frame_in_each_photos_pixels():
    X, y = tiny_landmarks(n=16)
    est = tiny_estimator(LandmarkEstimator, landmark_names=FACE_LANDMARKS).fit(X, y)
    info = pd.DataFrame({"file": ["a.jpg", "b.jpg"], "width": [200, 50],
                         "height": [100, 80]})
    relative = est.predict_frame(X[:2])
    frame = est.predict_frame(X[:2], image_sizes=info)
    assert frame.columns[0] == "file"
    name = FACE_LANDMARKS[0]
    np.testing.assert_allclose(frame[f"{name}_x"], relative[f"{name}_x"] * [200, 50])
    np.testing.assert_allclose(frame[f"{name}_y"], relative[f"{name}_y"] * [100, 80])


@pytest.mark.slow
def test_test_time_augmentation_goes_chunk_by_chunk(data):
    # the mirror images and moved copies of a large X are made a chunk at a
    # time (bounded memory), and each image's outputs are those of all at once
    from sklocalize.tta import predict_outputs

    X, y = data
    est = tiny(flip_pairs=list(FACE_FLIP_PAIRS), tta_reframe=1, tta_flip=True,
               tta_shift=0.5).fit(X, y)
    task = est._task()
    sizes = []

    def forward(images):
        sizes.append(len(images))
        return est._forward(images, task.n_predicted)

    Xt = est._check_X(X, reset=False)
    options = dict(image_size=est.image_size_, tta_flip=True, tta_shift=0.5,
                   tta_reframe=1)
    whole = predict_outputs(forward, Xt, task, chunk=None, **options)
    # each call: the images and their mirror images, in one batch
    assert set(sizes) == {2 * len(X)}
    sizes.clear()
    chunked = predict_outputs(forward, Xt, task, chunk=5, **options)
    assert max(sizes) == 2 * 5 and sum(sizes) == 2 * (1 + 4) * len(X)
    for a, b in zip(whole, chunked):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("case", ["absent", "nan"])
def test_nothing_to_learn_is_said_before_training(case):
    # every row absent, or every point NaN, was "training diverged"
    X = np.random.default_rng(0).random((6, 1, 16, 16)).astype(np.float32)
    y = np.full((6, 13), np.nan)
    y[:, 0] = 0 if case == "absent" else 1
    what = {"absent": r"every row is absent \(p = 0\)",
            "nan": r"every point of the present rows is NaN"}[case]
    with pytest.raises(ValueError, match=f"y holds no visible point to learn "
                       f"from: {what}"):
        LandmarkEstimator(max_epochs=1).fit(X, y)
