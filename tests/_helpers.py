"""Tiny data and tiny estimators for fast tests."""

import numpy as np

from sklocalize.datasets import make_landmarks, make_localization

TINY_MODULE = {"module__width": 4, "module__depth": 2}


def tiny_localization(n=24, size=16, seed=0, **kwargs):
    return make_localization(n_samples=n, image_size=size, random_state=seed,
                             **kwargs)


def tiny_landmarks(n=24, size=16, seed=0, **kwargs):
    return make_landmarks(n_samples=n, image_size=size, random_state=seed, **kwargs)


def as_uint8(X):
    return np.round(X * 255).astype(np.uint8)
