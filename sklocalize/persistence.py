"""Save a fitted estimator to one file and load it back, without running code.

:func:`save` writes everything ``predict`` needs: the network's weights (with
its batch-norm statistics), the fitted attributes (``classes_``,
``image_size_``, ``n_channels_``, ``n_landmarks_``, ``mean_shape_``, ...), the
constructor parameters, and the versions of sklocalize and torch. The file is
a ``torch.save`` archive holding only tensors, strings and numbers, and
:func:`load` reads it with ``torch.load(weights_only=True)``: unlike ``pickle``
and ``joblib``, which run code on load (so open only files you trust), loading
such a file runs none. The classes a parameter names (the network, the
criterion, the optimizer) are looked up by name among the package's own, torch's
optimizers and data loaders; any other must be passed to :func:`load`.
"""

import importlib
import inspect
import json
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np
import torch

from ._params import seeded_global

FORMAT = "sklocalize"
FORMAT_VERSION = 1

# where a class named in a file may come from: importing these runs no code
# of the file's choosing
_TRUSTED_MODULES = ("sklocalize.", "torch.optim.", "torch.utils.data.")

__all__ = ["load", "save"]


def _class_path(cls):
    """``"module:qualname"`` of a class, as the file stores it."""
    return f"{cls.__module__}:{cls.__qualname__}"


def _estimator_class(stored):
    """The estimator class a file names, or None: ``"module:qualname"`` of
    one of sklocalize's, through the trusted-class lookup (files written
    before the path was stored name the class alone, a public name of the
    package). This module imports no estimator, so that the estimators'
    base may import it."""
    if not isinstance(stored, str):
        return None
    try:
        cls = _trusted_class(stored if ":" in stored else f"sklocalize:{stored}",
                             "estimator")
    except ValueError:
        return None
    return cls if getattr(cls, "_learned_attributes", None) is not None else None


# --------------------------------------------------------------------------
# values <-> JSON


