"""sklocalize: scikit-learn estimators for single-object classification with
localization and for landmark detection, built on skorch and PyTorch."""

__version__ = "0.1.0.dev0"

__all__ = ["__version__"]
