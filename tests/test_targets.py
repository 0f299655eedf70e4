import re

import numpy as np
import pandas as pd
import pytest

from sklocalize.metrics import iou_score
from sklocalize.targets import (
    box_mask,
    check_landmark_target,
    check_localization_target,
    decode_landmarks,
    decode_localization,
    encode_landmark_target,
    encode_localization_target,
    landmark_frame,
    localization_frame,
    point_mask,
)


def loc_y():
    return np.array([
        [1, 0.5, 0.5, 0.2, 0.4, 0, 1, 0],
        [0, np.nan, 9, -3, np.nan, np.nan, 5, 0],  # don't care where p_c = 0
        [1, np.nan, np.nan, np.nan, np.nan, 1, 0, 0],  # box not annotated
    ])


def test_valid_target_is_copied():
    y = loc_y()
    out = check_localization_target(y)
    out[:] = 0
    assert np.isnan(y[1, 1])
    assert box_mask(check_localization_target(y)).tolist() == [True, False, False]


@pytest.mark.parametrize(
    "row,match",
    [
        ([0.5, 0.5, 0.5, 0.2, 0.2, 1, 0, 0], "neither 0 nor 1"),
        ([np.nan, 0.5, 0.5, 0.2, 0.2, 1, 0, 0], "NaN or infinite presence"),
        ([1, 1.2, 0.5, 0.2, 0.2, 1, 0, 0], r"outside \[0, 1\]"),
        ([1, 0.5, 0.5, 0.0, 0.2, 1, 0, 0], "non-positive box height or width"),
        ([1, 0.5, np.nan, 0.2, 0.2, 1, 0, 0], "NaN or infinite box value"),
        ([1, 0.5, np.inf, 0.2, 0.2, 1, 0, 0], "NaN or infinite box value"),
        ([1, 0.5, 0.5, 0.2, 0.2, 1, 1, 0], "not one-hot"),
        ([1, 0.5, 0.5, 0.2, 0.2, 0, 0, 0], "not one-hot"),
        ([1, 0.5, 0.5, 0.2, 0.2, 0.5, 0.5, 0], "not one-hot"),
        ([1, 0.5, 0.5, 0.2, 0.2, np.nan, 1, 0], "not one-hot"),
    ],
)
def test_bad_localization_rows(row, match):
    y = np.vstack([loc_y(), row])
    with pytest.raises(ValueError, match=match) as info:
        check_localization_target(y)
    assert "row 3" in str(info.value)


def test_wrong_columns():
    with pytest.raises(ValueError, match="got 5 columns"):
        check_localization_target(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"5 \+ n_classes = 7 columns"):
        check_localization_target(loc_y(), n_classes=2)
    with pytest.raises(ValueError, match="2-D array"):
        check_localization_target(np.zeros(8))
    with pytest.raises(TypeError, match="y must be numeric; got the string 'a'"):
        check_localization_target([["a"] * 6])
    with pytest.raises(TypeError, match="cannot be converted to floats"):
        check_localization_target([[{}] * 6])


def test_missing_box_can_be_refused():
    with pytest.raises(ValueError, match="NaN box"):
        check_localization_target(loc_y(), allow_missing_box=False)


def test_frame_round_trip_string_labels_sorted_like_label_encoder():
    frame = pd.DataFrame({
        "p_c": [1, 0, 1, 1],
        "b_x": [0.5, np.nan, 0.3, 0.6],
        "b_y": [0.5, np.nan, 0.3, 0.6],
        "b_h": [0.2, np.nan, 0.1, 0.3],
        "b_w": [0.4, np.nan, 0.1, 0.3],
        "label": ["zebra", None, "ant", "zebra"],
    })
    before = frame.copy()
    y, classes = encode_localization_target(frame)
    pd.testing.assert_frame_equal(frame, before)
    assert classes.tolist() == ["ant", "zebra"]
    np.testing.assert_array_equal(y[[0, 2, 3], 5:], [[0, 1], [1, 0], [0, 1]])
    back = localization_frame(y, classes)
    assert back["label"].tolist() == ["zebra", None, "ant", "zebra"]
    np.testing.assert_allclose(back.loc[[0, 2, 3], "b_w"], [0.4, 0.1, 0.3])


