"""The seed's target layouts: validation, masks, DataFrames and decoding.

The **seed layouts** are the two target rows below, one numeric row per
image, in the form the package was first specified with (its "seed"):
``predict`` returns them, and the tidy DataFrames of the readers and of
``predict_frame`` hold the same values with named columns.

Localization
------------
One row per image, shape ``(n_samples, 5 + n_classes)``::

    [p_c, b_x, b_y, b_h, b_w, c_1, ..., c_K]

``p_c``
    1 when the image holds an object, 0 when it holds none. Nothing else is
    accepted.
``b_x, b_y``
    The box centre, relative to the image width and height (0-1).
``b_h, b_w``
    The box height and width, relative to the image height and width (0-1,
    strictly positive). Note the order: height before width (the box format
    ``"cxcyhw"`` of :mod:`sklocalize.boxes`).
``c_1 ... c_K``
    A one-hot class: exactly one 1, the rest 0.

Where ``p_c = 0`` every other entry is "don't care": any value is accepted,
NaN included, and it is ignored by the losses and metrics. Where ``p_c = 1``
every entry is needed, with one exception: all four box entries may be NaN,
meaning "an object is present but its box was not annotated". Such a row
counts for the presence and class terms, and is masked out of the box loss and
of the box metrics (IoU, localization accuracy). Anything else -- NaN or inf in
a needed entry, a box value outside [0, 1], a non-positive size, a class part
that is not one-hot, a ``p_c`` other than 0 or 1, a wrong number of columns --
is a ``ValueError`` that names the first offending row.

As a DataFrame (tidy form) the same target has the columns ``p_c, b_x, b_y,
b_h, b_w, label``, where ``label`` holds the class name (string or number;
ignored where ``p_c = 0``, needed where ``p_c = 1``). The classes are ordered as
:class:`sklearn.preprocessing.LabelEncoder` orders them (sorted), and column
``c_k`` of the array is ``classes[k - 1]``.

Landmarks
---------
One row per image, shape ``(n_samples, 1 + 2 * n_landmarks)``::

    [p, x_1, y_1, ..., x_L, y_L]

``p`` is the presence (1/0) and ``(x_i, y_i)`` is point ``i`` relative to the
image (0-1). Where ``p = 0`` the points are "don't care". Where ``p = 1`` a
point whose x and y are both NaN is "not visible or not annotated" and is masked
out of the loss and the metrics; a point with only one NaN coordinate, or with a
coordinate outside [0, 1], is an error. As a DataFrame the columns are ``p,
x_1, y_1, ..., x_L, y_L`` (or ``p, <name>_x, <name>_y, ...`` with landmark
names).

Arrays and DataFrames
---------------------
Both layouts must hold numbers: a string is refused with a ``TypeError``, even
a numeric one such as ``"1"`` (convert it first, e.g. with ``astype(float)``);
booleans are read as 0 and 1. In a DataFrame this holds for every column read
but ``label``, whose class names may be strings. A DataFrame's other columns
are ignored, so a frame may carry an image id or a file name alongside.
"""

import numbers
import re

import numpy as np
import pandas as pd
import torch

from ._validation import check_image_sizes, check_landmark_names
from .boxes import BOX_FORMATS, box_convert, boxes_to_pixels, clip_boxes

__all__ = [
    "LOCALIZATION_COLUMNS",
    "box_mask",
    "check_landmark_target",
    "check_localization_target",
    "decode_landmarks",
    "decode_localization",
    "encode_landmark_target",
    "encode_localization_target",
    "landmark_frame",
    "localization_frame",
    "point_mask",
]

LOCALIZATION_COLUMNS = ("p_c", "b_x", "b_y", "b_h", "b_w")
N_BOX = 4


# --------------------------------------------------------------------------
# helpers


_STRING_TYPES = (str, bytes)


def _string_error(name, value, where):
    return TypeError(
        f"{name} must be numeric; got the string {value!r} {where}. Strings are "
        "not read as numbers, even numeric ones such as '1': convert them first "
        "(e.g. with astype(float))."
    )


