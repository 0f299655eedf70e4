"""Reading images from disk: upright (EXIF orientation), resized, and with
errors that name the file.

Every reader of the package decodes images here, so that the orientation, the
colour conversion, the resizing and the error messages are the same whether
the images come from an annotation file, a folder or a list of paths.
"""

import os
import struct
import warnings
from pathlib import Path, PurePath
from typing import NamedTuple

import numpy as np
import pandas as pd

from .._validation import MIN_IMAGE_SIZE, check_image_size

IMAGE_EXTENSIONS = (".bmp", ".gif", ".jpeg", ".jpg", ".pgm", ".png", ".ppm", ".tif",
                    ".tiff", ".webp")
"""The file name endings read as images in a folder (compared in lower case)."""

_ORIENTATION = 0x0112  # the EXIF Orientation tag


class SkippedRowWarning(UserWarning):
    """A row of an annotation file or an image was skipped or changed.

    Raised for a degenerate box, a box clipped to the image, an image file that
    is missing or cannot be read (when asked to skip it), and images with
    several objects (when asked to keep one or to skip them).
    """


class _Image(NamedTuple):
    """One decoded image."""

    array: np.ndarray  # (C, H, W) uint8, resized
    width: int  # the original size, upright (after the EXIF orientation)
    height: int
    stored: tuple  # (width, height) as stored in the file, before the orientation
    orientation: int  # the EXIF orientation, 1 (upright) to 8


def check_color(color):
    """Raise unless ``color`` is a colour mode the readers know."""
    if color not in ("rgb", "gray"):
        raise ValueError(f"color must be 'rgb' or 'gray'; got {color!r}.")


def check_on_error(on_error):
    """Raise unless ``on_error`` is ``"raise"`` or ``"skip"``."""
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip'; got {on_error!r}.")


def is_image_file(name):
    """Whether a file name ends in one of :data:`IMAGE_EXTENSIONS`."""
    return os.path.splitext(str(name))[1].lower() in IMAGE_EXTENSIONS


class _Unreadable(ValueError):
    """An image file that cannot be decoded; ``detail`` holds Pillow's error."""

    def __init__(self, path, exc):
        self.path, self.detail = path, f"{type(exc).__name__}: {exc}"
        super().__init__(
            f"Cannot read the image {path}: {self.detail}. Check that the file is "
            "a complete image in a format Pillow reads, or pass on_error='skip' to "
            "leave such images out with a warning."
        )


def open_upright(path, mode):
    """Decode one image, turned upright by its EXIF orientation.

    Returns
    -------
    image : PIL.Image.Image
        The whole image in ``mode`` (``"RGB"`` or ``"L"``), upright.
    stored : tuple of (width, height)
        The size as stored in the file, before the orientation.
    orientation : int
        The EXIF orientation (1 when there is none or it is not valid).

    Raises
    ------
    ValueError
        The file cannot be decoded (not an image, truncated, too large): the
        message names the file and includes Pillow's own error.
    """
    from PIL import Image, ImageOps

    try:
        with Image.open(path) as img:
            stored = img.size
            orientation = img.getexif().get(_ORIENTATION, 1)
            ImageOps.exif_transpose(img, in_place=True)
            image = _eight_bit(img).convert(mode)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error,
            Image.DecompressionBombError) as exc:
        raise _Unreadable(path, exc) from exc
    if orientation not in range(1, 9):
        orientation = 1
    return image, stored, orientation