def test_frame_integer_labels_and_unseen():
    frame = pd.DataFrame({"p_c": [1, 1], "b_x": [.5, .5], "b_y": [.5, .5],
                          "b_h": [.2, .2], "b_w": [.2, .2], "label": [3, 1]})
    y, classes = encode_localization_target(frame)
    assert classes.tolist() == [1, 3]
    with pytest.raises(ValueError, match=r"label\(s\) \['7'\] that were not seen"):
        encode_localization_target(frame.assign(label=[7, 1]), classes=classes)


def test_frame_missing_columns_and_mixed_labels():
    with pytest.raises(ValueError, match="missing \\['label'\\]"):
        encode_localization_target(pd.DataFrame({c: [1] for c in
                                                 ["p_c", "b_x", "b_y", "b_h", "b_w"]}))
    frame = pd.DataFrame({"p_c": [1, 1], "b_x": [.5, .5], "b_y": [.5, .5],
                          "b_h": [.2, .2], "b_w": [.2, .2], "label": ["a", 1]})
    with pytest.raises(TypeError, match="all be strings or all be numbers"):
        encode_localization_target(frame)


def test_frame_box_formats_in_pixels():
    y = np.array([[1, 0.5, 0.5, 0.2, 0.4, 1.0]])
    frame = localization_frame(y, ["cat"], box_format="xyxy", image_size=(100, 200))
    assert list(frame.columns) == ["p_c", "x1", "y1", "x2", "y2", "label"]
    np.testing.assert_allclose(frame.iloc[0, 1:5].astype(float), [60, 40, 140, 60])
    with pytest.raises(ValueError, match="Unknown box_format"):
        localization_frame(y, box_format="yxyx")


def test_decode_localization_fills_dont_care_with_zero():
    y = decode_localization(np.array([0.9, 0.1]), np.array([[.5, .5, .2, 1.3]] * 2),
                            np.array([[0.2, 0.8], [0.9, 0.1]]), threshold=0.5)
    np.testing.assert_allclose(y, [[1, .5, .5, .2, 1.0, 0, 1], [0, 0, 0, 0, 0, 0, 0]])
    check_localization_target(y)


def test_decode_localization_clips_boxes_to_the_image_edge_by_edge():
    # x from -0.1 to 0.3 and y from 0.8 to 1.2: the part inside the image is
    # x 0-0.3, y 0.8-1 (clipping b_x, b_y, b_h, b_w one by one would keep them)
    boxes = np.array([[0.1, 1.0, 0.4, 0.4]])
    y = decode_localization(np.array([0.9]), boxes, np.array([[0.2, 0.8]]))
    np.testing.assert_allclose(y, [[1, 0.15, 0.9, 0.2, 0.3, 0, 1]])
    np.testing.assert_array_equal(boxes, [[0.1, 1.0, 0.4, 0.4]])  # not modified


def test_decode_localization_uncrosses_edges():
    # the edge heads read each edge on its own: on an image without the
    # object the right edge can lie left of the left one (negative b_w),
    # which made sklocalize train fail at its held-out table
    boxes = np.array([[0.5, 0.5, 0.2, -0.1], [0.5, 0.5, -0.3, 0.4]])
    y = decode_localization(np.array([0.9, 0.9]), boxes,
                            np.array([[1.0], [1.0]]), threshold=0.5)
    np.testing.assert_allclose(y, [[1, 0.5, 0.5, 0.2, 0.1, 1],
                                   [1, 0.5, 0.5, 0.3, 0.4, 1]])
    check_localization_target(y)
    assert iou_score(y, y) == 1.0


def lm_y():
    return np.array([
        [1, 0.2, 0.3, 0.8, 0.3, np.nan, np.nan],
        [0, 5, np.nan, -1, 0, 0, 0],
    ])


def test_landmark_target_and_mask():
    y = check_landmark_target(lm_y())
    assert point_mask(y).tolist() == [[True, True, False], [False, False, False]]


@pytest.mark.parametrize(
    "row,match",
    [
        ([2, .2, .3, .8, .3, .5, .5], "neither 0 nor 1"),
        ([1, .2, np.nan, .8, .3, .5, .5], "one NaN or an infinite"),
        ([1, .2, .3, .8, np.inf, .5, .5], "one NaN or an infinite"),
        ([1, .2, 1.3, .8, .3, .5, .5], r"outside \[0, 1\]"),
    ],
)
def test_bad_landmark_rows(row, match):
    with pytest.raises(ValueError, match=match):
        check_landmark_target(np.vstack([lm_y(), row]))


