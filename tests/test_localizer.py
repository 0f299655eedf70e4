import pickle
from functools import partial

import joblib
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from skorch.callbacks import EarlyStopping

from sklocalize import LocalizerEstimator
from sklocalize.metrics import class_accuracy, iou_score, presence_accuracy
from sklocalize.nn import LocalizerNet
from sklocalize.targets import check_localization_target

from ._helpers import as_uint8, tiny_estimator, tiny_localization

ESTIMATOR = LocalizerEstimator  # conftest's data and fitted fixtures are for this task
tiny = partial(tiny_estimator, ESTIMATOR)


def test_fit_predict_layout(fitted, data):
    X, y = data
    pred = fitted.predict(X)
    assert pred.shape == y.shape
    check_localization_target(pred)  # a valid target, don't-care filled
    absent = pred[:, 0] == 0
    assert np.all(pred[absent, 1:] == 0)
    assert fitted.classes_.tolist() == [0, 1]
    assert fitted.n_classes_ == 2
    assert fitted.n_channels_ == 1 and fitted.image_size_ == (16, 16)
    assert fitted.n_features_in_ == 256


def test_predict_proba_layout(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(X), 3)
    assert np.all((proba >= 0) & (proba <= 1))
    np.testing.assert_allclose(proba[:, 1:].sum(axis=1), 1, rtol=1e-6)
    pred = fitted.predict(X)
    np.testing.assert_array_equal(pred[:, 0], proba[:, 0] >= 0.5)


def test_presence_threshold_moves_predictions(fitted, data):
    X, _ = data
    proba = fitted.predict_proba(X)[:, 0]
    est = clone(fitted)
    est.__dict__.update({k: v for k, v in fitted.__dict__.items() if k.endswith("_")})
    threshold = float(np.median(proba))
    est.set_params(presence_threshold=threshold)
    np.testing.assert_array_equal(est.predict(X)[:, 0], proba >= threshold)


def test_history_records_each_term(data):
    X, y = data
    est = tiny(max_epochs=2, train_split=0.25).fit(X, y)
    row = est.history_[-1]
    for prefix in ("train", "valid"):
        for term in ("presence", "box", "class"):
            assert np.isfinite(row[f"{prefix}_{term}_loss"])
    total = (row["train_presence_loss"] + 2.0 * row["train_box_loss"]
             + row["train_class_loss"] + row["train_edge_loss"])
    assert row["train_loss"] == pytest.approx(total, rel=1e-4)
    assert "valid_edge_loss" not in row  # eval mode: no edge logits returned
    assert len(est.history_) == 2


def test_edge_term(data):
    X, y = data
    est = tiny(edge_weight=0.5).fit(X, y)
    row = est.history_[-1]
    assert est.criterion_.edge_weight == 0.5 and row["train_edge_loss"] > 0
    assert row["train_loss"] == pytest.approx(
        row["train_presence_loss"] + 2.0 * row["train_box_loss"]
        + row["train_class_loss"] + 0.5 * row["train_edge_loss"], rel=1e-4)
    for params in ({"edge_weight": 0.0}, {"module__box_head": "grid"},
                   {"loss": "squared_error"}):
        assert "train_edge_loss" not in tiny(**params).fit(X, y).history_[-1]
    est = tiny(criterion__edge_sigma=2.0).fit(X, y)
    assert est.criterion_.edge_sigma == 2.0


def test_edge_loss_is_lowest_at_the_true_edges():
    from sklocalize.nn import edge_loss

    # left 0.2 (between cells 1 and 2 of 10), right 0.65 (cell 6), top 0.125
    # and bottom 0.875 (cells 0 and 3 of 4): [p_c, b_x, b_y, b_h, b_w, class]
    target = torch.tensor([[1.0, 0.425, 0.5, 0.75, 0.45, 1.0]])

    def peaked(cells, k):
        logits = torch.zeros(1, 2, k)
        logits[0, 0, cells[0]] = logits[0, 1, cells[1]] = 6.0
        return logits

    def loss(cols, rows, t=target):
        return float(edge_loss((peaked(cols, 10), peaked(rows, 4)), t))

    assert loss((1, 6), (0, 3)) < loss((1, 5), (0, 3)) < loss((4, 8), (1, 2))
    assert loss((1, 6), (0, 3)) == pytest.approx(loss((2, 6), (0, 3)), rel=1e-5)
    absent = torch.tensor([[0.0, 0.425, 0.5, 0.75, 0.45, 1.0]])
    hidden = torch.tensor([[1.0, float("nan"), 0.5, 0.75, 0.45, 1.0]])
    assert loss((1, 6), (0, 3), absent) == 0.0
    assert loss((1, 6), (0, 3), hidden) == 0.0


