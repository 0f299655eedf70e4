"""sklocalize: scikit-learn estimators for single-object classification with
localization and for landmark detection, built on skorch and PyTorch.

The estimators and :func:`load` are imported on first use (PEP 562), so that
``import sklocalize`` and ``sklocalize --help`` do not pay for importing torch;
``from sklocalize import LocalizerEstimator`` works as usual.
"""

__version__ = "0.1.0.dev0"

__all__ = ["LandmarkEstimator", "LocalizerEstimator", "__version__", "load"]

# public name -> the submodule that defines it
_LAZY = {
    "LandmarkEstimator": ".landmarks",
    "LocalizerEstimator": ".localizer",
    "load": ".persistence",
}


def __getattr__(name):
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(_LAZY[name], __name__), name)
        globals()[name] = value  # later look-ups skip this function
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
