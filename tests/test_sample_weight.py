"""Per-image weights: in the masked losses, in fit (metadata routing
included) and in score."""

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.model_selection import cross_validate

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.nn import LandmarkLoss, LocalizationLoss

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization


def _localization_batch(n=6, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.zeros(n, 5 + k)
    target[:, 0] = torch.tensor([1, 1, 0, 1, 0, 1][:n], dtype=torch.float32)
    target[:, 1:5] = 0.2 + 0.5 * torch.rand(n, 4, generator=g)
    target[torch.arange(n), 5 + torch.arange(n) % k] = 1
    target[3, 1:5] = float("nan")  # present, box not annotated
    outputs = (torch.randn(n, generator=g), torch.rand(n, 4, generator=g),
               torch.randn(n, k, generator=g),
               (torch.randn(n, 2, 8, generator=g), torch.randn(n, 2, 8, generator=g)))
    return outputs, target


def _landmark_batch(n=6, n_points=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = torch.rand(n, 1 + 2 * n_points, generator=g)
    target[:, 0] = torch.tensor([1, 0, 1, 1, 0, 1][:n], dtype=torch.float32)
    target[2, 3:5] = float("nan")  # a point not visible
    outputs = (torch.randn(n, generator=g), torch.rand(n, 2 * n_points, generator=g),
               torch.randn(n, n_points, 4, 4, generator=g))
    return outputs, target


def _rows(outputs, index):
    return tuple(_rows(o, index) if isinstance(o, tuple) else o[index]
                 for o in outputs)


CRITERIA = [
    (LocalizationLoss(), _localization_batch),
    (LocalizationLoss(box_loss="smooth_l1"), _localization_batch),
    (LocalizationLoss(loss="squared_error"), _localization_batch),
    (LandmarkLoss(), _landmark_batch),
    (LandmarkLoss(loss="squared_error"), _landmark_batch),
]


@pytest.mark.parametrize("criterion, batch", CRITERIA)
def test_integer_weights_count_an_image_as_its_copies(criterion, batch):
    outputs, target = batch()
    weight = torch.tensor([2.0, 1, 0, 3, 1, 1])
    repeat = torch.repeat_interleave(torch.arange(len(target)), weight.long())
    weighted = criterion(outputs, target, sample_weight=weight)
    terms = dict(criterion.terms_)
    repeated = criterion(_rows(outputs, repeat), target[repeat])
    torch.testing.assert_close(weighted, repeated)
    for name, value in criterion.terms_.items():
        torch.testing.assert_close(terms[name], value)


@pytest.mark.parametrize("criterion, batch", CRITERIA)
def test_unit_weights_change_nothing(criterion, batch):
    outputs, target = batch()
    assert torch.equal(criterion(outputs, target, sample_weight=torch.ones(6)),
                       criterion(outputs, target))


CASES = {"localizer": (LocalizerEstimator, tiny_localization),
         "landmarks": (LandmarkEstimator, tiny_landmarks)}


@pytest.fixture(params=sorted(CASES))
def case(request):
    cls, make = CASES[request.param]
    X, y = make(n=24)
    return cls, X, y


@pytest.mark.slow
@pytest.mark.parametrize("form", [np.asarray, list, pd.Series, torch.as_tensor])
def test_fit_takes_weights_in_any_array_form_and_leaves_them_alone(case, form):
    cls, X, y = case
    weight = np.linspace(0.5, 2.0, len(X))
    given = form(weight.copy())
    unit = tiny_estimator(cls, max_epochs=2).fit(X, y, sample_weight=np.ones(len(X)))
    plain = tiny_estimator(cls, max_epochs=2).fit(X, y)
    np.testing.assert_array_equal(unit.predict_proba(X), plain.predict_proba(X))
    est = tiny_estimator(cls, max_epochs=2).fit(X, y, sample_weight=given)
    np.testing.assert_array_equal(np.asarray(given), weight)
    assert not np.array_equal(est.predict_proba(X), plain.predict_proba(X))


@pytest.mark.slow
@pytest.mark.parametrize("scale", [1e-50, 1e39])
def test_tiny_and_huge_weights_weigh_as_their_ratios(case, scale):
    # 1e-50 underflowed to 0 in float32 (nothing learnt, silently) and 1e39
    # overflowed (blamed on the learning rate): only the ratios count
    cls, X, y = case
    weight = np.linspace(0.5, 2.0, len(X))
    ratios = tiny_estimator(cls, max_epochs=2).fit(X, y, sample_weight=weight / 2)
    scaled = tiny_estimator(cls, max_epochs=2).fit(X, y,
                                                   sample_weight=weight * scale)
    np.testing.assert_allclose(scaled.predict_proba(X), ratios.predict_proba(X),
                               rtol=0, atol=1e-5)


def test_weights_reach_augmented_training_and_the_validation_split(case):
    cls, X, y = case
    est = tiny_estimator(cls, max_epochs=1, train_split=0.25, augment=True,
                         **({"flip_pairs": []} if cls is LandmarkEstimator else {}))
    est.fit(X, y, sample_weight=np.r_[np.zeros(12), np.ones(12)])
    assert np.isfinite(est.history_[-1, "valid_loss"])


@pytest.mark.parametrize("weight, error, match", [
    (np.ones(5), ValueError, r"shape \(n_samples,\) = \(24,\).*got shape \(5,\)"),
    (np.ones((24, 1)), ValueError, r"= \(24,\).*got shape \(24, 1\)"),
    (np.r_[-1.0, np.ones(23)], ValueError, r"non-negative.*got -1.0 at index 0"),
    (np.r_[np.nan, np.ones(23)], ValueError, "got nan at index 0"),
    (np.zeros(24), ValueError, "must not be all 0"),
    (np.array(["1"] * 24), TypeError, "sample_weight must be numeric; got the "
                                      "string '1'"),
])
def test_bad_weights_are_refused_before_training(weight, error, match):
    X, y = tiny_localization(n=24)
    est = tiny_estimator(LocalizerEstimator)
    with pytest.raises(error, match=match):
        est.fit(X, y, sample_weight=weight)
    assert not hasattr(est, "history_") or not est.history_


class _Recording(LocalizerEstimator):
    def fit(self, X, y, sample_weight=None, **fit_params):
        self.seen_weight_ = sample_weight
        return super().fit(X, y, sample_weight=sample_weight, **fit_params)


def test_metadata_routing_brings_the_weights_of_each_fold():
    X, y = tiny_localization(n=24)
    weight = np.arange(1.0, 25.0)
    with sklearn.config_context(enable_metadata_routing=True):
        est = (tiny_estimator(_Recording).set_fit_request(sample_weight=True)
               .set_score_request(sample_weight=True))
        result = cross_validate(est, X, y, cv=2, params={"sample_weight": weight},
                                return_estimator=True, return_indices=True)
    for fitted, train, test, score in zip(result["estimator"],
                                          result["indices"]["train"],
                                          result["indices"]["test"],
                                          result["test_score"]):
        np.testing.assert_array_equal(fitted.seen_weight_, weight[train])
        assert score == fitted.score(X[test], y[test], sample_weight=weight[test])


def test_weights_must_be_requested_under_metadata_routing():
    X, y = tiny_localization(n=24)
    with sklearn.config_context(enable_metadata_routing=True):
        with pytest.raises(sklearn.exceptions.UnsetMetadataPassedError,
                           match="sample_weight"):
            cross_validate(tiny_estimator(LocalizerEstimator), X, y, cv=2,
                           params={"sample_weight": np.ones(24)})


@pytest.mark.slow
def test_score_takes_weights(case):
    from sklocalize.metrics import iou_score, landmark_nme

    cls, X, y = case
    est = tiny_estimator(cls).fit(X, y)
    weight = np.linspace(0.0, 2.0, len(X))
    metric = iou_score if cls is LocalizerEstimator else landmark_nme
    sign = 1 if cls is LocalizerEstimator else -1
    assert est.score(X, y, sample_weight=weight) == pytest.approx(
        sign * metric(y, est.predict(X), sample_weight=weight))
    assert est.score(X, y, sample_weight=np.ones(len(X))) == est.score(X, y)


def test_a_one_landmark_model_scores_relative_to_the_image():
    from sklocalize.metrics import landmark_nme

    X, y = tiny_landmarks(n=24)
    one = y[:, :3]
    est = tiny_estimator(LandmarkEstimator).fit(X, one)
    assert est.score(X, one) == pytest.approx(
        -landmark_nme(one, est.predict(X), normalize="image"))