def _refuse_strings(arr, name):
    """Raise for the first string in ``arr`` (an array of strings or objects)."""
    flat = arr.reshape(-1)
    for i, value in enumerate(flat):
        if isinstance(value, _STRING_TYPES):
            index = np.unravel_index(i, arr.shape)
            where = (f"in row {index[0]}, column {index[1]}" if arr.ndim == 2
                     else f"at index {tuple(int(v) for v in index)}")
            raise _string_error(name, value.item() if hasattr(value, "item")
                                else value, where)


def _as_float_array(y, name, expected):
    """``y`` as a new float64 array; strings refused (numeric ones too)."""
    if hasattr(y, "detach") and hasattr(y, "numpy"):  # torch tensor
        y = y.detach().cpu().numpy()
    try:
        raw = np.asarray(y)
        if raw.dtype.kind in "USO" and not isinstance(y, np.ndarray):
            raw = np.array(y, dtype=object)  # the values as given, not as text
    except (TypeError, ValueError):
        raw = None
    if raw is not None and raw.dtype.kind in "USO":
        _refuse_strings(raw, name)
    try:
        return np.array(y if raw is None else raw, dtype=np.float64)  # a copy
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"{name} must be {expected}; got an object of type "
            f"{type(y).__name__} that cannot be converted to floats."
        ) from exc


def _as_2d_float(y, name):
    if isinstance(y, pd.DataFrame):
        raise TypeError(  # frames go through the frame readers first
            f"{name} as a DataFrame must be converted with the frame reader first."
        )
    arr = _as_float_array(y, name, "a 2-D array of numbers")
    if arr.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_columns); got an "
            f"array with shape {arr.shape}."
        )
    return arr


def _frame_numbers(frame, columns, name):
    """The ``columns`` of a DataFrame as a float64 array; strings refused."""
    out = np.empty((len(frame), len(columns)))
    for j, column in enumerate(columns):
        series = frame[column]
        values = series.to_numpy(dtype=object)
        if not (pd.api.types.is_numeric_dtype(series)
                or pd.api.types.is_bool_dtype(series)):
            strings = [i for i, v in enumerate(values) if isinstance(v, _STRING_TYPES)]
            if strings:
                raise _string_error(name, values[strings[0]],
                                    f"in column {column!r}, row {strings[0]}")
        try:
            out[:, j] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise TypeError(
                f"{name} must be numeric; column {column!r} holds values of "
                f"type(s) {sorted({type(v).__name__ for v in values})} that cannot "
                "be converted to floats."
            ) from exc
    return out


def _rows_text(rows, limit=10):
    shown = ", ".join(str(r) for r in rows[:limit])
    return f"[{shown}{', ...' if len(rows) > limit else ''}]"


def _first_bad_row(bad, name, what):
    rows = np.flatnonzero(bad)
    if rows.size:
        raise ValueError(
            f"{name} {what} in {rows.size} row(s); the first is row {rows[0]}."
        )


def _check_presence(p, name, column):
    if not np.all(np.isfinite(p)):
        _first_bad_row(
            ~np.isfinite(p), name, f"has a NaN or infinite presence ({column})"
        )
    bad = (p != 0) & (p != 1)
    rows = np.flatnonzero(bad)
    if rows.size:
        found = np.unique(p[bad])
        shown = ", ".join(repr(float(v)) for v in found[:5])
        raise ValueError(
            f"{name} has a presence ({column}) that is neither 0 nor 1 in "
            f"{rows.size} row(s); the first is row {rows[0]}. {column} must be 1 "
            f"(object present) or 0 (absent); found the value(s) "
            f"[{shown}{', ...' if len(found) > 5 else ''}]."
        )
    return p == 1


# --------------------------------------------------------------------------
# localization


