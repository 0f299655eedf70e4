"""The metrics' and scorers' input rules: empty input, nothing to score,
shape mismatches, sample_weight and metadata routing."""

import re

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.model_selection import KFold, cross_validate
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sklocalize.metrics import (
    SCORERS,
    ced_curve,
    class_accuracy,
    failure_rate,
    get_scorer,
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

# localization: 6 images, two classes; boxes of several IoUs, one true box not
# annotated, absent images predicted absent and present
LOC_TRUE = np.array([
    [1, .5, .5, .4, .4, 1, 0],
    [1, .5, .5, .4, .4, 0, 1],
    [0, np.nan, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0],
    [1, .3, .3, .2, .2, 0, 1],
    [1, np.nan, np.nan, np.nan, np.nan, 1, 0],
])
LOC_PRED = np.array([
    [1, .5, .5, .4, .4, 1, 0],
    [1, .5, .5, .4, .24, 1, 0],
    [1, .5, .5, .4, .4, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
    [1, .32, .3, .2, .1, 0, 1],
    [1, .5, .5, .2, .2, 0, 1],
])
# landmarks: 6 images, three points; one absent, one with a hidden point
LM_TRUE = np.array([
    [1, .2, .3, .7, .3, .5, .7],
    [1, .25, .35, .65, .3, .45, .75],
    [0, 0, 0, 0, 0, 0, 0],
    [1, .2, .3, np.nan, np.nan, .5, .8],
    [1, .1, .1, .9, .2, .5, .9],
    [1, .3, .4, .6, .4, .45, .6],
])
LM_PRED = np.array([
    [1, .21, .3, .7, .32, .5, .7],
    [1, .3, .35, .6, .3, .45, .7],
    [1, .3, .3, .6, .4, .5, .5],
    [1, .2, .35, .6, .3, .5, .8],
    [0, .1, .1, .9, .2, .5, .9],
    [1, .3, .45, .6, .4, .4, .6],
])

LOC_METRICS = {
    "masked_loss": masked_loss,
    "masked_loss_practical": lambda t, p, **kw: masked_loss(
        t, p, loss="practical", box_loss="mse", **kw),
    "iou_score": iou_score,
    "localization_accuracy": localization_accuracy,
    "presence_accuracy": presence_accuracy,
    "class_accuracy": class_accuracy,
}
LM_METRICS = {
    "landmark_nme": landmark_nme,
    "landmark_nme_image": lambda t, p, **kw: landmark_nme(t, p, normalize="image",
                                                          **kw),
    "landmark_pck": landmark_pck,
    "landmark_pck_pair": lambda t, p, **kw: landmark_pck(t, p, threshold=.1,
                                                         normalize=(0, 2), **kw),
    "failure_rate": failure_rate,
    "landmark_presence_accuracy": landmark_presence_accuracy,
    "masked_landmark_loss": masked_landmark_loss,
}
CASES = ([(name, f, LOC_TRUE, LOC_PRED) for name, f in LOC_METRICS.items()]
         + [(name, f, LM_TRUE, LM_PRED) for name, f in LM_METRICS.items()])
IDS = [c[0] for c in CASES]
OTHERS = {  # the public functions that are not scalar metrics
    "per_image_iou": (per_image_iou, LOC_TRUE),
    "per_image_nme": (per_image_nme, LM_TRUE),
    "iou_success_curve": (iou_success_curve, LOC_TRUE),
    "ced_curve": (ced_curve, LM_TRUE),
}


# --------------------------------------------------------------------------
# empty input, and nothing to score


@pytest.mark.parametrize("name,metric,y_true,y_pred", CASES, ids=IDS)
def test_empty_input_is_a_value_error(name, metric, y_true, y_pred):
    empty = y_true[:0]
    match = r"y_true is empty: found array with 0 sample\(s\) \(shape=\(0, 7\)\)"
    with pytest.raises(ValueError, match=match):
        metric(empty, y_pred[:0])
    with pytest.raises(ValueError, match=r"y_true is empty: .*shape=\(0,\)"):
        metric([], [])
    with pytest.raises(ValueError, match=r"y_pred is empty"):
        metric(y_true, y_pred[:0])


@pytest.mark.parametrize("name", sorted(OTHERS))
def test_empty_input_is_a_value_error_for_curves_and_per_image(name):
    func, y = OTHERS[name]
    with pytest.raises(ValueError, match=r"y_true is empty: found array with 0 "):
        func(y[:0], y[:0])


# for each metric, a non-empty input that no image qualifies for
NOTHING = {
    "iou_score": (LOC_TRUE[[5]], LOC_PRED[[5]]),  # box not annotated
    "localization_accuracy": (LOC_TRUE[[5]], LOC_PRED[[5]]),
    "class_accuracy": (LOC_TRUE[[2, 3]], LOC_PRED[[2, 3]]),  # nothing present
    "landmark_nme": (LM_TRUE[[2]], LM_PRED[[2]]),  # no face
    "landmark_nme_image": (LM_TRUE[[2]], LM_PRED[[2]]),
    "landmark_pck": (LM_TRUE[[2]], LM_PRED[[2]]),
    "landmark_pck_pair": (LM_TRUE[[2]], LM_PRED[[2]]),
    "failure_rate": (LM_TRUE[[2]], LM_PRED[[2]]),
}


@pytest.mark.parametrize("name,metric,y_true,y_pred", CASES, ids=IDS)
def test_nothing_to_score_is_nan_with_undefined_metric_warning(name, metric, y_true,
                                                                y_pred):
    if name in NOTHING:
        t, p = NOTHING[name]
        with pytest.warns(UndefinedMetricWarning, match="is undefined: no image "
                          "qualifies; returning NaN"):
            assert np.isnan(metric(t, p))
    # every metric: the images that qualify weigh 0 in all
    with pytest.warns(UndefinedMetricWarning, match="is undefined: .*sample_weight"):
        assert np.isnan(metric(y_true, y_pred, sample_weight=np.zeros(len(y_true))))


def test_curves_with_nothing_to_score_are_nan_with_a_warning():
    with pytest.warns(UndefinedMetricWarning, match="iou_success_curve is undefined"):
        t, success, auc = iou_success_curve(LOC_TRUE[[5]], LOC_PRED[[5]])
    assert np.isnan(success).all() and np.isnan(auc) and len(t) == 101
    with pytest.warns(UndefinedMetricWarning, match="ced_curve is undefined"):
        errors, fraction, auc = ced_curve(LM_TRUE[[2]], LM_PRED[[2]])
    assert np.isnan(fraction).all() and np.isnan(auc)


# --------------------------------------------------------------------------
# shapes


@pytest.mark.parametrize("name,metric,y_true,y_pred", CASES, ids=IDS)
def test_a_shape_mismatch_names_both_shapes(name, metric, y_true, y_pred):
    wide = np.hstack([y_pred, y_pred[:, -2:]])
    if "landmark" in name or name == "failure_rate":
        n_true, n_wide = r"\(3 landmark\(s\)\)", r"\(4 landmark\(s\)\)"
    else:
        n_true, n_wide = r"\(2 class\(es\)\)", r"\(4 class\(es\)\)"
    for t, p, first, second in [(y_true, wide, n_true, n_wide),
                                (wide, y_true, n_wide, n_true)]:
        match = (rf"y_true and y_pred must have the same number of columns .*; got "
                 rf"y_true of shape \({len(t)}, {t.shape[1]}\) {first} and y_pred "
                 rf"of shape \({len(p)}, {p.shape[1]}\) {second}")
        with pytest.raises(ValueError, match=match):
            metric(t, p)
    with pytest.raises(ValueError, match=r"same number of rows \(one per image\); "
                       r"got y_true of shape \(6, 7\) and y_pred of shape \(5, 7\)"):
        metric(y_true, y_pred[:5])


@pytest.mark.parametrize("func", [landmark_nme, landmark_pck, failure_rate,
                                  per_image_nme, ced_curve])
def test_bbox_normalisation_needs_two_landmarks(func):
    y_true = np.array([[1, .2, .3], [1, .5, .5], [0, 0, 0]])
    y_pred = np.array([[1, .25, .3], [1, .5, .5], [0, 0, 0]])
    with pytest.raises(ValueError, match=r"normalize='bbox' needs at least 2 "
                       r"landmarks.*y_true has 1 landmark\. Use normalize='image'"):
        func(y_true, y_pred)
    with pytest.raises(ValueError, match=r"normalize=\(0, 1\) must name two "
                       r"different landmarks among the 1"):
        func(y_true, y_pred, normalize=(0, 1))
    out = func(y_true, y_pred, normalize="image")  # relative to the image: fine
    assert np.all(np.isfinite(out[1] if isinstance(out, tuple) else out))


def test_landmark_nme_of_one_landmark_relative_to_the_image():
    y_true = np.array([[1, .2, .3], [1, .5, .5]])
    y_pred = np.array([[1, .25, .3], [1, .5, .6]])
    assert landmark_nme(y_true, y_pred, normalize="image") == pytest.approx(.075)


@pytest.mark.parametrize("loss", ["squared_error", "practical"])
@pytest.mark.parametrize("row,column,value", [(0, 5, 1.5), (1, 6, -0.2), (3, 5, 2.0)])
def test_masked_loss_refuses_class_probabilities_outside_0_1(loss, row, column,
                                                              value):
    y_pred = np.array(LOC_PRED, dtype=float)
    y_pred[row, column] = value
    match = (rf"y_pred's class part \(columns 5 to 6: c_1, \.\.\., c_2\) must hold "
             rf"probabilities in \[0, 1\]; got {re.escape(repr(value))} in row {row}, "
             rf"column {column} \(c_{column - 4}\)")
    with pytest.raises(ValueError, match=match):
        masked_loss(LOC_TRUE, y_pred, loss=loss)


def test_masked_loss_presence_outside_0_1_names_the_column_and_row():
    y_pred = np.array(LOC_PRED, dtype=float)
    y_pred[2, 0] = -0.5
    with pytest.raises(ValueError, match=r"y_pred's p_c \(column 0\) must be a "
                       r"probability in \[0, 1\]; got -0\.5 in row 2"):
        masked_loss(LOC_TRUE, y_pred, loss="practical")


# --------------------------------------------------------------------------
# sample_weight


@pytest.mark.parametrize("name,metric,y_true,y_pred", CASES, ids=IDS)
def test_sample_weight_of_ones_is_exactly_unweighted(name, metric, y_true, y_pred):
    unweighted = metric(y_true, y_pred)
    assert np.isfinite(unweighted)
    assert metric(y_true, y_pred, sample_weight=np.ones(len(y_true))) == unweighted
    assert metric(y_true, y_pred, sample_weight=[1] * len(y_true)) == unweighted


@pytest.mark.parametrize("name,metric,y_true,y_pred", CASES, ids=IDS)
@pytest.mark.parametrize("weights", [[2, 0, 1, 3, 1, 1], [3, 1, 2, 1, 1, 2],
                                     [1, 4, 2, 2, 1, 3]])
def test_integer_sample_weight_is_repeating_rows(name, metric, y_true, y_pred,
                                                 weights):
    repeated = np.repeat(np.arange(len(y_true)), weights)
    expected = metric(y_true[repeated], y_pred[repeated])
    got = metric(y_true, y_pred, sample_weight=np.array(weights))
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-15)
    # the weights change the result here (so ignoring them would fail)
    assert expected != pytest.approx(metric(y_true, y_pred), rel=1e-9)


def test_weighted_metrics_hand_computed():
    # per image IoU: 1, .6, 0, 1, IoU(.32, .3, .2, .1 vs .3, .3, .2, .2), NaN
    w = np.array([1, 3, 0, 0, 0, 5.0])
    assert iou_score(LOC_TRUE, LOC_PRED, sample_weight=w) == pytest.approx(
        (1 + 3 * .6) / 4)  # image 5 is left out whatever its weight
    assert presence_accuracy(LOC_TRUE, LOC_PRED, sample_weight=w) == 1.0
    w = np.array([1, 0, 2, 1, 0, 0.0])
    assert presence_accuracy(LOC_TRUE, LOC_PRED, sample_weight=w) == 2 / 4
    # pck: each point weighs as its image
    y_true = np.array([[1, .2, .2, .6, .6], [1, .2, .2, .6, .6]])
    y_pred = np.array([[1, .2, .2, .6, .6], [1, .2, .2, .9, .9]])
    assert landmark_pck(y_true, y_pred, sample_weight=[3, 1]) == pytest.approx(7 / 8)


@pytest.mark.slow
@pytest.mark.parametrize("name,metric,y_true,y_pred", CASES, ids=IDS)
@pytest.mark.parametrize("weights,error,match", [
    (np.ones(5), ValueError, r"got shape \(5,\)"),
    (np.ones((6, 1)), ValueError, r"got shape \(6, 1\)"),
    (2.0, ValueError, r"got shape \(\)"),
    ([1, 1, -1, 1, 1, 1], ValueError, r"got -1\.0 at index 2"),
    ([1, 1, 1, np.nan, 1, 1], ValueError, r"got nan at index 3"),
    ([1, 1, 1, 1, np.inf, 1], ValueError, r"got inf at index 4"),
    (["1"] * 6, TypeError, r"sample_weight must be numeric; got the string '1'"),
    ("1", TypeError, r"sample_weight must be an array-like"),
])
def test_bad_sample_weight_is_named(name, metric, y_true, y_pred, weights, error,
                                    match):
    with pytest.raises(error, match=match) as info:
        metric(y_true, y_pred, sample_weight=weights)
    assert "sample_weight" in str(info.value)
    if error is ValueError:
        assert "(n_samples,) = (6,) of finite, non-negative numbers" in str(info.value)


# --------------------------------------------------------------------------
# scorers


class _FixedLocalizer(BaseEstimator):
    """A fitted localizer stand-in: predicts LOC_PRED[X[:, 0]]."""

    def fit(self, X, y=None, sample_weight=None):
        self.classes_ = np.array(["a", "b"])
        self.n_classes_ = 2
        return self

    def predict(self, X):
        return LOC_PRED[np.asarray(X)[:, 0].astype(int)]


class _FixedLandmarks(BaseEstimator):
    """A fitted landmark stand-in: predicts LM_PRED[X[:, 0]]."""

    def fit(self, X, y=None, sample_weight=None):
        self.n_landmarks_ = 3
        return self

    def predict(self, X):
        return LM_PRED[np.asarray(X)[:, 0].astype(int)]


LOC_SCORERS = ["class_accuracy", "iou", "localization_accuracy", "neg_masked_loss",
               "presence_accuracy"]
LM_SCORERS = ["landmark_presence_accuracy", "neg_failure_rate",
              "neg_masked_landmark_loss", "neg_nme", "pck"]
X6 = np.arange(6)[:, None]


def test_every_registered_scorer_has_a_task():
    assert sorted(n for n, s in SCORERS.items() if s.task == "localization") == \
        LOC_SCORERS
    assert sorted(n for n, s in SCORERS.items() if s.task == "landmarks") == LM_SCORERS


@pytest.mark.parametrize("name", LOC_SCORERS)
def test_localization_scorer_on_a_landmark_estimator(name):
    est = _FixedLandmarks().fit(X6)
    match = (rf"The scorer '{name}' scores localization \(LocalizerEstimator\), but "
             r"the estimator is a _FixedLandmarks fitted for landmarks "
             rf"\(LandmarkEstimator\)\. The scorers for landmarks are "
             rf"{re.escape(str(LM_SCORERS))}")
    with pytest.raises(ValueError, match=match):
        get_scorer(name)(est, X6, LM_TRUE)
    pipe = Pipeline([("id", FunctionTransformer()), ("est", est)])
    with pytest.raises(ValueError, match=match):
        get_scorer(name)(pipe, X6, LM_TRUE)


@pytest.mark.parametrize("name", LM_SCORERS)
def test_landmark_scorer_on_a_localizer(name):
    est = _FixedLocalizer().fit(X6)
    match = (rf"The scorer '{name}' scores landmarks \(LandmarkEstimator\), but the "
             r"estimator is a _FixedLocalizer fitted for localization "
             r"\(LocalizerEstimator\)\. The scorers for localization are "
             rf"{re.escape(str(LOC_SCORERS))}")
    with pytest.raises(ValueError, match=match):
        get_scorer(name)(est, X6, LOC_TRUE)


@pytest.mark.parametrize("name", LOC_SCORERS)
def test_scorer_blames_y_with_other_classes_than_at_fit(name):
    est = _FixedLocalizer().fit(X6)
    y = np.hstack([LOC_TRUE, np.zeros((6, 1))])
    with pytest.raises(ValueError, match=r"The y given to the scorer .* has 8 columns "
                       r"\(3 class\(es\)\), while the _FixedLocalizer was fitted on 2 "
                       r"class\(es\) \(5 \+ n_classes = 7 columns"):
        get_scorer(name)(est, X6, y)
    assert np.isfinite(get_scorer(name)(est, X6, LOC_TRUE))


@pytest.mark.parametrize("name", LM_SCORERS)
def test_scorer_blames_y_with_other_landmarks_than_at_fit(name):
    est = _FixedLandmarks().fit(X6)
    with pytest.raises(ValueError, match=r"has 5 columns \(2 landmark\(s\)\), while "
                       r"the _FixedLandmarks was fitted on 3 landmark\(s\) \(1 \+ 2 "
                       r"\* n_landmarks = 7 columns"):
        get_scorer(name)(est, X6, LM_TRUE[:, :5])
    assert np.isfinite(get_scorer(name)(est, X6, LM_TRUE))


def test_scorer_passes_sample_weight_without_routing():
    est = _FixedLocalizer().fit(X6)
    w = np.array([1, 3, 0, 0, 0, 5.0])
    assert get_scorer("iou")(est, X6, LOC_TRUE, sample_weight=w) == \
        iou_score(LOC_TRUE, LOC_PRED, sample_weight=w)


@pytest.mark.parametrize("name,est,y", [("iou", _FixedLocalizer, LOC_TRUE),
                                        ("neg_nme", _FixedLandmarks, LM_TRUE)])
def test_scorer_metadata_routing_in_cross_validate(name, est, y):
    w = np.array([1, 3, 2, 1, 4, 1.0])
    X = np.arange(6)[:, None]
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = get_scorer(name)
        def requested(s):
            return s.get_metadata_routing().score.requests["sample_weight"]

        assert requested(scorer) is None
        assert scorer.set_score_request(sample_weight=True) is scorer
        assert requested(scorer) is True
        assert requested(SCORERS[name]) is None  # the registry is left alone
        cv = KFold(2)
        res = cross_validate(est().set_fit_request(sample_weight=False), X, y, cv=cv,
                             scoring={"s": scorer}, params={"sample_weight": w})
        plain = cross_validate(est().set_fit_request(sample_weight=False), X, y,
                               cv=cv, scoring={"s": get_scorer(name)})
    metric = SCORERS[name].score_func
    sign = 1 if SCORERS[name].greater_is_better else -1
    expected = [sign * metric(y[test], est().fit(X).predict(X[test]),
                              sample_weight=w[test]) for _, test in cv.split(X)]
    np.testing.assert_allclose(res["test_s"], expected)
    assert not np.allclose(res["test_s"], plain["test_s"])


def test_set_score_request_needs_routing_enabled():
    with pytest.raises(RuntimeError, match="only available when metadata routing "
                       "is enabled"):
        get_scorer("iou").set_score_request(sample_weight=True)


def test_scorer_reads_the_task_of_a_fitted_search():
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(_FixedLandmarks(), {}, cv=KFold(2),
                          scoring=get_scorer("neg_nme")).fit(X6, LM_TRUE)
    assert np.isfinite(get_scorer("pck")(search, X6, LM_TRUE))
    with pytest.raises(ValueError, match=r"The scorer 'iou' scores localization .* "
                       r"_FixedLandmarks fitted for landmarks"):
        get_scorer("iou")(search, X6, LOC_TRUE)
