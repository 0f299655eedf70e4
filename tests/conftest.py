"""Shared fixtures: fixed seeds, tiny data."""

import matplotlib
import numpy as np
import pytest
import torch

from sklocalize import LandmarkEstimator, LocalizerEstimator

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _fixed_seeds():
    np.random.seed(0)
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session", autouse=True)
def _few_threads():
    # CI has 2 cores; keep torch from oversubscribing them.
    torch.set_num_threads(2)
    yield


_TINY_DATA = {LocalizerEstimator: tiny_localization, LandmarkEstimator: tiny_landmarks}


@pytest.fixture(scope="module")
def data(request):
    """Tiny ``(X, y)`` for the estimator the test module names in ``ESTIMATOR``."""
    return _TINY_DATA[request.module.ESTIMATOR]()


@pytest.fixture(scope="module")
def fitted(request, data):
    """The test module's ``ESTIMATOR``, tiny, fitted on ``data``."""
    X, y = data
    return tiny_estimator(request.module.ESTIMATOR).fit(X, y)