def check_localization_target(y, *, n_classes=None, name="y", allow_missing_box=True,
                              allow_empty_box=False):
    """Validate a localization target in the seed layout.

    Parameters
    ----------
    y : array-like of shape (n_samples, 5 + n_classes)
        The target, see the module docstring.
    n_classes : int, default=None
        The expected number of classes; None accepts any number >= 1.
    name : str, default="y"
        The name used in error messages.
    allow_missing_box : bool, default=True
        Whether a present object may have an all-NaN (not annotated) box.
    allow_empty_box : bool, default=False
        Whether a box may have zero height or width: refused in a target,
        accepted in a prediction (it scores an IoU of 0).

    Returns
    -------
    y : ndarray of shape (n_samples, 5 + n_classes), dtype float64
        A validated copy; the caller's object is never modified.
    """
    y = _as_2d_float(y, name)
    n_cols = y.shape[1]
    if n_classes is None and n_cols < 6:
        raise ValueError(
            f"{name} must have 5 + n_classes columns [p_c, b_x, b_y, b_h, b_w, "
            f"c_1, ..., c_K] with at least one class column; got {n_cols} columns."
        )
    if n_classes is not None and n_cols != 5 + n_classes:
        raise ValueError(
            f"{name} must have 5 + n_classes = {5 + n_classes} columns "
            f"[p_c, b_x, b_y, b_h, b_w, c_1, ..., c_{n_classes}] for the "
            f"{n_classes} classes seen at fit; got {n_cols} columns."
        )
    present = _check_presence(y[:, 0], name, "p_c")
    box = y[:, 1:5]
    cls = y[:, 5:]
    all_nan_box = np.isnan(box).all(axis=1)
    missing = present & all_nan_box
    if not allow_missing_box:
        _first_bad_row(missing, name, "has a present object (p_c = 1) with a NaN box")
    annotated = present & ~all_nan_box
    _first_bad_row(
        annotated & ~np.isfinite(box).all(axis=1), name,
        "has a NaN or infinite box value where p_c = 1 (a box is either fully "
        "given or all four values are NaN, meaning 'not annotated')",
    )
    with np.errstate(invalid="ignore"):
        _first_bad_row(
            annotated & ((box < 0) | (box > 1)).any(axis=1), name,
            "has a box value (b_x, b_y, b_h, b_w) outside [0, 1] where p_c = 1 "
            "(boxes are relative to the image size)",
        )
        if not allow_empty_box:  # (negative sizes fail the range check above)
            _first_bad_row(
                annotated & (box[:, 2:] <= 0).any(axis=1), name,
                "has a non-positive box height or width (b_h, b_w) where p_c = 1",
            )
        onehot = (
            np.isfinite(cls).all(axis=1)
            & ((cls == 0) | (cls == 1)).all(axis=1)
            & (cls.sum(axis=1) == 1)
        )
    _first_bad_row(
        present & ~onehot, name,
        "has a class part (c_1, ..., c_K) that is not one-hot where p_c = 1",
    )
    return y


def box_mask(y):
    """Rows whose box counts: object present and box annotated.

    Parameters
    ----------
    y : ndarray of shape (n_samples, 5 + n_classes)
        A validated localization target.

    Returns
    -------
    mask : ndarray of shape (n_samples,), dtype bool
    """
    return (y[:, 0] == 1) & np.isfinite(y[:, 1:5]).all(axis=1)


def _frame_labels(frame, name):
    missing = [c for c in (*LOCALIZATION_COLUMNS, "label") if c not in frame.columns]
    if missing:
        raise ValueError(
            f"{name} as a DataFrame must have the columns p_c, b_x, b_y, b_h, b_w, "
            f"label; missing {missing}, got {list(frame.columns)}."
        )


def _classes_from_labels(labels, name):
    labels = list(labels)
    is_str = [isinstance(v, str) for v in labels]
    is_num = [isinstance(v, (numbers.Number, np.number))
              and not isinstance(v, (bool, np.bool_)) for v in labels]
    if not (all(is_str) or all(is_num)):
        raise TypeError(
            f"The labels in {name} must all be strings or all be numbers; got "
            f"values of type(s) {sorted({type(v).__name__ for v in labels})}."
        )
    return np.unique(np.asarray(labels))


def _frame_present_labels(frame, present, name):
    """The labels of the present rows; a present row needs one."""
    labels = frame["label"]
    unlabelled = np.flatnonzero(present & pd.isna(labels).to_numpy(dtype=bool))
    if unlabelled.size:
        raise ValueError(
            f"{name} has a present object (p_c = 1) without a class label (NaN or "
            f"None in column 'label') in {unlabelled.size} row(s): rows "
            f"{_rows_text(unlabelled.tolist())}. A present object needs a class "
            "label; set p_c = 0 where no object is present."
        )
    return labels.to_numpy(dtype=object)[present]