def _eight_bit(img):
    """``img``, with 16- and 32-bit integer grey levels scaled to 8 bits:
    Pillow's ``convert`` clips them at 255, which turns a 16-bit photo
    white."""
    from PIL import Image

    if not img.mode.startswith("I"):
        return img
    levels = np.asarray(img, dtype=np.float64)
    # 16-bit files, whatever mode Pillow gives them; 8-bit values kept
    top = 255.0 if levels.max(initial=0) <= 255 else 65535.0
    scaled = np.clip(np.round(levels * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L")


def resize_to_array(image, size):
    """A PIL image resized to ``size`` (height, width), as a (C, H, W) uint8
    array. A plain resize keeps relative coordinates exact: pixel edges map to
    pixel edges, whatever the aspect ratio."""
    from PIL import Image

    arr = np.asarray(image.resize((size[1], size[0]), Image.BILINEAR),
                     dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else np.moveaxis(arr, -1, 0)


def read_image(path, color, size):
    """Decode, turn upright, convert and resize one image.

    Returns
    -------
    image : _Image
        Raises ``ValueError`` (see :func:`open_upright`) if it cannot be read.
    """
    image, stored, orientation = open_upright(path, "RGB" if color == "rgb" else "L")
    width, height = image.size
    return _Image(resize_to_array(image, size), width, height, stored, orientation)


def read_or_skip(path, color, size, on_error, notes, where=None):
    """:func:`read_image`, or None with a note when ``on_error="skip"``."""
    try:
        return read_image(path, color, size)
    except _Unreadable as exc:
        if on_error == "raise":
            if where is None:
                raise
            raise ValueError(f"{where}: {exc}") from exc.__cause__
        notes.append(f"{where + ': ' if where else ''}skipped {path}: it cannot be "
                     f"read ({exc.detail}).")
        return None


def image_path(folder, name, where, allow_outside):
    """The path of the image ``name`` (as written in an annotation file) in
    ``folder``; a name that leaves the folder is refused unless allowed."""
    if not name:
        raise ValueError(f"{where}: no image file name.")
    normal = os.path.normpath(name)
    outside = (PurePath(name).anchor != "" or os.path.isabs(name)
               or normal == os.pardir or normal.startswith(os.pardir + os.sep))
    if outside and not allow_outside:
        raise ValueError(
            f"{where}: the image path {name!r} leaves the image folder {folder} "
            "(an absolute path, or one through '..'). Move the image into the "
            "folder, or pass allow_outside=True if you trust the annotation file."
        )
    return Path(folder) / name


def find_image(folder, stem):
    """The name of an image called ``stem`` plus an image extension in
    ``folder``, or None."""
    for ext in IMAGE_EXTENSIONS:
        for suffix in (ext, ext.upper()):
            if (Path(folder) / (stem + suffix)).is_file():
                return stem + suffix
    return None


def image_files(folder):
    """The image files directly in ``folder``, sorted by name."""
    return sorted(entry.name for entry in os.scandir(folder)
                  if entry.is_file() and is_image_file(entry.name))


def flush(notes, stacklevel=3):
    """Issue the collected notes as :class:`SkippedRowWarning` s, in order.

    The readers collect their warnings and issue them from the public
    function, so that each points at the caller's line.
    """
    for message in notes:
        warnings.warn(message, SkippedRowWarning, stacklevel=stacklevel)
    notes.clear()


def load_images(paths_or_folder, *, image_size=64, color="rgb", on_error="raise"):
    """Read images from a folder or a list of paths, upright and resized.

    Each image is turned upright by its EXIF orientation (as a photo viewer
    shows it), converted and resized to ``image_size`` without keeping its
    aspect ratio (relative coordinates on it stay exact).

    Parameters
    ----------
    paths_or_folder : str, path-like or sequence of them
        A folder, whose image files (those ending in one of the usual image
        extensions, compared in lower case; sub-folders are not entered) are
        read in the order of their sorted names; or the paths of the images,
        read in the order given (one path: that image).
    image_size : int or (height, width), default=64
        Every image is resized to this; 64 pixels is the estimators' usual
        input, enough for one object per image.
    color : {"rgb", "gray"}, default="rgb"
        Three colour channels, or one grey channel; colour is the default
        because most photos are in colour and it costs the networks little.
    on_error : {"raise", "skip"}, default="raise"
        What to do with a file that cannot be read (missing, not an image,
        truncated): raise a ``ValueError`` that names it (the default, so that
        a broken file is noticed), or leave it out with a
        :class:`SkippedRowWarning`.

    Returns
    -------
    X : ndarray of shape (n_images, 3 or 1, height, width), dtype uint8
        The images.
    info : DataFrame
        One row per image of ``X``: ``file`` (the file name in the folder, or
        the path as given), and ``width`` and ``height``, the original size in
        pixels after the EXIF orientation.

    Raises
    ------
    ValueError
        A file that cannot be read (with ``on_error="raise"``; the message
        names the file and includes Pillow's own error), or no image at all.

    See Also
    --------
    load_boxes : Images with their box annotations.
    load_landmarks : Images with their landmark annotations.

    Examples
    --------
    >>> from sklocalize.datasets import load_images
    >>> X, info = load_images("photos/", image_size=64)  # doctest: +SKIP
    >>> X.shape, list(info.columns)  # doctest: +SKIP
    ((12, 3, 64, 64), ['file', 'width', 'height'])
    """
    size = check_image_size(image_size, min_size=MIN_IMAGE_SIZE)
    check_color(color)
    check_on_error(on_error)
    if isinstance(paths_or_folder, (str, os.PathLike)):
        source = Path(paths_or_folder)
        if source.is_dir():
            names = image_files(source)
            if not names:
                raise ValueError(
                    f"{source} holds no image file (none ends in "
                    f"{', '.join(IMAGE_EXTENSIONS)})."
                )
            paths = [source / name for name in names]
        else:
            names, paths = [str(source)], [source]
    else:
        paths = [Path(p) for p in paths_or_folder]
        names = [str(p) for p in paths_or_folder]
        if not paths:
            raise ValueError("paths_or_folder is an empty sequence; give at least "
                             "one image path or a folder.")
    notes, arrays, rows = [], [], []
    try:
        for name, path in zip(names, paths):
            if not path.is_file():
                if on_error == "raise":
                    raise ValueError(f"No such image file: {path}. Pass "
                                     "on_error='skip' to leave missing files out "
                                     "with a warning.")
                notes.append(f"skipped {path}: no such file.")
                continue
            image = read_or_skip(path, color, size, on_error, notes)
            if image is not None:
                arrays.append(image.array)
                rows.append((name, image.width, image.height))
    finally:
        flush(notes)
    if not arrays:
        raise ValueError("No image could be read: every file was skipped.")
    info = pd.DataFrame(rows, columns=["file", "width", "height"])
    return np.stack(arrays), info
