"""Readers for data on disk, on files generated in a temporary folder."""

import warnings

import numpy as np
import pytest
from PIL import Image

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.datasets import (
    SkippedRowWarning,
    load_boxes,
    load_landmarks,
)


def write_image(path, width, height, box=None):
    img = np.full((height, width, 3), 40, dtype=np.uint8)
    if box is not None:
        x1, y1, x2, y2 = box
        img[y1:y2, x1:x2] = 220
    Image.fromarray(img).save(path)


@pytest.fixture
def box_folder(tmp_path):
    rows = [
        ("a.png", 100, 50, (10, 5, 60, 45), "cat"),
        ("b.png", 80, 80, (40, 40, 80, 80), "dog"),
        ("c.png", 64, 32, None, ""),
    ]
    lines = []
    for name, w, h, box, label in rows:
        write_image(tmp_path / name, w, h, box)
        coords = ",".join(map(str, box)) if box else ",,,"
        lines.append(f"{name},{coords},{label}")
    (tmp_path / "boxes.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


def test_load_boxes_csv(box_folder):
    X, y = load_boxes(box_folder / "boxes.csv", box_folder, format="csv",
                      image_size=(32, 48))
    assert X.shape == (3, 3, 32, 48) and X.dtype == np.uint8
    assert y["label"].tolist() == ["cat", "dog", None]
    assert y["p_c"].tolist() == [1, 1, 0]
    # a: x 10..60 of 100, y 5..45 of 50
    np.testing.assert_allclose(y.loc[0, ["b_x", "b_y", "b_h", "b_w"]].astype(float),
                               [0.35, 0.5, 0.8, 0.5])
    # the bright rectangle lies inside the relative box after resizing
    bright = X[0, 0] > 130
    rows, cols = np.nonzero(bright)
    assert cols.min() / 48 >= 0.1 - 1 / 48 and (cols.max() + 1) / 48 <= 0.6 + 1 / 48
    est = LocalizerEstimator(max_epochs=1, module__width=4, module__depth=2)
    assert est.fit(X, y).classes_.tolist() == ["cat", "dog"]


def test_gray_and_header(box_folder):
    text = "file,x1,y1,x2,y2,label\n" + (box_folder / "boxes.csv").read_text()
    (box_folder / "h.csv").write_text(text)
    X, y = load_boxes(box_folder / "h.csv", box_folder, format="csv", image_size=16,
                      color="gray")
    assert X.shape == (3, 1, 16, 16) and len(y) == 3


def test_degenerate_box_and_missing_file_are_skipped_with_warnings(box_folder):
    text = (box_folder / "boxes.csv").read_text()
    text += "a.png,10,20,60,20,cat\nmissing.png,1,1,5,5,cat\n"
    (box_folder / "bad.csv").write_text(text)
    with pytest.warns(SkippedRowWarning) as record:
        X, y = load_boxes(box_folder / "bad.csv", box_folder, format="csv",
                          image_size=16)
    messages = " ".join(str(w.message) for w in record)
    # a second row of a.png: a second object, left out with its degenerate box
    assert "line 4: skipped a box of a.png: its box (10, 20, 60, 20) has zero" \
        in messages
    assert "skipped 1 of the 4 images the annotations name, not found there " \
        "(missing.png)" in messages
    assert len(X) == len(y) == 3


def test_the_wrong_image_folder_is_one_error_naming_it(box_folder, tmp_path):
    # every file missing: one error naming the folder, not a warning per file
    # and "no usable image"
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ValueError, match=r"0 of the 3 image files the "
                           r"annotations name are in .*elsewhere \(the first: "
                           r"a\.png\); pass the folder that holds them as "
                           r"images='DIR'"):
            load_boxes(box_folder / "boxes.csv", empty, image_size=16)


def test_box_past_the_image_is_clipped(box_folder):
    (box_folder / "c.csv").write_text("a.png,-10,5,60,70,cat\n")
    with pytest.warns(SkippedRowWarning, match="1 box\\(es\\) reached past the image"):
        _, y = load_boxes(box_folder / "c.csv", box_folder, format="csv", image_size=16)
    np.testing.assert_allclose(y.loc[0, ["b_x", "b_h", "b_w"]].astype(float),
                               [0.3, 0.9, 0.6])


@pytest.mark.parametrize("line,match", [
    ("a.png,1,2,3,cat", "line 1: expected 6 fields"),
    ("a.png,1,x,30,40,cat", "line 1: y1 must be a number; got 'x'"),
])
def test_malformed_box_csv(box_folder, line, match):
    (box_folder / "m.csv").write_text(line + "\n")
    with pytest.raises(ValueError, match=match):
        load_boxes(box_folder / "m.csv", box_folder, format="csv")


