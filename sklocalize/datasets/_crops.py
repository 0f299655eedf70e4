"""Images without an object, cut from the background beside the boxes."""

import numbers
import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ..targets import LOCALIZATION_COLUMNS
from ._images import open_upright, resize_to_array

_BOX = ["b_x", "b_y", "b_h", "b_w"]


def _window(box, width, height, min_scale, margin=0):
    """The widest window with the image's aspect ratio in the background left
    of, right of, above or below the box (relative ``cxcyhw``, widened by
    ``margin`` pixels), centred in that strip, as ``(x, y, w, h)`` in the
    image's pixels; None if none is at least ``min_scale`` of the image wide."""
    bx, by, bh, bw = box
    x1, x2 = (bx - bw / 2) * width - margin, (bx + bw / 2) * width + margin
    y1, y2 = (by - bh / 2) * height - margin, (by + bh / 2) * height + margin
    regions = [(0, 0, x1, height), (x2, 0, width, height), (0, 0, width, y1),
               (0, y2, width, height)]
    aspect = width / height
    best = None
    for rx1, ry1, rx2, ry2 in regions:
        rw, rh = rx2 - rx1, ry2 - ry1
        w = min(rw, rh * aspect)
        h = w / aspect
        if w >= min_scale * width and (best is None or w > best[2]):
            cx, cy = (rx1 + rx2) / 2, (ry1 + ry2) / 2
            best = (cx - w / 2, cy - h / 2, w, h)
    return best


def _resize_channels(arr, size):
    """A (C, h, w) array resized channel by channel to ``size`` (bilinear)."""
    from PIL import Image

    out = np.empty((arr.shape[0], *size), dtype=arr.dtype)
    for c, channel in enumerate(arr):
        img = Image.fromarray(channel if arr.dtype == np.uint8
                              else channel.astype(np.float32))
        resized = np.asarray(img.resize((size[1], size[0]), Image.BILINEAR))
        out[c] = np.round(resized) if arr.dtype.kind in "iub" else resized
    return out


def _check_share(value, name, low_open):
    ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
          and (0 < value <= 1 if low_open else 0 <= value <= 1))
    if not ok:
        raise ValueError(f"{name} must be a number in {'(0' if low_open else '[0'}, "
                         f"1]; got {value!r}.")
    return float(value)


def _sources(images, y, n):
    """The photo of each row of ``y``, or None to crop from ``X``."""
    if images is None:
        return None
    if isinstance(images, (str, os.PathLike)):
        if "file" not in y.columns:
            raise ValueError(
                "images= as a folder needs a 'file' column in y (the image names "
                "load_boxes returns); give the list of paths instead."
            )
        return [Path(images) / str(f) for f in y["file"]]
    paths = [Path(p) for p in images]
    if len(paths) != n:
        raise ValueError(f"images must give one path per row of y ({n}); got "
                         f"{len(paths)}.")
    return paths


