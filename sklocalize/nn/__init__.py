"""The torch pieces: networks and masked losses."""

from .losses import (
    LandmarkLoss,
    LocalizationLoss,
    landmark_loss,
    localization_loss,
    wing_loss,
)
from .modules import ConvTrunk, LandmarkNet, LocalizerNet, SoftArgmax2d

__all__ = [
    "ConvTrunk",
    "LandmarkLoss",
    "LandmarkNet",
    "LocalizationLoss",
    "LocalizerNet",
    "SoftArgmax2d",
    "landmark_loss",
    "localization_loss",
    "wing_loss",
]
