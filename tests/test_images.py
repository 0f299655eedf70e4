"""load_images and background_crops on images written here."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklocalize import LocalizerEstimator
from sklocalize.datasets import (
    SkippedRowWarning,
    background_crops,
    load_boxes,
    load_images,
)

from ._helpers import TINY_MODULE


def write_photo(path, width, height, box=None):
    img = np.full((height, width, 3), 30, dtype=np.uint8)
    if box is not None:
        x1, y1, x2, y2 = box
        img[y1:y2, x1:x2] = 230
    Image.fromarray(img).save(path)


@pytest.fixture
def folder(tmp_path):
    write_photo(tmp_path / "b.png", 30, 20)
    write_photo(tmp_path / "a.jpg", 20, 20)
    write_photo(tmp_path / "C.PNG", 24, 16)
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "sub").mkdir()
    write_photo(tmp_path / "sub" / "d.png", 20, 20)
    return tmp_path


def test_load_images_from_a_folder(folder):
    X, info = load_images(folder, image_size=16)
    assert X.shape == (3, 3, 16, 16) and X.dtype == np.uint8
    assert info["file"].tolist() == ["C.PNG", "a.jpg", "b.png"]  # sorted names
    assert info["width"].tolist() == [24, 20, 30]
    assert info["height"].tolist() == [16, 20, 20]


def test_load_images_from_a_list(folder):
    paths = [folder / "b.png", str(folder / "sub" / "d.png")]
    X, info = load_images(paths, image_size=(16, 24), color="gray")
    assert X.shape == (2, 1, 16, 24)
    assert info["file"].tolist() == [str(p) for p in paths]


def test_exif_orientation_turns_the_image_upright(tmp_path):
    # stored 40 wide and 20 high, bright in its top-left corner; orientation 6
    # says "turn a quarter clockwise to view": upright it is 20 wide, 40 high,
    # bright in the top-right corner
    img = np.full((20, 40, 3), 20, dtype=np.uint8)
    img[:10, :16] = 235
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(img).save(tmp_path / "r.jpg", exif=exif, quality=95)
    X, info = load_images([tmp_path / "r.jpg"], image_size=(40, 20), color="gray")
    assert (info.loc[0, "width"], info.loc[0, "height"]) == (20, 40)
    bright = X[0, 0] > 128
    assert bright[:16, 10:].all() and not bright[:, :10].any()
    assert not bright[16:].any()
    # the readers of annotation files do the same
    (tmp_path / "r.csv").write_text("r.jpg,10,0,20,16,cat\n")
    X_csv, y = load_boxes(tmp_path / "r.csv", image_size=(40, 20), color="gray")
    np.testing.assert_array_equal(X_csv, X)
    assert (y.loc[0, "width"], y.loc[0, "height"]) == (20, 40)


@pytest.fixture
def truncated(tmp_path):
    rng = np.random.RandomState(0)
    Image.fromarray(rng.randint(0, 255, (32, 32, 3), dtype=np.uint8)).save(
        tmp_path / "whole.jpg", quality=95)
    data = (tmp_path / "whole.jpg").read_bytes()
    (tmp_path / "half.jpg").write_bytes(data[:len(data) // 2])
    return tmp_path


def test_truncated_image_is_an_error_naming_the_file(truncated):
    with pytest.raises(ValueError, match=r"Cannot read the image .*half\.jpg: "
                       r"OSError: image file is truncated.*on_error='skip'"):
        load_images(truncated, image_size=16)


def test_truncated_image_skipped_when_asked(truncated):
    with pytest.warns(SkippedRowWarning, match=r"skipped .*half\.jpg: it cannot be "
                      "read \\(OSError: image file is truncated"):
        X, info = load_images(truncated, image_size=16, on_error="skip")
    assert info["file"].tolist() == ["whole.jpg"] and len(X) == 1


def test_missing_image_in_a_list(truncated):
    with pytest.raises(ValueError, match=r"No such image file: .*nope\.jpg"):
        load_images([truncated / "nope.jpg"])
    with pytest.warns(SkippedRowWarning, match=r"skipped .*nope\.jpg: no such file"):
        X, _ = load_images([truncated / "nope.jpg", truncated / "whole.jpg"],
                           on_error="skip", image_size=16)
    assert len(X) == 1


def test_empty_folder(tmp_path):
    with pytest.raises(ValueError, match="holds no image file"):
        load_images(tmp_path)


# --------------------------------------------------------------------------
# background crops


@pytest.fixture
def boxed(tmp_path):
    """Dark photos with a bright box, read with load_boxes."""
    rows = []
    boxes = [(4, 4, 14, 14), (20, 2, 36, 18), (10, 16, 30, 30), (0, 0, 12, 30),
             (25, 10, 40, 20), (15, 5, 25, 15)]
    for i, box in enumerate(boxes):
        write_photo(tmp_path / f"p{i}.png", 40, 30, box)
        rows.append(f"p{i}.png,{','.join(map(str, box))},{'ab'[i % 2]}")
    write_photo(tmp_path / "empty.png", 40, 30)
    rows.append("empty.png,,,,,")
    (tmp_path / "b.csv").write_text("\n".join(rows) + "\n")
    X, y = load_boxes(tmp_path / "b.csv", image_size=(24, 32))
    return tmp_path, X, y


@pytest.mark.parametrize("source", ["array", "folder", "paths"])
def test_background_crops_exclude_the_box(boxed, source):
    folder, X, y = boxed
    images = {"array": None, "folder": folder,
              "paths": [folder / f for f in y["file"]]}[source]
    X_bg, y_bg = background_crops(X, y, images=images, share=0.5, random_state=0)
    assert X_bg.shape == (4, 3, 24, 32) and X_bg.dtype == np.uint8
    assert X_bg.max() < 60  # dark: no pixel of the bright boxes
    assert y_bg["p_c"].tolist() == [0] * 4 and y_bg[["b_x", "b_y", "b_h", "b_w"]
                                                     ].isna().all().all()
    assert y_bg["label"].isna().all()
    assert set(y_bg.index) <= set(range(6))  # rows with a box, not "empty.png"
    assert y_bg["file"].tolist() == y.loc[y_bg.index, "file"].tolist()
    assert ((y_bg["width"] <= 40) & (y_bg["height"] <= 30)).all()
    again, _ = background_crops(X, y, images=images, share=0.5, random_state=0)
    np.testing.assert_array_equal(again, X_bg)


def test_background_crops_leave_out_photos_with_several_objects(tmp_path):
    # a crop beside the box kept of several could show another object and
    # be labelled absent: only photos with one object give crops
    write_photo(tmp_path / "one.png", 40, 30, (30, 5, 38, 25))
    write_photo(tmp_path / "two.png", 40, 30, (30, 5, 38, 25))
    (tmp_path / "b.csv").write_text("one.png,30,5,38,25,a\n"
                                    "two.png,30,5,38,25,a\n"
                                    "two.png,2,5,8,25,a\n")
    with pytest.warns(SkippedRowWarning, match="kept the largest"):
        X, y = load_boxes(tmp_path / "b.csv", image_size=16, multiple="largest")
    assert y["n_objects"].tolist() == [1, 2]
    for images in (None, tmp_path):
        with pytest.warns(UserWarning, match="Only 1 of the 2 crops .* hold "
                          "several objects"):
            _, y_bg = background_crops(X, y, images=images, share=1.0,
                                       random_state=0)
        assert y_bg["file"].tolist() == ["one.png"]
    # without the column (a frame made by hand), every row may give a crop
    _, y_bg = background_crops(X, y.drop(columns="n_objects"), share=1.0,
                               random_state=0)
    assert sorted(y_bg["file"]) == ["one.png", "two.png"]


def test_background_crops_train_with_the_data(boxed):
    folder, X, y = boxed
    X_bg, y_bg = background_crops(X, y, images=folder, share=0.5, random_state=0)
    y_all = pd.concat([y, y_bg], ignore_index=True)
    assert y_all["p_c"].tolist() == [1] * 6 + [0] * 5
    est = LocalizerEstimator(max_epochs=1, random_state=0, **TINY_MODULE)
    est.fit(np.concatenate([X, X_bg]), y_all)
    assert est.classes_.tolist() == ["a", "b"]


def test_background_crops_float_images_and_too_few(boxed):
    _, X, y = boxed
    X = X.astype(np.float32) / 255
    with pytest.warns(UserWarning, match=r"Only \d of the 7 crops asked for"):
        X_bg, y_bg = background_crops(X, y, share=1.0, min_scale=0.6,
                                      random_state=1)
    assert X_bg.dtype == np.float32 and len(X_bg) == len(y_bg) < 7
    assert X_bg.shape[1:] == X.shape[1:]


@pytest.mark.parametrize("kwargs,match", [
    ({"share": 1.5}, r"share must be a number in \[0, 1\]"),
    ({"min_scale": 0}, r"min_scale must be a number in \(0, 1\]"),
    ({"images": ["a.png"]}, r"images must give one path per row of y \(7\)"),
])
def test_background_crops_bad_input(boxed, kwargs, match):
    _, X, y = boxed
    with pytest.raises(ValueError, match=match):
        background_crops(X, y, **kwargs)


def test_background_crops_from_photos_need_uint8(boxed):
    folder, X, y = boxed
    with pytest.raises(ValueError, match="X must be uint8"):
        background_crops(X.astype(float), y, images=folder)
    with pytest.raises(ValueError, match="one row per image"):
        background_crops(X[:3], y)


@pytest.mark.parametrize("color", ["gray", "rgb"])
def test_sixteen_bit_grey_photos_are_scaled_to_eight_bits(tmp_path, color):
    # Pillow's convert clips 16-bit levels at 255: the photo read all white
    levels = (np.arange(32 * 32).reshape(32, 32) * 64).astype(np.uint16)
    Image.fromarray(levels).save(tmp_path / "deep.png")
    assert Image.open(tmp_path / "deep.png").mode.startswith("I")
    X, _ = load_images([tmp_path / "deep.png"], image_size=32, color=color)
    expected = np.round(levels / 257.0)
    np.testing.assert_allclose(X[0, 0], expected, atol=1)
    assert X.min() == 0 and X.max() >= 250


def test_the_documented_photo_to_input_recipe_is_load_images(tmp_path):
    # the user guide tells users of exported models how a photo becomes the
    # input without the package: it must be exactly what load_images does
    from PIL import ImageOps

    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (37, 53, 3), dtype=np.uint8)).save(
        tmp_path / "p.png")
    X, _ = load_images([tmp_path / "p.png"], image_size=(24, 32))
    photo = ImageOps.exif_transpose(Image.open(tmp_path / "p.png")).convert("RGB")
    pixels = np.asarray(photo.resize((32, 24), Image.BILINEAR))
    np.testing.assert_array_equal(pixels.transpose(2, 0, 1)[None], X)
