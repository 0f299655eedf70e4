import copy
import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from sklocalize import LocalizerEstimator
from sklocalize.callbacks import CosineLR

from ._helpers import tiny_estimator, tiny_localization


def tiny(**kwargs):
    """Four epochs, so that the schedule has a shape."""
    return tiny_estimator(LocalizerEstimator, **{"max_epochs": 4, **kwargs})


def lrs(est):
    return [b["lr"] for epoch in est.history_ for b in epoch["batches"] if "lr" in b]


@pytest.mark.slow
def test_cosine_schedule_warms_up_then_decays_to_the_final_factor():
    X, y = tiny_localization(n=32)
    est = tiny(lr=1e-2).fit(X, y)
    rates = lrs(est)
    assert len(rates) == 4 * 4  # every training batch
    assert rates[0] == pytest.approx(1e-3)  # warmup_factor 0.1
    peak = int(np.argmax(rates))
    assert peak <= 2
    assert np.all(np.diff(rates[peak:]) <= 1e-12)  # then decreasing
    assert rates[-1] == pytest.approx(1e-2 * CosineLR().factor(15, 16), rel=1e-6)
    assert rates[-1] < 1e-3


@pytest.mark.slow
def test_schedule_follows_set_params_and_can_be_disabled():
    X, y = tiny_localization(n=32)
    est = tiny().fit(X, y)
    est.set_params(max_epochs=2).fit(X, y)
    assert len(lrs(est)) == 2 * 4
    flat = tiny(callbacks__lr_schedule=None).fit(X, y)
    assert lrs(flat) == []
    assert flat.optimizer_.param_groups[0]["lr"] == pytest.approx(flat.lr)


def test_factor_shape():
    cb = CosineLR(warmup=0.1, warmup_factor=0.0, final_factor=0.0)
    assert cb.factor(0, 100) == 0.0
    assert cb.factor(10, 100) == pytest.approx(1.0)
    assert cb.factor(55, 100) == pytest.approx(0.5)
    assert cb.factor(100, 100) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_precise_batch_norm_matches_the_final_weights():
    X, y = tiny_localization(n=40)
    est = tiny(max_epochs=2).fit(X, y)
    bn = est.module_.trunk.stem[1]
    # recompute by hand: the mean of the stem's conv output over the data
    with torch.no_grad():
        conv = est.module_.trunk.stem[0](torch.from_numpy(X))
    np.testing.assert_allclose(bn.running_mean.numpy(),
                               conv.mean(dim=(0, 2, 3)).numpy(), atol=1e-4)
    off = tiny(max_epochs=2, callbacks__precise_bn=None).fit(X, y)
    bn_off = off.module_.trunk.stem[1]
    with torch.no_grad():
        conv_off = off.module_.trunk.stem[0](torch.from_numpy(X))
    assert not np.allclose(bn_off.running_mean.numpy(),
                           conv_off.mean(dim=(0, 2, 3)).numpy(), atol=1e-4)


def test_a_users_lr_scheduler_replaces_the_cosine_schedule():
    from skorch.callbacks import LRScheduler

    X, y = tiny_localization(n=32)
    est = tiny(lr=1e-2, max_epochs=2, callbacks=[
        ("steps", LRScheduler(policy="StepLR", step_size=1, gamma=0.5))]).fit(X, y)
    assert "lr_schedule" not in dict(est.callbacks_)
    # stepped at the end of each epoch, never touched per batch
    assert est.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-2 * 0.25)
    assert lrs(est) == []
    with pytest.raises(ValueError, match="callback lr_schedule which does not "
                                         "exist"):
        est.set_params(callbacks__lr_schedule__warmup=0.2)


@pytest.mark.slow
def test_callback_parameters_survive_a_get_set_round_trip():
    from sklearn.base import clone

    est = tiny().set_params(callbacks__lr_schedule__warmup=0.3)
    assert est.get_params()["callbacks__lr_schedule__warmup"] == 0.3
    twin = tiny().set_params(**est.get_params())
    assert twin.get_params()["callbacks__lr_schedule__warmup"] == 0.3
    assert clone(est).get_params()["callbacks__lr_schedule__warmup"] == 0.3
    X, y = tiny_localization(n=32)
    assert dict(twin.fit(X, y).callbacks_)["lr_schedule"].warmup == 0.3


@pytest.mark.slow
@pytest.mark.parametrize("use_caching", [True, False])
def test_epoch_scoring_with_the_package_scorers(use_caching):
    from skorch.callbacks import EpochScoring
    from skorch.helper import predefined_split

    from sklocalize.dataset import ImageDataset
    from sklocalize.metrics import get_scorer, iou_score

    X, y = tiny_localization(n=40)
    X_valid, y_valid = tiny_localization(n=16, seed=1)
    valid = ImageDataset(torch.from_numpy(X_valid), torch.from_numpy(y_valid).float())
    scoring = EpochScoring(get_scorer("iou"), lower_is_better=False, name="valid_iou",
                           use_caching=use_caching)
    # without precise_bn the last epoch's network is the fitted one
    est = tiny(max_epochs=2, tta_flip=False, train_split=predefined_split(valid),
               callbacks=[("iou", scoring)], callbacks__precise_bn=None).fit(X, y)
    assert est.history[-1, "valid_iou"] == pytest.approx(
        iou_score(y_valid, est.predict(X_valid)), abs=1e-6)


