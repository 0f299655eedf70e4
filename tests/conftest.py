"""Shared fixtures: fixed seeds, tiny data."""

import matplotlib
import numpy as np
import pytest
import torch

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