def test_bad_reader_options(box_folder):
    with pytest.raises(ValueError, match=r"image_size must be an int or a pair "
                       r"\(height, width\) of ints >= 16; got 8\."):
        load_boxes(box_folder / "boxes.csv", box_folder, format="csv", image_size=8)
    with pytest.raises(TypeError, match=r"image_size must be an int or a pair "
                       r"\(height, width\) of ints >= 16; got 'big'\."):
        load_boxes(box_folder / "boxes.csv", box_folder, format="csv", image_size="big")
    with pytest.raises(ValueError, match="color must be 'rgb' or 'gray'"):
        load_boxes(box_folder / "boxes.csv", box_folder, format="csv", color="cmyk")


@pytest.fixture
def landmark_folder(tmp_path):
    write_image(tmp_path / "f1.jpg", 80, 80)
    write_image(tmp_path / "f2.jpg", 40, 20)
    (tmp_path / "blocks.txt").write_text(
        "f1.jpg 20 60 40 20 20 40\n"
        "f2.jpg 10 30 20 5 5 15\n")
    (tmp_path / "inter.txt").write_text(
        "f1.jpg 20 20 60 20 40 40\n"
        "f2.jpg 10 5 30 5 -1 -1\n")
    return tmp_path


def test_load_landmarks_text_layouts(landmark_folder):
    X, y = load_landmarks(landmark_folder / "blocks.txt", landmark_folder,
                          format="text",
                              image_size=16, landmark_names=["le", "re", "nose"])
    assert X.shape == (2, 3, 16, 16)
    assert list(y.columns) == ["p", "le_x", "le_y", "re_x", "re_y", "nose_x",
                               "nose_y", "file", "width", "height"]
    assert y["width"].tolist() == [80, 40] and y["height"].tolist() == [80, 20]
    np.testing.assert_allclose(y.iloc[0, 1:7].astype(float),
                               [.25, .25, .75, .25, .5, .5])
    _, inter = load_landmarks(landmark_folder / "inter.txt", landmark_folder,
                              format="text",
                                  layout="interleaved", image_size=16)
    np.testing.assert_allclose(inter.iloc[0, 1:7].astype(float),
                               [.25, .25, .75, .25, .5, .5])
    assert np.isnan(inter.loc[1, "x_3"])  # -1: not visible
    LandmarkEstimator(max_epochs=1, module__width=4, module__depth=2).fit(X, y)


def test_load_landmarks_text_counts_the_names(landmark_folder):
    with pytest.raises(ValueError, match=r"landmark_names must name the 3 landmarks "
                       r"of .*blocks\.txt; got 2 names\."):
        load_landmarks(landmark_folder / "blocks.txt", landmark_folder, format="text",
                           image_size=16, landmark_names=["le", "re"])


def test_load_landmarks_text_pixel_offset(landmark_folder):
    # f1 is 80x80, f2 40 wide and 20 high: the offset is in the file's pixels
    _, edges = load_landmarks(landmark_folder / "blocks.txt", landmark_folder,
                              format="text",
                                  image_size=16)
    _, centres = load_landmarks(landmark_folder / "blocks.txt", landmark_folder,
                                format="text",
                                    image_size=16, pixel_offset=0.5)
    shift = (centres.iloc[:, 1:7] - edges.iloc[:, 1:7]).to_numpy(float)
    np.testing.assert_allclose(shift[0], 0.5 / 80)
    np.testing.assert_allclose(shift[1], [0.5 / 40, 0.5 / 20] * 3)
    _, inter = load_landmarks(landmark_folder / "inter.txt", landmark_folder,
                              format="text",
                                  layout="interleaved", pixel_offset=-0.5)
    assert np.isnan(inter.loc[1, "x_3"])  # -1 still means not visible


@pytest.mark.parametrize("offset", ["0.5", float("nan"), True, None])
def test_bad_pixel_offset(landmark_folder, offset):
    with pytest.raises(ValueError, match="pixel_offset must be a finite number"):
        load_landmarks(landmark_folder / "blocks.txt", landmark_folder, format="text",
                           pixel_offset=offset)


@pytest.mark.parametrize("text,match", [
    ("f1.jpg 1 2 3\n", "line 1: expected a file name and an even number"),
    ("f1.jpg 1 2 3 4\nf2.jpg 1 2\n", "line 2: expected 4 coordinates"),
    ("f1.jpg 1 2 a 4\n", "line 1: a coordinate must be a number"),
])
def test_malformed_landmark_file(landmark_folder, text, match):
    (landmark_folder / "m.txt").write_text(text)
    with pytest.raises(ValueError, match=match):
        load_landmarks(landmark_folder / "m.txt", landmark_folder, format="text")


def test_missing_landmark_image(landmark_folder):
    (landmark_folder / "m.txt").write_text("f1.jpg 1 2 3 4\nnope.jpg 1 2 3 4\n")
    with pytest.warns(SkippedRowWarning, match=r"skipped 1 of the 2 images the "
                      r"annotations name, not found there \(nope\.jpg\)"):
        X, _ = load_landmarks(landmark_folder / "m.txt", landmark_folder, format="text")
    assert len(X) == 1
