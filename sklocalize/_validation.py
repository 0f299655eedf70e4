"""Input validation shared across the package: images, image sizes, devices,
precisions, landmark names, sample weights.

Every check raises a ``ValueError`` or ``TypeError`` that names the parameter,
the form it expects and what it got; none writes to what it is given.
"""

import os
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse
import torch
from sklearn.utils.validation import _check_feature_names
from skorch.callbacks import Callback

MIN_IMAGE_SIZE = 16
"""The smallest image side, in pixels, the networks take (two stride-2 stages
and a 4-cell map)."""


def _is_int(value):
    return isinstance(value, Integral) and not isinstance(value, bool)


def _is_real(value):
    return isinstance(value, Real) and not isinstance(value, bool)


def check_image_size(image_size, *, name="image_size", min_size=None):
    """``(height, width)`` from a size given by the user.

    Parameters
    ----------
    image_size : int or pair of numbers
        ``(height, width)``. With ``min_size`` (a size in pixels) an int
        means a square and both sides must be integers of at least
        ``min_size``; without it any two positive numbers are taken (``(1, 1)``
        for relative units).
    name : str, default="image_size"
        The parameter's name, for the error message.
    min_size : int, default=None

    Returns
    -------
    size : tuple of (height, width)
        ints with ``min_size``, floats without.
    """
    pixels = min_size is not None
    expected = (f"an int or a pair (height, width) of ints >= {min_size}" if pixels
                else "a pair (height, width) of positive numbers")
    size = (image_size, image_size) if pixels and _is_int(image_size) else image_size
    try:
        height, width = size
    except (TypeError, ValueError):
        height = width = None
    if not all(_is_real(v) for v in (height, width)):
        raise TypeError(f"{name} must be {expected}; got {image_size!r}.")
    if pixels:
        ok = all(_is_int(v) and v >= min_size for v in (height, width))
    else:
        ok = height > 0 and width > 0 and bool(np.isfinite([height, width]).all())
    if not ok:
        raise ValueError(f"{name} must be {expected}; got {image_size!r}.")
    as_type = int if pixels else float
    return as_type(height), as_type(width)


def check_image_sizes(image_sizes, n_samples=None, *, name="image_sizes"):
    """One image size, or one per image, as ``(height, width)``.

    Parameters
    ----------
    image_sizes : pair of numbers, array-like of shape (n_samples, 2) or DataFrame
        ``(height, width)`` shared by all images; an array of each image's
        ``(height, width)``; or a DataFrame with ``width`` and ``height``
        columns (the ``info`` of :func:`sklocalize.datasets.load_images`, or
        the ``y`` of the readers).
    n_samples : int, default=None
        The number of images, checked against a per-image form.
    name : str, default="image_sizes"

    Returns
    -------
    height, width : float, or ndarray of shape (n_samples,) each
    """
    if hasattr(image_sizes, "columns"):  # a DataFrame
        missing = [c for c in ("width", "height") if c not in image_sizes.columns]
        if missing:
            raise ValueError(f"{name} as a DataFrame needs width and height columns "
                             f"(as load_images' info has); missing {missing}.")
        sizes = image_sizes[["height", "width"]].to_numpy()
    else:
        sizes = np.asarray(image_sizes, dtype=object)
        if sizes.ndim != 2:
            return check_image_size(image_sizes, name=name)
    try:
        sizes = sizes.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must hold numbers (height, width) per image.") \
            from None
    if sizes.shape[1:] != (2,) or (n_samples is not None and len(sizes) != n_samples):
        expected = "(n_samples, 2)" if n_samples is None else f"({n_samples}, 2)"
        raise ValueError(f"{name} must have one (height, width) per image, shape "
                         f"{expected}; got shape {sizes.shape}.")
    if not (np.isfinite(sizes).all() and (sizes > 0).all()):
        raise ValueError(f"{name} must be positive, finite sizes in pixels.")
    return sizes[:, 0], sizes[:, 1]


def check_landmark_names(landmark_names, n_landmarks, where="y"):
    """Raise unless ``landmark_names`` (or None) names ``n_landmarks`` points.

    Parameters
    ----------
    landmark_names : sequence of str or None
    n_landmarks : int
    where : str, default="y"
        What holds the points, for the error message.
    """
    if landmark_names is not None and len(set(landmark_names)) != len(
            landmark_names):
        repeated = sorted({n for n in landmark_names
                           if list(landmark_names).count(n) > 1})
        raise ValueError(
            f"landmark_names must be different names; got {repeated} more than "
            "once."
        )
    if landmark_names is not None and len(landmark_names) != n_landmarks:
        raise ValueError(
            f"landmark_names must name the {n_landmarks} landmarks of {where}; got "
            f"{len(landmark_names)} names."
        )