def encode_localization_target(y, classes=None, *, name="y"):
    """Validate ``y`` (array or DataFrame) and return it in the seed layout.

    Parameters
    ----------
    y : array-like of shape (n_samples, 5 + n_classes) or DataFrame
        The seed layout, or a tidy DataFrame with columns ``p_c, b_x, b_y,
        b_h, b_w, label`` (other columns are ignored). ``p_c`` and the box
        columns must hold numbers; ``label`` holds the class names (strings
        or numbers) and is needed where ``p_c = 1``.
    classes : array-like of shape (n_classes,), default=None
        The classes seen at fit. None learns them from ``y``: sorted labels for
        a DataFrame, ``0 .. K-1`` (the column indices) for an array.
    name : str, default="y"
        The name used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples, 5 + n_classes), dtype float64
        A validated copy.
    classes : ndarray of shape (n_classes,)
        The classes, in the order of the class columns.
    """
    if isinstance(y, pd.DataFrame):
        _frame_labels(y, name)
        head = _frame_numbers(y, LOCALIZATION_COLUMNS, name)
        present_mask = _check_presence(head[:, 0], name, "p_c")
        labels = _frame_present_labels(y, present_mask, name)
        if classes is None:
            if len(labels) == 0:
                raise ValueError(
                    f"{name} has no present object (p_c = 1), so no class can be "
                    "learned from its label column."
                )
            classes = _classes_from_labels(labels, name)
        classes = np.asarray(classes)
        index = {c: i for i, c in enumerate(classes.tolist())}
        unseen = sorted({str(v) for v in labels.tolist() if v not in index})
        if unseen:
            raise ValueError(
                f"{name} has label(s) {unseen} that were not seen at fit; the "
                f"known classes are {classes.tolist()}."
            )
        arr = np.zeros((len(y), 5 + len(classes)))
        arr[:, :5] = head
        rows = np.flatnonzero(present_mask)
        arr[rows, 5 + np.array([index[v] for v in labels], dtype=int)] = 1
        arr[~present_mask, 5:] = np.nan  # don't care
        y = check_localization_target(arr, n_classes=len(classes), name=name)
        return y, classes
    n_classes = None if classes is None else len(classes)
    y = check_localization_target(y, n_classes=n_classes, name=name)
    if classes is None:
        classes = np.arange(y.shape[1] - 5)
    return y, np.asarray(classes)


# the box columns of localization_frame for each box_format
BOX_COLUMNS = {
    "cxcyhw": ["b_x", "b_y", "b_h", "b_w"],
    "cxcywh": ["cx", "cy", "w", "h"],
    "xyxy": ["x1", "y1", "x2", "y2"],
    "xywh": ["x1", "y1", "w", "h"],
}


def _pixel_sizes(image_size, n_samples):
    """Each image's ``(height, width)``, shape (n_samples, 2), from one size
    or per-image sizes (see :func:`localization_frame`)."""
    height, width = check_image_sizes(image_size, n_samples, name="image_size")
    return np.column_stack([np.broadcast_to(height, n_samples),
                            np.broadcast_to(width, n_samples)]).astype(np.float64)


