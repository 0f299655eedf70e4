"""Data sets: generators and readers for data on disk."""

from ._generators import (
    FACE_FLIP_PAIRS,
    FACE_LANDMARKS,
    SHAPES,
    make_landmarks,
    make_localization,
)

__all__ = [
    "FACE_FLIP_PAIRS",
    "FACE_LANDMARKS",
    "SHAPES",
    "make_landmarks",
    "make_localization",
]
