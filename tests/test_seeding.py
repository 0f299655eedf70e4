"""A fit draws its randomness from a generator of its own: threads, and the
caller's use of torch's global generator, are independent of each other."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch
from joblib import parallel_backend
from sklearn.model_selection import GridSearchCV, KFold

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.augment import Augmenter
from sklocalize.nn import Dropout

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization

# every source of randomness a fit has: shuffles, a validation split,
# augmentation with every transform, dropout, the initialization
RANDOM = dict(max_epochs=2, train_split=0.25, module__dropout=0.3,
              augment=Augmenter(scale=(0.8, 1.2), shift=0.1, rotation=10))


def test_a_seeded_fit_and_predict_leave_the_global_generator_alone():
    X, y = tiny_localization(n=24)
    state = torch.get_rng_state()
    est = tiny_estimator(LocalizerEstimator, **RANDOM).fit(X, y)
    est.predict(X)
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.slow
def test_an_unseeded_fit_follows_torch_manual_seed():
    X, y = tiny_localization(n=24)
    runs = []
    for _ in range(2):
        torch.manual_seed(7)
        est = tiny_estimator(LocalizerEstimator, random_state=None, **RANDOM)
        runs.append(est.fit(X, y).predict_proba(X))
    np.testing.assert_array_equal(*runs)


@pytest.mark.slow
@pytest.mark.parametrize("cls, make, extra", [
    (LocalizerEstimator, tiny_localization, {}),
    (LandmarkEstimator, tiny_landmarks, {"flip_pairs": []})])
def test_fits_in_threads_equal_the_same_fits_one_after_another(cls, make, extra):
    X, y = make(n=24)
    seeds = [0, 1, 0, 1]

    def fit(seed):
        est = tiny_estimator(cls, random_state=seed, **RANDOM, **extra)
        return est.fit(X, y).predict_proba(X)

    alone = {seed: fit(seed) for seed in (0, 1)}
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(fit, seeds))
    for seed, proba in zip(seeds, together):
        np.testing.assert_array_equal(proba, alone[seed])
    assert not np.array_equal(alone[0], alone[1])


@pytest.mark.slow
def test_predict_in_threads_leaves_the_global_generator_alone():
    X, y = tiny_localization(n=24)
    est = tiny_estimator(LocalizerEstimator).fit(X, y)
    torch.manual_seed(3)
    state = torch.get_rng_state()
    with ThreadPoolExecutor(2) as pool:
        for proba in pool.map(lambda _: est.predict_proba(X), range(8)):
            np.testing.assert_array_equal(proba, est.predict_proba(X))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.slow
def test_grid_search_under_threads_is_reproducible():
    X, y = tiny_localization(n=32)
    search = GridSearchCV(tiny_estimator(LocalizerEstimator, **RANDOM),
                          {"lr": [1e-3, 3e-3]}, cv=KFold(2), n_jobs=2)
    scores = []
    for _ in range(2):
        with parallel_backend("threading", n_jobs=2):
            scores.append(search.fit(X, y).cv_results_["split0_test_score"])
    np.testing.assert_array_equal(*scores)


def test_a_continued_fit_does_not_replay_the_first_shuffles():
    X, y = tiny_localization(n=24)
    once = tiny_estimator(LocalizerEstimator, max_epochs=2).fit(X, y)
    twice = tiny_estimator(LocalizerEstimator, max_epochs=1).fit(X, y)
    twice.partial_fit(X, y)
    # the same two epochs would give the same weights; the second epoch's
    # shuffle differs from the first's
    first = [b["train_loss"] for b in once.history_[0, "batches"]]
    second = [b["train_loss"] for b in twice.history_[1, "batches"]]
    assert first != second


def test_dropout_draws_from_its_own_generator():
    torch.manual_seed(0)
    drop = Dropout(0.5).train()
    x = torch.ones(4, 100)
    state = torch.get_rng_state()
    out = drop(x)
    assert torch.equal(state, torch.get_rng_state())
    assert set(out.unique().tolist()) == {0.0, 2.0}
    torch.manual_seed(0)
    np.testing.assert_array_equal(Dropout(0.5).train()(x), out)
    assert torch.equal(drop.eval()(x), x)
    assert Dropout(0.0).generator is None