def test_squared_error_loss_history_sums_terms(data):
    X, y = data
    est = tiny(loss="squared_error").fit(X, y)
    row = est.history_[-1]
    assert row["train_loss"] == pytest.approx(
        row["train_presence_loss"] + row["train_box_loss"] + row["train_class_loss"],
        rel=1e-4)


@pytest.mark.parametrize("box_loss", ["mse", "smooth_l1", "giou", "l1_giou"])
def test_box_losses_train(data, box_loss):
    X, y = data
    est = tiny(box_loss=box_loss).fit(X, y)
    assert est.criterion_.box_loss == box_loss
    assert np.isfinite(est.history_[-1, "train_loss"])


@pytest.mark.slow
def test_random_state_reproducible_and_global_rng_untouched(data):
    X, y = data
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = tiny().fit(X, y).predict_proba(X)
    assert torch.equal(torch.get_rng_state(), before)
    b = tiny().fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    c = tiny(random_state=1).fit(X, y).predict_proba(X)
    assert not np.array_equal(a, c)
    est = tiny()
    first = est.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, est.fit(X, y).predict_proba(X))


def test_partial_fit_and_warm_start_continue(data):
    X, y = data
    est = tiny()
    est.partial_fit(X, y)
    weights = [p.detach().clone() for p in est.module_.parameters()]
    est.partial_fit(X, y)
    assert len(est.history_) == 2
    assert any(not torch.equal(a, b) for a, b in
               zip(weights, est.module_.parameters()))
    warm = tiny(warm_start=True).fit(X, y).fit(X, y)
    assert len(warm.history_) == 2
    cold = tiny().fit(X, y).fit(X, y)
    assert len(cold.history_) == 1


def test_input_forms_agree(data):
    X, y = data
    est = tiny().fit(X, y)
    ref = est.predict_proba(X)
    np.testing.assert_allclose(est.predict_proba(X[:, 0]), ref, atol=1e-6)
    np.testing.assert_allclose(est.predict_proba(X.astype(np.float64)), ref,
                               atol=1e-6)
    np.testing.assert_allclose(est.predict_proba(torch.from_numpy(X)), ref,
                               atol=1e-6)
    flat = tiny(image_shape=(1, 16, 16)).fit(X.reshape(len(X), -1), y)
    np.testing.assert_allclose(flat.predict_proba(X.reshape(len(X), -1)), ref,
                               atol=1e-6)


def test_uint8_is_scaled(data):
    X, y = data
    X8 = as_uint8(X)
    a = tiny().fit(X8, y).predict_proba(X8)
    b = tiny().fit(X8.astype(np.float32) / 255, y).predict_proba(
        X8.astype(np.float32) / 255)
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_caller_arrays_are_not_modified(data):
    X, y = data
    X = X.copy()
    y = y.copy()
    y[y[:, 0] == 0, 1:] = np.nan  # don't care, NaN
    X_before, y_before = X.copy(), y.copy()
    est = tiny().fit(X, y)
    est.predict(X)
    est.score(X, np.nan_to_num(y))
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_readonly_input(data):
    X, y = data
    X = X.copy()
    X.setflags(write=False)
    tiny().fit(X, y).predict(X)


