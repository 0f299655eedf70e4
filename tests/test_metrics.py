import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning

from sklocalize.metrics import (
    SCORERS,
    ced_curve,
    class_accuracy,
    failure_rate,
    get_scorer,
    get_scorer_names,
    iou_score,
    iou_success_curve,
    landmark_nme,
    landmark_pck,
    landmark_presence_accuracy,
    localization_accuracy,
    masked_landmark_loss,
    masked_loss,
    per_image_iou,
    per_image_nme,
    presence_accuracy,
)

# four images: present & well boxed (class 0), present & IoU .6 boxed (class 1,
# predicted class 0), absent predicted present, absent predicted absent.
Y_TRUE = np.array([
    [1, .5, .5, .4, .4, 1, 0],
    [1, .5, .5, .4, .4, 0, 1],
    [0, np.nan, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
])
Y_PRED = np.array([
    [1, .5, .5, .4, .4, 1, 0],
    [1, .5, .5, .4, .24, 1, 0],  # 0.6 of the width: IoU 0.6
    [1, .5, .5, .4, .4, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
])


def test_per_image_iou_and_mean():
    np.testing.assert_allclose(per_image_iou(Y_TRUE, Y_PRED), [1, .6, 0, 1])
    assert iou_score(Y_TRUE, Y_PRED) == pytest.approx(2.6 / 4)


def test_missing_box_is_left_out_of_box_metrics():
    y_true = Y_TRUE.copy()
    y_true[1, 1:5] = np.nan
    assert np.isnan(per_image_iou(y_true, Y_PRED)[1])
    assert iou_score(y_true, Y_PRED) == pytest.approx(2 / 3)
    assert localization_accuracy(y_true, Y_PRED) == pytest.approx(2 / 3)
    # ... but it still counts for presence and class
    assert presence_accuracy(y_true, Y_PRED) == pytest.approx(3 / 4)
    assert class_accuracy(y_true, Y_PRED) == pytest.approx(1 / 2)


def test_localization_accuracy_threshold():
    # image 1 has IoU .6 but the wrong class -> wrong at any threshold
    assert localization_accuracy(Y_TRUE, Y_PRED) == pytest.approx(2 / 4)
    y_pred = Y_PRED.copy()
    y_pred[1, 5:] = [0, 1]
    assert localization_accuracy(Y_TRUE, y_pred) == pytest.approx(3 / 4)
    assert localization_accuracy(Y_TRUE, y_pred, iou_threshold=0.7) == pytest.approx(
        2 / 4)
    with pytest.raises(ValueError, match=r"iou_threshold must be in \[0, 1\]"):
        localization_accuracy(Y_TRUE, y_pred, iou_threshold=2)


def test_presence_and_class_accuracy():
    assert presence_accuracy(Y_TRUE, Y_PRED) == pytest.approx(3 / 4)
    assert class_accuracy(Y_TRUE, Y_PRED) == pytest.approx(1 / 2)
    with pytest.warns(UndefinedMetricWarning, match="class_accuracy is undefined"):
        assert np.isnan(class_accuracy(Y_TRUE[2:], Y_PRED[2:]))


def test_masked_loss_seed_hand_computed():
    # image 0: 0; image 1: box .16^2 + class 1 + 1 = 2.0256; image 2: p 1;
    # image 3: 0 -> mean 3.0256 / 4
    assert masked_loss(Y_TRUE, Y_PRED) == pytest.approx(3.0256 / 4)


def test_masked_loss_practical_hand_computed():
    y_true = np.array([[1, .5, .5, .4, .4, 1, 0], [0, 0, 0, 0, 0, 0, 0]])
    y_pred = np.array([[.8, .5, .5, .4, .3, .6, .4], [.1, 0, 0, 0, 0, .5, .5]])
    expected = (
        np.mean([-np.log(.8), -np.log(.9)])  # BCE over both images
        + 2.0 * .1 ** 2  # box mse (sum over entries) over the present image
        + 3.0 * -np.log(.6)  # cross-entropy over the present image
    )
    got = masked_loss(y_true, y_pred, loss="practical", box_loss="mse",
                      box_weight=2.0, class_weight=3.0)
    assert got == pytest.approx(expected, rel=1e-6)


def test_masked_loss_errors():
    with pytest.raises(ValueError, match=r"got y_true of shape \(4, 7\) \(2 "
                       r"class\(es\)\) and y_pred of shape \(4, 6\) \(1 class\(es\)\)"):
        masked_loss(Y_TRUE, Y_PRED[:, :6])
    with pytest.raises(ValueError, match="loss must be one of"):
        masked_loss(Y_TRUE, Y_PRED, loss="l2")
    with pytest.raises(ValueError, match="Unknown box_loss"):
        masked_loss(Y_TRUE, Y_PRED, loss="practical", box_loss="iou")
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['kind'\]"):
        masked_loss(Y_TRUE, Y_PRED, kind="practical")
    with pytest.raises(ValueError, match="loss must be one of"):
        masked_loss(Y_TRUE, Y_PRED, loss="seed")
    bad = Y_PRED.copy()
    bad[0, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values where y_true"):
        masked_loss(Y_TRUE, bad)
    bad = Y_PRED.copy()
    bad[0, 0] = 1.5
    with pytest.raises(ValueError, match=r"probability in \[0, 1\]"):
        masked_loss(Y_TRUE, bad)


def test_metric_input_errors():
    with pytest.raises(ValueError, match=r"same number of rows \(one per image\); "
                       r"got y_true of shape \(4, 7\) and y_pred of shape \(3, 7\)"):
        iou_score(Y_TRUE, Y_PRED[:3])
    with pytest.raises(ValueError, match=r"same number of columns \(5 \+ n_classes\)"
                       r"; got y_true of shape \(4, 7\) \(2 class\(es\)\) and y_pred "
                       r"of shape \(4, 6\) \(1 class\(es\)\)"):
        iou_score(Y_TRUE, Y_PRED[:, :6])
    bad = Y_PRED.copy()
    bad[0, 0] = 0.7
    with pytest.raises(ValueError, match="y_pred has a presence"):
        iou_score(Y_TRUE, bad)


def test_iou_success_curve():
    t, success, auc = iou_success_curve(Y_TRUE, Y_PRED)
    assert t[0] == 0 and t[-1] == 1
    assert success[0] == 1.0  # every IoU >= 0
    assert success[np.searchsorted(t, 0.5)] == pytest.approx(3 / 4)
    assert success[-1] == pytest.approx(2 / 4)
    assert auc == pytest.approx(iou_score(Y_TRUE, Y_PRED), abs=0.01)
    t, success, auc = iou_success_curve(Y_TRUE, Y_PRED, thresholds=[0.5, 1.0])
    assert auc == pytest.approx((3 / 4 + 2 / 4) / 2)


@pytest.mark.parametrize("thresholds", [[], [0.5], [0.5, 0.2], [0, 1.5],
                                        [0, np.nan], [[0, 1]], "abc"])
def test_iou_success_curve_refuses_thresholds_without_an_area(thresholds):
    # [] gave an AUC of 0.0 (one threshold too), silently
    with pytest.raises(ValueError, match="thresholds must be at least two "
                       "increasing numbers in \\[0, 1\\]"):
        iou_success_curve(Y_TRUE, Y_PRED, thresholds=thresholds)


# landmarks: two points; image 0 exact, image 1 one point off by .1,
# image 2 absent.
LM_TRUE = np.array([
    [1, .2, .5, .6, .5],
    [1, .2, .5, .6, .5],
    [0, 0, 0, 0, 0],
])
LM_PRED = np.array([
    [1, .2, .5, .6, .5],
    [1, .2, .6, .6, .5],
    [1, .3, .3, .4, .4],
])


def test_nme_normalisations():
    # inter-point distance .4: image 1 mean error (.1 + 0) / 2 = .05 -> .125
    np.testing.assert_allclose(per_image_nme(LM_TRUE, LM_PRED, normalize=(0, 1)),
                               [0, .125])
    assert landmark_nme(LM_TRUE, LM_PRED, normalize=(0, 1)) == pytest.approx(.0625)
    assert landmark_nme(LM_TRUE, LM_PRED, normalize="image") == pytest.approx(.025)
    # bbox of collinear points has zero area: such faces are left out
    with pytest.warns(UndefinedMetricWarning):
        assert np.isnan(landmark_nme(LM_TRUE, LM_PRED, normalize="bbox"))


def test_nme_bbox_normaliser():
    y_true = np.array([[1, .2, .2, .6, .6]])  # bbox .4 x .4 -> sqrt = .4
    y_pred = np.array([[1, .2, .24, .6, .6]])
    assert landmark_nme(y_true, y_pred) == pytest.approx(.02 / .4)


@pytest.mark.parametrize("normalize", ["eyes", (0, 0), (0, 5), "x"])
def test_nme_bad_normalize(normalize):
    with pytest.raises(ValueError, match="normalize"):
        landmark_nme(LM_TRUE, LM_PRED, normalize=normalize)


def test_missing_points_are_left_out():
    y_true = LM_TRUE.copy()
    y_true[1, 1:3] = np.nan  # the exact point is the missing one -> error .0
    y_true[1, 3:5] = [.2, .6]
    y_pred = LM_PRED.copy()
    # image 1: only point 2 visible, predicted (.6, .5) vs (.2, .6)
    err = np.hypot(.4, .1)
    assert landmark_nme(y_true, y_pred, normalize="image") == pytest.approx(err / 2)


def test_pck_failure_rate_and_presence():
    # point errors normalised by .4: [0, 0, .25, 0]
    assert landmark_pck(LM_TRUE, LM_PRED, normalize=(0, 1)) == pytest.approx(3 / 4)
    assert landmark_pck(LM_TRUE, LM_PRED, threshold=.3,
                        normalize=(0, 1)) == pytest.approx(1)
    assert failure_rate(LM_TRUE, LM_PRED, normalize=(0, 1)) == pytest.approx(1 / 2)
    assert failure_rate(LM_TRUE, LM_PRED, threshold=.2,
                        normalize=(0, 1)) == pytest.approx(0)
    assert landmark_presence_accuracy(LM_TRUE, LM_PRED) == pytest.approx(2 / 3)


def test_ced_curve():
    errors, fraction, auc = ced_curve(LM_TRUE, LM_PRED, max_error=.2, n_points=5,
                                      normalize=(0, 1))
    np.testing.assert_allclose(errors, [0, .05, .1, .15, .2])
    np.testing.assert_allclose(fraction, [.5, .5, .5, 1, 1])
    assert auc == pytest.approx(np.trapezoid(fraction, errors) / .2)
    with pytest.raises(ValueError, match="max_error must be a positive number"):
        ced_curve(LM_TRUE, LM_PRED, max_error=0)


def test_masked_landmark_loss_hand_computed():
    # image 1: .1^2; image 2: p error 1 -> (0 + .01 + 1) / 3
    assert masked_landmark_loss(LM_TRUE, LM_PRED) == pytest.approx(1.01 / 3)


def test_nan_prediction_on_visible_point():
    y_pred = LM_PRED.copy()
    y_pred[0, 0] = 0
    y_pred[0, 1:3] = np.nan
    with pytest.raises(ValueError, match="y_pred has NaN or infinite points"):
        landmark_nme(LM_TRUE, y_pred)


def test_scorer_registry():
    names = get_scorer_names()
    for name in ["iou", "neg_masked_loss", "localization_accuracy",
                 "presence_accuracy", "class_accuracy", "neg_nme", "pck",
                 "neg_failure_rate"]:
        assert name in names
        scorer = get_scorer(name)
        # a copy: setting a metadata request on it leaves the registry alone
        assert scorer is not SCORERS[name]
        assert scorer.score_func is SCORERS[name].score_func
        assert repr(scorer) == repr(SCORERS[name])
    with pytest.raises(ValueError, match="Unknown scorer name 'ioux'"):
        get_scorer("ioux")


class _Fixed(BaseEstimator):
    """A stand-in fitted estimator that predicts a fixed array."""

    def __init__(self, y_pred=None):
        self.y_pred = y_pred

    def predict(self, X):
        return self.y_pred[: len(X)]

    def encode_target(self, frame):
        from sklocalize.targets import encode_localization_target

        return encode_localization_target(frame, classes=np.array(["a", "b"]))[0]


def test_scorers_sign_and_frames():
    est = _Fixed(Y_PRED)
    X = np.zeros((4, 1))
    assert get_scorer("iou")(est, X, Y_TRUE) == pytest.approx(2.6 / 4)
    assert get_scorer("neg_masked_loss")(est, X, Y_TRUE) == pytest.approx(-3.0256 / 4)
    frame = pd.DataFrame({"p_c": [1, 1, 0, 0], "b_x": .5, "b_y": .5, "b_h": .4,
                          "b_w": .4, "label": ["a", "b", None, None]})
    assert get_scorer("class_accuracy")(est, X, frame) == pytest.approx(1 / 2)
    assert "TargetScorer(iou_score)" == repr(get_scorer("iou"))


def test_predicted_empty_box_scores_zero_not_an_error():
    y_true = np.array([[1, .5, .5, .4, .4, 1.0]])
    y_pred = np.array([[1, .5, .5, 0.0, .4, 1.0]])  # a degenerate prediction
    assert iou_score(y_true, y_pred) == 0.0
    assert localization_accuracy(y_true, y_pred) == 0.0
    with pytest.raises(ValueError, match=r"y_pred has a box value .* outside \[0, 1\]"):
        iou_score(y_true, np.array([[1, .5, .5, -0.1, .4, 1.0]]))
    with pytest.raises(ValueError, match="y_true has a non-positive box height"):
        iou_score(y_pred, y_true)


@pytest.mark.parametrize("threshold", [float("nan"), -0.1, 0, "0.1", True])
def test_error_thresholds_must_be_positive_numbers(threshold):
    from sklocalize.metrics import ced_curve, failure_rate, landmark_pck

    y = np.array([[1, .2, .3, .7, .3, .5, .7]])
    with pytest.raises(ValueError, match="threshold must be a positive number"):
        landmark_pck(y, y, threshold=threshold)
    with pytest.raises(ValueError, match="threshold must be a positive number"):
        failure_rate(y, y, threshold=threshold)
    with pytest.raises(ValueError, match="max_error must be a positive number"):
        ced_curve(y, y, max_error=threshold)


@pytest.mark.parametrize("n_points", [-1, 0, 1, 2.5])
def test_ced_curve_needs_two_points(n_points):
    from sklocalize.metrics import ced_curve

    y = np.array([[1, .2, .3, .7, .3, .5, .7]])
    with pytest.raises(ValueError, match="n_points must be an integer of at least 2"):
        ced_curve(y, y, n_points=n_points)
