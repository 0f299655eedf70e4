"""Readers for data a user has on disk: images plus box or landmark files."""

import csv
import numbers
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import MIN_IMAGE_SIZE, check_image_size, check_landmark_names
from ..boxes import box_area, box_convert, boxes_to_relative, clip_boxes
from ..targets import LOCALIZATION_COLUMNS


class SkippedRowWarning(UserWarning):
    """A row of an annotation file was skipped (degenerate box, missing file)."""


def _open(path, color, size):
    """Decode, convert and resize one image; return (array CHW uint8, (w, h))."""
    from PIL import Image

    with Image.open(path) as img:
        original = img.size
        img = img.convert("RGB" if color == "rgb" else "L")
        # a plain resize keeps relative coordinates exact (pixel edges map to
        # pixel edges, whatever the aspect ratio)
        img = img.resize((size[1], size[0]), Image.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
    arr = arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)
    return arr, original


def _check_color(color):
    if color not in ("rgb", "gray"):
        raise ValueError(f"color must be 'rgb' or 'gray'; got {color!r}.")


def _float(value, path, line, what):
    try:
        return float(value)
    except ValueError:
        raise ValueError(
            f"{path}, line {line}: {what} must be a number; got {value!r}."
        ) from None


def load_box_csv(csv_file, image_dir, *, image_size=64, color="rgb"):
    """Read a folder of images and a CSV of pixel boxes.

    Parameters
    ----------
    csv_file : str or path-like
        One row per image, ``file,x1,y1,x2,y2,label`` (a header row is
        recognised and skipped): the pixel corners of the one object's box in
        the original image, and its class. A row whose ``label`` is empty or
        ``none`` (and whose box fields are empty) is an image without an
        object.
    image_dir : str or path-like
        Where the ``file`` names are looked up.
    image_size : int or (height, width), default=64
        Every image is resized to this (aspect ratio not kept: boxes are
        relative, so they stay exact).
    color : {"rgb", "gray"}, default="rgb"

    Returns
    -------
    X : ndarray of shape (n_images, 3 or 1, height, width), dtype uint8
    y : DataFrame
        ``p_c, b_x, b_y, b_h, b_w, label`` (the estimators' tidy target) and
        ``file``.

    Warns
    -----
    SkippedRowWarning
        For each row with a degenerate box (zero or negative width or height)
        or a missing image file; the row is skipped.

    Raises
    ------
    ValueError
        A malformed row (wrong number of fields, a non-number), naming the
        file and line.

    Examples
    --------
    >>> from sklocalize.datasets import load_box_csv
    >>> X, y = load_box_csv("boxes.csv", "images/")  # doctest: +SKIP
    """
    size = check_image_size(image_size, min_size=MIN_IMAGE_SIZE)
    _check_color(color)
    csv_file, image_dir = Path(csv_file), Path(image_dir)
    images, rows = [], []
    clipped = 0
    with open(csv_file, newline="") as f:
        for line, fields in enumerate(csv.reader(f), start=1):
            if not fields or all(not v.strip() for v in fields):
                continue
            fields = [v.strip() for v in fields]
            if len(fields) != 6:
                raise ValueError(
                    f"{csv_file}, line {line}: expected 6 fields "
                    f"file,x1,y1,x2,y2,label; got {len(fields)}: {fields!r}."
                )
            name, *coords, label = fields
            if line == 1 and coords[0].lower() in ("x1", "xmin", "left"):
                continue  # header
            absent = label.lower() in ("", "none") and not any(coords)
            if not absent:
                x1, y1, x2, y2 = (_float(v, csv_file, line, c) for v, c in
                                  zip(coords, ("x1", "y1", "x2", "y2")))
                if x2 <= x1 or y2 <= y1:
                    warnings.warn(
                        f"{csv_file}, line {line}: skipped {name}: its box "
                        f"({x1:g}, {y1:g}, {x2:g}, {y2:g}) has zero or negative "
                        "width or height.", SkippedRowWarning, stacklevel=2)
                    continue
            path = image_dir / name
            if not path.is_file():
                warnings.warn(f"{csv_file}, line {line}: skipped {name}: no such "
                              f"file in {image_dir}.", SkippedRowWarning,
                              stacklevel=2)
                continue
            arr, (width, height) = _open(path, color, size)
            if absent:
                rows.append((0, np.nan, np.nan, np.nan, np.nan, None, name))
            else:
                box = boxes_to_relative([x1, y1, x2, y2], (height, width))
                inside = clip_boxes(box)
                clipped += bool(np.any(inside != box))
                if box_area(inside) == 0:
                    warnings.warn(
                        f"{csv_file}, line {line}: skipped {name}: its box lies "
                        "outside the image.", SkippedRowWarning, stacklevel=2)
                    continue
                rows.append((1, *box_convert(inside, "xyxy", "cxcyhw"), label, name))
            images.append(arr)
    if clipped:
        warnings.warn(f"{csv_file}: {clipped} box(es) reached past the image and "
                      "were clipped to it.", SkippedRowWarning, stacklevel=2)
    if not images:
        raise ValueError(f"{csv_file}: no usable row (every row was skipped or the "
                         "file is empty).")
    frame = pd.DataFrame(rows, columns=[*LOCALIZATION_COLUMNS, "label", "file"])
    frame["label"] = frame["label"].astype(object).where(frame["p_c"] == 1, None)
    return np.stack(images), frame