def localization_frame(y, classes=None, *, box_format="cxcyhw", image_size=None,
                       presence_proba=None):
    """The seed layout as a tidy DataFrame.

    Parameters
    ----------
    y : array-like of shape (n_samples, 5 + n_classes)
        A localization target or prediction.
    classes : array-like of shape (n_classes,), default=None
        Class names for the label column; default ``0 .. K-1``.
    box_format : {"cxcyhw", "cxcywh", "xyxy", "xywh"}, default="cxcyhw"
        The box columns: ``b_x, b_y, b_h, b_w`` for ``"cxcyhw"``, else
        ``cx, cy, w, h``, ``x1, y1, x2, y2`` or ``x1, y1, w, h``.
    image_size : tuple of (height, width), array-like or DataFrame, default=None
        Give it to have the boxes in pixels; None keeps them relative. One
        ``(height, width)`` for all images, an array of shape (n_samples, 2)
        of each image's, or a DataFrame with ``width`` and ``height``
        columns (the ``info`` of :func:`~sklocalize.datasets.load_images`).
    presence_proba : array-like of shape (n_samples,), default=None
        Added as a ``presence_proba`` column when given.

    Returns
    -------
    frame : DataFrame
        Columns ``p_c``, the four box columns, ``label`` (None where
        ``p_c = 0``) and optionally ``presence_proba``.
    """
    y = _as_2d_float(y, "y")
    if classes is None:
        classes = np.arange(y.shape[1] - 5)
    classes = np.asarray(classes)
    if y.shape[1] != 5 + len(classes):
        raise ValueError(
            f"y must have 5 + n_classes = {5 + len(classes)} columns for the "
            f"{len(classes)} classes given; got {y.shape[1]} columns."
        )
    if box_format not in BOX_FORMATS:
        raise ValueError(
            f"Unknown box_format={box_format!r}. Expected one of "
            f"{', '.join(repr(f) for f in BOX_FORMATS)}."
        )
    boxes = box_convert(y[:, 1:5], "cxcyhw", box_format)
    if image_size is not None:
        boxes = boxes_to_pixels(boxes, _pixel_sizes(image_size, len(y)),
                                fmt=box_format)
    names = BOX_COLUMNS[box_format]
    present = y[:, 0] == 1
    cls = np.nan_to_num(y[:, 5:], nan=-np.inf).argmax(axis=1)
    class_names = classes.tolist()  # python scalars, not numpy ones
    labels = [class_names[k] if p else None for k, p in zip(cls, present)]
    frame = pd.DataFrame(boxes, columns=names)
    frame.insert(0, "p_c", y[:, 0].astype(int))
    frame["label"] = pd.Series(labels, dtype=object)
    if presence_proba is not None:
        frame["presence_proba"] = np.asarray(presence_proba, dtype=float)
    return frame


def _decoded(present, entries):
    """``[p, entries...]`` with the entries 0 where ``p = 0`` ("don't care")."""
    kept = torch.where(present[:, None], entries, torch.zeros_like(entries))
    return torch.cat([present.to(entries.dtype)[:, None], kept], dim=1)


def _as_float64(*arrays):
    """Tensors of ``arrays`` (float64 unless already tensors) and whether the
    first was a numpy array, which the decoders then return."""
    numpy_in = not isinstance(arrays[0], torch.Tensor)
    return numpy_in, [a if isinstance(a, torch.Tensor)
                      else torch.as_tensor(np.asarray(a, dtype=float)) for a in arrays]


def decode_localization(presence_proba, boxes, class_proba, threshold=0.5):
    """Turn the heads' outputs into the seed layout.

    Parameters
    ----------
    presence_proba : ndarray or torch.Tensor of shape (n_samples,)
    boxes : ndarray or torch.Tensor of shape (n_samples, 4)
        Relative ``"cxcyhw"`` boxes.
    class_proba : ndarray or torch.Tensor of shape (n_samples, n_classes)
    threshold : float, default=0.5
        ``p_c = 1`` where ``presence_proba >= threshold``.

    Returns
    -------
    y : ndarray or torch.Tensor of shape (n_samples, 5 + n_classes)
        A tensor for tensors (the exported models decode with this function),
        else a float64 array. Boxes are clipped to the image (the part of
        each box inside it), and a box whose right edge lies left of its left
        one (or bottom above top: the edge heads read each edge on its own,
        which on an image without the object can cross them) spans between
        the two. Where ``p_c = 0`` the box and class entries (the "don't care"
        entries) are filled with 0.
    """
    numpy_in, (presence, boxes, class_proba) = _as_float64(
        presence_proba, boxes, class_proba)
    one_hot = torch.nn.functional.one_hot(class_proba.argmax(dim=1),
                                          class_proba.shape[1])
    x1, y1, x2, y2 = box_convert(boxes, "cxcyhw", "xyxy").unbind(1)
    ordered = torch.stack([torch.minimum(x1, x2), torch.minimum(y1, y2),
                           torch.maximum(x1, x2), torch.maximum(y1, y2)], dim=1)
    boxes = box_convert(clip_boxes(ordered), "xyxy", "cxcyhw")
    y = _decoded(presence >= threshold,
                 torch.cat([boxes, one_hot.to(boxes.dtype)], 1))
    return y.numpy() if numpy_in else y


# --------------------------------------------------------------------------
# landmarks