def test_dataframe_target_and_predict_frame():
    X, frame = tiny_localization(as_frame=True)
    before = frame.copy()
    est = tiny().fit(X, frame)
    pd.testing.assert_frame_equal(frame, before)
    assert est.classes_.tolist() == ["circle", "square"]
    out = est.predict_frame(X)
    assert list(out.columns) == ["p_c", "b_x", "b_y", "b_h", "b_w", "label",
                                 "presence_proba", "class_proba"]
    present = out["p_c"] == 1
    assert set(out.loc[present, "label"]) <= {"circle", "square"}
    assert out.loc[~present, "b_x"].isna().all()
    px = est.predict_frame(X, box_format="xyxy", pixels=True)
    pred = est.predict(X)
    rel = out.loc[present, ["b_x", "b_w"]].to_numpy()
    np.testing.assert_allclose(px.loc[present, "x1"], (rel[:, 0] - rel[:, 1] / 2) * 16)
    np.testing.assert_array_equal(pred[:, 0], out["p_c"])
    assert np.isfinite(est.score(X, frame))


def test_nan_box_where_present_is_masked(data):
    X, y = data
    y = y.copy()
    present = np.flatnonzero(y[:, 0] == 1)
    y[present[:3], 1:5] = np.nan
    est = tiny().fit(X, y)
    assert np.isfinite(est.history_[-1, "train_loss"])
    assert np.isfinite(est.score(X, y))


def test_score_is_iou(fitted, data):
    X, y = data
    assert fitted.score(X, y) == pytest.approx(iou_score(y, fitted.predict(X)))


