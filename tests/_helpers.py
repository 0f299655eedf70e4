"""Tiny data and tiny estimators for fast tests."""

import numpy as np
import torch

from sklocalize.datasets import make_landmarks, make_localization

TINY_MODULE = {"module__width": 4, "module__depth": 2}


def tiny_estimator(estimator_class, **kwargs):
    """``estimator_class`` with a tiny network, one epoch and a fixed seed;
    ``kwargs`` override any of those."""
    params = {"max_epochs": 1, "random_state": 0, "batch_size": 8, **TINY_MODULE}
    return estimator_class(**{**params, **kwargs})


def tiny_localization(n=24, size=16, seed=0, **kwargs):
    return make_localization(n_samples=n, image_size=size, random_state=seed,
                             **kwargs)


def tiny_landmarks(n=24, size=16, seed=0, **kwargs):
    return make_landmarks(n_samples=n, image_size=size, random_state=seed, **kwargs)


def as_uint8(X):
    return np.round(X * 255).astype(np.uint8)


POINT_IMAGE_SIZE = 32


def point_image(points, size=POINT_IMAGE_SIZE):
    """A (1, 1, size, size) image with one bright pixel under each relative
    point ``(x, y)``."""
    img = torch.zeros(1, 1, size, size)
    for x, y in points:
        img[0, 0, int(y * size), int(x * size)] = 1.0
    return img


def pixel_centre(i, size=POINT_IMAGE_SIZE):
    """The relative coordinate of the centre of pixel ``i`` of ``size``."""
    return (i + 0.5) / size
