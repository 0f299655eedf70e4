"""Readers for data a user has on disk: images plus box or landmark files.

:func:`load_boxes` reads Pascal VOC, COCO, YOLO and CSV box annotations,
:func:`load_landmarks` landmark text and CSV files; both return the images as
one uint8 array and the tidy target the estimators take, with the file and the
original size of each image. The parsers of the formats live in
``_annotations.py``, the decoding of images in ``_images.py``.
"""

import numbers
import os
from pathlib import Path

import numpy as np
import pandas as pd

from .._docs import fill_docstring
from .._validation import MIN_IMAGE_SIZE, check_image_size, check_landmark_names
from ..boxes import box_area, box_convert, boxes_to_relative, clip_boxes
from ..targets import LOCALIZATION_COLUMNS
from ._annotations import (
    CLASS_NAME_FILES,
    Entry,
    parse_box_csv,
    parse_coco,
    parse_landmark_csv,
    parse_landmark_text,
    parse_voc,
    parse_yolo,
    yolo_image_folder,
)
from ._images import (
    SkippedRowWarning,
    check_color,
    check_on_error,
    flush,
    image_path,
    is_image_file,
    read_or_skip,
)

__all__ = ["SkippedRowWarning", "load_boxes", "load_landmarks"]

BOX_FILE_FORMATS = ("auto", "voc", "coco", "yolo", "csv")
LANDMARK_FILE_FORMATS = ("auto", "text", "csv")
MULTIPLE = ("error", "largest", "skip")

# The reader parameters that several readers share, written once: a docstring
# holds ``%(name)s`` where each goes (filled in by ``_docs.fill_docstring``).
_SHARED = {
    "image_size": """\
    image_size : int or (height, width), default=64
        Every image is resized to this, without keeping its aspect ratio (the
        coordinates are relative, so they stay exact); 64 pixels is the
        estimators' usual input, enough for one object per image.""",
    "color": """\
    color : {"rgb", "gray"}, default="rgb"
        Three colour channels, or one grey channel; colour is the default
        because most photos are in colour and it costs the networks little.""",
    "on_error": """\
    on_error : {"raise", "skip"}, default="raise"
        What to do with an image file that cannot be decoded (not an image,
        truncated): raise a ``ValueError`` that names it (the default, so that
        a broken file is noticed), or leave it out with a
        :class:`SkippedRowWarning`. A file that does not exist is always left
        out with a warning naming the line, as a partial copy of a data set
        is common.""",
    "allow_outside": """\
    allow_outside : bool, default=False
        Whether an image path in the annotation file may leave the image
        folder (an absolute path, or one through ``..``). Refused by default,
        with a ``ValueError`` naming the line, so that an annotation file
        cannot make the reader open files elsewhere.""",
    "layout": """\
    layout : {"blocks", "interleaved"}, default="blocks"
        Text files only: the order of the coordinates after the file name,
        ``x_1 ... x_L y_1 ... y_L`` (as in MTFL, the default) or ``x_1 y_1
        x_2 y_2 ...``.""",
    "pixel_offset": """\
    pixel_offset : float, default=0.0
        Added to every pixel coordinate of the file before it is divided by
        the image's width or height. The package's relative coordinates are
        continuous: 0 is the left (top) edge of the image and 1 its right
        (bottom) edge, so pixel ``i`` spans ``[i, i + 1)`` and has its centre
        at ``i + 0.5``. Use 0 (the default) for coordinates written in that
        convention, 0.5 for 0-based pixel indices (integer coordinates at
        pixel centres), -0.5 for 1-based (MATLAB) indices. A wrong convention
        shifts every point by a fraction of a pixel; flip augmentation and
        ``tta_flip`` then mirror that shift into an error of twice its size
        (see the user guide, "Pixel coordinates").""",
}


_shared_docs = fill_docstring(**_SHARED)


def _check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}; "
                         f"got {value!r}.")


