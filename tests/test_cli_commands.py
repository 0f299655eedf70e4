"""train, predict and evaluate end to end, in-process, on small generated data
written as PNG files and CSV annotations.

The tolerances were measured on these settings (a few seconds of training):
on 20 new 48x40 photos, the localizer's boxes have a mean IoU of 0.84 with the
truth (a constant box, the mean true box: 0.32), a median corner error of
0.4 px and every label right; the landmark model's median point error is
1.35 px (the mean shape's: 8.8 px). The asserts leave a wide margin, yet a
model that learnt nothing fails them.
"""

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklocalize import cli
from sklocalize.cli import _commands as cli_commands
from sklocalize.cli import _options as cli_options
from sklocalize.datasets import FACE_LANDMARKS, make_landmarks, make_localization

PHOTO = (48, 40)  # (width, height) of the photos predict sees: not the training size


def _save(x, path, size):
    image = Image.fromarray(np.round(x[0] * 255).astype(np.uint8))
    image.resize(size, Image.BILINEAR).save(path)


def write_boxes(folder, n, seed, *, n_classes=2, size=(32, 32), empty=0.2):
    """``n`` generated images as PNG files and ``boxes.csv`` in the
    ``filename,width,height,class,xmin,ymin,xmax,ymax`` layout; returns the
    true boxes in pixels (x1, y1, x2, y2; NaN if absent) and labels."""
    folder.mkdir(parents=True, exist_ok=True)
    X, y = make_localization(n_samples=n, image_size=32, n_classes=n_classes,
                             empty_fraction=empty, random_state=seed, as_frame=True)
    w, h = size
    boxes = np.column_stack([(y.b_x - y.b_w / 2) * w, (y.b_y - y.b_h / 2) * h,
                             (y.b_x + y.b_w / 2) * w, (y.b_y + y.b_h / 2) * h])
    lines = ["filename,width,height,class,xmin,ymin,xmax,ymax"]
    for i in range(n):
        name = f"img{i:03d}.png"
        _save(X[i], folder / name, size)
        if y.p_c[i] == 1:
            lines.append(f"{name},{w},{h},{y.label[i]},"
                         + ",".join(f"{v:.2f}" for v in boxes[i]))
        else:
            lines.append(f"{name},{w},{h},,,,,")
    (folder / "boxes.csv").write_text("\n".join(lines) + "\n")
    return np.where(y.p_c.to_numpy()[:, None] == 1, boxes, np.nan), y.label


def write_landmarks(folder, n, seed, *, size=(32, 32), empty=0.2):
    """``n`` generated faces as PNG files and ``points.csv`` with a header
    (``filename,left_eye_x,left_eye_y,...``); returns the true points in
    pixels, shape (n, 6, 2)."""
    folder.mkdir(parents=True, exist_ok=True)
    X, y = make_landmarks(n_samples=n, image_size=32, empty_fraction=empty,
                          random_state=seed)
    points = y[:, 1:].reshape(n, -1, 2) * size
    header = ["filename", *(f"{name}_{c}" for name in FACE_LANDMARKS for c in "xy")]
    lines = [",".join(header)]
    for i in range(n):
        name = f"face{i:03d}.png"
        _save(X[i], folder / name, size)
        values = ([f"{v:.2f}" for v in points[i].ravel()] if y[i, 0] == 1
                  else [""] * points[i].size)
        lines.append(",".join([name, *values]))
    (folder / "points.csv").write_text("\n".join(lines) + "\n")
    return np.where(y[:, :1, None] == 1, points, np.nan)