def load_landmark_file(path, image_dir, *, image_size=64, color="rgb",
                       layout="blocks", landmark_names=None, pixel_offset=0.0):
    """Read a folder of images and a text file of pixel landmarks.

    Parameters
    ----------
    path : str or path-like
        One line per image, whitespace-separated: the image file name, then
        the points in pixels of the original image: ``x_1 ... x_L y_1 ...
        y_L`` (``layout="blocks"``, as in MTFL) or ``x_1 y_1 x_2 y_2 ...``
        (``layout="interleaved"``). A coordinate written ``nan`` or ``-1`` marks
        a point that is not visible.
    image_dir : str or path-like
    image_size : int or (height, width), default=64
    color : {"rgb", "gray"}, default="rgb"
    layout : {"blocks", "interleaved"}, default="blocks"
    landmark_names : sequence of str, default=None
        Column names for the points in ``y``.
    pixel_offset : float, default=0.0
        Added to every coordinate of the file before it is divided by the
        image's width or height. The package's relative coordinates are
        continuous: 0 is the left (top) edge of the image and 1 its right
        (bottom) edge, so pixel ``i`` spans ``[i, i + 1)`` and has its centre
        at ``i + 0.5``. Use 0 for coordinates written in that convention,
        0.5 for 0-based pixel indices (integer coordinates at pixel centres),
        -0.5 for 1-based (MATLAB) indices. A wrong convention shifts every
        point by a fraction of a pixel; flip augmentation and ``tta_flip``
        then mirror that shift into an error of twice its size (see the
        user guide, "Pixel coordinates").

    Returns
    -------
    X : ndarray of shape (n_images, 3 or 1, height, width), dtype uint8
    y : DataFrame
        ``p`` (1), the relative points (``x_1, y_1, ...`` or ``<name>_x,
        <name>_y, ...``) and ``file``.

    Warns
    -----
    SkippedRowWarning
        For a missing image file; the line is skipped.

    Raises
    ------
    ValueError
        A malformed line (odd or inconsistent number of coordinates, a
        non-number), naming the file and line.

    Examples
    --------
    >>> from sklocalize.datasets import load_landmark_file
    >>> X, y = load_landmark_file("landmarks.txt", "faces/")  # doctest: +SKIP
    """
    size = check_image_size(image_size, min_size=MIN_IMAGE_SIZE)
    _check_color(color)
    if layout not in ("blocks", "interleaved"):
        raise ValueError(f"layout must be 'blocks' or 'interleaved'; got {layout!r}.")
    if (not isinstance(pixel_offset, numbers.Real) or isinstance(pixel_offset, bool)
            or not np.isfinite(pixel_offset)):
        raise ValueError("pixel_offset must be a finite number of pixels (e.g. 0.5 "
                         f"for 0-based pixel indices); got {pixel_offset!r}.")
    path, image_dir = Path(path), Path(image_dir)
    images, rows, names = [], [], []
    n_points = None
    with open(path) as f:
        for line, text in enumerate(f, start=1):
            fields = text.split()
            if not fields or fields[0].startswith("#"):
                continue
            name, coords = fields[0], fields[1:]
            if len(coords) < 2 or len(coords) % 2:
                raise ValueError(
                    f"{path}, line {line}: expected a file name and an even number "
                    f"of coordinates; got {len(coords)} coordinates."
                )
            if n_points is None:
                n_points = len(coords) // 2
            elif len(coords) != 2 * n_points:
                raise ValueError(
                    f"{path}, line {line}: expected {2 * n_points} coordinates like "
                    f"the lines before; got {len(coords)}."
                )
            values = np.array([_float(v, path, line, "a coordinate") for v in coords])
            values[values == -1] = np.nan
            if layout == "blocks":
                xs, ys = values[:n_points], values[n_points:]
            else:
                xs, ys = values[0::2], values[1::2]
            image = image_dir / name
            if not image.is_file():
                warnings.warn(f"{path}, line {line}: skipped {name}: no such file in "
                              f"{image_dir}.", SkippedRowWarning, stacklevel=2)
                continue
            arr, (width, height) = _open(image, color, size)
            pts = np.column_stack([(xs + pixel_offset) / width,
                                   (ys + pixel_offset) / height])
            pts[~((pts >= 0) & (pts <= 1)).all(axis=1)] = np.nan  # off the image
            images.append(arr)
            rows.append(pts.reshape(-1))
            names.append(name)
    if not images:
        raise ValueError(f"{path}: no usable line.")
    check_landmark_names(landmark_names, n_points, where=str(path))
    if landmark_names is None:
        columns = [c for i in range(1, n_points + 1) for c in (f"x_{i}", f"y_{i}")]
    else:
        columns = [c for nm in landmark_names for c in (f"{nm}_x", f"{nm}_y")]
    frame = pd.DataFrame(np.array(rows), columns=columns)
    frame.insert(0, "p", 1)
    frame["file"] = names
    return np.stack(images), frame