def check_device(device):
    """A clear ``ValueError`` for a device torch cannot use here, instead of
    torch's own error from deep inside ``fit``."""
    if device is None:
        return
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            "device must be a torch device such as 'cpu', 'cuda' or 'cuda:1' (or "
            f"None to leave the module where it is); got {device!r}."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} needs a GPU and a CUDA build of torch, but "
                "torch.cuda.is_available() is False here; use device='cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} names GPU {dev.index}, but only "
                f"{torch.cuda.device_count()} GPU(s) are visible."
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} needs Apple's MPS backend, which is not available "
            "here; use device='cpu'."
        )


PRECISIONS = {"float32": None, "bfloat16": torch.bfloat16}
"""The estimators' ``precision`` options and the autocast dtype of each (None:
no autocast)."""


def check_precision(precision, device):
    """A clear ``ValueError`` for a ``precision`` the device cannot run:
    bfloat16 autocast on a GPU without bfloat16, or on a device other than the
    CPU or a CUDA GPU."""
    if PRECISIONS.get(precision) is None or device is None:
        return
    dev = torch.device(device)
    if dev.type not in ("cpu", "cuda"):
        raise ValueError(
            f"precision={precision!r} runs on device='cpu' or 'cuda'; got "
            f"device={device!r}. Use precision='float32' there."
        )
    if dev.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError(
            f"precision={precision!r} needs a GPU with bfloat16 support, which "
            f"device={device!r} lacks (torch.cuda.is_bf16_supported() is "
            "False); use precision='float32'."
        )


def _all_finite(arr, chunk=512):
    """``np.isfinite(arr).all()`` without a boolean copy of all of ``arr``."""
    return all(np.isfinite(arr[i:i + chunk]).all() for i in range(0, len(arr), chunk))


def check_image_shape(image_shape):
    """``(n_channels, height, width)`` from an ``image_shape`` parameter."""
    shape = tuple(image_shape)
    if len(shape) == 2:
        shape = (1, *shape)
    if len(shape) != 3 or not all(_is_int(v) and v > 0 for v in shape):
        raise ValueError(
            "image_shape must be (n_channels, height, width) or (height, width) "
            f"of positive integers; got {image_shape!r}."
        )
    return shape


def _as_4d(arr, image_shape):
    if image_shape is not None:
        shape = check_image_shape(image_shape)  # checked even where unused
    if arr.ndim == 4:
        return arr
    if arr.ndim == 3:
        return arr[:, None]
    if arr.ndim == 2:
        if image_shape is None:
            raise ValueError(
                f"X is 2-D (n_samples, n_features) with n_features = "
                f"{arr.shape[1]}: set image_shape=(n_channels, height, width) "
                "(or (height, width) for one channel) to say how each row is "
                "laid out."
            )
        if int(np.prod(shape)) != arr.shape[1]:
            raise ValueError(
                f"X has {arr.shape[1]} features per row, but image_shape="
                f"{tuple(image_shape)} needs {int(np.prod(shape))}."
            )
        return arr.reshape(len(arr), *shape)
    raise ValueError(
        "X must have shape (n_samples, n_channels, height, width), "
        "(n_samples, height, width) or (n_samples, n_features) with "
        f"image_shape; got an array with {arr.ndim} dimension(s) and shape "
        f"{arr.shape}."
    )


def _file_paths(X):
    """Whether ``X`` is a list, tuple, Series or array of path strings."""
    if (isinstance(X, np.ndarray) and X.dtype.kind not in "OUS") or isinstance(
            X, dict) or hasattr(X, "columns"):  # a DataFrame iterates its columns
        return False
    try:
        first = next(iter(X), None)
    except TypeError:
        return False
    return isinstance(first, (str, os.PathLike))