def background_crops(X, y, *, images=None, share=0.2, min_scale=0.25,
                     random_state=None):
    """Images without an object, cut from the background beside the boxes.

    For data sets where every image holds an object, the estimators' presence
    head needs images without one (``p_c = 0``). From some of the images with
    a box, this cuts the widest window that lies wholly left of, right of,
    above or below the box (never overlapping it), with the image's aspect
    ratio and centred in that strip, and resizes it to the size of ``X``.

    Parameters
    ----------
    X : ndarray of shape (n_images, n_channels, height, width)
        The images, as :func:`load_boxes` returns them (or any image array):
        the crops have their size, channels and dtype, and are cut from them
        when ``images`` is None.
    y : DataFrame
        The tidy target of ``X`` (``p_c, b_x, b_y, b_h, b_w``, as
        :func:`load_boxes` returns it). Only rows with ``p_c = 1`` and a box
        give crops, and, where ``y`` has the column ``n_objects``, only images
        that hold one object: a crop beside the one box kept of several could
        hold another object and teach the presence head that it is
        background.
    images : str, path-like or sequence of them, default=None
        Where to cut the crops. None cuts them from ``X``, two pixels away
        from the box, whose edges the resizing blurred: quick, but a crop of a
        resized image is blurred when it is enlarged back to full size. A
        folder cuts them from the original photos ``images / y["file"]`` (the
        folder given to :func:`load_boxes`), a sequence of paths (one per row
        of ``y``) from those photos: sharper crops, at the cost of decoding
        each photo again. Photos are turned upright by their EXIF orientation,
        as :func:`load_boxes` does, and ``X`` must then be uint8.
    share : float in [0, 1], default=0.2
        How many crops to make, as a share of the rows of ``y`` (rounded): one
        image in five is a common share of negatives, enough for the presence
        head without drowning the boxes.
    min_scale : float in (0, 1], default=0.25
        The smallest crop, as a share of the image's sides; a row whose box
        leaves no strip that wide is passed over. A quarter keeps crops from
        being slivers of texture that look like nothing in the data.
    random_state : int, RandomState instance or None, default=None
        Which rows give crops: they are tried in the order of a random
        permutation of the rows until there are enough. An int makes the
        choice reproducible.

    Returns
    -------
    X_bg : ndarray of shape (n_crops, n_channels, height, width)
        The crops, of the dtype of ``X``.
    y_bg : DataFrame
        One row per crop: ``p_c = 0``, a NaN box and label None; ``file`` if
        ``y`` has it (the image the crop was cut from); ``width`` and
        ``height`` if ``y`` has them (the crop's size in the original image's
        pixels). Its index is the index of the row of ``y`` each crop was cut
        from: concatenate with ``pd.concat([y, y_bg], ignore_index=True)``.

    Warns
    -----
    UserWarning
        Fewer rows than asked for leave room for a crop.

    Raises
    ------
    ValueError
        ``X`` and ``y`` of different lengths, a box column missing, a photo
        that cannot be read (naming it).

    See Also
    --------
    load_boxes : Images and their box annotations.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from sklocalize.datasets import background_crops, make_localization
    >>> X, y = make_localization(n_samples=20, image_size=32, empty_fraction=0,
    ...                          size_range=(0.3, 0.4), random_state=0,
    ...                          as_frame=True)
    >>> X_bg, y_bg = background_crops(X, y, share=0.5, random_state=0)
    >>> X_bg.shape, y_bg["p_c"].unique().tolist()
    ((10, 1, 32, 32), [0])
    >>> X_all = np.concatenate([X, X_bg])
    >>> y_all = pd.concat([y, y_bg], ignore_index=True)

    From the original photos, sharper (``photos/`` as given to
    :func:`load_boxes`):

    >>> from sklocalize.datasets import load_boxes
    >>> X, y = load_boxes("boxes.csv", "photos/")  # doctest: +SKIP
    >>> X_bg, y_bg = background_crops(X, y, images="photos/",
    ...                               random_state=0)  # doctest: +SKIP
    """
    X = np.asarray(X)
    if X.ndim != 4:
        raise ValueError("X must be images of shape (n_images, n_channels, height, "
                         f"width); got an array of shape {X.shape}.")
    if not isinstance(y, pd.DataFrame):
        raise TypeError("y must be the tidy target DataFrame (p_c, b_x, b_y, b_h, "
                        f"b_w, ...) that load_boxes returns; got {type(y).__name__}.")
    missing = [c for c in ("p_c", *_BOX) if c not in y.columns]
    if missing:
        raise ValueError(f"y must have the columns p_c, b_x, b_y, b_h, b_w; missing "
                         f"{missing}.")
    if len(X) != len(y):
        raise ValueError(f"X and y must have one row per image; got {len(X)} images "
                         f"and {len(y)} rows.")
    share = _check_share(share, "share", low_open=False)
    min_scale = _check_share(min_scale, "min_scale", low_open=True)
    paths = _sources(images, y, len(y))
    n_channels, size = X.shape[1], X.shape[2:]
    if paths is not None:
        if X.dtype != np.uint8 or n_channels not in (1, 3):
            raise ValueError(
                "Crops from the photos (images=...) are uint8 RGB or grey images: "
                "X must be uint8 with 3 or 1 channels, as load_boxes returns it; "
                f"got {X.dtype} with {n_channels} channels."
            )
        mode = "RGB" if n_channels == 3 else "L"
    present = y["p_c"].to_numpy(dtype=float) == 1
    boxes = y[_BOX].to_numpy(dtype=float)
    usable = present & np.isfinite(boxes).all(axis=1)
    if "n_objects" in y.columns:  # the other objects' boxes are not in y
        usable &= ~(y["n_objects"].to_numpy(dtype=float) > 1)
    has_size = {"width", "height"} <= set(y.columns)

    rng = check_random_state(random_state)
    order = rng.permutation(len(y))
    want = int(round(share * len(y)))
    crops, picked, sizes = [], [], []
    for i in order:
        if len(crops) >= want:
            break
        if not usable[i]:
            continue
        if paths is None:
            height, width = X.shape[2:]
        else:
            photo, _, _ = open_upright(paths[i], mode)
            width, height = photo.size
        # resizing blurred the box's edges in X over about a pixel: keep two
        # pixels away from it there (a photo is cut as it is)
        window = _window(boxes[i], width, height, min_scale,
                         margin=2 if paths is None else 0)
        if window is None:
            continue
        x, y0, w, h = window
        left, top, right, bottom = int(x), int(y0), int(x + w), int(y0 + h)
        if paths is None:
            crops.append(_resize_channels(X[i][:, top:bottom, left:right], size))
            if has_size:  # the crop's size in the original image's pixels
                sizes.append((round((right - left) / width * y["width"].iloc[i]),
                              round((bottom - top) / height * y["height"].iloc[i])))
        else:
            crops.append(resize_to_array(photo.crop((left, top, right, bottom)),
                                         size))
            sizes.append((right - left, bottom - top))
        picked.append(i)
    if len(crops) < want:
        warnings.warn(
            f"Only {len(crops)} of the {want} crops asked for could be cut: the "
            f"other rows have no box, hold several objects, or have no "
            f"background strip at least min_scale={min_scale:g} of the image "
            "wide and high beside the box.",
            UserWarning, stacklevel=2)

    y_bg = pd.DataFrame({"p_c": np.zeros(len(picked), dtype=int)},
                        index=y.index[picked])
    for column in LOCALIZATION_COLUMNS[1:]:
        y_bg[column] = np.nan
    y_bg["label"] = pd.Series([None] * len(picked), index=y_bg.index, dtype=object)
    if "file" in y.columns:
        y_bg["file"] = y["file"].to_numpy()[picked]
    if has_size:
        y_bg["width"] = [w for w, _ in sizes]
        y_bg["height"] = [h for _, h in sizes]
    X_bg = (np.stack(crops) if crops
            else np.empty((0, n_channels, *size), dtype=X.dtype))
    return X_bg.astype(X.dtype, copy=False), y_bg
