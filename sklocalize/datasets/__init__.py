"""Data sets: generators and readers for data on disk."""

from ._generators import (
    FACE_FLIP_PAIRS,
    FACE_LANDMARKS,
    SHAPES,
    make_landmarks,
    make_localization,
)
from ._readers import SkippedRowWarning, load_box_csv, load_landmark_file

__all__ = [
    "FACE_FLIP_PAIRS",
    "FACE_LANDMARKS",
    "SHAPES",
    "SkippedRowWarning",
    "load_box_csv",
    "load_landmark_file",
    "make_landmarks",
    "make_localization",
]
