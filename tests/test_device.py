"""device="cuda": fit, predict, pickle on the GPU and load on a CPU-only machine.

These run only where CUDA is available (they skip elsewhere, CI included),
except the checks of devices that are not there, which run everywhere.
"""

import pickle
from unittest import mock

import numpy as np
import pytest
import torch

from sklocalize import LandmarkEstimator, LocalizerEstimator

from ._helpers import TINY_MODULE, tiny_landmarks, tiny_localization

cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                          reason="needs a CUDA device (none on this machine)")

CASES = [(LocalizerEstimator, tiny_localization), (LandmarkEstimator, tiny_landmarks)]


@cuda
@pytest.mark.parametrize("cls,make", CASES)
def test_fit_predict_on_cuda_matches_cpu(cls, make):
    X, y = make()
    params = dict(max_epochs=2, random_state=0, batch_size=8, **TINY_MODULE)
    gpu = cls(device="cuda", **params).fit(X, y)
    assert next(gpu.module_.parameters()).device.type == "cuda"
    pred = gpu.predict(X)
    assert pred.shape == y.shape
    cpu = cls(device="cpu", **params).fit(X, y)
    # same seeds, different kernels: close, not bitwise equal
    np.testing.assert_allclose(gpu.predict_proba(X), cpu.predict_proba(X), atol=0.1)


@cuda
@pytest.mark.parametrize("cls,make", CASES)
def test_pickled_on_gpu_loads_on_a_cpu_only_machine(cls, make):
    X, y = make()
    est = cls(device="cuda", max_epochs=1, random_state=0, **TINY_MODULE).fit(X, y)
    ref = est.predict_proba(X)
    blob = pickle.dumps(est)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.warns(UserWarning, match="CUDA"):
            loaded = pickle.loads(blob)
        assert loaded.device == "cpu"
        assert next(loaded.module_.parameters()).device.type == "cpu"
        np.testing.assert_allclose(loaded.predict_proba(X), ref, atol=1e-4)


@pytest.mark.parametrize("cls,make", CASES)
def test_cuda_without_a_gpu_is_a_clear_error(cls, make):
    X, y = make()
    est = cls(device="cuda", max_epochs=1, random_state=0, **TINY_MODULE)
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.raises(ValueError, match=r"device='cuda'.*use device='cpu'"):
            est.fit(X, y)
    assert not est.initialized_
    est.set_params(device="cpu").fit(X, y)
    est.set_params(device="cuda")
    with mock.patch("torch.cuda.is_available", return_value=False):
        with pytest.raises(ValueError, match=r"device='cuda'.*use device='cpu'"):
            est.predict(X)


@pytest.mark.parametrize("device,match", [
    ("gpu", r"device must be a torch device.*got 'gpu'"),
    ("cuda:99", r"device='cuda:99'"),
])
def test_unknown_or_missing_device_is_a_clear_error(device, match):
    X, y = tiny_localization()
    est = LocalizerEstimator(device=device, max_epochs=1, **TINY_MODULE)
    with pytest.raises(ValueError, match=match):
        est.fit(X, y)


def test_gpu_index_that_is_not_there_and_missing_mps_are_clear_errors():
    X, y = tiny_localization()
    est = LocalizerEstimator(device="cuda:3", max_epochs=1, **TINY_MODULE)
    with mock.patch("torch.cuda.is_available", return_value=True), \
            mock.patch("torch.cuda.device_count", return_value=1):
        with pytest.raises(ValueError, match=r"device='cuda:3' names GPU 3, but "
                                             r"only 1 GPU\(s\) are visible"):
            est.fit(X, y)
    est.set_params(device="mps")
    with mock.patch("torch.backends.mps.is_available", return_value=False):
        with pytest.raises(ValueError, match=r"device='mps' needs Apple's MPS "
                                             r"backend.*use device='cpu'"):
            est.fit(X, y)
