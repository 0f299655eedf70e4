"""precision="bfloat16": the forward pass under autocast, everything kept
between steps (weights, optimizer state, batch-norm statistics) and what the
user gets (losses, predictions) in full precision."""

import numpy as np
import pytest
import torch

from sklocalize import LandmarkEstimator, LocalizerEstimator, load
from sklocalize._validation import check_precision

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization

CASES = [(LocalizerEstimator, tiny_localization), (LandmarkEstimator, tiny_landmarks)]


def _conv_output_dtypes(module):
    """Record the dtype of every convolution's output while the hooks live."""
    seen = set()
    handles = [m.register_forward_hook(lambda m, i, o: seen.add(o.dtype))
               for m in module.modules() if isinstance(m, torch.nn.Conv2d)]
    return seen, handles


@pytest.mark.slow
@pytest.mark.parametrize("cls,make", CASES)
def test_bfloat16_trains_in_bfloat16_and_keeps_float32_state(cls, make):
    X, y = make()
    est = tiny_estimator(cls, precision="bfloat16", max_epochs=2).fit(X, y)
    seen, handles = _conv_output_dtypes(est.module_)
    try:
        est.partial_fit(X, y)
    finally:
        for handle in handles:
            handle.remove()
    assert seen == {torch.bfloat16}
    assert {p.dtype for p in est.module_.parameters()} == {torch.float32}
    assert {b.dtype for b in est.module_.buffers() if b.is_floating_point()} == {
        torch.float32}
    state = est.optimizer_.state_dict()["state"]
    assert {v.dtype for s in state.values() for k, v in s.items()
            if k != "step"} == {torch.float32}
    assert np.isfinite(est.history[:, "train_loss"]).all()
    pred = est.predict(X)
    assert pred.dtype == np.float64 and pred.shape == y.shape


@pytest.mark.slow
@pytest.mark.parametrize("cls,make", CASES)
def test_bfloat16_prediction_is_close_to_float32_on_the_same_weights(cls, make):
    X, y = make()
    est = tiny_estimator(cls, max_epochs=2).fit(X, y)
    full = est.predict_proba(X)
    half = est.set_params(precision="bfloat16").predict_proba(X)
    assert half.dtype == np.float64
    # bfloat16 keeps 8 bits of mantissa: the same model, a little noise
    assert not np.array_equal(full, half)
    np.testing.assert_allclose(half, full, atol=0.05)


def test_precision_is_saved_and_loaded(tmp_path):
    X, y = tiny_localization()
    est = tiny_estimator(LocalizerEstimator, precision="bfloat16").fit(X, y)
    est.save(tmp_path / "model.skl")
    loaded = load(tmp_path / "model.skl")
    assert loaded.precision == "bfloat16"
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


def test_unknown_precision_is_a_clear_error():
    X, y = tiny_localization()
    with pytest.raises(ValueError, match="'precision' parameter.*float16"):
        tiny_estimator(LocalizerEstimator, precision="float16").fit(X, y)


def test_bfloat16_on_a_device_without_it_is_a_clear_error(monkeypatch):
    with pytest.raises(ValueError, match="precision='bfloat16'.*device='mps'"):
        check_precision("bfloat16", "mps")
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match="bfloat16 support.*device='cuda'"):
        check_precision("bfloat16", "cuda")
    check_precision("float32", "mps")  # nothing to check
    check_precision("bfloat16", "cpu")