def check_images(X, *, image_shape=None, min_samples=1, owner="The estimator"):
    """Validate images and return them as a (n, C, H, W) tensor.

    uint8 images are kept as uint8 (scaled per batch); float32 images are
    shared with the caller's array; other floats are converted to float32.
    The caller's object is never written to.

    Parameters
    ----------
    X : array-like or torch.Tensor
        ``(n_samples, n_channels, height, width)``, ``(n_samples, height,
        width)``, or ``(n_samples, n_features)`` with ``image_shape``.
    image_shape : tuple of int, default=None
        How a 2-D ``X`` is laid out.
    min_samples : int, default=1
    owner : str
        Who asks (the estimator's class name), for the error message.

    Returns
    -------
    X : torch.Tensor of shape (n_samples, n_channels, height, width)
        uint8 or float32.
    """
    if isinstance(X, torch.Tensor):
        if X.is_floating_point() and X.dtype not in (torch.float32, torch.float64):
            X = X.float()  # bfloat16, float16: numpy has no such dtype
        arr = X.detach().cpu().numpy()
    elif scipy.sparse.issparse(X):
        raise TypeError(
            "X is a sparse matrix, but sparse input is not supported: images "
            "must be a dense array (use X.toarray())."
        )
    elif isinstance(X, (str, bytes, os.PathLike)) or X is None or _file_paths(X):
        hint = ""
        if X is not None and not isinstance(X, bytes):
            hint = (" It names files: read them first, e.g. X, info = "
                    "sklocalize.datasets.load_images(paths, image_size=64).")
        raise TypeError(
            "X must be an array of images; got an object of type "
            f"{type(X).__name__}.{hint}"
        )
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                "X must be an array of images; could not convert an object of "
                f"type {type(X).__name__} to an array: {exc}"
            ) from exc
    if arr.dtype.kind == "c":
        raise ValueError(
            "Complex data not supported: X must hold real pixel values; got "
            f"dtype {arr.dtype}."
        )
    if arr.dtype.kind not in "fu" or (arr.dtype.kind == "u" and arr.dtype != np.uint8):
        raise TypeError(
            "X must hold float or uint8 pixel values; got dtype "
            f"{arr.dtype}. Convert it, e.g. X.astype(np.float32) for values "
            "already on a 0-1 scale."
        )
    if arr.ndim >= 1 and arr.shape[0] == 0:
        raise ValueError(
            f"X has no images: 0 sample(s) (shape={arr.shape}) while a minimum "
            "of 1 is required."
        )
    if arr.ndim >= 1 and arr.shape[0] < min_samples:
        raise ValueError(
            f"{owner} needs at least {min_samples} samples to fit (batch norm "
            f"cannot train on one image); got n_samples = {arr.shape[0]}."
        )
    if arr.ndim == 2 and arr.shape[1] == 0:
        raise ValueError(
            f"0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
        )
    if arr.dtype.kind == "f" and not _all_finite(arr):
        raise ValueError("X contains NaN or infinite values; images must be finite.")
    arr = _as_4d(arr, image_shape)
    h, w = arr.shape[2:]
    if h < MIN_IMAGE_SIZE or w < MIN_IMAGE_SIZE:
        raise ValueError(
            f"Images must be at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels; "
            f"X has shape (n_samples, n_channels, height, width) = {arr.shape}. "
            "Channels-last images (n, height, width, channels) must be "
            "transposed first: X.transpose(0, 3, 1, 2)."
        )
    if arr.dtype not in (np.float32, np.uint8):
        with np.errstate(over="ignore"):  # the check below says it better
            arr = arr.astype(np.float32)
        if not _all_finite(arr):
            raise ValueError(
                "X has values too large for float32, the precision the networks "
                "work in; images are expected on a 0-1 scale (or uint8)."
            )
    arr = np.ascontiguousarray(arr)
    if not arr.flags.writeable:  # torch refuses read-only memory
        arr = arr.copy()
    return torch.from_numpy(arr)


def final_estimator(estimator):
    """The last step of a Pipeline (or the estimator itself)."""
    while hasattr(estimator, "steps"):
        estimator = estimator.steps[-1][1]
    return estimator


def pixel_scale(X):
    """``"0-1"`` for uint8 images (scaled by 1/255 on the fly) and for float
    images whose values stay within 10 in size (0-1 images, standardized
    ones); ``"0-255"`` for float images beyond (0-255 floats, say). What the
    estimators compare between fit and predict."""
    if X.dtype == torch.uint8:
        return "0-1"
    low, high = torch.aminmax(X)  # no copy of X
    return "0-1" if max(float(high), -float(low)) <= 10 else "0-255"


def check_pixel_scale(scale, fitted_scale, owner):
    """Warn when images at prediction are on another :func:`pixel_scale` than
    at fit: a silent source of wrong answers otherwise."""
    if scale != fitted_scale:
        warnings.warn(
            f"X holds pixel values on a {scale} scale, but this {owner} was "
            f"fitted on images on a {fitted_scale} scale (uint8 images count as "
            "0-1: they are scaled by 1/255); its predictions will be off. Give X "
            "on the scale of fit (uint8, or floats divided by 255).",
            UserWarning, stacklevel=6)


def callback_entries(callbacks):
    """``(entry, callback)`` for each entry of a ``callbacks`` parameter: the
    entry as given and the callback it holds (the second item of a
    ``(name, callback)`` pair)."""
    entries = callbacks if isinstance(callbacks, list) else []
    return [(e, e[1] if isinstance(e, tuple) and len(e) == 2 else e)
            for e in entries]


