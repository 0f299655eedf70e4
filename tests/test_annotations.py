"""load_boxes and load_landmarks on annotation files written here: round trips
through every format, pixel conventions, several objects, sizes and paths."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklocalize.datasets import (
    SkippedRowWarning,
    load_boxes,
    load_landmarks,
    make_localization,
)
from sklocalize.datasets._annotations import simple_yaml_names

BOX = ["b_x", "b_y", "b_h", "b_w"]
FORMATS = ["voc", "coco", "yolo", "csv"]


# --------------------------------------------------------------------------
# writers: relative xyxy boxes (or None: no object) into each format


def write_photo(path, width, height, box=None, value=220):
    """A dark image, with a bright rectangle over the pixel box ``box``."""
    img = np.full((height, width, 3), 30, dtype=np.uint8)
    if box is not None:
        x1, y1, x2, y2 = box
        img[y1:y2, x1:x2] = value
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path)


def _pixels(box, width, height):
    x1, y1, x2, y2 = box
    return x1 * width, y1 * height, x2 * width, y2 * height


def write_voc(folder, images):
    """``images``: (name, width, height, [(label, relative xyxy), ...])."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, width, height, objects in images:
        parts = [f"<annotation><filename>{name}</filename><size><width>{width}"
                 f"</width><height>{height}</height><depth>3</depth></size>"]
        for label, box in objects:
            x1, y1, x2, y2 = _pixels(box, width, height)
            # 1-based inclusive: the first pixel is 1, the box ends on pixel x2
            parts.append(f"<object><name>{label}</name><difficult>0</difficult>"
                         f"<bndbox><xmin>{x1 + 1!r}</xmin><ymin>{y1 + 1!r}</ymin>"
                         f"<xmax>{x2!r}</xmax><ymax>{y2!r}</ymax></bndbox></object>")
        parts.append("</annotation>")
        (folder / (name.rsplit(".", 1)[0] + ".xml")).write_text("".join(parts))
    return folder


def write_coco(path, images):
    labels = sorted({label for *_, objects in images for label, _ in objects})
    data = {"images": [], "annotations": [],
            "categories": [{"id": i + 7, "name": n} for i, n in enumerate(labels)]}
    for k, (name, width, height, objects) in enumerate(images):
        data["images"].append({"id": 100 + k, "file_name": name, "width": width,
                               "height": height})
        for label, box in objects:
            x1, y1, x2, y2 = _pixels(box, width, height)
            data["annotations"].append({
                "id": len(data["annotations"]) + 1, "image_id": 100 + k,
                "category_id": labels.index(label) + 7, "iscrowd": 0,
                "bbox": [x1, y1, x2 - x1, y2 - y1]})
    path.write_text(json.dumps(data))
    return path


def write_yolo(folder, images, classes):
    folder.mkdir(parents=True, exist_ok=True)
    for name, _, _, objects in images:
        lines = []
        for label, (x1, y1, x2, y2) in objects:
            lines.append(f"{classes.index(label)} {(x1 + x2) / 2!r} {(y1 + y2) / 2!r} "
                         f"{x2 - x1!r} {y2 - y1!r}")
        (folder / (name.rsplit(".", 1)[0] + ".txt")).write_text(
            "".join(line + "\n" for line in lines))
    return folder


def write_csv(path, images, header="filename,width,height,class,xmin,ymin,xmax,ymax"):
    lines = [header] if header else []
    columns = (header or "file,x1,y1,x2,y2,label").split(",")
    for name, width, height, objects in images:
        for label, box in objects or [("", None)]:
            x1, y1, x2, y2 = ("",) * 4 if box is None else _pixels(box, width, height)
            values = {"filename": name, "file": name, "width": width,
                      "height": height, "class": label, "label": label,
                      "xmin": x1, "ymin": y1, "xmax": x2, "ymax": y2, "x1": x1,
                      "y1": y1, "x2": x2, "y2": y2}
            lines.append(",".join(repr(v) if isinstance(v, float) else str(v)
                                  for v in (values[c.lower()] for c in columns)))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_format(fmt, root, images):
    """Write the photos and the annotations; return (annotations, images)."""
    photos = root / ("JPEGImages" if fmt == "voc" else
                     "images" if fmt == "yolo" else "")
    for name, width, height, _ in images:
        write_photo(photos / name, width, height)
    if fmt == "voc":
        return write_voc(root / "Annotations", images), None
    if fmt == "coco":
        return write_coco(root / "instances.json", images), None
    if fmt == "yolo":
        classes = sorted({label for *_, objs in images for label, _ in objs})
        (root / "classes.txt").write_text("\n".join(classes) + "\n")
        return write_yolo(root / "labels", images, classes), None
    return write_csv(root / "boxes.csv", images), None


