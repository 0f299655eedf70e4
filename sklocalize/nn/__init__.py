"""The torch pieces: networks and masked losses."""

from .losses import (
    LandmarkLoss,
    LocalizationLoss,
    edge_loss,
    heatmap_loss,
    landmark_loss,
    localization_loss,
    wing_loss,
)
from .modules import ConvTrunk, Dropout, LandmarkNet, LocalizerNet, SoftArgmax2d

__all__ = [
    "ConvTrunk",
    "Dropout",
    "LandmarkLoss",
    "LandmarkNet",
    "LocalizationLoss",
    "LocalizerNet",
    "SoftArgmax2d",
    "edge_loss",
    "heatmap_loss",
    "landmark_loss",
    "localization_loss",
    "wing_loss",
]