def check_callback_entries(callbacks):
    """Raise a TypeError for a ``callbacks`` entry that is not a skorch
    callback (instance or class) or a ``(name, callback)`` pair."""
    for entry, callback in callback_entries(callbacks):
        if not (isinstance(callback, Callback) or (
                isinstance(callback, type) and issubclass(callback, Callback))):
            raise TypeError(
                "callbacks must be a list of skorch callbacks or (name, callback) "
                f"pairs; got {entry!r}."
            )


def check_sample_weight(sample_weight, n_samples):
    """Per-image weights as a new float64 array, checked; None passes.

    Parameters
    ----------
    sample_weight : array-like of shape (n_samples,) or None
        Finite, non-negative numbers.
    n_samples : int
        The number of images (rows of ``y``) they weigh.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        A new array (the caller's is not modified).
    """
    if sample_weight is None:
        return None
    expected = (f"an array-like of shape (n_samples,) = ({n_samples},) of finite, "
                "non-negative numbers (one weight per image)")
    if isinstance(sample_weight, (str, bytes)):
        raise TypeError(f"sample_weight must be {expected}; got {sample_weight!r}.")
    if isinstance(sample_weight, torch.Tensor):
        sample_weight = sample_weight.detach().cpu().numpy()
    arr = np.asarray(sample_weight)
    if arr.dtype.kind in "OUS":
        text = next((v for v in arr.ravel() if isinstance(v, (str, bytes))), None)
        if text is not None:
            raise TypeError(f"sample_weight must be numeric; got the string "
                            f"{str(text)!r}.")
    try:
        arr = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"sample_weight must be numeric; got dtype {arr.dtype}.") \
            from None
    if arr.shape != (n_samples,):
        raise ValueError(f"sample_weight must be {expected}; got shape {arr.shape}.")
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        raise ValueError(
            f"sample_weight must be {expected}; got {float(arr[bad[0]])!r} at "
            f"index {bad[0]} ({bad.size} bad weight(s) in all)."
        )
    return arr


# the keywords of torch.load the estimators may pass on (map_location is
# skorch's own; "encoding" is the pickle argument torch documents)
_TORCH_LOAD_KWARGS = ("pickle_module", "weights_only", "mmap", "encoding")


def check_torch_load_kwargs(torch_load_kwargs):
    """Raise a clear error unless ``torch_load_kwargs`` is None or a dict of
    ``torch.load``'s keyword arguments.

    Parameters
    ----------
    torch_load_kwargs : dict or None
    """
    if torch_load_kwargs is None:
        return
    if not isinstance(torch_load_kwargs, dict):
        raise TypeError(
            "torch_load_kwargs must be a dict of torch.load's keyword arguments "
            f"or None; got {type(torch_load_kwargs).__name__}."
        )
    unknown = sorted(map(str, set(torch_load_kwargs) - set(_TORCH_LOAD_KWARGS)))
    if unknown:
        raise ValueError(
            f"torch_load_kwargs has {unknown}, which torch.load does not take "
            f"here; the keys it may hold are {list(_TORCH_LOAD_KWARGS)}."
        )
    weights_only = torch_load_kwargs.get("weights_only", True)
    if not isinstance(weights_only, bool):
        raise TypeError(
            f"torch_load_kwargs['weights_only'] must be True or False; got "
            f"{weights_only!r}."
        )


def validate_images(estimator, X, *, reset):
    """``X`` as a checked (n, C, H, W) tensor for ``estimator``, as
    scikit-learn's ``validate_data`` checks ``X``: at fit (``reset``) the
    images' channels, size and pixel scale are learned into the estimator's
    ``n_channels_``, ``image_size_``, ``n_features_in_`` and
    ``pixel_scale_``; afterwards they are compared with them."""
    _check_feature_names(estimator, X, reset=reset)  # a DataFrame's, as sklearn
    owner = type(estimator).__name__
    Xt = check_images(X, image_shape=estimator.image_shape,
                      min_samples=2 if reset else 1, owner=owner)
    c, h, w = Xt.shape[1:]
    scale = pixel_scale(Xt)
    if reset:
        estimator.n_channels_ = c
        estimator.image_size_ = (h, w)
        estimator.n_features_in_ = c * h * w
        estimator.pixel_scale_ = scale
        return Xt
    check_pixel_scale(scale, getattr(estimator, "pixel_scale_", scale), owner)
    fitted = (estimator._data_attribute("n_channels_"), *estimator.image_size_)
    if (c, h, w) != fitted:
        raise ValueError(
            f"X has images of shape (n_channels, height, width) = {(c, h, w)}, "
            f"but this {owner} was fitted on {fitted}. Resize the images (and "
            "keep the channel count) to match."
        )
    return Xt