def test_precise_batch_norm_follows_weights_restored_by_early_stopping():
    from skorch.callbacks import EarlyStopping

    from sklocalize.callbacks import PreciseBatchNorm

    X, y = tiny_localization(n=48)
    stop = EarlyStopping(patience=1, load_best=True, monitor="train_loss",
                         threshold=10.0)  # stops after epoch 2, restores epoch 1
    est = tiny(max_epochs=6, augment=None, callbacks=[("stop", stop)]).fit(X, y)
    assert len(est.history_) == 2 and list(dict(est.callbacks_))[0] == "precise_bn"
    norm = next(m for m in est.module_.modules()
                if isinstance(m, torch.nn.BatchNorm2d))
    kept = norm.running_mean.clone()
    # the statistics of the weights kept: recomputed on the same images
    PreciseBatchNorm(max_samples=48).on_train_end(est, X=torch.from_numpy(X))
    torch.testing.assert_close(kept, norm.running_mean, atol=1e-4, rtol=1e-4)


@pytest.mark.slow
def test_a_checkpoint_holds_the_statistics_of_its_weights(tmp_path):
    from skorch.callbacks import Checkpoint

    X, y = tiny_localization(n=48)
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path), f_optimizer=None,
                            f_criterion=None, f_history=None)
    est = tiny(max_epochs=2, augment=None, batch_size=48,
               callbacks=[("checkpoint", checkpoint)]).fit(X, y)
    # the last epoch's checkpoint holds the fitted weights and statistics
    twin = copy.deepcopy(est)
    twin.module_.load_state_dict(torch.load(tmp_path / "params.pt", weights_only=True))
    np.testing.assert_allclose(twin.predict_proba(X), est.predict_proba(X), atol=1e-5)
    # without the per-epoch pass it would hold training's running averages
    stale = tiny(max_epochs=2, augment=None, batch_size=48, callbacks=[
        ("checkpoint", Checkpoint(monitor=None, dirname=str(tmp_path / "off"),
                                  f_optimizer=None, f_criterion=None,
                                  f_history=None))],
        callbacks__precise_bn__every_epoch=False).fit(X, y)
    twin = copy.deepcopy(stale)
    twin.module_.load_state_dict(torch.load(tmp_path / "off" / "params.pt",
                                            weights_only=True))
    assert np.abs(twin.predict_proba(X) - stale.predict_proba(X)).max() > 1e-3


@pytest.mark.slow
def test_the_model_returned_is_the_checkpoint_when_images_are_sampled(tmp_path):
    # with more images than max_samples, the end-of-fit pass drew a new sample
    # after the last checkpoint was written: probabilities off by ~0.003
    from skorch.callbacks import Checkpoint

    X, y = tiny_localization(n=48)
    checkpoint = Checkpoint(monitor=None, dirname=str(tmp_path),  # every epoch
                            f_optimizer=None, f_criterion=None, f_history=None)
    est = tiny(max_epochs=2, augment=None, batch_size=16,
               callbacks=[("checkpoint", checkpoint)],
               callbacks__precise_bn__max_samples=16).fit(X, y)
    twin = copy.deepcopy(est)
    twin.module_.load_state_dict(torch.load(tmp_path / "params.pt",
                                            weights_only=True))
    np.testing.assert_array_equal(twin.predict_proba(X), est.predict_proba(X))


def _interrupt():  # as a signal would: not from a callback's own code
    raise KeyboardInterrupt


class _CtrlC(Callback):
    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == 2:
            _interrupt()


@pytest.mark.slow
def test_an_interrupted_fit_warns_with_the_epoch():
    X, y = tiny_localization(n=32)
    with pytest.warns(UserWarning, match="interrupted .* in epoch 2 of 4"):
        est = tiny(max_epochs=4, callbacks=[("ctrl_c", _CtrlC())]).fit(X, y)
    assert len(est.history_) == 2
    est.predict(X)  # fitted, with the weights of that moment


@pytest.mark.slow
def test_early_stopping_is_not_reported_as_an_interrupt():
    from skorch.callbacks import EarlyStopping

    X, y = tiny_localization(n=32)
    stop = EarlyStopping(patience=1, monitor="train_loss", threshold=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est = tiny(max_epochs=4, callbacks=[("stop", stop)]).fit(X, y)
    assert len(est.history_) == 2


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["uint8", "float64"])
def test_a_predefined_validation_set_is_checked_and_encoded_as_training_data(kind):
    from skorch.dataset import Dataset
    from skorch.helper import predefined_split

    X, y = tiny_localization(n=32, as_frame=True)
    X_valid, frame = tiny_localization(n=12, seed=1, as_frame=True)
    X_valid = (np.round(X_valid * 255).astype(np.uint8) if kind == "uint8"
               else X_valid.astype(np.float64))
    est = tiny(max_epochs=1, train_split=predefined_split(Dataset(X_valid, frame)))
    est.fit(X, y)
    assert np.isfinite(est.history_[-1, "valid_loss"])
    bad = Dataset(X_valid[:, :, :8], frame)
    with pytest.raises(ValueError, match="Images must be at least 16x16"):
        tiny(train_split=predefined_split(bad)).fit(X, y)


class _Stream:
    def __init__(self, tty):
        self.tty, self.text = tty, ""

    def isatty(self):
        return self.tty

    def write(self, text):
        self.text += text

    def flush(self):
        pass


@pytest.mark.parametrize("tty", [True, False])
def test_epoch_table_has_colour_codes_only_on_a_terminal(monkeypatch, tty):
    from sklocalize.callbacks import PlainPrintLog

    stream = _Stream(tty)
    monkeypatch.setattr("sys.stdout", stream)
    log = PlainPrintLog()
    line = "      1        \x1b[36m0.5000\x1b[0m"
    log._sink(line, verbose=1)
    assert ("\x1b[" in stream.text) is tty
    assert "0.5000" in stream.text
    log._sink(line, verbose=0)  # silent, as skorch's
    assert stream.text.count("0.5000") == 1
    # the estimators' epoch table is this one
    assert isinstance(dict(LocalizerEstimator().get_default_callbacks())["print_log"],
                      PlainPrintLog)
