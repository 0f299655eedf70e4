"""Parsers of annotation files: Pascal VOC, COCO, YOLO, CSV and landmark text.

Each parser turns a file (or a folder of files) into a list of images as
written, with their objects or points in the file's own units: nothing here
opens an image. The readers of ``_readers.py`` then check the images, convert
the coordinates to the package's relative ones and build the targets.

Pixel conventions: a box is stored here as continuous pixel corners
``(x1, y1, x2, y2)``: 0 is the left (top) edge of the image and ``width``
(``height``) its right (bottom) edge, so pixel ``i`` spans ``[i, i + 1)``. The
parsers convert to that from each format's own convention (Pascal VOC's
1-based inclusive indices, COCO's ``[x, y, w, h]``); YOLO boxes, already
relative, stay relative.
"""

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._images import find_image, image_files

FILE_COLUMNS = ("filename", "file", "file_name", "image", "image_name",
                "image_path", "path", "img")
LABEL_COLUMNS = ("class", "label", "name", "class_name", "category")
BOX_COLUMNS = (("xmin", "ymin", "xmax", "ymax"), ("x1", "y1", "x2", "y2"),
               ("x_min", "y_min", "x_max", "y_max"),
               ("left", "top", "right", "bottom"))
SIZE_COLUMNS = ("width", "height")
CLASS_NAME_FILES = ("classes.txt", "obj.names", "data.yaml", "dataset.yaml")
"""The files that name YOLO's classes, looked for in the labels' folder and
the two folders above it."""


@dataclass
class Obj:
    """One object of an image: its box (or None: not annotated) and class."""

    box: tuple  # (x1, y1, x2, y2): continuous pixels, or relative for YOLO
    label: object
    where: str  # "file, line 3": for messages
    written: str  # the box as written in the file, for messages


@dataclass
class Entry:
    """One image of an annotation file, with its objects (none: absent)."""

    name: str  # the image file, as written (relative to the image folder)
    where: str
    objects: list = field(default_factory=list)
    size: tuple = None  # (width, height) recorded in the file, if any
    n_objects: int = None  # objects annotated, before multiple= kept one
    n_crowd: int = 0  # COCO crowd regions (iscrowd=1), not objects of their own


@dataclass
class Face:
    """One image of a landmark file: its points in pixels (None: absent)."""

    name: str
    where: str
    points: np.ndarray = None  # (n_landmarks, 2), NaN rows not visible


# --------------------------------------------------------------------------
# text


def read_text(path):
    """The text of a file read as UTF-8 (a leading byte-order mark dropped);
    a decoding error names the file and the line."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise ValueError(
            f"{path}, line {line}: not UTF-8 text ({exc.reason} at byte "
            f"{exc.start}). Save the file as UTF-8 (in Excel: 'CSV UTF-8')."
        ) from None


def _lines(path):
    """``(line number, text)`` of each line of a text file."""
    for number, text in enumerate(read_text(path).split("\n"), start=1):
        yield number, text.rstrip("\r")


def _csv_rows(path):
    """``(line number, stripped fields)`` of each non-empty CSV row."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""))
    try:
        for fields in reader:
            if fields and any(v.strip() for v in fields):
                yield reader.line_num, [v.strip() for v in fields]
    except csv.Error as exc:
        raise ValueError(f"{path}, line {reader.line_num}: {exc}.") from None


def number(value, where, what):
    """``value`` (text) as a finite float; an error names where and what."""
    if value is None or not str(value).strip():
        raise ValueError(f"{where}: {what} is missing.")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: {what} must be a number; got {value!r}.") from None
    if not np.isfinite(out):
        raise ValueError(f"{where}: {what} must be a finite number; got {value!r}.")
    return out


def _is_empty(value):
    return value.strip().lower() in ("", "nan")


def _column(lowered, names):
    """The index of the first of ``names`` in the header, or None."""
    for name in names:
        if name in lowered:
            return lowered.index(name)
    return None