def check_landmark_target(y, *, n_landmarks=None, name="y", allow_missing_points=True):
    """Validate a landmark target ``[p, x_1, y_1, ..., x_L, y_L]``.

    Parameters
    ----------
    y : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    n_landmarks : int, default=None
        The expected number of points; None accepts any number >= 1.
    name : str, default="y"
    allow_missing_points : bool, default=True
        Whether a present face may have NaN (not visible) points.

    Returns
    -------
    y : ndarray of shape (n_samples, 1 + 2 * n_landmarks), dtype float64
        A validated copy.
    """
    y = _as_2d_float(y, name)
    n_cols = y.shape[1]
    if n_cols < 3 or n_cols % 2 == 0:
        raise ValueError(
            f"{name} must have 1 + 2 * n_landmarks columns [p, x_1, y_1, ..., x_L, "
            f"y_L] (an odd number, at least 3); got {n_cols} columns."
        )
    if n_landmarks is not None and n_cols != 1 + 2 * n_landmarks:
        raise ValueError(
            f"{name} must have 1 + 2 * n_landmarks = {1 + 2 * n_landmarks} columns "
            f"for the {n_landmarks} landmarks seen at fit; got {n_cols} columns "
            f"({(n_cols - 1) // 2} landmarks)."
        )
    present = _check_presence(y[:, 0], name, "p")
    pts = y[:, 1:].reshape(len(y), -1, 2)
    nan_pt = np.isnan(pts).all(axis=2)
    if not allow_missing_points:
        _first_bad_row(
            present & nan_pt.any(axis=1), name,
            "has a NaN point where p = 1",
        )
    finite_pt = np.isfinite(pts).all(axis=2)
    _first_bad_row(
        (present[:, None] & ~finite_pt & ~nan_pt).any(axis=1), name,
        "has a point with one NaN or an infinite coordinate where p = 1 (a point "
        "is either given or both its x and y are NaN, meaning 'not visible')",
    )
    with np.errstate(invalid="ignore"):
        outside = ((pts < 0) | (pts > 1)).any(axis=2) & finite_pt
    _first_bad_row(
        present & outside.any(axis=1), name,
        "has a coordinate outside [0, 1] where p = 1 (points are relative to the "
        "image size)",
    )
    return y


def point_mask(y):
    """Visible points: face present and both coordinates given.

    Parameters
    ----------
    y : ndarray of shape (n_samples, 1 + 2 * n_landmarks)

    Returns
    -------
    mask : ndarray of shape (n_samples, n_landmarks), dtype bool
    """
    pts = y[:, 1:].reshape(len(y), -1, 2)
    return (y[:, :1] == 1) & np.isfinite(pts).all(axis=2)


def _landmark_columns(n_landmarks, landmark_names=None):
    if landmark_names is None:
        return [c for i in range(1, n_landmarks + 1) for c in (f"x_{i}", f"y_{i}")]
    return [c for nm in landmark_names for c in (f"{nm}_x", f"{nm}_y")]


_NUMBERED_POINT = re.compile(r"([xy])_([1-9][0-9]*)")


def _frame_point_columns(frame, landmark_names, name):
    """The point columns of a landmark DataFrame, in the layout's order."""
    if landmark_names is not None:
        return _landmark_columns(len(landmark_names), landmark_names)
    numbered = [m for m in (_NUMBERED_POINT.fullmatch(str(c)) for c in frame.columns)
                if m]
    if numbered:  # x_1, y_1, ..., x_L, y_L with L the largest number given
        return _landmark_columns(max(int(m.group(2)) for m in numbered))
    columns = [str(c) for c in frame.columns]
    names = [c[:-2] for c in columns if c.endswith("_x") and f"{c[:-2]}_y" in columns]
    if not names:
        raise ValueError(
            f"{name} as a DataFrame must have the columns p, x_1, y_1, ..., x_L, "
            f"y_L or p, <name>_x, <name>_y, ...; found no point columns in "
            f"{list(frame.columns)}."
        )
    return _landmark_columns(len(names), names)


def frame_landmark_names(y):
    """The point names of a landmark DataFrame whose point columns are named
    ``<name>_x, <name>_y`` (as :func:`~sklocalize.datasets.load_landmarks`
    returns), in column order; None for an array or ``x_1, y_1, ...``
    columns."""
    if not isinstance(y, pd.DataFrame) or "p" not in y.columns:
        return None
    columns = _frame_point_columns(y, None, "y")
    if _NUMBERED_POINT.fullmatch(columns[0]):
        return None
    return [c[:-2] for c in columns[0::2]]