SIZES = [(32, 32), (40, 24), (24, 36)]


@pytest.fixture(scope="module")
def generated():
    """Six images (two without an object) from make_localization: the tidy
    target, and the images as (name, width, height, objects)."""
    _, y = make_localization(n_samples=6, image_size=16, empty_fraction=0.3,
                             random_state=3, as_frame=True)
    xyxy = np.column_stack([y.b_x - y.b_w / 2, y.b_y - y.b_h / 2,
                            y.b_x + y.b_w / 2, y.b_y + y.b_h / 2])
    images = []
    for i, row in y.iterrows():
        width, height = SIZES[i % 3]
        objects = ([(row["label"], tuple(float(v) for v in xyxy[i]))]
                   if row["p_c"] == 1 else [])
        images.append((f"img_{i}.png", width, height, objects))
    assert (y["p_c"] == 0).sum() >= 1
    return y, images


@pytest.mark.parametrize("fmt", FORMATS)
def test_round_trip(tmp_path, generated, fmt):
    expected, images = generated
    annotations, _ = write_format(fmt, tmp_path, images)
    X, y = load_boxes(annotations, image_size=16)
    assert X.shape == (6, 3, 16, 16) and X.dtype == np.uint8
    assert list(y.columns) == ["p_c", *BOX, "label", "file", "width", "height",
                               "n_objects"]
    assert y["file"].tolist() == [name for name, *_ in images]
    assert y["n_objects"].tolist() == [len(objects) for *_, objects in images]
    assert y["p_c"].tolist() == expected["p_c"].tolist()
    assert y["label"].tolist() == expected["label"].tolist()
    present = expected["p_c"] == 1
    np.testing.assert_allclose(y.loc[present, BOX].to_numpy(float),
                               expected.loc[present, BOX].to_numpy(float),
                               atol=1e-9)
    assert y.loc[~present, BOX].isna().all().all()
    assert y["width"].tolist() == [w for _, w, _, _ in images]
    assert y["height"].tolist() == [h for _, _, h, _ in images]


WHOLE = {"csv": "a.png,0,0,20,10,cat", "voc": (1, 1, 20, 10),
         "coco": [0, 0, 20, 10], "yolo": "0 0.5 0.5 1 1"}
FIRST_PIXEL = {"csv": "a.png,0,0,1,1,cat", "voc": (1, 1, 1, 1),
               "coco": [0, 0, 1, 1], "yolo": "0 0.025 0.05 0.05 0.1"}


