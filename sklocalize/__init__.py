"""sklocalize: scikit-learn estimators for single-object classification with
localization and for landmark detection, built on skorch and PyTorch."""

from .landmarks import LandmarkEstimator
from .localizer import LocalizerEstimator
from .persistence import load

__version__ = "0.1.0.dev0"

__all__ = ["LandmarkEstimator", "LocalizerEstimator", "__version__", "load"]