# --------------------------------------------------------------------------
# CSV boxes


def _csv_header(path, line, fields):
    """Which columns hold the file, the box, the label and the image size."""
    lowered = [v.lower() for v in fields]
    file_col = _column(lowered, FILE_COLUMNS)
    label_col = _column(lowered, LABEL_COLUMNS)
    box_cols = next(([lowered.index(c) for c in group] for group in BOX_COLUMNS
                     if all(c in lowered for c in group)), None)
    missing = [what for what, col in (("a file", file_col), ("a box", box_cols),
                                      ("a label", label_col)) if col is None]
    if missing:
        raise ValueError(
            f"{path}, line {line}: the header {fields} has no column for "
            f"{' or '.join(missing)}. Expected a file column ({'/'.join(FILE_COLUMNS)}"
            f"), the box corners ({' or '.join(','.join(g) for g in BOX_COLUMNS)}) "
            f"and a label column ({'/'.join(LABEL_COLUMNS)}); width,height are "
            "optional."
        )
    size_cols = [lowered.index(c) if c in lowered else None for c in SIZE_COLUMNS]
    return {"file": file_col, "box": box_cols, "label": label_col,
            "size": size_cols if None not in size_cols else None,
            "names": [fields[j] for j in box_cols], "n": len(fields)}


_HEADERLESS = {"file": 0, "box": [1, 2, 3, 4], "label": 5, "size": None,
               "names": ["x1", "y1", "x2", "y2"], "n": 6}


_HEADER_HINT = (" The first line looks like a header that names no known column: "
                "name them file (or filename), x1, y1, x2, y2 (or xmin, ymin, "
                "xmax, ymax, in pixels), label (or class).")


def _looks_like_header(fields):
    """Whether a first CSV row is words, not a file name and numbers."""
    def is_number(text):
        try:
            float(text)
        except ValueError:
            return False
        return True

    coords = fields[1:5] if len(fields) >= 5 else fields[1:]
    return bool(coords) and not any(is_number(v) or _is_empty(v) for v in coords)


def parse_box_csv(path):
    """A CSV of pixel boxes: the six-column headerless form
    ``file,x1,y1,x2,y2,label`` or a header naming the columns. Rows of the
    same file are the objects of one image."""
    entries, layout = {}, None
    for line, fields in _csv_rows(path):
        where = f"{path}, line {line}"
        first = layout is None
        if layout is None:
            lowered = [v.lower() for v in fields]
            if any(c in lowered for group in BOX_COLUMNS for c in group):
                layout = _csv_header(path, line, fields)
                continue
            layout = _HEADERLESS
            if len(fields) == layout["n"] and _looks_like_header(fields):
                raise ValueError(f"{where}: {fields!r} is not a row of a box "
                                 f"(its coordinates are not numbers).{_HEADER_HINT}")
        if len(fields) != layout["n"]:
            expected = ("file,x1,y1,x2,y2,label" if layout is _HEADERLESS
                        else "the header")
            joined = ",".join(fields)
            hint = next((f" The fields seem separated by {name}: save the file "
                         "with commas." for sep, name in
                         ((";", "semicolons"), ("\t", "tabs")) if sep in joined),
                        "")
            if not hint and first and _looks_like_header(fields):
                hint = _HEADER_HINT
            raise ValueError(
                f"{where}: expected {layout['n']} fields like {expected}; got "
                f"{len(fields)}: {fields!r}.{hint}"
            )
        name, label = fields[layout["file"]], fields[layout["label"]]
        coords = [fields[j] for j in layout["box"]]
        if not name:
            raise ValueError(f"{where}: the file name is empty.")
        entry = entries.get(name)
        if entry is None:
            entry = entries[name] = Entry(name, where)
        if layout["size"] is not None and entry.size is None:
            width, height = (fields[j] for j in layout["size"])
            if not (_is_empty(width) and _is_empty(height)):
                entry.size = (number(width, where, "width"),
                              number(height, where, "height"))
        empty = [_is_empty(v) for v in coords]
        no_label = label.lower() in ("", "none")
        if all(empty) and no_label:
            continue  # an image without an object
        if no_label:
            raise ValueError(
                f"{where}: a box without a label. Give the class of the object, "
                "or leave both the box and the label empty for an image without "
                "an object."
            )
        if any(empty) and not all(empty):
            raise ValueError(
                f"{where}: the box ({', '.join(coords)}) is partly empty. Give "
                f"all four of {','.join(layout['names'])}, or none of them."
            )
        if all(empty):  # present, box not annotated
            entry.objects.append(Obj(None, label, where, ""))
            continue
        box = tuple(number(v, where, c) for v, c in zip(coords, layout["names"]))
        entry.objects.append(Obj(box, label, where, ", ".join(coords)))
    return list(entries.values())