def write_one_box(fmt, root, box):
    """One 20x10 image with one box written as the format writes it."""
    write_photo(root / "a.png", 20, 10)
    if fmt == "csv":
        (root / "a.csv").write_text(box + "\n")
        return root / "a.csv"
    if fmt == "voc":
        xmin, ymin, xmax, ymax = box
        (root / "a.xml").write_text(
            "<annotation><filename>a.png</filename><object><name>cat</name><bndbox>"
            f"<xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax>"
            f"<ymax>{ymax}</ymax></bndbox></object></annotation>")
        return root / "a.xml"
    if fmt == "coco":
        (root / "a.json").write_text(json.dumps({
            "images": [{"id": 1, "file_name": "a.png", "width": 20, "height": 10}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": box}],
            "categories": [{"id": 1, "name": "cat"}]}))
        return root / "a.json"
    (root / "a.txt").write_text(box + "\n")
    (root / "classes.txt").write_text("cat\n")
    return root / "a.txt"


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("box,expected", [
    (WHOLE, [0.5, 0.5, 1.0, 1.0]),
    # pixel (0, 0) of a 20x10 image spans [0, 1/20) x [0, 1/10)
    (FIRST_PIXEL, [0.5 / 20, 0.5 / 10, 1 / 10, 1 / 20]),
], ids=["whole-image", "first-pixel"])
def test_pixel_conventions(tmp_path, fmt, box, expected):
    _, y = load_boxes(write_one_box(fmt, tmp_path, box[fmt]), image_size=16)
    np.testing.assert_allclose(y.loc[0, BOX].to_numpy(float), expected, atol=1e-12)
    assert y.loc[0, "label"] == "cat"


# --------------------------------------------------------------------------
# several objects


@pytest.fixture
def crowded(tmp_path):
    for name in ("a.png", "b.png", "c.png"):
        write_photo(tmp_path / name, 20, 20)
    (tmp_path / "boxes.csv").write_text(
        "a.png,0,0,5,5,cat\n"
        "a.png,2,2,18,18,dog\n"
        "b.png,1,1,9,9,cat\n"
        "c.png,0,0,4,4,cat\n"
        "c.png,0,0,2,2,cat\n"
        "c.png,0,0,3,3,cat\n")
    return tmp_path / "boxes.csv"


def test_several_objects_are_an_error_by_default(crowded):
    with pytest.raises(ValueError, match=r"boxes\.csv, line 1: a\.png holds 2 "
                       r"objects, and 2 image\(s\) of .*boxes\.csv hold more than "
                       r"one\. .*multiple='largest'"):
        load_boxes(crowded, image_size=16)


def test_several_objects_largest(crowded):
    with pytest.warns(SkippedRowWarning) as record:
        _, y = load_boxes(crowded, image_size=16, multiple="largest")
    several = [str(w.message) for w in record if "several" in str(w.message)]
    assert len(several) == 1
    assert "2 image(s) hold several objects; kept the largest" in several[0]
    assert y["file"].tolist() == ["a.png", "b.png", "c.png"]
    assert y["label"].tolist() == ["dog", "cat", "cat"]
    assert y["n_objects"].tolist() == [2, 1, 3]
    np.testing.assert_allclose(y.loc[0, BOX].to_numpy(float), [.5, .5, .8, .8])
    np.testing.assert_allclose(y.loc[2, ["b_h", "b_w"]].to_numpy(float), [.2, .2])


def test_several_objects_skip(crowded):
    with pytest.warns(SkippedRowWarning, match=r"skipped 2 image\(s\) that hold "
                      r"several objects \(multiple='skip'\)") as record:
        _, y = load_boxes(crowded, image_size=16, multiple="skip")
    assert len(record) == 1
    assert y["file"].tolist() == ["b.png"]


@pytest.mark.parametrize("fmt", ["voc", "coco", "yolo"])
def test_several_objects_named_in_other_formats(tmp_path, fmt):
    images = [("two.png", 20, 20, [("cat", (0, 0, .5, .5)), ("cat", (.5, .5, 1, 1))])]
    annotations, _ = write_format(fmt, tmp_path, images)
    with pytest.raises(ValueError, match=r"two\.png holds 2 objects"):
        load_boxes(annotations, image_size=16)


def test_image_whose_only_box_is_degenerate_is_dropped_not_absent(tmp_path):
    write_photo(tmp_path / "a.png", 20, 20)
    write_photo(tmp_path / "b.png", 20, 20)
    (tmp_path / "b.csv").write_text("a.png,4,4,4,9,cat\nb.png,1,1,5,5,dog\n")
    with pytest.warns(SkippedRowWarning, match=r"line 1: skipped a\.png: its box "
                      r"\(4, 4, 4, 9\) has zero"):
        _, y = load_boxes(tmp_path / "b.csv", image_size=16)
    assert y["file"].tolist() == ["b.png"]


def test_voc_one_pixel_wide_box_is_not_degenerate(tmp_path):
    write_one_box("voc", tmp_path, (5, 2, 5, 4))  # xmin = xmax: pixel column 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, y = load_boxes(tmp_path / "a.xml", image_size=16)
    np.testing.assert_allclose(y.loc[0, ["b_x", "b_w"]].to_numpy(float),
                               [4.5 / 20, 1 / 20])


# --------------------------------------------------------------------------
# CSV


def test_csv_headers_by_name(tmp_path, generated):
    expected, images = generated
    for name, width, height, _ in images:
        write_photo(tmp_path / name, width, height)
    write_csv(tmp_path / "tf.csv", images)  # filename,width,height,class,xmin...
    write_csv(tmp_path / "any.csv", images, header="Label,X2,Y2,FILE,x1,y1")
    write_csv(tmp_path / "none.csv", images, header=None)  # file,x1,y1,x2,y2,label
    frames = [load_boxes(tmp_path / f, image_size=16)[1]
              for f in ("tf.csv", "any.csv", "none.csv")]
    for y in frames[1:]:
        pd.testing.assert_frame_equal(y, frames[0])
    assert frames[0]["p_c"].tolist() == expected["p_c"].tolist()


def test_csv_with_a_byte_order_mark_keeps_its_first_row(tmp_path):
    write_photo(tmp_path / "a.png", 20, 10)
    write_photo(tmp_path / "b.png", 20, 10)
    rows = "a.png,0,0,10,10,cat\nb.png,10,0,20,10,dog\n"
    (tmp_path / "plain.csv").write_text(rows, encoding="utf-8-sig")
    (tmp_path / "head.csv").write_text("filename,xmin,ymin,xmax,ymax,class\n" + rows,
                                       encoding="utf-8-sig")
    for name in ("plain.csv", "head.csv"):
        _, y = load_boxes(tmp_path / name, image_size=16)
        assert y["file"].tolist() == ["a.png", "b.png"]


def test_csv_not_utf8_names_the_line(tmp_path):
    (tmp_path / "l.csv").write_bytes(b"a.png,0,0,1,1,cat\nb.png,0,0,1,1,caf\xe9\n")
    with pytest.raises(ValueError, match=r"l\.csv, line 2: not UTF-8 text"):
        load_boxes(tmp_path / "l.csv")


@pytest.mark.parametrize("text,match", [
    ("a.png,1,,30,40,cat", r"line 1: the box \(1, , 30, 40\) is partly empty"),
    ("a.png,1,nan,30,40,cat", r"line 1: the box \(1, nan, 30, 40\) is partly empty"),
    ("a.png,1,2,30,40,", "line 1: a box without a label"),
    ("filename,xmin,ymin,xmax,ymax\na.png,1,2,3,4", r"line 1: the header .* has no "
     "column for a label"),
    ("a.png,1,2,3,4,cat\nb.png,1,2,3,cat", "line 2: expected 6 fields"),
])
def test_malformed_csv(tmp_path, text, match):
    write_photo(tmp_path / "a.png", 40, 40)
    (tmp_path / "m.csv").write_text(text + "\n")
    with pytest.raises(ValueError, match=match):
        load_boxes(tmp_path / "m.csv")


def test_csv_label_without_a_box_is_an_unannotated_object(tmp_path):
    write_photo(tmp_path / "a.png", 20, 20)
    write_photo(tmp_path / "b.png", 20, 20)
    (tmp_path / "u.csv").write_text("a.png,,,,,cat\nb.png,,,,,\n")
    _, y = load_boxes(tmp_path / "u.csv", image_size=16)
    assert y["p_c"].tolist() == [1, 0] and y["label"].tolist() == ["cat", None]
    assert y[BOX].isna().all().all()


@pytest.mark.parametrize("name", ["../outside.png", "{tmp}/outside.png"])
def test_paths_that_leave_the_image_folder(tmp_path, name):
    folder = tmp_path / "data"
    write_photo(tmp_path / "outside.png", 20, 20)
    name = name.format(tmp=tmp_path)
    folder.mkdir()
    (folder / "b.csv").write_text(f"{name},0,0,5,5,cat\n")
    with pytest.raises(ValueError, match=r"b\.csv, line 1: the image path .* leaves "
                       "the image folder .* allow_outside=True"):
        load_boxes(folder / "b.csv", image_size=16)
    _, y = load_boxes(folder / "b.csv", image_size=16, allow_outside=True)
    assert y["file"].tolist() == [name]


def test_a_subfolder_is_not_outside(tmp_path):
    write_photo(tmp_path / "sub" / "a.png", 20, 20)
    (tmp_path / "b.csv").write_text("sub/../sub/a.png,0,0,5,5,cat\n")
    _, y = load_boxes(tmp_path / "b.csv", image_size=16)
    assert len(y) == 1


# --------------------------------------------------------------------------
# VOC, COCO, YOLO particulars


def test_voc_root_folder_and_file_name_without_extension(tmp_path):
    write_photo(tmp_path / "VOC" / "JPEGImages" / "0001.jpg", 20, 20)
    (tmp_path / "VOC" / "Annotations").mkdir()
    (tmp_path / "VOC" / "Annotations" / "0001.xml").write_text(
        "<annotation><filename>0001</filename><size><width>0</width><height>0"
        "</height></size></annotation>")  # size 0: ignored
    for source in (tmp_path / "VOC", tmp_path / "VOC" / "Annotations"):
        _, y = load_boxes(source, image_size=16)
        assert y["file"].tolist() == ["0001.jpg"] and y["p_c"].tolist() == [0]


def test_voc_not_an_annotation(tmp_path):
    (tmp_path / "x.xml").write_text("<svg></svg>")
    with pytest.raises(ValueError, match=r"x\.xml: not a Pascal VOC annotation"):
        load_boxes(tmp_path / "x.xml")
    (tmp_path / "x.xml").write_text("<annotation>")
    with pytest.raises(ValueError, match=r"x\.xml: not valid XML"):
        load_boxes(tmp_path / "x.xml")


def test_coco_errors_name_the_annotation(tmp_path):
    write_one_box("coco", tmp_path, [0, 0, 1, 1])
    data = json.loads((tmp_path / "a.json").read_text())
    data["annotations"][0]["category_id"] = 9
    (tmp_path / "a.json").write_text(json.dumps(data))
    with pytest.raises(ValueError, match=r"a\.json, annotation id 1: its "
                       "category_id 9 is not among the categories"):
        load_boxes(tmp_path / "a.json")
    (tmp_path / "a.json").write_text('{"images": [\n1,]}')
    with pytest.raises(ValueError, match=r"a\.json, line 2: not valid JSON"):
        load_boxes(tmp_path / "a.json")


def test_yolo_ultralytics_layout(tmp_path):
    root = tmp_path / "dataset"
    write_photo(root / "images" / "train" / "a.jpg", 20, 10)
    write_photo(root / "images" / "train" / "b.png", 20, 10)  # no label: absent
    write_photo(root / "images" / "train" / "c.png", 20, 10)
    (root / "labels" / "train").mkdir(parents=True)
    (root / "labels" / "train" / "a.txt").write_text("1 0.5 0.5 0.5 0.5\n")
    (root / "labels" / "train" / "c.txt").write_text("")  # empty: absent
    (root / "labels" / "train" / "d.txt").write_text("0 0.5 0.5 0.5 0.5\n")
    (root / "data.yaml").write_text(
        "path: .\ntrain: images/train\nnames:\n  0: person\n  1: bicycle\n")
    with pytest.warns(SkippedRowWarning, match=r"d\.txt: skipped: no image named d"):
        _, y = load_boxes(root / "labels" / "train", image_size=16)
    assert y["file"].tolist() == ["a.jpg", "b.png", "c.png"]
    assert y["label"].tolist() == ["bicycle", None, None]
    _, named = load_boxes(root / "labels" / "train" / "a.txt", image_size=16,
                          classes=["x", "y"])
    assert named["label"].tolist() == ["y"]


def test_yolo_darknet_layout_and_numbers_without_names(tmp_path):
    write_photo(tmp_path / "obj" / "a.jpg", 20, 10)
    (tmp_path / "obj" / "a.txt").write_text("2 0.5 0.5 0.5 0.5\n")
    _, y = load_boxes(tmp_path / "obj", image_size=16)
    assert y["label"].tolist() == [2]
    (tmp_path / "obj.names").write_text("a\nb\n")
    with pytest.raises(ValueError, match=r"a\.txt, line 1: the class number must "
                       r"be 0 to 1, the classes of .*obj\.names; got '2'"):
        load_boxes(tmp_path / "obj", image_size=16)
    (tmp_path / "obj" / "a.txt").write_text("0 0.5 0.5 0.5 0.5 0.1 0.2\n")
    with pytest.raises(ValueError, match="line 1: expected 5 fields"):
        load_boxes(tmp_path / "obj", image_size=16)


@pytest.mark.parametrize("text", [
    "names: ['a', \"b\"]  # two\nnc: 2\n",
    "nc: 2\nnames:\n  - a\n  - b\ntrain: x\n",
    "names:\n  0: a\n  1: 'b'\n",
])
def test_yaml_names_without_pyyaml(text):
    names = simple_yaml_names(text, "d.yaml")
    assert (list(names.values()) if isinstance(names, dict) else names) == ["a", "b"]


def test_yaml_names_without_pyyaml_keep_commas_inside_quotes():
    # names: ['hot, dog', cat] was split inside the quotes
    text = "names: ['hot, dog', \"a, b\", cat]\n"
    assert simple_yaml_names(text, "d.yaml") == ["hot, dog", "a, b", "cat"]
    with pytest.raises(ValueError, match="line 1: a quote of the names list is "
                       "not closed"):
        simple_yaml_names("names: ['hot, dog, cat]\n", "d.yaml")


@pytest.mark.parametrize("name,match", [
    ("a.tsv", "Cannot tell the format of .*a.tsv"),
    ("nothing.csv", "No such annotation file or folder"),
])
def test_format_cannot_be_told(tmp_path, name, match):
    if name != "nothing.csv":
        (tmp_path / name).write_text("x")
    with pytest.raises(ValueError, match=match):
        load_boxes(tmp_path / name)


@pytest.mark.parametrize("kwargs,match", [
    ({"multiple": "first"}, "multiple must be one of 'error', 'largest', 'skip'"),
    ({"format": "xml"}, "format must be one of 'auto', 'voc'"),
    ({"on_error": "ignore"}, "on_error must be 'raise' or 'skip'"),
    ({"allow_outside": "yes"}, "allow_outside must be True or False"),
    ({"classes": ["a"]}, "classes= names the class numbers of YOLO labels"),
])
def test_bad_options(tmp_path, kwargs, match):
    write_one_box("csv", tmp_path, "a.png,0,0,1,1,cat")
    with pytest.raises(ValueError, match=match):
        load_boxes(tmp_path / "a.csv", **kwargs)


# --------------------------------------------------------------------------
# recorded sizes and the EXIF orientation


def write_oriented(path, stored_box, orientation, size=(30, 20)):
    """A PNG stored ``size`` (width, height) with a bright pixel box and an
    EXIF orientation."""
    width, height = size
    img = np.full((height, width), 20, dtype=np.uint8)
    x1, y1, x2, y2 = stored_box
    img[y1:y2, x1:x2] = 240
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(img).save(path, exif=exif)


def bright_box(X, i=0):
    rows, cols = np.nonzero(X[i, 0] > 128)
    h, w = X.shape[2:]
    return np.array([cols.min() / w, rows.min() / h, (cols.max() + 1) / w,
                     (rows.max() + 1) / h])


@pytest.mark.parametrize("orientation", [1, 5, 6, 7, 8])
def test_box_annotated_on_the_stored_image_is_turned_upright(tmp_path, orientation):
    # the tool ignored the EXIF orientation: it records the stored size and
    # boxes on the stored pixels; the reader turns them with the image (a flip
    # or a half turn, 2 to 4, keeps the size and cannot be told apart)
    stored_box = (3, 2, 12, 8)
    write_oriented(tmp_path / "a.png", stored_box, orientation)
    (tmp_path / "a.csv").write_text(
        "filename,width,height,class,xmin,ymin,xmax,ymax\n"
        f"a.png,30,20,cat,{','.join(map(str, stored_box))}\n")
    swapped = orientation >= 5
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        X, y = load_boxes(tmp_path / "a.csv", color="gray",  # not resized
                          image_size=(30, 20) if swapped else (20, 30))
    assert (y.loc[0, "width"], y.loc[0, "height"]) == ((20, 30) if swapped
                                                       else (30, 20))
    assert any("annotated as stored" in str(w.message) for w in record) == swapped
    b_x, b_y, b_h, b_w = y.loc[0, BOX].to_numpy(float)
    np.testing.assert_allclose([b_x - b_w / 2, b_y - b_h / 2, b_x + b_w / 2,
                                b_y + b_h / 2], bright_box(X), atol=1e-9)


def test_box_annotated_upright_and_at_another_scale(tmp_path):
    write_oriented(tmp_path / "a.png", (3, 2, 12, 8), 6)  # upright: 20 x 30
    upright = "a.png,20,30,cat,12,3,18,12"  # the same box, on the upright image
    scaled = "a.png,40,60,cat,24,6,36,24"  # on a copy twice as large
    (tmp_path / "a.csv").write_text(
        f"filename,width,height,class,xmin,ymin,xmax,ymax\n{upright}\n")
    (tmp_path / "s.csv").write_text(
        f"filename,width,height,class,xmin,ymin,xmax,ymax\n{scaled}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, y = load_boxes(tmp_path / "a.csv", image_size=16)
    with pytest.warns(SkippedRowWarning, match=r"1 image\(s\) have another size "
                      "than the one the annotation records"):
        _, s = load_boxes(tmp_path / "s.csv", image_size=16)
    np.testing.assert_allclose(s[BOX].to_numpy(float), y[BOX].to_numpy(float))
    np.testing.assert_allclose(y.loc[0, BOX].to_numpy(float), [.75, .25, .3, .3])
    (tmp_path / "w.csv").write_text(
        "filename,width,height,class,xmin,ymin,xmax,ymax\na.png,50,30,cat,1,1,2,2\n")
    with pytest.raises(ValueError, match=r"w\.csv, line 2: the annotation records "
                       r"the size 50x30 \(width x height\) for a\.png, but the "
                       r"image is 20x30 \(upright; stored 30x20\)"):
        load_boxes(tmp_path / "w.csv", image_size=16)


def test_unreadable_image_in_an_annotation_file(tmp_path):
    write_photo(tmp_path / "a.png", 20, 20)
    (tmp_path / "bad.png").write_bytes(b"not an image")
    (tmp_path / "b.csv").write_text("a.png,0,0,5,5,cat\nbad.png,0,0,5,5,cat\n")
    with pytest.raises(ValueError, match=r"b\.csv, line 2: Cannot read the image "
                       r".*bad\.png: UnidentifiedImageError"):
        load_boxes(tmp_path / "b.csv", image_size=16)
    with pytest.warns(SkippedRowWarning, match=r"line 2: skipped .*bad\.png: it "
                      "cannot be read"):
        _, y = load_boxes(tmp_path / "b.csv", image_size=16, on_error="skip")
    assert y["file"].tolist() == ["a.png"]


# --------------------------------------------------------------------------
# landmarks


@pytest.fixture
def faces(tmp_path):
    write_photo(tmp_path / "f1.png", 80, 40)
    write_photo(tmp_path / "f2.png", 40, 40)
    write_photo(tmp_path / "f3.png", 40, 40)
    return tmp_path


def test_landmark_csv_named_columns(faces):
    (faces / "p.csv").write_text(
        "image,le_x,le_y,re_x,re_y,extra\n"
        "f1.png,20,10,60,10,x\n"
        "f2.png,10,10,,,y\n"  # right eye not visible
        "f3.png,,,,,z\n")  # no face
    X, y = load_landmarks(faces / "p.csv", image_size=16)
    assert list(y.columns) == ["p", "le_x", "le_y", "re_x", "re_y", "file", "width",
                               "height"]
    assert y["p"].tolist() == [1, 1, 0]
    np.testing.assert_allclose(y.iloc[0, 1:5].to_numpy(float), [.25, .25, .75, .25])
    assert y.loc[1, ["re_x", "re_y"]].isna().all()
    _, swapped = load_landmarks(faces / "p.csv", image_size=16,
                                landmark_names=["re", "le"])
    np.testing.assert_allclose(swapped.iloc[0, 1:5].to_numpy(float),
                               [.75, .25, .25, .25])


def test_landmark_csv_numbered_columns_match_the_text_file(faces):
    (faces / "n.csv").write_text("file,x1,y1,x2,y2\nf1.png,20,10,60,10\n")
    (faces / "n.txt").write_text("f1.png 20 60 10 10\n")
    _, from_csv = load_landmarks(faces / "n.csv", image_size=16,
                                 landmark_names=["le", "re"], pixel_offset=0.5)
    _, from_text = load_landmarks(faces / "n.txt", image_size=16,
                                  landmark_names=["le", "re"], pixel_offset=0.5)
    pd.testing.assert_frame_equal(from_csv, from_text)
    np.testing.assert_allclose(from_csv.iloc[0, 1:3].to_numpy(float),
                               [20.5 / 80, 10.5 / 40])


def test_landmark_text_line_without_points_is_absent(faces):
    (faces / "a.txt").write_text("f1.png 1 2 3 4\nf2.png\n")
    _, y = load_landmarks(faces / "a.txt", image_size=16)
    assert y["p"].tolist() == [1, 0] and y.loc[1, ["x_1", "y_2"]].isna().all()


@pytest.mark.parametrize("text,match", [
    ("file,x1,y1\nf1.png,1,\n", "line 2: point 1 has only one coordinate"),
    ("x1,y1\n1,2\n", "line 1: the header .* has no file column"),
    ("file,x1,y1,x3,y3\nf1.png,1,2,3,4\n", "the numbered point columns must be"),
])
def test_malformed_landmark_csv(faces, text, match):
    (faces / "m.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_landmarks(faces / "m.csv")


def test_several_faces(faces):
    (faces / "two.txt").write_text("f1.png 1 2 3 4\nf1.png 1 30 3 30\nf2.png 1 2 3 4\n")
    with pytest.raises(ValueError, match=r"two\.txt, line 1: f1\.png holds 2 faces"):
        load_landmarks(faces / "two.txt", image_size=16)
    with pytest.warns(SkippedRowWarning, match=r"1 image\(s\) hold several faces"):
        _, y = load_landmarks(faces / "two.txt", image_size=16, multiple="largest")
    np.testing.assert_allclose(y.loc[0, ["x_1", "x_2"]].to_numpy(float),
                               [1 / 80, 30 / 80])


def test_coco_crowd_regions_are_not_the_object(tmp_path):
    # a crowd region (iscrowd: 1) was read as the image's object
    images = [("a.png", 20, 20, [("cat", (0.1, 0.1, 0.5, 0.5))]),
              ("b.png", 20, 20, [("cat", (0.2, 0.2, 0.9, 0.9))]),
              ("c.png", 20, 20, [])]
    for name, w, h, _ in images:
        write_photo(tmp_path / name, w, h)
    path = write_coco(tmp_path / "instances.json", images)
    data = json.loads(path.read_text())
    for ann in data["annotations"]:
        ann["iscrowd"] = int(ann["image_id"] == 101)  # b's one region
    data["annotations"].append({"id": 9, "image_id": 100, "category_id": 7,
                                "iscrowd": 1, "bbox": [10, 10, 9, 9]})
    path.write_text(json.dumps(data))
    with pytest.warns(SkippedRowWarning, match=r"left out 2 crowd region\(s\) "
                      r"\(iscrowd: 1\) of 2 image\(s\), and the 1 image\(s\) that "
                      "hold nothing else"):
        _, y = load_boxes(path, image_size=16)
    assert y["file"].tolist() == ["a.png", "c.png"]
    assert y["p_c"].tolist() == [1, 0]
    np.testing.assert_allclose(y.loc[0, ["b_x", "b_y"]].to_numpy(float), [.3, .3])
    assert y["n_objects"].tolist() == [2, 0]  # a's crowd counts: no crop of a


def test_yolo_format_on_a_folder_without_labels_says_so(tmp_path):
    # --format yolo on a VOC folder read every photo as without an object
    images = [("a.png", 20, 20, [("cat", (0.1, 0.1, 0.5, 0.5))])]
    write_format("voc", tmp_path, images)
    with pytest.raises(ValueError, match=r"Annotations holds no YOLO label file "
                       r"\(\.txt\) \(it holds \.xml files\): read as YOLO, every "
                       "photo would be without an object"):
        load_boxes(tmp_path / "Annotations", tmp_path / "JPEGImages",
                   format="yolo", image_size=16)


def test_yolo_rounding_past_the_edge_is_not_clipping(tmp_path):
    # 6-decimal YOLO labels reach 5e-7 past the edge: counted as clipped
    write_photo(tmp_path / "images" / "a.png", 20, 20)
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "a.txt").write_text("0 0.750000 0.500000 0.500001 0.4\n")
    (tmp_path / "labels" / "classes.txt").write_text("cat\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, y = load_boxes(tmp_path / "labels", image_size=16)
    assert y["b_w"].iloc[0] == pytest.approx(0.5, abs=1e-5)


@pytest.mark.parametrize("fmt", ["voc", "coco"])
def test_two_records_of_one_photo_are_merged(tmp_path, fmt):
    # two VOC files, or two COCO image records, naming one photo gave two rows
    # with contradicting boxes
    write_photo(tmp_path / "a.png", 20, 20)
    write_photo(tmp_path / "b.png", 20, 20)
    small, large = ("cat", (0.1, 0.1, 0.3, 0.3)), ("dog", (0.2, 0.2, 0.9, 0.9))
    if fmt == "voc":
        write_voc(tmp_path / "x", [("a.png", 20, 20, [small])])
        write_voc(tmp_path / "y", [("a.png", 20, 20, [large]),
                                   ("b.png", 20, 20, [small])])
        (tmp_path / "ann").mkdir()
        (tmp_path / "x" / "a.xml").rename(tmp_path / "ann" / "a1.xml")
        for f in (tmp_path / "y").iterdir():
            f.rename(tmp_path / "ann" / f.name)
        source = tmp_path / "ann"
    else:
        source = write_coco(tmp_path / "c.json", [
            ("a.png", 20, 20, [small]), ("b.png", 20, 20, [small]),
            ("a.png", 20, 20, [large])])
    with pytest.raises(ValueError, match=r"a\.png holds 2 objects"):
        load_boxes(source, tmp_path, image_size=16)
    with pytest.warns(SkippedRowWarning, match=r"1 annotation record\(s\) name a "
                      "photo another record names too"):
        _, y = load_boxes(source, tmp_path, image_size=16, multiple="largest")
    assert sorted(y["file"]) == ["a.png", "b.png"]
    a = y[y["file"] == "a.png"].iloc[0]
    assert a["label"] == "dog" and a["n_objects"] == 2


@pytest.mark.parametrize("change, match", [
    (lambda d: d.update(annotations={"1": d["annotations"][0]}),
     "'annotations' must be a list .* got dict"),
    (lambda d: d["annotations"].append(None),
     r"annotations\[1\]: an annotation must be an object .* got None"),
    (lambda d: d["categories"][0].pop("name"),
     r"categories\[0\]: a category needs an 'id' and a 'name'"),
])
def test_malformed_coco_is_named(tmp_path, change, match):
    # a raw AttributeError before, or a category without a name refused
    # only later by fit
    write_photo(tmp_path / "a.png", 20, 20)
    path = write_coco(tmp_path / "c.json", [("a.png", 20, 20,
                                             [("cat", (0.1, 0.1, 0.5, 0.5))])])
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match=match):
        load_boxes(path, image_size=16)


@pytest.mark.parametrize("text, match", [
    ("a.png;1;1;5;5;cat\n", "The fields seem separated by semicolons"),
    ("a.png\t1\t1\t5\t5\tcat\n", "The fields seem separated by tabs"),
    ("image,x,y,w,h,label\na.png,1,1,5,5,cat\n",
     "line 1: .* is not a row of a box .* looks like a header that names no "
     "known column: name them file"),
])
def test_csv_that_does_not_read_says_why(tmp_path, text, match):
    # "expected 6 fields", or "x1 must be a number", said nothing of why
    write_photo(tmp_path / "a.png", 20, 20)
    (tmp_path / "b.csv").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_boxes(tmp_path / "b.csv", image_size=16)


def test_voc_with_an_xml_namespace_is_read(tmp_path):
    # "not a Pascal VOC annotation" before: the root was {ns}annotation
    write_photo(tmp_path / "a.png", 20, 20)
    (tmp_path / "a.xml").write_text(
        '<annotation xmlns="http://example.org/voc"><filename>a.png</filename>'
        "<size><width>20</width><height>20</height></size><object><name>cat"
        "</name><bndbox><xmin>3</xmin><ymin>3</ymin><xmax>10</xmax><ymax>10"
        "</ymax></bndbox></object></annotation>")
    _, y = load_boxes(tmp_path / "a.xml", tmp_path, image_size=16)
    assert y["label"].tolist() == ["cat"]
    np.testing.assert_allclose(y[["b_w", "b_h"]].to_numpy(float), [[0.4, 0.4]])
