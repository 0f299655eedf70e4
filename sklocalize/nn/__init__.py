"""The torch pieces: networks and masked losses."""

from .losses import (
    LandmarkLoss,
    LocalizationLoss,
    landmark_loss,
    localization_loss,
    wing_loss,
)

__all__ = [
    "LandmarkLoss",
    "LocalizationLoss",
    "landmark_loss",
    "localization_loss",
    "wing_loss",
]
