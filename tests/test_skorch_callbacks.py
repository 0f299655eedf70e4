"""The skorch callbacks that the user guide lists as working ("skorch's
callbacks") do what skorch says, with both estimators."""

import numpy as np
import pytest
import torch
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochScoring,
    Freezer,
    GradientNormClipping,
    LoadInitState,
    LRScheduler,
    ProgressBar,
    TrainEndCheckpoint,
    Unfreezer,
)

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.metrics import get_scorer

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization

CASES = {
    LocalizerEstimator: (tiny_localization, "iou"),
    LandmarkEstimator: (tiny_landmarks, "neg_nme"),
}


@pytest.fixture(params=list(CASES), ids=lambda cls: cls.__name__)
def task(request):
    """The estimator class, its tiny data and a scorer of it."""
    make, scorer = CASES[request.param]
    return request.param, make(n=32), get_scorer(scorer)


@pytest.mark.slow
def test_early_stopping_on_validation_and_train_loss(task):
    cls, (X, y), _ = task
    est = tiny_estimator(cls, max_epochs=30, lr=1e-7, train_split=0.25, callbacks=[
        ("stop", EarlyStopping(patience=2, threshold=0.5))]).fit(X, y)
    assert len(est.history_) == 3  # no epoch improves by half: stops after 2 more
    est = tiny_estimator(cls, max_epochs=30, lr=1e-7, callbacks=[
        EarlyStopping(monitor="train_loss", patience=1, threshold=0.5)]).fit(X, y)
    assert len(est.history_) == 2


@pytest.mark.slow
def test_checkpoint_load_params_and_load_init_state(task, tmp_path):
    cls, (X, y), _ = task
    best = Checkpoint(dirname=tmp_path, monitor="valid_loss_best")
    est = tiny_estimator(cls, max_epochs=3, train_split=0.25,
                         callbacks=[("best", best)]).fit(X, y)
    assert (tmp_path / "params.pt").is_file()
    saved = torch.load(tmp_path / "params.pt", weights_only=True)
    est.load_params(checkpoint=best)
    for name, value in est.module_.state_dict().items():
        torch.testing.assert_close(value, saved[name])
    again = tiny_estimator(cls, max_epochs=1, train_split=0.25, callbacks=[
        ("best", best), ("init", LoadInitState(best))]).fit(X, y)
    # starts from the checkpoint's weights and history, trains one epoch more
    assert len(again.history_) == len(est.history_) + 1


@pytest.mark.slow
def test_lr_scheduler_replaces_the_cosine_schedule(task):
    cls, (X, y), _ = task
    est = tiny_estimator(cls, max_epochs=3, lr=1e-2, callbacks=[
        LRScheduler(policy=torch.optim.lr_scheduler.StepLR, step_size=1,
                    gamma=0.5)]).fit(X, y)
    assert est.optimizer_.param_groups[0]["lr"] == pytest.approx(1e-2 / 8)


@pytest.mark.slow
def test_freezer_and_unfreezer_on_the_trunk(task):
    cls, (X, y), _ = task
    seen = []

    class Frozen(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append(all(not p.requires_grad for n, p in
                            net.module_.named_parameters() if n.startswith("trunk.")))

    tiny_estimator(cls, max_epochs=3, callbacks=[
        Freezer("trunk.*"), Unfreezer("trunk.*", at=3), Frozen()]).fit(X, y)
    assert seen == [True, True, False]


@pytest.mark.slow
def test_epoch_scoring_with_the_package_scorers(task):
    cls, (X, y), scorer = task
    est = tiny_estimator(cls, max_epochs=2, train_split=0.25, callbacks=[
        EpochScoring(scorer, lower_is_better=False, name="valid_score")]).fit(X, y)
    scores = est.history_[:, "valid_score"]
    assert len(scores) == 2 and np.isfinite(scores).all()


@pytest.mark.slow
def test_epoch_scoring_without_caching_takes_y_from_the_dataset(task):
    # skorch passes the validation dataset and y=None: the scorer failed with
    # "y_true must be a 2-D array ... shape ()"
    cls, (X, y), scorer = task
    cached = tiny_estimator(cls, max_epochs=2, train_split=0.25, callbacks=[
        EpochScoring(scorer, lower_is_better=False, name="valid_score")]).fit(X, y)
    est = tiny_estimator(cls, max_epochs=2, train_split=0.25, callbacks=[
        EpochScoring(scorer, lower_is_better=False, name="valid_score",
                     use_caching=False),
        EpochScoring(scorer, lower_is_better=False, name="train_score",
                     use_caching=False, on_train=True)]).fit(X, y)
    scores = est.history_[:, "valid_score"]
    assert len(scores) == 2 and np.isfinite(est.history_[:, "train_score"]).all()
    # the same split and weights: the same scores as with caching
    np.testing.assert_allclose(scores, cached.history_[:, "valid_score"])


@pytest.mark.slow
def test_scorer_refuses_y_none_without_a_dataset(task):
    cls, (X, y), scorer = task
    est = tiny_estimator(cls).fit(X, y)
    with pytest.raises(ValueError, match="y_true is None, and X is not a dataset "
                       "of targets .* got X of type ndarray"):
        scorer(est, X, None)


def test_gradient_clipping_progress_bar_and_train_end_checkpoint(task, tmp_path):
    cls, (X, y), _ = task
    est = tiny_estimator(cls, max_epochs=1, callbacks=[
        GradientNormClipping(gradient_clip_value=1.0), ProgressBar(),
        TrainEndCheckpoint(dirname=tmp_path)]).fit(X, y)
    assert (tmp_path / "train_end_params.pt").is_file()
    assert np.isfinite(est.history_[-1, "train_loss"])
