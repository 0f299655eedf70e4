"""Data sets: generators, readers for data on disk, and background crops."""

from ._crops import background_crops
from ._generators import (
    FACE_FLIP_PAIRS,
    FACE_LANDMARKS,
    SHAPES,
    make_landmarks,
    make_localization,
)
from ._images import SkippedRowWarning, load_images
from ._readers import load_boxes, load_landmarks

__all__ = [
    "FACE_FLIP_PAIRS",
    "FACE_LANDMARKS",
    "SHAPES",
    "SkippedRowWarning",
    "background_crops",
    "load_boxes",
    "load_images",
    "load_landmarks",
    "make_landmarks",
    "make_localization",
]