def encode_landmark_target(y, *, n_landmarks=None, landmark_names=None, name="y"):
    """Validate ``y`` (array or DataFrame) and return it in the seed layout.

    Parameters
    ----------
    y : array-like of shape (n_samples, 1 + 2 * n_landmarks) or DataFrame
        A DataFrame has the presence column ``p`` and the point columns: those
        of ``landmark_names`` (``<name>_x, <name>_y``); else ``x_1, y_1, ...,
        x_L, y_L``, ``L`` the largest number in a column named ``x_<i>`` or
        ``y_<i>``; else every ``<name>_x`` column with a ``<name>_y`` twin, in
        column order. Other columns are ignored. Every column read must hold
        numbers.
    n_landmarks : int, default=None
        The expected number of points; None accepts any number >= 1.
    landmark_names : sequence of str, default=None
        The point names of a DataFrame's columns; None reads them as above.
    name : str, default="y"
        The name used in error messages.

    Returns
    -------
    y : ndarray of shape (n_samples, 1 + 2 * n_landmarks), dtype float64
        A validated copy.
    """
    if isinstance(y, pd.DataFrame):
        if "p" not in y.columns:
            raise ValueError(
                f"{name} as a DataFrame must have a presence column 'p' followed by "
                f"x_1, y_1, ..., x_L, y_L; got {list(y.columns)}."
            )
        cols = _frame_point_columns(y, landmark_names, name)
        missing = [c for c in cols if c not in y.columns]
        if missing:
            raise ValueError(
                f"{name} as a DataFrame must have the columns p, {', '.join(cols)}; "
                f"missing {missing}, got {list(y.columns)}."
            )
        y = _frame_numbers(y, ["p", *cols], name)
    return check_landmark_target(y, n_landmarks=n_landmarks, name=name)


def landmark_frame(y, landmark_names=None, *, image_size=None, presence_proba=None):
    """The landmark layout as a DataFrame with named points.

    Parameters
    ----------
    y : array-like of shape (n_samples, 1 + 2 * n_landmarks)
    landmark_names : sequence of str, default=None
        Point names; columns are ``<name>_x, <name>_y``. Default ``x_1, y_1, ...``.
    image_size : tuple of (height, width), array-like or DataFrame, default=None
        Give it to have the points in pixels (x times width, y times height):
        one size for all images, or each image's (see
        :func:`localization_frame`).
    presence_proba : array-like of shape (n_samples,), default=None

    Returns
    -------
    frame : DataFrame
    """
    y = _as_2d_float(y, "y")
    n = (y.shape[1] - 1) // 2
    check_landmark_names(landmark_names, n)
    pts = y[:, 1:].copy()
    if image_size is not None:
        sizes = _pixel_sizes(image_size, len(y))
        pts[:, 0::2] *= sizes[:, 1:]
        pts[:, 1::2] *= sizes[:, :1]
    frame = pd.DataFrame(pts, columns=_landmark_columns(n, landmark_names))
    frame.insert(0, "p", y[:, 0].astype(int))
    if presence_proba is not None:
        frame["presence_proba"] = np.asarray(presence_proba, dtype=float)
    return frame


def decode_landmarks(presence_proba, points, threshold=0.5):
    """Turn the heads' outputs into ``[p, x_1, y_1, ...]``.

    Parameters
    ----------
    presence_proba : ndarray or torch.Tensor of shape (n_samples,)
    points : ndarray or torch.Tensor of shape (n_samples, 2 * n_landmarks)
        Relative points, interleaved ``x_1, y_1, ...``.
    threshold : float, default=0.5

    Returns
    -------
    y : ndarray or torch.Tensor of shape (n_samples, 1 + 2 * n_landmarks)
        A tensor for tensors, else a float64 array (see
        :func:`decode_localization`). Points are clipped to the image; where
        ``p = 0`` they (the "don't care" entries) are filled with 0.
    """
    numpy_in, (presence, points) = _as_float64(presence_proba, points)
    y = _decoded(presence >= threshold, points.clamp(0.0, 1.0))
    return y.numpy() if numpy_in else y