def test_pickle_joblib_round_trip(fitted, data, tmp_path):
    X, _ = data
    ref = fitted.predict_proba(X)
    loaded = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(loaded.predict_proba(X), ref)
    joblib.dump(fitted, tmp_path / "est.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "est.joblib").predict_proba(X), ref)


def test_save_params_load_params(fitted, data, tmp_path):
    X, y = data
    fitted.save_params(f_params=tmp_path / "w.pt")
    new = tiny(max_epochs=0).fit(X, y)  # sizes from the data, no training
    assert not np.allclose(new.predict_proba(X), fitted.predict_proba(X))
    new.load_params(f_params=tmp_path / "w.pt")
    np.testing.assert_allclose(new.predict_proba(X), fitted.predict_proba(X))
    # a file cut short: a sentence, not torch's "[Errno 22]"
    (tmp_path / "cut.pt").write_bytes((tmp_path / "w.pt").read_bytes()[:300])
    with pytest.raises(ValueError, match="load_params could not read its file .* "
                       "damaged, truncated or not written by save_params"):
        new.load_params(f_params=tmp_path / "cut.pt")


def test_user_module_instance_and_class(data):
    X, y = data

    class MyNet(torch.nn.Module):
        def __init__(self, n_classes, in_channels=1):
            super().__init__()
            self.conv = torch.nn.Conv2d(in_channels, 4, 3, padding=1)
            self.out = torch.nn.Linear(4, 5 + n_classes)

        def forward(self, x):
            h = self.conv(x).mean(dim=(2, 3))
            o = self.out(h)
            return o[:, 0], torch.sigmoid(o[:, 1:5]), o[:, 5:]

    est = LocalizerEstimator(MyNet, max_epochs=1, random_state=0).fit(X, y)
    assert est.predict(X).shape == y.shape
    net = LocalizerNet(n_classes=2, in_channels=1, width=4, depth=1)
    est = LocalizerEstimator(net, max_epochs=1, random_state=0).fit(X, y)
    assert est.module_ is net


def test_module_size_conflict(data):
    X, y = data
    with pytest.raises(ValueError, match="module__n_classes=5 conflicts with the data"):
        tiny(module__n_classes=5).fit(X, y)


def test_early_stopping_on_validation_split(data):
    X, y = data
    est = tiny(max_epochs=30, train_split=0.25, lr=1e-9,
               callbacks=[("stop", EarlyStopping(patience=2, threshold=1.0))])
    est.fit(X, y)
    assert len(est.history_) < 30
    assert "callbacks__stop__patience" in est.get_params()


def test_early_stopping_without_a_validation_split_is_a_clear_error(data):
    X, y = data
    est = tiny(max_epochs=3, callbacks=[("stop", EarlyStopping(patience=1))])
    with pytest.raises(ValueError, match=r"'stop' \(EarlyStopping\) monitors "
                                         r"'valid_loss'.*Set train_split"):
        est.fit(X, y)
    # monitoring the training loss needs no split
    est.set_params(callbacks__stop__monitor="train_loss").fit(X, y)
    assert 1 <= len(est.history_) <= 3


def test_parameter_of_a_callback_that_does_not_exist_is_refused(data):
    X, y = data
    est = tiny(callbacks__lr_shedule__warmup=0.2)  # a typo skorch would ignore
    with pytest.raises(ValueError, match=r"callbacks__lr_shedule__warmup sets a "
                                         r"callback named 'lr_shedule'.*'lr_schedule'"):
        est.fit(X, y)
    est = tiny(callbacks__lr_schedule__warmup=0.2).fit(X, y)
    assert dict(est.callbacks_)["lr_schedule"].warmup == 0.2
    assert tiny(callbacks="disable").fit(X, y).callbacks_ == []


def test_verbose_prints_table_and_progress(data, capsys):
    X, y = data
    tiny().fit(X, y)
    assert capsys.readouterr().out == ""
    tiny(verbose=1).fit(X, y)
    out = capsys.readouterr().out
    assert "train_box_loss" in out and "train_loss" in out
    est = tiny(verbose=2).fit(X, y)
    assert "progress_bar" in dict(est.callbacks_)


def test_odd_sizes_and_channels():
    X, y = tiny_localization(n=9, size=20, n_channels=3)  # 9 % 8 == 1: last batch
    X = np.concatenate([X, X[:, :, :, :3]], axis=3)  # 20 x 23
    est = tiny().fit(X, y)
    assert est.predict(X).shape == y.shape
    assert est.n_channels_ == 3 and est.image_size_ == (20, 23)


def test_set_params_after_fit_then_refit(fitted, data):
    X, y = data
    est = clone(fitted).set_params(module__width=6, box_weight=2.0)
    est.fit(X, y)
    assert est.module_.trunk.stem[0].out_channels == 6
    assert est.criterion_.box_weight == 2.0
    est.set_params(class_weight=3.0)
    assert est.criterion_.class_weight == 3.0  # takes effect at once


@pytest.mark.slow
def test_learns_squares_and_circles():
    """A real learning test: a few epochs on bright squares vs circles."""
    X, y = tiny_localization(n=500, size=32, seed=0, empty_fraction=0.2)
    X_test, y_test = tiny_localization(n=200, size=32, seed=1, empty_fraction=0.2)
    est = LocalizerEstimator(max_epochs=10, module__width=16, random_state=0)
    est.fit(X, y)
    pred = est.predict(X_test)
    assert iou_score(y_test, pred) >= 0.7
    assert class_accuracy(y_test, pred) >= 0.95
    assert presence_accuracy(y_test, pred) >= 0.95


# ---------------------------------------------------------------------------
# bad input: each error names the parameter, the expected form and what came


def test_wrong_X_rank(data):
    X, y = data
    with pytest.raises(ValueError, match="X must have shape .* got an array with 5 "
                                         "dimension"):
        tiny().fit(X[..., None], y)
    with pytest.raises(ValueError, match="with n_features = 256: set image_shape"):
        tiny().fit(X.reshape(len(X), -1), y)


def test_nan_inf_in_X(data):
    X, y = data
    for bad in (np.nan, np.inf):
        Xb = X.copy()
        Xb[0, 0, 0, 0] = bad
        with pytest.raises(ValueError, match="X contains NaN or infinite values"):
            tiny().fit(Xb, y)


def test_X_y_lengths(data):
    X, y = data
    with pytest.raises(ValueError, match="same number of samples; got 24 images "
                                         "and 23 target rows"):
        tiny().fit(X, y[:-1])


def test_y_columns_and_values(data):
    X, y = data
    with pytest.raises(ValueError, match="got 5 columns"):
        tiny().fit(X, y[:, :5])
    bad = y.copy()
    bad[0, 0] = 0.5
    with pytest.raises(ValueError, match=r"presence \(p_c\) that is neither 0 nor 1"):
        tiny().fit(X, bad)
    bad = y.copy()
    row = np.flatnonzero(y[:, 0] == 1)[0]
    bad[row, 1] = 1.5
    with pytest.raises(ValueError, match=r"box value .* outside \[0, 1\]"):
        tiny().fit(X, bad)


def test_predict_before_fit(data):
    X, _ = data
    for method in ("predict", "predict_proba", "predict_frame"):
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            getattr(tiny(), method)(X)


def test_predict_other_size_or_channels(fitted, data):
    X, _ = data
    with pytest.raises(ValueError, match=r"\(1, 20, 20\), but this LocalizerEstimator "
                                         r"was fitted on \(1, 16, 16\)"):
        fitted.predict(np.zeros((2, 1, 20, 20), np.float32))
    with pytest.raises(ValueError, match=r"\(3, 16, 16\), but"):
        fitted.predict(np.zeros((2, 3, 16, 16), np.float32))


def test_too_small_images_and_channels_last_hint(data):
    _, y = data
    with pytest.raises(ValueError, match="at least 16x16 pixels.*transposed first"):
        tiny().fit(np.zeros((24, 16, 16, 3), np.float32), y)


def test_fewer_than_two_samples(data):
    X, y = data
    with pytest.raises(ValueError, match="at least 2 samples .* n_samples = 1"):
        tiny().fit(X[:1], y[:1])


def test_unseen_labels_in_score():
    X, frame = tiny_localization(as_frame=True)
    est = tiny().fit(X, frame)
    bad = frame.copy()
    bad.loc[bad["p_c"] == 1, "label"] = "triangle"
    with pytest.raises(ValueError, match=r"label\(s\) \['triangle'\] that were not "
                                         "seen at fit"):
        est.score(X, bad)
    with pytest.raises(ValueError, match=r"5 \+ n_classes = 7 columns"):
        est.score(X, np.zeros((len(X), 8)))


@pytest.mark.parametrize("threshold", [0, 1, 1.5, -0.1])
def test_presence_threshold_range(data, threshold):
    X, y = data
    with pytest.raises(ValueError, match="The 'presence_threshold' parameter of "
                                         "LocalizerEstimator must be a float in the "
                                         r"range \(0.0, 1.0\)"):
        tiny(presence_threshold=threshold).fit(X, y)


@pytest.mark.parametrize(
    "params,match",
    [
        ({"lr": -1}, r"The 'lr' parameter of LocalizerEstimator must be a float in "
                     r"the range \(0.0, inf\). Got -1 instead."),
        ({"box_loss": "iou"}, "The 'box_loss' parameter of LocalizerEstimator must "
                              "be a str among"),
        ({"loss": "l2"}, "The 'loss' parameter"),
        ({"box_weight": -1.0}, "The 'box_weight' parameter"),
        ({"edge_weight": -1.0}, "The 'edge_weight' parameter"),
        ({"max_epochs": 1.5}, "The 'max_epochs' parameter"),
        ({"batch_size": 0}, "The 'batch_size' parameter"),
        ({"train_split": 1.5}, "The 'train_split' parameter"),
        ({"random_state": "x"}, "The 'random_state' parameter"),
    ],
)
def test_invalid_parameters(data, params, match):
    X, y = data
    with pytest.raises(ValueError, match=match):
        tiny(**params).fit(X, y)


@pytest.mark.parametrize("shape", [(16,), (2, 16, 16, 1), (0, 16, 16), (1, 8, 32)])
def test_bad_image_shape(data, shape):
    X, y = data
    with pytest.raises(ValueError, match="image_shape|needs|at least 16x16"):
        tiny(image_shape=shape).fit(X.reshape(len(X), -1), y)


def test_bad_X_types(data):
    X, y = data
    with pytest.raises(TypeError, match="X must hold float or uint8 pixel values; "
                                        "got dtype int64"):
        tiny().fit(X.astype(np.int64), y)
    with pytest.raises(TypeError, match="sparse input is not supported"):
        import scipy.sparse

        tiny(image_shape=(16, 16)).fit(scipy.sparse.csr_matrix(X.reshape(24, -1)), y)
    with pytest.raises(ValueError, match="requires y to be passed"):
        tiny().fit(X, None)


@pytest.mark.parametrize("box_head", ["grid", "edges"])
@pytest.mark.parametrize("stem_stride", [1, 2])
def test_module_options_train_and_predict(data, box_head, stem_stride):
    X, y = data
    est = tiny(module__box_head=box_head, module__stem_stride=stem_stride).fit(X, y)
    pred = est.predict(X)
    assert pred.shape == y.shape
    check_localization_target(pred, allow_empty_box=True)


def test_edge_head_starts_from_a_centred_box():
    torch.manual_seed(0)
    net = LocalizerNet(n_classes=2, in_channels=1, width=8, depth=3, box_head="edges")
    boxes = net(torch.rand(4, 1, 32, 32))[1]
    assert torch.all(boxes[:, 2:] > 0.2)  # positive height and width
    assert torch.allclose(boxes[:, :2], torch.full((4, 2), 0.5), atol=0.1)
    with pytest.raises(ValueError, match="box_head must be 'grid' or 'edges'"):
        LocalizerNet(n_classes=2, box_head="corners")


class BlobBox(torch.nn.Module):
    """The box centred on the image's brightness centroid, with a fixed size:
    exact wherever the blob is, so moved copies must give the same box back."""

    def __init__(self, n_classes=2, in_channels=1):
        super().__init__()
        self.n_classes = n_classes
        self.presence = torch.nn.Parameter(torch.full((1,), 5.0))

    def forward(self, X):
        n, _, h, w = X.shape
        weight = (X.mean(dim=1) - 0.1).clamp(min=0)
        xs = (torch.arange(w, dtype=X.dtype) + 0.5) / w
        ys = (torch.arange(h, dtype=X.dtype) + 0.5) / h
        total = weight.sum(dim=(1, 2))
        cx = (weight.sum(dim=1) * xs).sum(-1) / total
        cy = (weight.sum(dim=2) * ys).sum(-1) / total
        size = torch.full_like(cx, 0.25)
        return (self.presence.expand(n), torch.stack([cx, cy, size, size], 1),
                torch.zeros(n, self.n_classes, dtype=X.dtype))


def _blobs(size):
    """Three images of one Gaussian blob each, and boxes of side 0.25 on them."""
    centres = np.array([[0.3, 0.6], [0.55, 0.45], [0.7, 0.3]])
    grid = (np.arange(size) + 0.5) / size
    X = np.exp(-((grid[None, None, :] - centres[:, :1, None]) ** 2
                 + (grid[None, :, None] - centres[:, 1:, None]) ** 2)
               * size ** 2 / (2 * 2.0 ** 2))[:, None].astype(np.float32)
    y = np.column_stack([np.ones(3), centres, np.full((3, 2), 0.25),
                         np.eye(2)[[0, 1, 0]]])
    return X, y, centres


class LeaningBlobBox(BlobBox):
    """BlobBox that puts every box 0.05 to the right of the blob and leans
    its class logits on the image's left half: only the average of an image
    and its mirror image, mapped back, is exact."""

    def forward(self, X):
        presence, boxes, classes = super().forward(X)
        boxes = boxes + torch.tensor([0.05, 0.0, 0.0, 0.0], dtype=X.dtype)
        half = X.shape[-1] // 2
        left = (X[..., :half].mean(dim=(1, 2, 3))
                - X[..., half:].mean(dim=(1, 2, 3)))
        return presence, boxes, torch.stack([left, -left], 1)


def test_tta_flip_is_the_default_and_maps_mirrored_boxes_back():
    X, y, centres = _blobs(size=32)
    assert LocalizerEstimator().tta_flip is True
    est = LocalizerEstimator(LeaningBlobBox, max_epochs=0, augment=None,
                             random_state=0).fit(X, y)
    X_before = X.copy()
    pred = est.predict(X)
    np.testing.assert_allclose(pred[:, 1:3], centres, atol=2e-3)  # lean cancelled
    np.testing.assert_allclose(est.predict_proba(X)[:, 1:], 0.5, atol=1e-6)
    est.set_params(tta_flip=False)
    np.testing.assert_allclose(est.predict(X)[:, 1:3], centres + [0.05, 0], atol=2e-3)
    assert np.all(est.predict_proba(X)[:, 1] != 0.5)
    np.testing.assert_array_equal(X, X_before)


def test_tta_shift_moves_copies_and_maps_boxes_back():
    size = 40
    X, y, centres = _blobs(size)
    est = LocalizerEstimator(BlobBox, max_epochs=0, augment=None, random_state=0,
                             tta_shift=2.0, tta_flip=False).fit(X, y)
    seen = []
    forward = est._forward
    est._forward = lambda Xt, n: seen.append(forward(Xt, n)) or seen[-1]
    pred = est.predict(X)
    np.testing.assert_allclose(pred[:, 1:3], centres, atol=2e-3)
    np.testing.assert_allclose(pred[:, 3:5], 0.25, atol=1e-6)
    moves = np.stack([s[1][:, :2].numpy() for s in seen]) - centres
    assert len(seen) == 4
    np.testing.assert_allclose(np.abs(moves), 2.0 / size, atol=2e-3)
    X_before = X.copy()
    est.set_params(tta_shift=0)
    np.testing.assert_allclose(est.predict(X)[:, 1:5], pred[:, 1:5], atol=2e-3)
    np.testing.assert_array_equal(X, X_before)


def test_fit_warns_when_no_image_is_without_an_object():
    X, y = tiny_localization(n=16, as_frame=True)
    present = y["p_c"] == 1
    with pytest.warns(UserWarning, match=r"no image without an object.*"
                                         r"background_crops\(X, y\).*one fold of "
                                         r"a cross-validation.*"
                                         r"StratifiedTargetKFold\(shuffle=True\)"):
        tiny_estimator(LocalizerEstimator).fit(X[present], y[present])
    one = y[present].assign(label="raccoon")
    with pytest.warns(UserWarning, match="a single class, 'raccoon'"):
        tiny_estimator(LocalizerEstimator).fit(X[present], one)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tiny_estimator(LocalizerEstimator).fit(X, y)


@pytest.mark.parametrize("X", [["a.jpg", "b.jpg"], "photos/", np.array(["a.jpg"]),
                               pd.Series(["a.jpg"])])
def test_file_paths_as_images_point_to_load_images(X):
    _, y = tiny_localization(n=2)
    with pytest.raises(TypeError, match=r"It names files: read them first.*"
                                        r"load_images"):
        tiny_estimator(LocalizerEstimator).fit(X, y[: len(X)] if len(X) < 3 else y)


def test_predict_frame_in_each_photos_pixels():
    X, y = tiny_localization(n=16)
    est = tiny_estimator(LocalizerEstimator).fit(X, y)
    info = pd.DataFrame({"file": [f"{i}.jpg" for i in range(4)],
                         "width": [64, 100, 16, 30], "height": [32, 100, 16, 90]})
    relative = est.predict_frame(X[:4], box_format="xyxy")
    frame = est.predict_frame(X[:4], box_format="xyxy", image_sizes=info)
    assert list(frame.columns[:2]) == ["file", "p_c"]
    assert list(frame["file"]) == list(info["file"])
    for col, size in (("x1", "width"), ("x2", "width"), ("y1", "height"),
                      ("y2", "height")):
        np.testing.assert_allclose(frame[col], relative[col] * info[size])
    sizes = info[["height", "width"]].to_numpy()
    by_array = est.predict_frame(X[:4], box_format="xyxy", image_sizes=sizes)
    pd.testing.assert_frame_equal(by_array, frame.drop(columns="file"))
    with pytest.raises(ValueError, match="not both"):
        est.predict_frame(X[:4], pixels=True, image_sizes=info)
    with pytest.raises(ValueError, match=r"one \(height, width\) per image, shape "
                                         r"\(4, 2\); got shape \(3, 2\)"):
        est.predict_frame(X[:4], image_sizes=sizes[:3])
    with pytest.raises(ValueError, match="needs width and height columns"):
        est.predict_frame(X[:4], image_sizes=info.drop(columns="height"))


class BrightBox(torch.nn.Module):
    """The box of the bright pixels, exact at any zoom (edges read at the
    half-intensity crossing), so the zoomed pass must give the same box back;
    it records the images it sees."""

    def __init__(self, n_classes=1, in_channels=1):
        super().__init__()
        self.presence = torch.nn.Parameter(torch.full((1,), 5.0))
        self.seen = []

    def forward(self, X):
        self.seen.append(X.detach().clone())
        n, _, h, w = X.shape
        mask = (X[:, 0] - 0.5).clamp(0, 0.5) * 2  # 1 inside, 0 outside
        # area / extent per row and column, as a share of the image
        cols = mask.max(dim=1).values.sum(dim=1) / w   # box width
        rows = mask.max(dim=2).values.sum(dim=1) / h   # box height
        xs = (torch.arange(w, dtype=X.dtype) + 0.5) / w
        ys = (torch.arange(h, dtype=X.dtype) + 0.5) / h
        total = mask.sum(dim=(1, 2))
        cx = (mask.sum(dim=1) * xs).sum(-1) / total
        cy = (mask.sum(dim=2) * ys).sum(-1) / total
        boxes = torch.stack([cx, cy, rows, cols], dim=1)
        return self.presence.expand(n), boxes, torch.zeros(n, 1)


def box_images(boxes, size=96):
    """White boxes (relative ``cx, cy, h, w``) on black, one channel."""
    X = np.zeros((len(boxes), 1, size, size), dtype=np.float32)
    for image, (cx, cy, h, w) in zip(X, boxes):
        x1, x2 = round((cx - w / 2) * size), round((cx + w / 2) * size)
        y1, y2 = round((cy - h / 2) * size), round((cy + h / 2) * size)
        image[0, y1:y2, x1:x2] = 1.0
    return X


def test_tta_reframe_zooms_onto_the_box_and_maps_it_back():
    from sklocalize.tasks import LocalizationTask

    # small and off-centre boxes (zoomed 3x, the most), a large one (1x)
    # (edges on whole pixels of the 96-pixel images)
    boxes = np.array([[0.25, 0.3125, 0.125, 0.1875], [0.6875, 0.59375, 0.25, 0.125],
                      [0.5, 0.5, 0.75, 0.75]])
    X = box_images(boxes)
    X_before = X.copy()
    y = np.column_stack([np.ones(3), boxes, np.ones(3)])
    est = LocalizerEstimator(BrightBox, max_epochs=0, augment=None,
                             tta_flip=False, random_state=0)
    with pytest.warns(UserWarning, match="no image without an object"):
        est.fit(X, y)
    np.testing.assert_allclose(est.predict(X)[:, 1:5], boxes, atol=1e-6)
    for passes in (1, 2):
        est.module_.seen.clear()
        est.set_params(tta_reframe=passes)
        pred = est.predict(X)
        np.testing.assert_allclose(pred[:, 1:5], boxes, atol=0.01)
        np.testing.assert_array_equal(pred[:, 0], 1)
        assert len(est.module_.seen) == 1 + passes
    # the zoomed images show each box centred, its longer side at the
    # task's fill (within the zoom's bounds)
    zoomed = est.module_.seen[1].numpy()
    task = LocalizationTask(1)
    shown = est.module_(torch.from_numpy(zoomed))[1].numpy()
    np.testing.assert_allclose(shown[:, :2], 0.5, atol=0.01)
    longer = np.maximum(shown[:, 2], shown[:, 3])
    expected = np.clip(task.reframe_fill / boxes[:, 2:].max(axis=1), 1,
                       task.max_zoom) * boxes[:, 2:].max(axis=1)
    np.testing.assert_allclose(longer, expected, atol=0.02)
    np.testing.assert_array_equal(X, X_before)


@pytest.mark.slow
def test_a_float64_default_dtype_changes_nothing(data):
    # torch.set_default_dtype(torch.float64) before fit gave a raw torch error
    X, y = data
    expected = tiny(max_epochs=1).fit(X, y).predict_proba(X)
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        got = tiny(max_epochs=1).fit(X, y).predict_proba(X)
        assert torch.get_default_dtype() == torch.float64  # the user's, kept
    finally:
        torch.set_default_dtype(before)
    np.testing.assert_array_equal(got, expected)
