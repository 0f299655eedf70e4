"""The command line's vocabulary, torch-free: the choices it offers, its
errors, the converters of option values and the landmark normalisation."""

import argparse
import math
import sys

TASKS = ("localization", "landmarks")
# sklocalize.nn.modules.BACKBONES, written out: the parser must not import
# torch (a test keeps the two equal)
BACKBONE_CHOICES = ("scratch", "mobilenet_v2", "efficientnet_lite0")
# sklocalize.recipes.IMAGE_SIZES, likewise written out
IMAGE_SIZES = {"scratch": 64, "mobilenet_v2": 128, "efficientnet_lite0": 128}
BOX_FILE_FORMATS = ("auto", "voc", "coco", "yolo", "csv")
LANDMARK_FILE_FORMATS = ("auto", "text", "csv")
FILE_FORMATS = {"localization": BOX_FILE_FORMATS, "landmarks": LANDMARK_FILE_FORMATS}
# the options that belong to one task: given with the other, an error
TASK_OPTIONS = {"localization": ("--no-background", "--box-format"),
                "landmarks": ("--flip-pairs", "--landmark-names", "--normalize",
                              "--pixel-offset")}
ALL_FILE_FORMATS = sorted({*BOX_FILE_FORMATS, *LANDMARK_FILE_FORMATS})
_NOUNS = {"localization": "localization", "landmarks": "landmark"}


class CommandError(Exception):
    """A user error: printed as one ``error:`` line; exit code 2."""

    exit_code = 2


class RunFailed(CommandError):
    """The run itself failed (every fit errored); exit code 1."""

    exit_code = 1


def _epochs(n):
    return f"{n} epoch{'' if n == 1 else 's'}"


def _one_line(text):
    """``text`` with its white space (newlines included) collapsed."""
    return " ".join(str(text).split())


# The library's messages name its keyword arguments; the command's user
# knows them as options.
_SPELLINGS = {"on_error": "--on-error", "multiple": "--multiple",
              "format": "--format", "pixel_offset": "--pixel-offset",
              "images": "--images"}


def _cli_spelling(text):
    """``text`` with the library's ``name='value'`` spelled as the option
    ``--name value``, for the options the command has."""
    import re

    def option(match):
        name, value = match.group(1), match.group(2)
        return f"{_SPELLINGS[name]} {value}" if name in _SPELLINGS else match[0]

    return re.sub(r"\b([a-z_]+)='([^']*)'", option, text)


def _error(message):
    print(f"error: {_cli_spelling(_one_line(message))}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """``warnings.showwarning`` for the command: one ``warning:`` line."""
    print(f"warning: {_cli_spelling(_one_line(message))}", file=sys.stderr)


# --------------------------------------------------------------------------
# option values


def _checked(convert, ok, expected):
    """An argparse ``type``: ``convert(text)`` where that works and ``ok``
    holds for it, else the error "must be <expected>; got <text>"."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = None
        if value is None or not ok(value):
            raise argparse.ArgumentTypeError(f"must be {expected}; got {text!r}")
        return value
    return parse


_positive_int = _checked(int, lambda v: v >= 1, "an integer of at least 1")
_holdout = _checked(float, lambda v: 0 <= v < 1, "a share in [0, 1), e.g. 0.2")
_number = _checked(float, math.isfinite, "a finite number")
_share = _checked(float, lambda v: 0 < v < 1, "a probability in (0, 1), e.g. 0.3")


def _names(text):
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise argparse.ArgumentTypeError(
            f"must be point names separated by commas, e.g. "
            f"'left_eye,right_eye,nose'; got {text!r}")
    return names


def _pairs(text):
    """``"0,1 3,4"`` as ``[("0", "1"), ("3", "4")]`` (indices or names, resolved
    once the point names are known); ``"none"`` or ``""``: no pair."""
    if text.strip().lower() in ("", "none"):
        return []
    pairs = [tuple(part.strip() for part in item.split(","))
             for item in text.replace(";", " ").split()]
    if not all(len(pair) == 2 and all(pair) for pair in pairs):
        raise argparse.ArgumentTypeError(
            "must be pairs of point indices (or names) that swap under a "
            f"horizontal flip, e.g. '0,1 3,4'; got {text!r}")
    return pairs


def _normalize(text):
    if text in ("auto", "bbox", "image"):
        return text
    parts = tuple(part.strip() for part in text.split(","))
    if len(parts) != 2 or not all(parts):
        raise argparse.ArgumentTypeError(
            "must be auto, bbox, image or two points I,J (indices or names, e.g. "
            f"0,1 or left_eye,right_eye); got {text!r}")
    return parts


def _param(text):
    """``NAME=VALUE`` as ``(name, value)``; the value as a Python literal
    (``8``, ``0.5``, ``None``, ``(1, 2)``) or else a string."""
    import ast

    name, sep, value = text.partition("=")
    if not sep or not name.strip():
        raise argparse.ArgumentTypeError(
            f"must be NAME=VALUE, e.g. module__width=16; got {text!r}")
    try:
        value = ast.literal_eval(value.strip())
    except (ValueError, SyntaxError):
        value = value.strip()
    return name.strip(), value


def _resolve_index(token, names, n_points, what):
    """A point index from ``token``: an index, or a name among ``names``."""
    if token.lstrip("-").isdigit():
        index = int(token)
    elif names is not None and token in names:
        index = list(names).index(token)
    else:
        known = f" (the points are {', '.join(names)})" if names else ""
        raise CommandError(f"{what}: {token!r} is neither a point index nor a "
                           f"point name{known}.")
    if not 0 <= index < n_points:
        raise CommandError(f"{what}: point {index} is not among the {n_points} "
                           f"points (indices 0 to {n_points - 1}).")
    return index




# --------------------------------------------------------------------------
# landmark normalisation


def _normalization(option, names, n_points):
    """The ``normalize=`` of the landmark metrics for ``--normalize``, and how
    the table names it."""
    if option in (None, "auto"):
        from ..metrics import eye_pair

        pair = eye_pair(names)
        if pair is not None:
            return pair, (f"inter-ocular: {names[pair[0]]} to {names[pair[1]]}")
        option = "bbox" if n_points >= 2 else "image"
    if option == "bbox":
        return "bbox", "box-normalised"
    if option == "image":
        return "image", "relative to the image"
    i, j = (_resolve_index(token, names, n_points, "--normalize") for token in option)
    if i == j:
        raise CommandError("--normalize needs two different points; got "
                           f"{','.join(option)}.")
    label = (f"{names[i]} to {names[j]}" if names else f"points {i} to {j}")
    return (i, j), f"normalised by {label}"


def _ced_max_error(nme):
    """Where the CED curve ends: the usual failure threshold, 0.1, unless
    more than a tenth of the faces lie beyond it, so that the curve rises."""
    import numpy as np

    nme = np.asarray(nme, dtype=float)
    nme = nme[np.isfinite(nme)]
    if not len(nme):
        return 0.1
    q = float(np.quantile(nme, 0.9))
    for limit in (0.1, 0.15, 0.2, 0.3, 0.5, 1.0):
        if q <= limit:
            return limit
    return float(np.ceil(q))