# --------------------------------------------------------------------------
# Pascal VOC


def _voc_size(root):
    size = root.find("size")
    if size is None:
        return None
    try:
        width, height = (float(size.findtext(t)) for t in ("width", "height"))
    except (TypeError, ValueError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def parse_voc(annotations, folder):
    """Pascal VOC XML: one file, or every ``.xml`` file of a folder (sorted).
    Boxes are 1-based inclusive pixel indices: ``xmin = 1`` is the first
    pixel, so the continuous box is ``(xmin - 1, ymin - 1, xmax, ymax)``."""
    annotations = Path(annotations)
    files = (sorted(annotations.glob("*.xml")) if annotations.is_dir()
             else [annotations])
    if not files:
        raise ValueError(f"{annotations} holds no .xml file.")
    entries = []
    for xml in files:
        try:
            root = ET.parse(xml).getroot()
        except ET.ParseError as exc:
            raise ValueError(f"{xml}: not valid XML ({exc}).") from None
        for element in root.iter():  # a default namespace (some tools write one)
            if isinstance(element.tag, str) and element.tag.startswith("{"):
                element.tag = element.tag.split("}", 1)[1]
        if root.tag != "annotation":
            raise ValueError(
                f"{xml}: not a Pascal VOC annotation (its root element is "
                f"<{root.tag}>, not <annotation>)."
            )
        name = (root.findtext("filename") or "").strip()
        if not Path(name).suffix:  # no file name, or one without its extension
            name = find_image(folder, name or xml.stem) or name or xml.stem
        entry = Entry(name, str(xml), size=_voc_size(root))
        for k, obj in enumerate(root.findall("object"), start=1):
            where = f"{xml}, object {k}"
            label = (obj.findtext("name") or "").strip()
            if not label:
                raise ValueError(f"{where}: the object has no <name> (its class).")
            bndbox = obj.find("bndbox")
            if bndbox is None:
                raise ValueError(f"{where}: the object has no <bndbox>.")
            tags = ("xmin", "ymin", "xmax", "ymax")
            xmin, ymin, xmax, ymax = (number(bndbox.findtext(t), where, t)
                                      for t in tags)
            written = ", ".join(bndbox.findtext(t).strip() for t in tags)
            entry.objects.append(Obj((xmin - 1, ymin - 1, xmax, ymax), label, where,
                                     written))
        entries.append(entry)
    return entries


# --------------------------------------------------------------------------
# COCO


def parse_coco(path, notes):
    """COCO JSON: ``images`` (``id``, ``file_name``, ``width``, ``height``),
    ``annotations`` (``image_id``, ``bbox = [x, y, w, h]`` in continuous
    0-based pixels, ``category_id``) and ``categories`` (``id``, ``name``).

    A crowd region (``iscrowd: 1``, a box around many objects) is not an
    object: it is left out, and an image that holds one and no other object
    is left out too (it is not without an object), with a note counting
    them."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}, line {exc.lineno}: not valid JSON "
                         f"({exc.msg}).") from None
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list):
        raise ValueError(f"{path}: not a COCO file (no 'images' list).")
    for key in ("annotations", "categories"):
        if not isinstance(data.get(key) or [], list):
            raise ValueError(f"{path}: '{key}' must be a list (of objects); got "
                             f"{type(data[key]).__name__}.")
    categories = {}
    for k, c in enumerate(data.get("categories") or []):
        if not isinstance(c, dict) or not isinstance(c.get("name"), str) \
                or not c["name"].strip():
            raise ValueError(f"{path}, categories[{k}]: a category needs an 'id' "
                             f"and a 'name'; got {c!r}.")
        categories[c.get("id")] = c["name"]
    entries = {}
    for k, image in enumerate(images):
        if not isinstance(image, dict) or "file_name" not in image:
            raise ValueError(f"{path}, images[{k}]: an image needs an 'id' and a "
                             "'file_name'.")
        where = f"{path}, image id {image.get('id')}"
        size = None
        if image.get("width") and image.get("height"):
            size = (number(image["width"], where, "width"),
                    number(image["height"], where, "height"))
        if image.get("id") in entries:
            raise ValueError(f"{where}: the image id is used twice.")
        entries[image.get("id")] = Entry(str(image["file_name"]), where, size=size)
    for k, ann in enumerate(data.get("annotations") or []):
        if not isinstance(ann, dict):
            raise ValueError(f"{path}, annotations[{k}]: an annotation must be an "
                             f"object with image_id, category_id and bbox; got "
                             f"{ann!r}.")
        where = f"{path}, annotation id {ann.get('id', f'#{k}')}"
        entry = entries.get(ann.get("image_id"))
        if entry is None:
            raise ValueError(f"{where}: its image_id {ann.get('image_id')!r} is not "
                             "among the images.")
        if ann.get("category_id") not in categories:
            raise ValueError(f"{where}: its category_id {ann.get('category_id')!r} "
                             "is not among the categories.")
        bbox = ann.get("bbox")
        if not isinstance(bbox, (list, tuple)) or len(bbox) != 4:
            raise ValueError(f"{where}: bbox must be [x, y, width, height]; got "
                             f"{bbox!r}.")
        x, y, w, h = (number(v, where, f"bbox[{i}]") for i, v in enumerate(bbox))
        if ann.get("iscrowd"):
            entry.n_crowd += 1
            continue
        entry.objects.append(Obj((x, y, x + w, y + h), categories[ann["category_id"]],
                                 where, ", ".join(f"{v:g}" for v in (x, y, w, h))))
    crowded = [e for e in entries.values() if e.n_crowd]
    if crowded:
        only = [e for e in crowded if not e.objects]
        notes.append(
            f"{path}: left out {sum(e.n_crowd for e in crowded)} crowd region(s) "
            f"(iscrowd: 1) of {len(crowded)} image(s), and the {len(only)} "
            "image(s) that hold nothing else: a crowd region is many objects, "
            "not one.")
        return [e for e in entries.values() if e.objects or not e.n_crowd]
    return list(entries.values())


# --------------------------------------------------------------------------
# YOLO


def _unquote(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _strip_comment(text):
    return re.split(r"\s#", text, maxsplit=1)[0]


def simple_yaml_names(text, path):
    """The ``names`` of a dataset YAML file, without PyYAML: a one-line list
    (``names: [a, b]``), or a block of ``- a`` items or ``0: a`` pairs."""
    lines = text.split("\n")
    for i, line in enumerate(lines):
        match = re.match(r"names\s*:(.*)$", line.rstrip("\r"))
        if not match:
            continue
        rest = _strip_comment(match.group(1)).strip()
        if rest.startswith("[") and rest.endswith("]"):
            return _flow_items(rest[1:-1], f"{path}, line {i + 1}")
        if rest:
            raise ValueError(
                f"{path}, line {i + 1}: cannot read this 'names' entry without "
                "PyYAML; install it (pip install pyyaml) or pass classes=[...]."
            )
        items, pairs = [], {}
        for more in lines[i + 1:]:
            if not more.strip() or more.lstrip().startswith("#"):
                continue
            if not more[0].isspace():
                break
            item = _strip_comment(more).strip()
            if item.startswith("-"):
                items.append(_unquote(item[1:]))
            elif ":" in item:
                key, value = item.split(":", 1)
                pairs[_unquote(key)] = _unquote(value)
        return items or pairs
    return None


def _flow_items(text, where):
    """The items of a one-line YAML list's inside, ``a, 'b, c', "d"``: split
    at the commas outside quotes, each unquoted."""
    items, item, quote = [], "", None
    for char in text:
        if quote:
            if char == quote:
                quote = None
            item += char
        elif char in "'\"" and not item.strip():
            quote = char
            item += char
        elif char == ",":
            items.append(item)
            item = ""
        else:
            item += char
    if quote:
        raise ValueError(f"{where}: a quote of the names list is not closed; "
                         "install PyYAML (pip install pyyaml) or pass "
                         "classes=[...].")
    items.append(item)
    return [_unquote(v) for v in items if v.strip()]


def _yaml_names(path):
    text = read_text(path)
    try:
        import yaml
    except ImportError:
        names = simple_yaml_names(text, path)
    else:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ValueError(f"{path}: not valid YAML ({exc}).") from None
        names = data.get("names") if isinstance(data, dict) else None
    if isinstance(names, dict):  # {0: "cat", 1: "dog"}
        try:
            index = {int(k): v for k, v in names.items()}
        except ValueError:
            index = {}
        if sorted(index) != list(range(len(names))):
            raise ValueError(f"{path}: the 'names' keys must be the class numbers "
                             f"0 to {len(names) - 1}; got {list(names)}.")
        names = [index[k] for k in range(len(names))]
    if not isinstance(names, list) or not names:
        raise ValueError(f"{path}: no 'names' list of class names.")
    return [str(n) for n in names]


def read_class_names(path):
    """Class names from ``classes.txt``/``obj.names`` (one a line) or a
    dataset YAML file (its ``names``)."""
    path = Path(path)
    if path.suffix.lower() in (".yaml", ".yml"):
        return _yaml_names(path)
    names = [text.strip() for _, text in _lines(path)]
    while names and not names[-1]:
        names.pop()
    if "" in names:
        raise ValueError(f"{path}, line {names.index('') + 1}: an empty class name "
                         "(one name a line, in the order of the class numbers).")
    if not names:
        raise ValueError(f"{path}: no class name.")
    return names


def find_class_names(labels_dir):
    """The first of :data:`CLASS_NAME_FILES` in the labels' folder or the two
    folders above it, or None."""
    for folder in (labels_dir, *list(Path(labels_dir).resolve().parents)[:2]):
        for name in CLASS_NAME_FILES:
            if (Path(folder) / name).is_file():
                return Path(folder) / name
    return None


def yolo_image_folder(labels):
    """Where the images of YOLO labels are: for a ``labels`` folder (or one
    inside it, ``labels/train``) the same place under ``images`` when that
    exists (the ultralytics layout), else the labels' own folder."""
    labels = Path(labels)
    folder = labels if labels.is_dir() else labels.parent
    parts = folder.parts
    if "labels" in parts:
        i = len(parts) - 1 - parts[::-1].index("labels")
        candidate = Path(*parts[:i], "images", *parts[i + 1:])
        if candidate.is_dir():
            return candidate
    return folder


def _yolo_objects(path, names, source):
    objects = []
    for line, text in _lines(path):
        fields = text.split()
        if not fields:
            continue
        where = f"{path}, line {line}"
        if len(fields) != 5:
            raise ValueError(
                f"{where}: expected 5 fields 'class x_center y_center width "
                f"height'; got {len(fields)} (segmentation and pose labels are "
                "not read)."
            )
        k = number(fields[0], where, "the class number")
        if k != int(k) or k < 0 or (names is not None and k >= len(names)):
            known = (f"0 to {len(names) - 1}, the classes of {source}"
                     if names is not None else "an integer >= 0")
            raise ValueError(f"{where}: the class number must be {known}; got "
                             f"{fields[0]!r}.")
        cx, cy, w, h = (number(v, where, what) for v, what in
                        zip(fields[1:], ("x_center", "y_center", "width", "height")))
        label = names[int(k)] if names is not None else int(k)
        objects.append(Obj((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2), label,
                           where, ", ".join(fields[1:])))
    return objects


def parse_yolo(labels, folder, classes, notes):
    """YOLO labels: a folder of ``.txt`` files (or one file), one line per
    object, ``class x_center y_center width height`` relative to the image.

    Every image of ``folder`` is an entry (in the order of the sorted names);
    one without a label file, or with an empty one, holds no object, as in
    ultralytics. ``classes`` is a list of names, a names file, or None to look
    for one (see :func:`find_class_names`); without names the labels are the
    class numbers.
    """
    labels = Path(labels)
    labels_dir = labels if labels.is_dir() else labels.parent
    if isinstance(classes, (str, Path)):
        source = Path(classes)
        names = read_class_names(source)
    elif classes is not None:
        source, names = "classes", list(classes)
    else:
        source = find_class_names(labels_dir)
        names = None if source is None else read_class_names(source)
    if labels.is_dir():
        label_files = {p.stem: p for p in sorted(labels.glob("*.txt"))
                       if p.name not in CLASS_NAME_FILES}
        if not label_files:
            others = sorted({p.suffix for p in labels.iterdir() if p.is_file()})
            held = f" (it holds {', '.join(others)} files)" if others else ""
            raise ValueError(
                f"{labels} holds no YOLO label file (.txt){held}: read as YOLO, "
                "every photo would be without an object. Check the folder, or "
                "its format (format='auto' tells it from the files).")
        images = image_files(folder)
    else:
        label_files = {labels.stem: labels}
        found = find_image(folder, labels.stem)
        images = [found] if found else []
    entries, used = [], set()
    for name in images:
        stem = Path(name).stem
        path = label_files.get(stem)
        entry = Entry(name, str(path) if path else str(Path(folder) / name))
        if path is not None:
            used.add(stem)
            entry.objects = _yolo_objects(path, names, source)
        entries.append(entry)
    for stem, path in label_files.items():
        if stem not in used:
            notes.append(f"{path}: skipped: no image named {stem} with an image "
                         f"extension in {folder}.")
    return entries


# --------------------------------------------------------------------------
# landmarks


def parse_landmark_text(path, layout):
    """One line per image: the file name, then ``x_1 ... x_L y_1 ... y_L``
    (``"blocks"``) or ``x_1 y_1 ...`` (``"interleaved"``) in pixels; ``-1`` or
    ``nan`` is a point that is not visible; a line with the file name alone is
    an image without a face."""
    faces, n_points = [], None
    for line, text in _lines(path):
        fields = text.split()
        if not fields or fields[0].startswith("#"):
            continue
        name, coords = fields[0], fields[1:]
        where = f"{path}, line {line}"
        if not coords:
            faces.append(Face(name, where))
            continue
        if len(coords) < 2 or len(coords) % 2:
            raise ValueError(
                f"{where}: expected a file name and an even number of coordinates; "
                f"got {len(coords)} coordinates."
            )
        if n_points is None:
            n_points = len(coords) // 2
        elif len(coords) != 2 * n_points:
            raise ValueError(
                f"{where}: expected {2 * n_points} coordinates like the lines "
                f"before; got {len(coords)}."
            )
        values = np.array([_coordinate(v, where) for v in coords])
        values[values == -1] = np.nan
        if layout == "blocks":
            xs, ys = values[:n_points], values[n_points:]
        else:
            xs, ys = values[0::2], values[1::2]
        faces.append(Face(name, where, np.column_stack([xs, ys])))
    return faces, None


def _coordinate(value, where):
    if value.lower() == "nan":
        return np.nan
    return number(value, where, "a coordinate")


_NUMBERED = re.compile(r"([xy])_?([1-9][0-9]*)")


def _point_columns(path, line, fields, landmark_names):
    """The (x, y) column pairs of a landmark CSV header, and the point names
    they give (None: numbered)."""
    lowered = [v.lower() for v in fields]
    numbered = {}
    for j, c in enumerate(lowered):
        match = _NUMBERED.fullmatch(c)
        if match:
            numbered.setdefault(int(match.group(2)), {})[match.group(1)] = j
    named = [(fields[j][:-2], j, lowered.index(c[:-2] + "_y"))
             for j, c in enumerate(lowered)
             if c.endswith("_x") and c[:-2] + "_y" in lowered]
    if landmark_names is not None:
        wanted = [(str(n), f"{str(n).lower()}_x", f"{str(n).lower()}_y")
                  for n in landmark_names]
        if all(x in lowered and y in lowered for _, x, y in wanted):
            return [(lowered.index(x), lowered.index(y)) for _, x, y in wanted], \
                [n for n, _, _ in wanted]
    if numbered:
        count = max(numbered)
        if any(set(numbered.get(k, {})) != {"x", "y"} for k in range(1, count + 1)):
            got = [fields[j] for k in sorted(numbered) for j in numbered[k].values()]
            raise ValueError(
                f"{path}, line {line}: the numbered point columns must be x1, y1, "
                f"..., x{count}, y{count} (or x_1, y_1, ...) with none left out; "
                f"got {got}."
            )
        return [(numbered[k]["x"], numbered[k]["y"]) for k in range(1, count + 1)], None
    if named and landmark_names is None:
        return [(jx, jy) for _, jx, jy in named], [n for n, _, _ in named]
    wanted = "" if landmark_names is None else (
        f" (for landmark_names: {', '.join(f'{n}_x, {n}_y' for n in landmark_names)})")
    raise ValueError(
        f"{path}, line {line}: the header {fields} has no point columns{wanted}. "
        "Expected <name>_x, <name>_y pairs or x1, y1, x2, y2, ..."
    )


def parse_landmark_csv(path, landmark_names):
    """A CSV with a header: a file column and the points, as ``<name>_x,
    <name>_y`` pairs or numbered ``x1, y1, ...`` columns, in pixels. An empty
    (or ``nan``) point is not visible; a row whose points are all empty is an
    image without a face."""
    faces, pairs, names, n_fields = [], None, None, None
    for line, fields in _csv_rows(path):
        where = f"{path}, line {line}"
        if pairs is None:
            file_col = _column([v.lower() for v in fields], FILE_COLUMNS)
            if file_col is None:
                raise ValueError(
                    f"{where}: the header {fields} has no file column; expected "
                    f"one of {', '.join(FILE_COLUMNS)}."
                )
            pairs, names = _point_columns(path, line, fields, landmark_names)
            n_fields = len(fields)
            continue
        if len(fields) != n_fields:
            raise ValueError(f"{where}: expected {n_fields} fields like the header; "
                             f"got {len(fields)}.")
        points = np.full((len(pairs), 2), np.nan)
        for i, (jx, jy) in enumerate(pairs):
            x, y = fields[jx], fields[jy]
            if _is_empty(x) != _is_empty(y):
                raise ValueError(
                    f"{where}: point {i + 1} has only one coordinate ({x!r}, "
                    f"{y!r}); give both, or leave both empty for a point that is "
                    "not visible."
                )
            if not _is_empty(x):
                points[i] = (number(x, where, "a coordinate"),
                             number(y, where, "a coordinate"))
        present = not np.isnan(points).all()
        faces.append(Face(fields[file_col], where, points if present else None))
    if pairs is None:
        raise ValueError(f"{path}: the file is empty.")
    return faces, names