def run(argv):
    """``cli.main(argv)``: its exit code, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue()


def tiny_train(annotations):
    """``sklocalize train`` of a localizer on ``annotations`` in seconds: the
    scratch trunk 8 channels wide, 16-pixel images, one epoch."""
    return ["train", "--task", "localization", "--annotations", annotations,
            "--image-size", 16, "--epochs", 1, "--backbone", "scratch", "--param",
            "module__width=8", "--no-progress"]


def table(text):
    """The rows of the tables in ``text`` (a name, two spaces or more, a
    value), as {name: value}."""
    rows = {}
    for line in text.splitlines():
        name, _, value = line.rstrip().rpartition("  ")
        if name.strip() and value:
            rows[name.strip()] = value.strip()
    return rows


def _iou(a, b):
    x1, y1 = np.maximum(a[:, 0], b[:, 0]), np.maximum(a[:, 1], b[:, 1])
    x2, y2 = np.minimum(a[:, 2], b[:, 2]), np.minimum(a[:, 3], b[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    return inter / (area + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter)


# --------------------------------------------------------------------------
# localization


@pytest.fixture(scope="module")
def box_model(tmp_path_factory):
    """A localizer trained by ``sklocalize train`` (its folder, output)."""
    root = tmp_path_factory.mktemp("boxes")
    write_boxes(root / "train", 200, seed=0)
    code, out, err = run([
        "train", "--task", "localization", "--annotations",
        root / "train" / "boxes.csv", "--image-size", 24, "--epochs", 20,
        "--backbone", "scratch", "--param", "module__width=16", "--no-progress",
        "--no-retrain", "--save", root / "model.skl"])
    assert code == 0, err
    return root, out


@pytest.mark.slow
def test_train_prints_the_true_counts_and_saves(box_model):
    root, out = box_model
    _, y = make_localization(n_samples=200, image_size=32, n_classes=2,
                             random_state=0, as_frame=True)
    n_present = int(y.p_c.sum())
    circles, squares = (int((y.label == c).sum()) for c in ("circle", "square"))
    assert (f"Read 200 images from {root / 'train' / 'boxes.csv'}: {n_present} with "
            f"an object (circle {circles}, square {squares}) and {200 - n_present} "
            "without; resized to 24x24 px.") in out
    assert "Held out 40 images (20%, stratified by presence and class)" in out
    assert "background crops" not in out  # the data has images without one
    rows = table(out.split("Held-out localization metrics (40 images)")[1])
    assert rows["images"] == "40"
    assert int(rows["with an object"]) + int(rows["without an object"]) == 40
    assert int(rows["circle"]) + int(rows["square"]) == int(rows["with an object"])
    assert float(rows["mean IoU"]) > 0.6 and float(rows["presence accuracy"]) > 0.8
    assert ("Saved the model trained on the 160 training images, not on the 40 held "
            f"out (drop --no-retrain to train on all) to {root / 'model.skl'}.") in out
    assert (root / "model.skl").stat().st_size > 0


@pytest.mark.slow
def test_predict_boxes_in_each_photos_pixels(box_model, tmp_path):
    root, _ = box_model
    truth, labels = write_boxes(tmp_path / "new", 20, seed=7, size=PHOTO, empty=0)
    one_more = tmp_path / "one.png"  # a file beside a folder
    _save(make_localization(1, image_size=32, random_state=8)[0][0], one_more, PHOTO)
    code, out, err = run(["predict", root / "model.skl", tmp_path / "new", one_more,
                          "--out", tmp_path / "out" / "predictions.csv"])
    assert code == 0, err
    assert "Wrote the predictions for 21 photos" in out
    frame = pd.read_csv(tmp_path / "out" / "predictions.csv")
    assert list(frame.columns) == ["file", "width", "height", "p_c", "x1", "y1", "x2",
                                   "y2", "label", "presence_proba", "class_proba"]
    assert frame.file.tolist() == [str(tmp_path / "new" / f"img{i:03d}.png")
                                   for i in range(20)] + [str(one_more)]
    assert (frame.width == PHOTO[0]).all() and (frame.height == PHOTO[1]).all()
    frame = frame.iloc[:20]
    assert (frame.p_c == 1).all()
    boxes = frame[["x1", "y1", "x2", "y2"]].to_numpy()
    assert (boxes[:, :2] >= 0).all() and (boxes[:, 2] <= PHOTO[0]).all()
    assert (boxes[:, 3] <= PHOTO[1]).all()
    iou = _iou(boxes, truth)
    constant = _iou(np.broadcast_to(truth.mean(axis=0), truth.shape), truth)
    assert iou.mean() > 0.7 and iou.mean() > constant.mean() + 0.3
    assert np.median(np.abs(boxes - truth)) < 1.5  # pixels of a 48x40 photo
    assert (frame.label == labels).mean() >= 0.8
    assert frame.presence_proba.between(0.5, 1).all()
    assert frame.class_proba.between(0.5, 1).all()


@pytest.mark.slow
def test_predict_draws_one_png_per_photo(box_model, tmp_path):
    root, _ = box_model
    write_boxes(tmp_path / "new", 4, seed=9, size=PHOTO, empty=0)
    code, out, err = run(["predict", root / "model.skl", tmp_path / "new", "--out",
                          tmp_path / "p.csv", "--draw", tmp_path / "drawn",
                          "--box-format", "xywh"])
    assert code == 0, err
    assert list(pd.read_csv(tmp_path / "p.csv").columns[3:8]) == [
        "p_c", "x1", "y1", "w", "h"]
    names = [f"img{i:03d}.png" for i in range(4)]
    assert sorted(p.name for p in (tmp_path / "drawn").iterdir()) == names
    for name in names:
        with Image.open(tmp_path / "drawn" / name) as drawn, \
                Image.open(tmp_path / "new" / name) as photo:
            assert drawn.size == PHOTO
            assert (np.asarray(drawn.convert("RGB"))
                    != np.asarray(photo.convert("RGB"))).any()  # a box was drawn
    assert f"4 PNG files in {tmp_path / 'drawn'}" in out


def test_evaluate_prints_the_table(box_model, tmp_path):
    root, _ = box_model
    truth, labels = write_boxes(tmp_path / "test", 20, seed=11, size=PHOTO)
    code, out, err = run(["evaluate", root / "model.skl", "--annotations",
                          tmp_path / "test" / "boxes.csv"])
    assert code == 0, err
    rows = table(out)
    present = np.isfinite(truth[:, 0])
    assert rows["images"] == "20"
    assert rows["with an object"] == str(present.sum())
    assert rows["without an object"] == str((~present).sum())
    assert rows["circle"] == str((labels == "circle").sum())
    assert float(rows["mean IoU"]) > 0.6
    assert set(rows) >= {"localization accuracy (IoU>=0.5)", "presence accuracy",
                         "class accuracy"}


@pytest.mark.slow
def test_background_crops_when_no_image_is_absent(tmp_path):
    write_boxes(tmp_path, 30, seed=1, n_classes=1, empty=0)
    common = tiny_train(tmp_path / "boxes.csv")
    code, out, err = run([*common, "--save", tmp_path / "a.skl"])
    assert code == 0, err
    assert ("No image without an object among the training images: added 5 "
            "background crops") in out
    assert "Training LocalizerEstimator for 1 epoch on 29 images" in out
    assert "presence head cannot learn" not in err

    code, out, err = run([*common, "--no-background", "--save", tmp_path / "b.skl"])
    assert code == 0, err
    assert "background crops" not in out
    assert err.startswith("warning: y holds no image without an object")


def test_holdout_0_trains_on_everything(tmp_path):
    write_boxes(tmp_path, 20, seed=2)
    code, out, err = run([*tiny_train(tmp_path / "boxes.csv"), "--holdout", 0,
                          "--save", tmp_path / "m.skl"])
    assert code == 0, err
    assert "--holdout 0: training on all 20 images, none held out." in out
    assert "Held-out" not in out
    assert f"Saved the model trained on all 20 images to {tmp_path}" in out


@pytest.mark.slow
def test_train_retrains_on_every_image_with_the_tuned_threshold(tmp_path):
    import re

    from sklocalize import load

    write_boxes(tmp_path, 30, seed=4, n_classes=1, empty=0)
    common = tiny_train(tmp_path / "boxes.csv")
    code, out, err = run([*common, "--save", tmp_path / "a.skl"])
    assert code == 0, err
    # 6 photos held out, with a crop of one of them as an absent image
    assert "Held out 6 images" in out
    assert "Added 1 background crops of the held-out photos" in out
    assert "Held-out localization metrics (7 images)" in out
    assert "Retraining on all 36 images for 1 epoch" in out  # 30 + 6 crops
    assert f"Saved the model trained on all 30 images to {tmp_path}" in out
    tuned = re.search(r"Presence threshold ([0-9.]+): it scored best", out)
    expected = float(tuned.group(1)) if tuned else 0.5
    assert load(tmp_path / "a.skl").presence_threshold == expected

    code, out, err = run([*common, "--presence-threshold", "0.3",
                          "--no-retrain", "--save", tmp_path / "b.skl"])
    assert code == 0, err
    assert "Presence threshold" not in out and "Retraining" not in out
    assert load(tmp_path / "b.skl").presence_threshold == 0.3


@pytest.mark.slow
def test_search_chooses_the_learning_rate(tmp_path):
    write_boxes(tmp_path, 30, seed=3)
    code, out, err = run([*tiny_train(tmp_path / "boxes.csv"), "--search",
                          "--save", tmp_path / "m.skl"])
    assert code == 0, err
    assert ("Grid search: 3-fold cross-validation of the learning rates 0.001, "
            "0.002, 0.004 on the 24 training images, 1 epoch each") in out
    assert out.count("  lr=0.00") == 3 and "Best: lr=" in out
    assert "Held-out localization metrics (6 images)" in out


def test_a_search_whose_every_fit_fails_exits_1(tmp_path):
    write_boxes(tmp_path, 20, seed=4)
    code, out, err = run(["train", "--task", "localization", "--annotations",
                          tmp_path / "boxes.csv", "--image-size", 16, "--epochs", 1,
                          "--no-progress", "--search", "--param", "batch_size=0",
                          "--save", tmp_path / "m.skl"])
    assert code == 1
    assert err.startswith("error: every fit of the grid search failed; the first "
                          "error: InvalidParameterError: The 'batch_size' parameter")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "m.skl").exists()


def test_a_holdout_that_leaves_nothing_to_train_on_is_refused(tmp_path):
    write_boxes(tmp_path, 12, seed=4)
    code, out, err = run(["train", "--task", "localization", "--annotations",
                          tmp_path / "boxes.csv", "--backbone", "scratch",
                          "--holdout", "0.9", "--save", tmp_path / "m.skl"])
    assert code == 2 and "Training" not in out
    assert err == ("error: --holdout 0.9 leaves 1 of the 12 images to train on; "
                   "hold out fewer (e.g. --holdout 0.2), or none with --holdout "
                   "0.\n")


def test_a_user_error_in_fit_is_one_line(tmp_path):
    write_boxes(tmp_path, 20, seed=4)
    code, _, err = run(["train", "--task", "localization", "--annotations",
                        tmp_path / "boxes.csv", "--image-size", 16, "--epochs", 1,
                        "--no-progress", "--param", "batch_size=0",
                        "--save", tmp_path / "m.skl"])
    assert code == 2
    assert err.startswith("error: The 'batch_size' parameter of LocalizerEstimator")
    assert err.count("\n") == 1


def test_predict_refuses_a_folder_without_photos(box_model, tmp_path):
    root, _ = box_model
    code, _, err = run(["predict", root / "model.skl", tmp_path, "--out",
                        tmp_path / "p.csv"])
    assert code == 2 and err == f"error: {tmp_path} holds no image file.\n"
    code, _, err = run(["predict", root / "model.skl", tmp_path / "nope.png",
                        "--out", tmp_path / "p.csv"])
    assert code == 2
    assert err == f"error: No such photo or folder: {tmp_path / 'nope.png'}.\n"


# --------------------------------------------------------------------------
# landmarks


@pytest.fixture(scope="module")
def face_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    write_landmarks(root / "train", 160, seed=0)
    code, out, err = run([
        "train", "--task", "landmarks", "--annotations",
        root / "train" / "points.csv", "--image-size", 24, "--epochs", 15,
        "--backbone", "scratch", "--param", "module__width=16", "--flip-pairs",
        "left_eye,right_eye 3,4",
        "--no-progress", "--save", root / "model.skl"])
    assert code == 0, err
    return root, out


@pytest.mark.slow
def test_train_landmarks_reports_inter_ocular_error(face_model):
    root, out = face_model
    _, y = make_landmarks(n_samples=160, image_size=32, random_state=0)
    n_present = int(y[:, 0].sum())
    assert (f"{n_present} with an object and {160 - n_present} without; resized "
            "to 24x24 px.") in out
    rows = table(out.split("Held-out landmark metrics (32 images)")[1])
    assert rows["images"] == "32"
    assert float(rows["NME (inter-ocular: left_eye to right_eye)"]) < 0.5
    assert set(rows) >= {"PCK@0.1", "failure rate (NME > 0.1)", "presence accuracy"}

    from sklocalize import load

    est = load(root / "model.skl")
    assert est.landmark_names == list(FACE_LANDMARKS)
    assert est.flip_pairs == [(0, 1), (3, 4)] and est.verbose == 0


@pytest.mark.slow
def test_predict_and_evaluate_landmarks(face_model, tmp_path):
    root, _ = face_model
    truth = write_landmarks(tmp_path / "new", 20, seed=7, size=PHOTO, empty=0)
    code, out, err = run(["predict", root / "model.skl", tmp_path / "new", "--out",
                          tmp_path / "p.csv", "--draw", tmp_path / "drawn"])
    assert code == 0, err
    frame = pd.read_csv(tmp_path / "p.csv")
    point_columns = [f"{name}_{c}" for name in FACE_LANDMARKS for c in "xy"]
    assert list(frame.columns) == ["file", "width", "height", "p", *point_columns,
                                   "presence_proba"]
    assert (frame.p == 1).all()
    points = frame[point_columns].to_numpy().reshape(20, -1, 2)
    error = np.linalg.norm(points - truth, axis=2)
    constant = np.linalg.norm(truth - truth.mean(axis=0), axis=2)
    assert np.median(error) < 3 and np.median(error) < np.median(constant) / 3
    assert len(list((tmp_path / "drawn").glob("*.png"))) == 20

    code, out, err = run(["evaluate", root / "model.skl", "--annotations",
                          tmp_path / "new" / "points.csv"])
    assert code == 0, err
    rows = table(out)
    assert rows["images"] == "20" and rows["with an object"] == "20"
    assert "NME (inter-ocular: left_eye to right_eye)" in rows

    code, out, err = run(["evaluate", root / "model.skl", "--annotations",
                          tmp_path / "new" / "points.csv", "--normalize", "bbox"])
    assert code == 0, err
    assert "NME (box-normalised)" in table(out)


@pytest.mark.slow
def test_landmark_option_errors(face_model, capsys):
    root, _ = face_model
    common = ["train", "--task", "landmarks", "--annotations",
              root / "train" / "points.csv", "--image-size", 16, "--epochs", 1,
              "--no-progress", "--save", root / "never.skl"]
    code, _, err = run([*common, "--flip-pairs", "0,9"])
    assert code == 2
    assert err == ("error: --flip-pairs: point 9 is not among the 6 points "
                   "(indices 0 to 5).\n")
    code, _, err = run([*common, "--flip-pairs", "left_eye,left_ear"])
    assert code == 2 and "'left_ear' is neither a point index nor a point name" in err
    code, _, err = run([*common, "--normalize", "0,0"])
    assert code == 2 and "--normalize needs two different points" in err
    code, _, err = run(["evaluate", root / "model.skl", "--annotations",
                        root / "train" / "points.csv", "--box-format", "xyxy"])
    assert code == 2 and "unrecognized arguments: --box-format xyxy" in err
    assert not (root / "never.skl").exists()


@pytest.mark.slow
def test_demo_reads_landmarks_by_their_content(tmp_path):
    write_landmarks(tmp_path, 40, seed=5)
    code, out, err = run(["demo", "--data", tmp_path / "points.csv", "--image-size",
                          16, "--epochs", 1, "--no-progress", "--out",
                          tmp_path / "out"])
    assert code == 0, err
    assert "=== Landmark detection ===" in out and "Classification" not in out
    assert "Read 40 images from" in out
    assert "cross_validate (3 folds, 3 epochs, 32 images)" in out
    assert "NME (inter-ocular: left_eye to right_eye)" in out
    assert (tmp_path / "out" / "landmarks_ced.png").stat().st_size > 0


@pytest.mark.slow
def test_demo_reads_a_folder_with_several_objects_in_a_photo(tmp_path):
    # sklocalize demo --data had no --multiple: a photo with two objects
    # stopped it
    write_boxes(tmp_path, 40, seed=6)
    lines = (tmp_path / "boxes.csv").read_text().splitlines()
    present = next(line for line in lines[1:] if not line.endswith(",,,,"))
    name, width, height, label = present.split(",")[:4]
    with open(tmp_path / "boxes.csv", "a") as f:  # a second, small object
        f.write(f"{name},{width},{height},{label},1.00,1.00,2.00,2.00\n")
    code, out, err = run(["demo", "--data", tmp_path / "boxes.csv", "--image-size",
                          16, "--epochs", 1, "--no-progress", "--out",
                          tmp_path / "out"])
    assert code == 0, err
    assert "1 image(s) hold several objects; kept the largest" in err
    assert "--multiple largest" in err


def test_predict_does_not_draw_over_the_photos(box_model, tmp_path):
    root, _ = box_model
    write_boxes(tmp_path, 2, seed=9)
    code, _, err = run(["predict", root / "model.skl", tmp_path, "--out",
                        tmp_path / "p.csv", "--draw", tmp_path])
    assert code == 2
    assert err == (f"error: --draw {tmp_path} holds photos being predicted: the "
                   "drawings would overwrite them, or be read as photos next "
                   "time; draw into another folder.\n")
    assert not (tmp_path / "p.csv").exists()


def test_drawing_names_stay_in_the_folder_and_apart():
    assert cli_commands._drawing_names(["/abs/a/img.jpg", "b/img.png", "img-2.jpg",
                               "../c/img.jpeg"]) == [
        "img.png", "img-2.png", "img-2-2.png", "img-3.png"]


def test_the_parser_s_written_out_choices_are_the_library_s():
    """The parser imports no torch, so it writes these out; they must stay
    the library's."""
    from sklocalize.datasets import _readers
    from sklocalize.nn.modules import BACKBONES

    assert cli_options.BACKBONE_CHOICES == BACKBONES
    assert cli_options.BOX_FILE_FORMATS == _readers.BOX_FILE_FORMATS
    assert cli_options.LANDMARK_FILE_FORMATS == _readers.LANDMARK_FILE_FORMATS


@pytest.mark.slow
def test_train_with_a_pretrained_backbone(tmp_path):
    import torch

    from sklocalize import load
    from sklocalize.nn.backbones import MobileNetV2

    weights = tmp_path / "mobilenet.pth"
    torch.save(MobileNetV2().state_dict(), weights)  # random, torchvision's keys
    write_boxes(tmp_path, 20, seed=5)
    code, out, err = run(["train", "--task", "localization", "--annotations",
                          tmp_path / "boxes.csv", "--epochs", 1,
                          "--backbone", "mobilenet_v2", "--backbone-weights",
                          weights, "--param", "batch_size=8", "--no-retrain",
                          "--no-progress", "--save", tmp_path / "m.skl"])
    assert code == 0, err
    assert "resized to 128x128 px" in out  # the pretrained trunk's default size
    assert f"Trunk: mobilenet_v2, weights from {weights}." in out
    assert load(tmp_path / "m.skl").backbone == "mobilenet_v2"