def _check_bool(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be True or False; got {value!r}.")


def _exists(annotations):
    path = Path(annotations)
    if not path.exists():
        raise ValueError(f"No such annotation file or folder: {path}.")
    return path


# --------------------------------------------------------------------------
# formats and image folders


def _box_format(path, format):
    """The format of ``path`` and the path to parse (a VOC root folder gives
    its ``Annotations`` folder)."""
    if format != "auto":
        return format, path
    if path.is_dir():
        if (path / "Annotations").is_dir():
            return "voc", path / "Annotations"
        suffixes = {p.suffix.lower() for p in path.iterdir()
                    if p.is_file() and p.name not in CLASS_NAME_FILES}
        if ".xml" in suffixes and ".txt" not in suffixes:
            return "voc", path
        if ".txt" in suffixes and ".xml" not in suffixes:
            return "yolo", path
        raise ValueError(
            f"Cannot tell the format of the folder {path}: expected .xml files "
            "(Pascal VOC) or .txt files (YOLO), not both or neither. Pass "
            "format='voc' or format='yolo'."
        )
    by_suffix = {".xml": "voc", ".json": "coco", ".txt": "yolo", ".csv": "csv"}
    fmt = by_suffix.get(path.suffix.lower())
    if fmt is None:
        raise ValueError(
            f"Cannot tell the format of {path} from its extension (.xml: Pascal "
            "VOC, .json: COCO, .txt: YOLO, .csv: CSV). Pass format= one of "
            f"{', '.join(map(repr, BOX_FILE_FORMATS[1:]))}."
        )
    return fmt, path


def _has_images(folder):
    return folder.is_dir() and any(is_image_file(p.name) for p in folder.iterdir())


def _image_folder(fmt, path):
    """Where the images are when the user does not say."""
    base = path if path.is_dir() else path.parent
    if fmt == "voc":
        jpeg = base.parent / "JPEGImages"
        return jpeg if not _has_images(base) and jpeg.is_dir() else base
    if fmt == "yolo":
        return yolo_image_folder(path)
    return base


# --------------------------------------------------------------------------
# one object per image


def _merge_same_photo(entries, notes):
    """One entry per photo: entries that name the same file (two COCO image
    records, two VOC files) become one with the objects of both, so that
    ``multiple=`` sees them together (one note counts them)."""
    merged, first = [], {}
    for entry in entries:
        key = os.path.normcase(os.path.normpath(entry.name))
        if key not in first:
            first[key] = entry
            merged.append(entry)
            continue
        kept = first[key]
        if entry.size is not None and kept.size is not None and entry.size != kept.size:
            raise ValueError(
                f"{entry.where} and {kept.where} both annotate {entry.name}, with "
                f"different sizes ({kept.size[0]:g}x{kept.size[1]:g} and "
                f"{entry.size[0]:g}x{entry.size[1]:g}); keep one of them.")
        kept.objects = kept.objects + entry.objects
        kept.n_crowd += entry.n_crowd
        kept.size = kept.size or entry.size
    if len(merged) < len(entries):
        notes.append(f"{len(entries) - len(merged)} annotation record(s) name a "
                     "photo another record names too: their objects were read as "
                     "that photo's.")
    return merged


def _drop_degenerate(entries, notes):
    """Leave out boxes of zero or negative width or height (with a note). An
    image all of whose boxes are left out is left out too: it is not an image
    without an object."""
    kept = []
    for entry in entries:
        degenerate = [o.box is not None
                      and (o.box[2] <= o.box[0] or o.box[3] <= o.box[1])
                      for o in entry.objects]
        good = [o for o, bad in zip(entry.objects, degenerate) if not bad]
        for obj, bad in zip(entry.objects, degenerate):
            if bad:
                what = (entry.name if len(entry.objects) == 1
                        else f"a box of {entry.name}")
                notes.append(f"{obj.where}: skipped {what}: its box ({obj.written}) "
                             "has zero or negative width or height.")
        if entry.objects and not good:
            continue
        entry.objects = good
        kept.append(entry)
    return kept


def _box_size(obj):
    if obj.box is None:
        return -1.0  # a box that was not annotated loses to any box
    x1, y1, x2, y2 = obj.box
    return (x2 - x1) * (y2 - y1)


def _spread(points):
    """The area of the box around the visible points."""
    visible = points[~np.isnan(points).any(axis=1)]
    if not len(visible):
        return -1.0
    return float(np.prod(visible.max(axis=0) - visible.min(axis=0)))


def _one_per_image(source, entries, multiple, size, notes, what="objects"):
    """Apply the ``multiple`` policy to images with several objects; each
    entry records how many it had (``n_objects``)."""
    for entry in entries:
        entry.n_objects = len(entry.objects) + entry.n_crowd
    several = [e for e in entries if len(e.objects) > 1]
    if not several:
        return entries
    if multiple == "error":
        first = several[0]
        raise ValueError(
            f"{first.where}: {first.name} holds {len(first.objects)} {what}, and "
            f"{len(several)} image(s) of {source} hold more than one. The "
            "estimators localize one per image: read it with multiple='largest' "
            "to keep the largest of each image, or multiple='skip' to leave such "
            "images out."
        )
    if multiple == "largest":
        for entry in several:
            entry.objects = [max(entry.objects, key=size)]
        notes.append(f"{source}: {len(several)} image(s) hold several {what}; kept "
                     "the largest of each (multiple='largest').")
        return entries
    notes.append(f"{source}: skipped {len(several)} image(s) that hold several "
                 f"{what} (multiple='skip').")
    return [e for e in entries if len(e.objects) <= 1]


# --------------------------------------------------------------------------
# recorded sizes and the EXIF orientation

# Where EXIF orientation k sends a point (u, v) of the stored image, in
# relative coordinates of the upright one (PIL.ImageOps.exif_transpose).
_UPRIGHT = {
    1: lambda u, v: (u, v),
    2: lambda u, v: (1 - u, v),
    3: lambda u, v: (1 - u, 1 - v),
    4: lambda u, v: (u, 1 - v),
    5: lambda u, v: (v, u),
    6: lambda u, v: (1 - v, u),
    7: lambda u, v: (1 - v, 1 - u),
    8: lambda u, v: (v, 1 - u),
}


def _upright_box(box, orientation):
    """A relative xyxy box of the stored image, in the upright image."""
    (a, b), (c, d) = (_UPRIGHT[orientation](box[0], box[1]),
                      _UPRIGHT[orientation](box[2], box[3]))
    return np.array([min(a, c), min(b, d), max(a, c), max(b, d)])


def _pixel_frame(entry, image):
    """The size the entry's pixel boxes refer to, and how: ``"upright"``,
    ``"stored"`` (annotated before the EXIF orientation) or ``"scaled"``."""
    upright = (image.width, image.height)
    if entry.size is None or entry.size == upright:
        return upright, "upright"
    width, height = entry.size
    if entry.size == image.stored:
        return image.stored, "stored"
    scale = width / image.width
    if abs(height - scale * image.height) <= max(1.0, scale):
        return entry.size, "scaled"
    raise ValueError(
        f"{entry.where}: the annotation records the size {width:g}x{height:g} "
        f"(width x height) for {entry.name}, but the image is "
        f"{image.width}x{image.height} (upright; stored "
        f"{image.stored[0]}x{image.stored[1]}), not even at another scale. Correct "
        "the size in the annotation, or the image."
    )


def _read_boxes(annotations, images, *, format, image_size, multiple, color, classes,
                on_error, allow_outside, notes):
    size = check_image_size(image_size, min_size=MIN_IMAGE_SIZE)
    check_color(color)
    check_on_error(on_error)
    _check_choice(format, "format", BOX_FILE_FORMATS)
    _check_choice(multiple, "multiple", MULTIPLE)
    _check_bool(allow_outside, "allow_outside")
    source = _exists(annotations)
    fmt, path = _box_format(source, format)
    if fmt in ("coco", "csv") and path.is_dir():
        raise ValueError(f"format={fmt!r} reads one file; {path} is a folder.")
    if classes is not None and fmt != "yolo":
        raise ValueError(f"classes= names the class numbers of YOLO labels; {fmt} "
                         "annotations name their classes themselves.")
    folder = Path(images) if images is not None else _image_folder(fmt, path)
    if fmt == "yolo":
        if not folder.is_dir():
            raise ValueError(f"No such image folder: {folder}.")
        entries = parse_yolo(path, folder, classes, notes)
    elif fmt == "voc":
        entries = parse_voc(path, folder)
    elif fmt == "coco":
        entries = parse_coco(path, notes)
    else:
        entries = parse_box_csv(path)
    entries = _merge_same_photo(entries, notes)
    entries = _drop_degenerate(entries, notes)
    entries = _one_per_image(source, entries, multiple, _box_size, notes)

    arrays, rows = [], []
    counts = {"clipped": 0, "stored": 0, "scaled": 0}
    for entry, image in _read_entries(entries, folder, allow_outside, color, size,
                                      on_error, notes):
        row = _box_row(entry, image, fmt == "yolo", counts, notes)
        if row is not None:
            arrays.append(image.array)
            rows.append((*row, entry.name, image.width, image.height,
                         entry.n_objects))
    if counts["clipped"]:
        notes.append(f"{source}: {counts['clipped']} box(es) reached past the image "
                     "and were clipped to it.")
    if counts["stored"]:
        notes.append(
            f"{source}: {counts['stored']} image(s) were annotated as stored, before "
            "their EXIF orientation (the annotation records the stored size); "
            "their boxes were turned upright with the image.")
    if counts["scaled"]:
        notes.append(
            f"{source}: {counts['scaled']} image(s) have another size than the one "
            "the annotation records, with the same aspect ratio; their boxes were "
            "read relative to the recorded size (the image was resized after it "
            "was annotated).")
    if not arrays:
        raise ValueError(f"{source}: no usable image (every row was skipped or the "
                         "file is empty).")
    frame = pd.DataFrame(rows, columns=[*LOCALIZATION_COLUMNS, "label", "file",
                                        "width", "height", "n_objects"])
    frame["label"] = frame["label"].astype(object).where(frame["p_c"] == 1, None)
    return np.stack(arrays), frame


def _box_row(entry, image, relative, counts, notes):
    """``(p_c, b_x, b_y, b_h, b_w, label)`` of one image, or None to skip it."""
    if not entry.objects:
        return 0, np.nan, np.nan, np.nan, np.nan, None
    obj = entry.objects[0]
    if obj.box is None:
        return 1, np.nan, np.nan, np.nan, np.nan, obj.label
    if relative:
        box = np.asarray(obj.box, dtype=float)
    else:
        (width, height), frame = _pixel_frame(entry, image)
        box = boxes_to_relative(list(obj.box), (height, width))
        if frame == "stored":
            box = _upright_box(box, image.orientation)
        counts[frame] = counts.get(frame, 0) + 1
    inside = clip_boxes(box)
    # past the edge by more than the rounding of the file's digits (YOLO
    # writes 6 decimals: 1.0000005 is the edge)
    counts["clipped"] += bool(np.any(np.abs(inside - box) > 1e-5))
    if box_area(inside) == 0:
        notes.append(f"{obj.where}: skipped {entry.name}: its box lies outside the "
                     "image.")
        return None
    return (1, *box_convert(inside, "xyxy", "cxcyhw"), obj.label)


def _read_entries(entries, folder, allow_outside, color, size, on_error, notes):
    """Each entry with its image read from ``folder``; an entry whose file is
    missing (one note counts them), or unreadable with ``on_error="skip"``,
    is left out. None of the files there is an error: the wrong folder."""
    files = [image_path(folder, entry.name, entry.where, allow_outside)
             for entry in entries]
    missing = [entry.name for entry, file in zip(entries, files)
               if not file.is_file()]
    if missing and len(missing) == len(entries):
        raise ValueError(
            f"0 of the {len(entries)} image files the annotations name are in "
            f"{folder} (the first: {missing[0]}); pass the folder that holds "
            "them as images='DIR'.")
    if missing:
        shown = ", ".join(missing[:3]) + (", ..." if len(missing) > 3 else "")
        notes.append(f"{folder}: skipped {len(missing)} of the {len(entries)} "
                     f"images the annotations name, not found there ({shown}).")
    for entry, file in zip(entries, files):
        if not file.is_file():
            continue
        image = read_or_skip(file, color, size, on_error, notes, entry.where)
        if image is not None:
            yield entry, image


@_shared_docs
def load_boxes(annotations, images=None, *, format="auto", image_size=64,
               multiple="error", color="rgb", classes=None, on_error="raise",
               allow_outside=False):
    """Read images and their box annotations: Pascal VOC, COCO, YOLO or CSV.

    Each image becomes one row of the tidy localization target: its one object
    (class and box) or no object. Images are turned upright by their EXIF
    orientation, as photo viewers and annotation tools show them, and
    resized.

    Every format's coordinates are converted to the package's: relative,
    continuous coordinates, where 0 is the left (top) edge of the image and 1
    its right (bottom) edge, so pixel ``i`` of a ``W``-pixel row spans
    ``[i / W, (i + 1) / W)``. From each format:

    - **CSV**: the corners ``x1, y1, x2, y2`` are continuous pixel
      coordinates: ``0, 0, W, H`` is the whole image, ``0, 0, 1, 1`` its top-left
      pixel.
    - **Pascal VOC**: ``xmin, ymin, xmax, ymax`` are 1-based, inclusive pixel
      indices (the devkit's convention): ``xmin = 1`` is the first pixel
      column, ``1, 1, W, H`` the whole image, and ``x1 = (xmin - 1) / W``,
      ``x2 = xmax / W``.
    - **COCO**: ``bbox = [x, y, width, height]`` in continuous, 0-based
      pixels: ``[0, 0, W, H]`` is the whole image.
    - **YOLO**: ``x_center y_center width height``, already relative.

    A box reaching past the image is clipped to it (one
    :class:`SkippedRowWarning` counts them); a box of zero or negative width
    or height, or one wholly outside the image, is left out with a
    :class:`SkippedRowWarning` naming its line.

    Parameters
    ----------
    annotations : str or path-like
        The annotations, whose format ``format`` names:

        - ``"voc"``: one Pascal VOC ``.xml`` file, a folder of them, or a VOC
          root folder holding ``Annotations/``. ``<filename>`` names the image
          (without an extension, or absent, the image with the XML file's
          name is looked for); every ``<object>`` is an object.
        - ``"coco"``: a COCO ``.json`` file; the label is the category's name.
        - ``"yolo"``: a folder of YOLO ``.txt`` label files, one per image, or
          one such file. Every image of the image folder is read, in the order
          of the sorted names: one without a label file, or with an empty one,
          holds no object (as in ultralytics). The class names come from
          ``classes``, else from the first of ``classes.txt``, ``obj.names``,
          ``data.yaml`` (its ``names``) or ``dataset.yaml`` found in the labels'
          folder or the two folders above it; with none of them the labels are
          the class numbers.
        - ``"csv"``: one row per object. With a header, the columns are found
          by name (in any order, case ignored): the file
          (``filename``/``file``/``image``/``path``/...), the box
          (``xmin,ymin,xmax,ymax`` or ``x1,y1,x2,y2`` or ``left,top,right,
          bottom``), the class (``class``/``label``/``name``/...) and,
          optionally, the image size (``width,height``): the object-detection
          layout ``filename,width,height,class,xmin,ymin,xmax,ymax`` reads as
          is. Without a header, six columns ``file,x1,y1,x2,y2,label``. Rows of
          the same file are the objects of one image. A row whose label and
          box are empty (or whose label is ``none`` and box empty) is an image
          without an object; one with a label and an empty box is an object
          whose box was not annotated (NaN box, which the estimators train on
          for presence and class only).
    images : str or path-like, default=None
        The folder the annotation's file names are relative to. None looks
        where each format's tools put them: the folder of the annotation file
        (for a VOC folder without images, its sibling ``JPEGImages``); for
        YOLO labels in a ``labels`` folder (or a folder in it, such as
        ``labels/train``), the same place under ``images`` when it exists (the
        ultralytics layout), else the labels' folder.
    format : {"auto", "voc", "coco", "yolo", "csv"}, default="auto"
        The annotation format. ``"auto"`` tells it from the extension
        (``.xml``, ``.json``, ``.txt``, ``.csv``) or a folder's files, which
        is right unless a CSV file has another extension.
    %(image_size)s
    multiple : {"error", "largest", "skip"}, default="error"
        What to do with an image that holds several objects, which the
        estimators cannot learn from: raise a ``ValueError`` naming the first
        such file, its count of objects and how many images hold several (the
        default, so that a detection data set is not silently read as a
        localization one); keep its largest box (by area as annotated); or
        leave the image out. ``"largest"`` and ``"skip"`` issue one
        :class:`SkippedRowWarning` that counts the images.
    %(color)s
    classes : sequence of str or path-like, default=None
        YOLO only: the class names in the order of the class numbers, or the
        path of a names file (``classes.txt`` or ``obj.names``: one name a
        line; a ``.yaml`` file: its ``names``). None looks for a names file
        (see ``annotations``).
    %(on_error)s
    %(allow_outside)s

    Returns
    -------
    X : ndarray of shape (n_images, 3 or 1, height, width), dtype uint8
        The images, upright and resized, in the order of the annotation file
        (of the sorted file names for a folder of VOC files or YOLO images;
        of the ``images`` list for COCO).
    y : DataFrame
        ``p_c, b_x, b_y, b_h, b_w, label``, the estimators' tidy target
        (``p_c = 0``, a NaN box and label None for an image without an
        object), then ``file`` (the image's name as written in the annotation,
        relative to the image folder), ``width`` and ``height``, its
        original size in pixels after the EXIF orientation, and
        ``n_objects``, how many objects the image holds as annotated (more
        than 1 where ``multiple="largest"`` kept one of them:
        :func:`background_crops` cuts no crop from such an image, since a
        crop beside the kept box may hold another object).

    Warns
    -----
    SkippedRowWarning
        A degenerate box or a box outside the image (the line named); a
        missing image file (the line named), or one that cannot be read with
        ``on_error="skip"``; once for the clipped boxes, once for the images
        with several objects (``multiple="largest"`` or ``"skip"``), and once
        for the images whose recorded size is not their own (see Notes).

    Raises
    ------
    ValueError
        A malformed file or row (a non-number, a partly empty box, a box
        without a label, an unknown class number or category), naming the
        file and line (or object, or annotation id); an image path that leaves
        the image folder; an image with several objects (``multiple="error"``);
        an image that cannot be read (``on_error="raise"``); a text file that
        is not UTF-8 (naming the line). Text files are read as UTF-8, a
        leading byte-order mark (as Excel writes) dropped.

    See Also
    --------
    load_images : The images of a folder or a list, without annotations.
    background_crops : Images without an object, cut beside the boxes.

    Notes
    -----
    VOC and COCO files, and CSV files with ``width,height`` columns, record
    the size of each image, which is compared with the upright size:

    - the same: the boxes are read in it (annotation tools show and annotate
      the upright, EXIF-rotated image);
    - the size as stored in the file, before an EXIF rotation by a quarter
      turn: the tool annotated the stored pixels, and the boxes are turned
      upright with the image (an EXIF flip or half turn keeps the size, so it
      cannot be detected: the boxes are read as upright);
    - another size with the same aspect ratio (within a pixel): the image was
      resized after it was annotated, and the boxes are read relative to the
      recorded size;
    - anything else is a ``ValueError`` naming the file and both sizes. A
      recorded size of 0 (some tools write it) is ignored.

    Examples
    --------
    >>> from sklocalize.datasets import load_boxes
    >>> X, y = load_boxes("VOC2012/Annotations")  # doctest: +SKIP
    >>> X, y = load_boxes("boxes.csv", "images/", image_size=96)  # doctest: +SKIP
    >>> X, y = load_boxes("dataset/labels/train", multiple="largest")  # doctest: +SKIP
    >>> list(y.columns)  # doctest: +SKIP
    ['p_c', 'b_x', 'b_y', 'b_h', 'b_w', 'label', 'file', 'width', 'height',
     'n_objects']
    """
    notes = []
    try:
        return _read_boxes(annotations, images, format=format, image_size=image_size,
                           multiple=multiple, color=color, classes=classes,
                           on_error=on_error, allow_outside=allow_outside,
                           notes=notes)
    finally:
        flush(notes)


# --------------------------------------------------------------------------
# landmarks


def _check_pixel_offset(pixel_offset):
    if (not isinstance(pixel_offset, numbers.Real) or isinstance(pixel_offset, bool)
            or not np.isfinite(pixel_offset)):
        raise ValueError("pixel_offset must be a finite number of pixels (e.g. 0.5 "
                         f"for 0-based pixel indices); got {pixel_offset!r}.")


def _read_landmarks(annotations, images, *, format, image_size, landmark_names,
                    color, layout, pixel_offset, multiple, on_error, allow_outside,
                    notes):
    size = check_image_size(image_size, min_size=MIN_IMAGE_SIZE)
    check_color(color)
    check_on_error(on_error)
    _check_choice(format, "format", LANDMARK_FILE_FORMATS)
    _check_choice(layout, "layout", ("blocks", "interleaved"))
    _check_choice(multiple, "multiple", MULTIPLE)
    _check_bool(allow_outside, "allow_outside")
    _check_pixel_offset(pixel_offset)
    path = _exists(annotations)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; give the landmark file.")
    fmt = format if format != "auto" else (
        "csv" if path.suffix.lower() == ".csv" else "text")
    folder = Path(images) if images is not None else path.parent
    if fmt == "csv":
        faces, names = parse_landmark_csv(path, landmark_names)
    else:
        faces, names = parse_landmark_text(path, layout)
    points = [f.points for f in faces if f.points is not None]
    if not points:
        raise ValueError(f"{path}: no line holds points.")
    n_points = len(points[0])
    if landmark_names is not None:
        check_landmark_names(landmark_names, n_points, where=str(path))
        names = list(landmark_names)
    entries = {}
    for face in faces:  # the lines of one file are the faces of one image
        entry = entries.setdefault(face.name, Entry(face.name, face.where))
        if face.points is not None:
            entry.objects.append(face.points)
    entries = _one_per_image(path, list(entries.values()), multiple, _spread, notes,
                             what="faces")

    arrays, rows = [], []
    for entry, image in _read_entries(entries, folder, allow_outside, color, size,
                                      on_error, notes):
        if entry.objects:
            pts = (entry.objects[0] + pixel_offset) / [image.width, image.height]
            pts[~((pts >= 0) & (pts <= 1)).all(axis=1)] = np.nan  # off the image
            present = 1
        else:
            pts, present = np.full((n_points, 2), np.nan), 0
        arrays.append(image.array)
        rows.append((present, *pts.reshape(-1), entry.name, image.width,
                     image.height))
    if not arrays:
        raise ValueError(f"{path}: no usable line.")
    if names is None:
        columns = [c for i in range(1, n_points + 1) for c in (f"x_{i}", f"y_{i}")]
    else:
        columns = [c for nm in names for c in (f"{nm}_x", f"{nm}_y")]
    frame = pd.DataFrame(rows, columns=["p", *columns, "file", "width", "height"])
    return np.stack(arrays), frame





@_shared_docs
def load_landmarks(annotations, images=None, *, format="auto", image_size=64,
                   landmark_names=None, color="rgb", layout="blocks",
                   pixel_offset=0.0, multiple="error", on_error="raise",
                   allow_outside=False):
    """Read images and their landmark annotations: a text or a CSV file.

    Each image becomes one row of the tidy landmark target: its face's points
    or no face. Images are turned upright by their EXIF orientation (the
    points are read as placed on the upright image) and resized. A point
    outside the image, or not visible, is NaN.

    Parameters
    ----------
    annotations : str or path-like
        The landmark file, whose format ``format`` names:

        - ``"text"``: one line per image, whitespace-separated: the image file
          name, then the points in pixels of the original image, in the order
          ``layout`` says. A coordinate written ``-1`` or ``nan`` marks a
          point that is not visible; a line with the file name alone is an
          image without a face.
        - ``"csv"``: a header, then one row per image: a file column
          (``filename``/``file``/``image``/``path``/...) and the points in
          pixels, as ``<name>_x, <name>_y`` column pairs (the names become
          the point names) or numbered ``x1, y1, x2, y2, ...`` (or ``x_1,
          y_1, ...``) columns. An empty (or ``nan``) point is not visible; a
          row whose points are all empty is an image without a face.

        Lines (rows) of the same file are the faces of one image.
    images : str or path-like, default=None
        The folder the file names are relative to; None: the landmark file's
        folder.
    format : {"auto", "text", "csv"}, default="auto"
        ``"auto"`` reads a ``.csv`` file as CSV and any other as text.
    %(image_size)s
    landmark_names : sequence of str, default=None
        Names of the points, for the columns of ``y`` (``<name>_x,
        <name>_y``); for a CSV with named columns, the columns to read, in this
        order. None names them ``x_1, y_1, ...``, or after a CSV's columns.
    %(color)s
    %(layout)s
    %(pixel_offset)s
    multiple : {"error", "largest", "skip"}, default="error"
        What to do with an image that holds several faces (several lines of
        one file): raise a ``ValueError`` naming it (the default); keep the
        face whose visible points spread widest; or leave the image out.
        ``"largest"`` and ``"skip"`` issue one :class:`SkippedRowWarning` that
        counts the images.
    %(on_error)s
    %(allow_outside)s

    Returns
    -------
    X : ndarray of shape (n_images, 3 or 1, height, width), dtype uint8
        The images, upright and resized, in the order of the file.
    y : DataFrame
        ``p`` (1, or 0 for an image without a face), the relative points
        (``x_1, y_1, ...`` or ``<name>_x, <name>_y, ...``), ``file`` (as
        written in the file) and ``width`` and ``height``, the original size
        in pixels after the EXIF orientation.

    Warns
    -----
    SkippedRowWarning
        For a missing image file (the line is skipped), an image that cannot
        be read with ``on_error="skip"``, and once for the images with several
        faces (``multiple="largest"`` or ``"skip"``).

    Raises
    ------
    ValueError
        A malformed line (odd or inconsistent number of coordinates, a
        non-number, a point with one coordinate), naming the file and line; an
        image path that leaves the image folder; a text file that is not UTF-8
        (naming the line).

    See Also
    --------
    load_boxes : The reader of box annotations.

    Examples
    --------
    >>> from sklocalize.datasets import load_landmarks
    >>> X, y = load_landmarks("landmarks.txt", "faces/",
    ...                       landmark_names=["left_eye", "right_eye", "nose",
    ...                                       "mouth_left", "mouth_right"]
    ...                       )  # doctest: +SKIP
    """
    notes = []
    try:
        return _read_landmarks(
            annotations, images, format=format, image_size=image_size,
            landmark_names=landmark_names, color=color, layout=layout,
            pixel_offset=pixel_offset, multiple=multiple, on_error=on_error,
            allow_outside=allow_outside, notes=notes)
    finally:
        flush(notes)
