"""scikit-learn's estimator checks, and the same checks on image data.

scikit-learn's generic checks fit on tabular X (n_samples, n_features) with a
1-D y; our estimators need images and a seed-layout target, so the checks that
fit are expected to fail (each listed with its reason). The second half of this
file runs those checks' intent on image data.
"""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.utils.estimator_checks import parametrize_with_checks

from sklocalize import LandmarkEstimator, LocalizerEstimator

from ._helpers import TINY_MODULE, as_uint8, tiny_landmarks, tiny_localization

PARAMS = {"max_epochs": 1, "random_state": 0, "batch_size": 8, **TINY_MODULE}

TABULAR = ("sklearn's check fits on tabular X (n_samples, n_features) and a 1-D y; "
           "the estimator needs images and a seed-layout target (covered on image "
           "data below)")
EXPECTED_FAILURES = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets history_, initialized_, virtual_params_ "
        "and the routed module__* parameters"),
    "check_dtype_object": "object arrays are refused: images must be numeric",
    **{name: TABULAR for name in [
        "check_fit_score_takes_y", "check_estimators_overwrite_params",
        "check_dont_overwrite_parameters", "check_estimators_fit_returns_self",
        "check_readonly_memmap_input", "check_n_features_in_after_fitting",
        "check_positive_only_tag_during_fit", "check_estimators_dtypes",
        "check_pipeline_consistency", "check_estimators_nan_inf",
        "check_estimators_pickle", "check_f_contiguous_array_estimator",
        "check_methods_sample_order_invariance", "check_methods_subset_invariance",
        "check_dict_unchanged", "check_fit_idempotent", "check_fit_check_is_fitted",
        "check_n_features_in", "check_fit2d_predict1d",
        "check_sample_weights_pandas_series", "check_sample_weights_not_an_array",
        "check_sample_weights_list", "check_sample_weights_shape",
        "check_sample_weights_not_overwritten", "check_all_zero_sample_weights_error",
        "check_sample_weight_equivalence_on_dense_data",
    ]},
}


def _expected_failures(estimator):
    return EXPECTED_FAILURES


@parametrize_with_checks([LocalizerEstimator(**PARAMS), LandmarkEstimator(**PARAMS)],
                         expected_failed_checks=_expected_failures)
def test_sklearn_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------------
# the same intent on image data

ESTIMATORS = {
    "localizer": (LocalizerEstimator, tiny_localization),
    "landmarks": (LandmarkEstimator, tiny_landmarks),
}


@pytest.fixture(params=sorted(ESTIMATORS))
def case(request):
    cls, make = ESTIMATORS[request.param]
    X, y = make(n=20)
    return cls(**PARAMS), X, y


@pytest.mark.slow
def test_fit_returns_self_and_is_idempotent(case):
    est, X, y = case
    assert est.fit(X, y) is est
    first = est.predict_proba(X)
    np.testing.assert_array_equal(first, est.fit(X, y).predict_proba(X))


@pytest.mark.slow
def test_does_not_overwrite_params_or_touch_dict(case):
    est, X, y = case
    params = clone(est).get_params()
    est.fit(X, y)
    after = est.get_params()
    for key, value in params.items():
        if key.startswith("callbacks__"):
            continue
        assert after[key] is value or after[key] == value, key
    state = dict(est.__dict__)
    est.predict(X)
    est.predict_proba(X)
    assert set(est.__dict__) == set(state)


@pytest.mark.slow
def test_dtypes_memory_layouts_and_readonly(case, tmp_path):
    est, X, y = case
    est.fit(X, y)
    for variant in (X.astype(np.float64), np.asfortranarray(X), as_uint8(X)):
        assert est.predict(variant).shape == y.shape
    path = tmp_path / "X.npy"
    np.save(path, X)
    memmap = np.load(path, mmap_mode="r")
    assert clone(est).fit(memmap, y).predict(memmap).shape == y.shape


@pytest.mark.slow
def test_sample_order_and_subset_invariance(case):
    est, X, y = case
    est.fit(X, y)
    ref = est.predict_proba(X)
    order = np.random.RandomState(0).permutation(len(X))
    np.testing.assert_allclose(est.predict_proba(X[order]), ref[order], atol=1e-6)
    np.testing.assert_allclose(est.predict_proba(X[:5]), ref[:5], atol=1e-6)


def test_predict_sets_every_submodule_to_eval_mode(case):
    # skorch's _set_training is overridden to skip modules already in the
    # requested mode: a module whose top is in eval mode but one of whose
    # submodules (a batch norm) was put back in train mode must still predict
    # in eval mode, with the running statistics left untouched
    est, X, y = case
    est.fit(X, y)
    ref = est.predict_proba(X)
    est.module_.eval()
    norm = next(m for m in est.module_.modules()
                if isinstance(m, torch.nn.BatchNorm2d))
    norm.train()
    running = norm.running_mean.clone()
    np.testing.assert_array_equal(est.predict_proba(X), ref)
    assert not any(m.training for m in est.module_.modules())
    torch.testing.assert_close(norm.running_mean, running)


@pytest.mark.slow
def test_pickle_before_and_after_fit(case):
    est, X, y = case
    unfitted = pickle.loads(pickle.dumps(est))
    assert unfitted.get_params()["lr"] == est.lr
    est.fit(X, y)
    loaded = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))
    assert loaded.n_features_in_ == X[0].size


def test_a_skorch_setting_that_predict_does_not_read_is_refused(case):
    est, X, y = case
    est.set_params(predict_nonlinearity=torch.sigmoid)
    with pytest.raises(ValueError, match="'predict_nonlinearity' parameter"):
        est.fit(X, y)