def test_landmark_columns():
    with pytest.raises(ValueError, match="an odd number, at least 3"):
        check_landmark_target(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"1 \+ 2 \* n_landmarks = 5 columns"):
        check_landmark_target(lm_y(), n_landmarks=2)


def test_landmark_frame_round_trip_with_names():
    y = check_landmark_target(lm_y())
    frame = landmark_frame(y, ["left_eye", "right_eye", "nose"])
    assert list(frame.columns)[:3] == ["p", "left_eye_x", "left_eye_y"]
    back = encode_landmark_target(frame, landmark_names=["left_eye", "right_eye",
                                                         "nose"])
    np.testing.assert_array_equal(np.isnan(back[0]), np.isnan(y[0]))
    default = landmark_frame(y)
    assert list(default.columns) == ["p", "x_1", "y_1", "x_2", "y_2", "x_3", "y_3"]
    np.testing.assert_allclose(encode_landmark_target(default)[0, :5], y[0, :5])
    px = landmark_frame(y, image_size=(10, 20))
    assert px.loc[0, "x_1"] == pytest.approx(4.0) and px.loc[0, "y_1"] == 3.0
    with pytest.raises(ValueError, match="must have a presence column 'p'"):
        encode_landmark_target(default.drop(columns="p"))
    with pytest.raises(ValueError, match=r"landmark_names must name the 3 landmarks "
                       r"of y; got 2 names\."):
        landmark_frame(y, ["left_eye", "right_eye"])
    with pytest.raises(ValueError, match=r"image_size must be a pair \(height, "
                       r"width\) of positive numbers; got \(10, 0\)\."):
        landmark_frame(y, image_size=(10, 0))


def test_decode_landmarks():
    y = decode_landmarks(np.array([0.7, 0.2]), np.array([[0.1, 1.2], [0.3, 0.3]]))
    np.testing.assert_allclose(y, [[1, 0.1, 1.0], [0, 0, 0]])


# --------------------------------------------------------------------------
# strings, presence values, labels and extra columns


def loc_frame(**columns):
    frame = pd.DataFrame({"p_c": [1, 0, 1], "b_x": [.5, .5, .3], "b_y": [.5, .5, .3],
                          "b_h": [.2, .2, .1], "b_w": [.4, .4, .1],
                          "label": ["cat", None, "dog"]})
    return frame.assign(**columns)


@pytest.mark.parametrize("value", ["1", "0.5", "yes", b"1"])
def test_strings_in_an_array_are_refused_even_numeric_ones(value):
    y = np.array([[1, .5, .5, .2, .2, 1], [0, 0, 0, 0, 0, 0]], dtype=object)
    y[1, 2] = value
    with pytest.raises(TypeError, match=rf"y must be numeric; got the string "
                       rf"{re.escape(repr(value))} in row 1, column 2"):
        check_localization_target(y)
    with pytest.raises(TypeError, match="y_true must be numeric"):
        check_landmark_target(y[:, :5], name="y_true")


def test_strings_in_a_list_are_reported_as_given():
    # a list mixing numbers and strings: the string is named, not the 1 before
    with pytest.raises(TypeError, match=r"got the string '0\.5' in row 0, column 1"):
        check_localization_target([[1, "0.5", .5, .2, .2, 1]])
    with pytest.raises(TypeError, match=r"got the string '1' in row 0, column 0"):
        check_landmark_target(np.array([["1", ".2", ".3"]]))


@pytest.mark.parametrize("column,values", [
    ("p_c", ["1", "0", "1"]), ("p_c", ["yes", "no", "yes"]),
    ("b_w", [.4, .4, "0.1"]),
])
def test_strings_in_the_numeric_frame_columns_are_refused(column, values):
    frame = loc_frame(**{column: values})
    bad = next(i for i, v in enumerate(values) if isinstance(v, str))
    with pytest.raises(TypeError, match=rf"y must be numeric; got the string "
                       rf"'{values[bad]}' in column '{column}', row {bad}"):
        encode_localization_target(frame)