def _encode(value, name):
    """``value`` as JSON-ready data; tagged dicts keep tuples, arrays and
    classes apart from lists and strings."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {"__dict__": {k: _encode(v, name) for k, v in value.items()}}
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufU":
        return {"__ndarray__": value.tolist(), "dtype": value.dtype.str}
    if isinstance(value, np.ndarray) and value.dtype.kind == "O":
        return {"__ndarray__": [_encode(v, name) for v in value], "dtype": "O"}
    if isinstance(value, (torch.device, os.PathLike)):
        return os.fspath(value) if isinstance(value, os.PathLike) else str(value)
    if inspect.isclass(value) or inspect.isfunction(value):
        return {"__class__": f"{value.__module__}:{value.__qualname__}"}
    params = _init_values(value)
    if params is not None:
        return {"__object__": _encode(type(value), name)["__class__"],
                "params": {k: _encode(v, name) for k, v in params.items()}}
    raise TypeError(
        f"save cannot store {name}={value!r} (of type {type(value).__name__}); "
        "set it to None or a plain value before saving, or use pickle or joblib "
        "(trusted files only)."
    )


def _init_values(obj):
    """``obj``'s constructor arguments, where it keeps each as an attribute of
    the same name (the scikit-learn convention, e.g. an Augmenter); else None."""
    module = type(obj).__module__ + "."
    if not module.startswith(_TRUSTED_MODULES):
        return None
    try:
        params = inspect.signature(type(obj)).parameters
    except (TypeError, ValueError):
        return None
    names = [n for n, p in params.items()
             if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not all(hasattr(obj, n) for n in names):
        return None
    return {n: getattr(obj, n) for n in names}


def _trusted_class(path, name):
    """The class ``"module:qualname"`` names, if sklocalize or torch's
    optimizers or data loaders define it; a ValueError otherwise."""
    module_name, _, qualname = path.partition(":")
    parts = qualname.split(".")
    obj = None
    if ((module_name + ".").startswith(_TRUSTED_MODULES) and qualname
            and not any(p.startswith("_") for p in parts)):
        try:
            obj = importlib.import_module(module_name)
            for part in parts:
                obj = getattr(obj, part)
        except (ImportError, AttributeError):
            obj = None
    if not (inspect.isclass(obj)
            and (obj.__module__ + ".").startswith(_TRUSTED_MODULES)):
        raise ValueError(
            f"The file's {name} is {path!r}, not a class of sklocalize's or of "
            "torch's optimizers and data loaders, and load imports no other "
            f"from a file: pass it, e.g. load(path, {name}=YourClass)."
        )
    return obj


def _decode(data, name):
    if isinstance(data, list):
        return [_decode(v, name) for v in data]
    if not isinstance(data, dict):
        return data
    if "__tuple__" in data:
        return tuple(_decode(v, name) for v in data["__tuple__"])
    if "__dict__" in data:
        return {k: _decode(v, name) for k, v in data["__dict__"].items()}
    if "__ndarray__" in data:
        if data["dtype"] == "O":
            values = _decode(data["__ndarray__"], name)
            out = np.empty(len(values), dtype=object)
            out[:] = values
            return out
        return np.array(data["__ndarray__"], dtype=np.dtype(data["dtype"]))
    if "__class__" in data:
        return _trusted_class(data["__class__"], name)
    if "__object__" in data:
        cls = _trusted_class(data["__object__"], name)
        return cls(**{k: _decode(v, name)
                      for k, v in data["params"].items()})
    raise ValueError(f"The file holds an unknown entry for {name}: {data!r}.")


# --------------------------------------------------------------------------
# save and load


def save(estimator, path):
    """Save a fitted estimator to ``path``.

    Parameters
    ----------
    estimator : LocalizerEstimator or LandmarkEstimator
        Fitted.
    path : str or path-like
        The file to write (``.skl`` by convention).

    Returns
    -------
    path : pathlib.Path
        The file written.

    Notes
    -----
    The parameters are kept as given; ``callbacks`` other than None or
    ``"disable"`` are not (a callback is code): they are needed to continue
    training, not to predict, and can be passed again to :func:`load`. A
    ``random_state`` that is a ``RandomState`` instance is kept as None.
    """
    if _estimator_class(_class_path(type(estimator))) is not type(estimator):
        raise TypeError(
            "save takes a LocalizerEstimator or a LandmarkEstimator; got an object "
            f"of type {type(estimator).__name__}."
        )
    estimator._check_fitted()
    params = estimator.get_params(deep=False)
    if params.get("callbacks") not in (None, "disable"):
        params["callbacks"] = None
    if isinstance(params.get("random_state"), np.random.RandomState):
        params["random_state"] = None
    params = {k: _encode(v, k) for k, v in params.items()}
    fitted = {k: _encode(getattr(estimator, k), k)
              for k in estimator._learned_attributes if hasattr(estimator, k)}
    from . import __version__

    archive = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "estimator": _class_path(type(estimator)),
        "versions": {"sklocalize": __version__, "torch": str(torch.__version__)},
        "params": json.dumps(params),
        "fitted": json.dumps(fitted),
        "state_dict": {k: v.detach().cpu().contiguous()
                       for k, v in estimator.module_.state_dict().items()},
    }
    path = Path(path)
    torch.save(archive, path)
    return path


def _what_file(path):
    """What a file that is not a sklocalize model seems to be, and what to do,
    in a sentence (never torch's advice to load it unsafely)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        return f"it cannot be read ({exc.strerror or exc})."
    if head[:1] == b"\x80":
        return ("it is a Python pickle (as joblib.dump and pickle.dump write), "
                "which runs code when loaded: load it with joblib.load only if "
                "you trust its source, or save the model with est.save.")
    # an ONNX ModelProto starts with its ir_version (field 1, a small varint)
    ir_version = len(head) > 1 and head[0] == 0x08 and 3 <= head[1] <= 12
    if ir_version or b"onnx" in head.lower():
        return ("it looks like an ONNX model (est.to_onnx writes these): run it "
                "with onnxruntime, not sklocalize.")
    if head[:2] == b"PK":
        return ("it is a zip archive that does not read as one: damaged or "
                "truncated, or a torch file that sklocalize did not write; save "
                "the model again with est.save.")
    return ("it is damaged, truncated or another kind of file; save the model "
            "again with est.save.")


def _read(path):
    try:
        archive = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception:  # torch raises several kinds for a bad file
        raise ValueError(f"{path} is not a sklocalize model file: "
                         f"{_what_file(path)}") from None
    if not isinstance(archive, dict) or archive.get("format") != FORMAT:
        raise ValueError(f"{path} is not a sklocalize model file (written by "
                         "sklocalize's save).")
    version = archive.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version!r}, which this version of "
            f"sklocalize cannot read (it reads version {FORMAT_VERSION}); load it "
            f"with the sklocalize that wrote it ({archive.get('versions')})."
        )
    return archive


def load(path, *, expected=None, **params):
    """Load an estimator saved by :func:`save`, ready to predict.

    Parameters
    ----------
    path : str or path-like
    expected : class, default=None
        Refuse a file of another estimator class (the estimators' own
        ``load`` passes their class).
    **params
        Parameters to set instead of the saved ones: e.g. ``device="cpu"`` for
        a model saved on a GPU machine, the network class of a model built
        with your own ``module``, or ``callbacks`` to continue training.

    Returns
    -------
    estimator : LocalizerEstimator or LandmarkEstimator
        Fitted: its predictions are those of the estimator saved.
    """
    archive = _read(path)
    name = archive.get("estimator")
    cls = _estimator_class(name)
    if cls is None:
        raise ValueError(f"{path} holds an estimator of unknown class {name!r}.")
    if expected is not None and cls is not expected:
        raise ValueError(
            f"{path} holds a {cls.__name__}, not a {expected.__name__}: load it "
            f"with {cls.__name__}.load or sklocalize.load."
        )
    saved = json.loads(archive["params"])
    kwargs = {k: params[k] if k in params else _decode(v, k)
              for k, v in saved.items()}
    kwargs.update({k: v for k, v in params.items() if k not in kwargs})
    estimator = cls(**kwargs)
    for key, value in json.loads(archive["fitted"]).items():
        setattr(estimator, key, _decode(value, key))
    # the new module's random weights are replaced at once: leave the global
    # torch RNG as it was
    with seeded_global(torch.Generator(), estimator.device):
        estimator.initialize()
    try:
        estimator.module_.load_state_dict(archive["state_dict"])
    except RuntimeError as exc:
        raise ValueError(
            f"The weights in {path} do not fit the network built from its "
            f"parameters: {exc}"
        ) from None
    return estimator
