"""The generated data sets: what they draw and what they refuse."""

import re

import numpy as np
import pytest

from sklocalize.boxes import box_convert
from sklocalize.datasets import make_landmarks, make_localization

GENERATORS = [make_localization, make_landmarks]


@pytest.mark.parametrize("make", GENERATORS)
def test_square_image_size(make):
    X, y = make(n_samples=5, image_size=20, random_state=0)
    assert X.shape[2:] == (20, 20)
    X_pair, y_pair = make(n_samples=5, image_size=(20, 20), random_state=0)
    np.testing.assert_array_equal(X_pair, X)
    np.testing.assert_array_equal(y_pair, y)


@pytest.mark.parametrize("make", GENERATORS)
@pytest.mark.parametrize(("image_size", "error", "match"), [
    (8, ValueError, r"image_size must be an int or a pair \(height, width\) of ints "
                    r">= 16; got 8\."),
    (32.0, TypeError, r"image_size must be an int or a pair \(height, width\) of "
                      r"ints >= 16; got 32\.0\."),
    ((32, 48), ValueError, r"image_size must be one int, the side of the square "
                           r"images drawn here; got \(32, 48\)\."),
])
def test_bad_image_size(make, image_size, error, match):
    with pytest.raises(error, match=match):
        make(n_samples=2, image_size=image_size)


def test_digit_boxes_are_height_before_width():
    # the digit 1 is tall and thin, 0 is not: b_h > b_w tells the seed's order
    X, y = make_localization(n_samples=60, objects="digits", n_classes=2,
                             empty_fraction=0, random_state=0)
    ones = y[:, 6] == 1
    assert ones.any() and np.all(y[ones, 3] > y[ones, 4])
    corners = box_convert(y[:, 1:5], "cxcyhw", "xyxy")
    assert np.all((corners >= 0) & (corners <= 1))


@pytest.mark.parametrize(("make", "name", "high"), [
    (make_localization, "size_range", "1"), (make_landmarks, "scale_range", "0.9")])
@pytest.mark.parametrize("value", [(0.5, 0.2), (0, 0.5), (0.2, 1.5), (0.2,), "ab"])
def test_bad_size_range(make, name, high, value):
    match = (rf"{name} must be \(low, high\) with 0 < low <= high <= {high}; got "
             rf"{re.escape(repr(value))}\.")
    with pytest.raises(ValueError, match=match):
        make(n_samples=2, **{name: value})