def test_frame_presence_as_booleans_or_nullable_integers_is_read():
    for p_c in ([True, False, True], pd.array([1, 0, 1], dtype="Int64")):
        y, classes = encode_localization_target(loc_frame(p_c=p_c))
        assert y[:, 0].tolist() == [1, 0, 1] and classes.tolist() == ["cat", "dog"]


@pytest.mark.parametrize("p_c,found", [([1, 2, 1], r"\[2\.0\]"),
                                       ([0.5, 0, 3], r"\[0\.5, 3\.0\]")])
def test_presence_other_than_0_or_1_names_p_c_and_the_values(p_c, found):
    with pytest.raises(ValueError, match=rf"presence \(p_c\) that is neither 0 nor "
                       rf"1 .*found the value\(s\) {found}"):
        encode_localization_target(loc_frame(p_c=p_c))
    y = loc_y()
    y[:, 0] = p_c
    with pytest.raises(ValueError, match=rf"p_c must be 1 .*found the value\(s\) "
                       rf"{found}"):
        check_localization_target(y)
    lm = lm_y()
    lm[:, 0] = p_c[:2]
    if set(p_c[:2]) - {0, 1}:
        with pytest.raises(ValueError, match=r"presence \(p\) that is neither"):
            check_landmark_target(lm)


@pytest.mark.parametrize("missing", [np.nan, None, pd.NA])
@pytest.mark.parametrize("labels", [[3, 1], ["cat", "dog"]])
def test_present_object_without_label_names_the_rows(missing, labels):
    frame = loc_frame(p_c=[1, 1, 1], label=[labels[0], missing, labels[1]])
    frame.loc[3] = [1, .5, .5, .2, .2, missing]
    match = (r"present object \(p_c = 1\) without a class label .* in 2 row\(s\): "
             r"rows \[1, 3\]\. A present object needs a class label")
    with pytest.raises(ValueError, match=match):
        encode_localization_target(frame)
    with pytest.raises(ValueError, match=match):  # also against known classes
        encode_localization_target(frame, classes=np.array(sorted(labels)))
    # where p_c = 0 a missing label is fine
    frame.loc[[1, 3], "p_c"] = 0
    assert encode_localization_target(frame)[1].tolist() == sorted(labels)


def test_localization_frame_extra_columns_are_ignored():
    frame = loc_frame(image_id=["a.png", "b.png", "c.png"], presence_proba=[.9, .1, .8])
    y, classes = encode_localization_target(frame)
    np.testing.assert_array_equal(y, encode_localization_target(loc_frame())[0])


@pytest.mark.parametrize("extra", ["image_id", "x_center", "file_x", "path", "x_0",
                                   "presence_proba", "x_01"])
def test_landmark_frame_extra_columns_are_ignored(extra):
    frame = landmark_frame(check_landmark_target(lm_y()))
    expected = encode_landmark_target(frame)
    value = ["a", "b"] if extra == "path" else [.3, .7]
    got = encode_landmark_target(frame.assign(**{extra: value}))
    np.testing.assert_array_equal(got, expected)
    named = landmark_frame(check_landmark_target(lm_y()), ["le", "re", "nose"])
    expected = encode_landmark_target(named)
    got = encode_landmark_target(named.assign(**{extra: value}))
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(
        encode_landmark_target(named.assign(**{extra: value}),
                               landmark_names=["le", "re", "nose"]), expected)


def test_landmark_frame_numbered_columns_must_be_complete():
    frame = landmark_frame(check_landmark_target(lm_y()))
    with pytest.raises(ValueError, match=r"missing \['y_4'\]"):
        encode_landmark_target(frame.assign(x_4=[.1, .2]))
    with pytest.raises(ValueError, match=r"missing \['x_2', 'y_2'\]"):
        encode_landmark_target(frame.drop(columns=["x_2", "y_2"]))
    with pytest.raises(ValueError, match="found no point columns"):
        encode_landmark_target(frame[["p"]].assign(image_id=[1, 2]))
    with pytest.raises(TypeError, match=r"y must be numeric; got the string '1' in "
                       r"column 'p', row 0"):
        encode_landmark_target(frame.astype({"p": str}))
