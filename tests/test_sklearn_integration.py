"""The estimators inside scikit-learn's model selection, unchanged."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    cross_val_score,
    cross_validate,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, MinMaxScaler

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.metrics import get_scorer
from sklocalize.model_selection import StratifiedTargetKFold

from ._helpers import TINY_MODULE, tiny_landmarks, tiny_localization

PARAMS = {"max_epochs": 1, "random_state": 0, "batch_size": 8, **TINY_MODULE}


@pytest.fixture(scope="module")
def data():
    return tiny_localization(n=30)


@pytest.mark.slow
def test_cross_val_score_default_and_named_scorer(data):
    X, y = data
    est = LocalizerEstimator(**PARAMS)
    default = cross_val_score(est, X, y, cv=3)
    assert default.shape == (3,) and np.all((default >= 0) & (default <= 1))
    acc = cross_val_score(est, X, y, cv=StratifiedTargetKFold(3),
                          scoring=get_scorer("localization_accuracy"))
    assert np.all((acc >= 0) & (acc <= 1))
    loss = cross_val_score(est, X, y, cv=3, scoring=get_scorer("neg_masked_loss"))
    assert np.all(loss <= 0)


@pytest.mark.slow
def test_cross_validate_multi_metric(data):
    X, y = data
    scoring = {name: get_scorer(name) for name in
               ("iou", "localization_accuracy", "presence_accuracy",
                "class_accuracy", "neg_masked_loss")}
    res = cross_validate(LocalizerEstimator(**PARAMS), X, y, cv=3, scoring=scoring)
    for name in scoring:
        assert res[f"test_{name}"].shape == (3,)
        assert np.all(np.isfinite(res[f"test_{name}"]))


@pytest.mark.slow
def test_cross_validate_with_dataframe_target():
    X, frame = tiny_localization(n=30, as_frame=True)
    res = cross_validate(LocalizerEstimator(**PARAMS), X, frame, cv=3,
                         scoring={"iou": get_scorer("iou"),
                                  "cls": get_scorer("class_accuracy")})
    assert np.all(np.isfinite(res["test_cls"]))


@pytest.mark.slow
def test_grid_search_parallel_refit_iou(data):
    X, y = data
    grid = {
        "lr": [1e-3, 3e-3],
        "max_epochs": [1, 2],
        "module__width": [4, 6],
        "box_weight": [1.0, 5.0],
    }
    search = GridSearchCV(
        LocalizerEstimator(**PARAMS), grid, cv=KFold(2),
        scoring={"iou": get_scorer("iou"), "loss": get_scorer("neg_masked_loss")},
        refit="iou", n_jobs=2,
    )
    search.fit(X, y)
    assert len(search.cv_results_["params"]) == 16
    best = search.cv_results_["mean_test_iou"].argmax()
    assert search.best_params_ == search.cv_results_["params"][best]
    assert search.best_estimator_.module_.trunk.stem[0].out_channels == \
        search.best_params_["module__width"]
    assert search.predict(X).shape == y.shape


@pytest.mark.slow
def test_pipeline_after_2d_transformer_in_grid_search(data):
    X, y = data
    flat = X.reshape(len(X), -1) * 7.0 + 3.0  # not on a 0-1 scale
    pipe = Pipeline([
        ("scale", MinMaxScaler()),
        ("loc", LocalizerEstimator(image_shape=(1, 16, 16), **PARAMS)),
    ])
    search = GridSearchCV(pipe, {"loc__lr": [1e-3, 2e-3],
                                 "loc__module__width": [4, 6]}, cv=2)
    search.fit(flat, y)
    assert search.predict(flat).shape == y.shape
    assert 0 <= search.score(flat, y) <= 1


def test_pipeline_with_function_transformer(data):
    X, y = data
    pipe = Pipeline([
        ("flatten", FunctionTransformer(lambda a: a.reshape(len(a), -1))),
        ("loc", LocalizerEstimator(image_shape=(16, 16), **PARAMS)),
    ])
    assert pipe.fit(X, y).predict(X).shape == y.shape


def test_clone_keeps_params_and_drops_fit(data):
    X, y = data
    est = LocalizerEstimator(**PARAMS, box_loss="giou").fit(X, y)
    c = clone(est)
    assert c.get_params()["box_loss"] == "giou"
    assert c.get_params()["module__width"] == 4
    assert not hasattr(c, "classes_") and not c.initialized_
    assert "_params_to_validate" not in c.get_params()


# ---------------------------------------------------------------------------
# landmarks


@pytest.fixture(scope="module")
def faces():
    return tiny_landmarks(n=30)


@pytest.mark.slow
def test_landmarks_cross_val_score_and_cross_validate(faces):
    X, y = faces
    est = LandmarkEstimator(**PARAMS)
    assert np.all(cross_val_score(est, X, y, cv=3) <= 0)  # negative NME
    scoring = {name: get_scorer(name) for name in
               ("neg_nme", "pck", "neg_failure_rate", "landmark_presence_accuracy",
                "neg_masked_landmark_loss")}
    res = cross_validate(est, X, y, cv=StratifiedTargetKFold(3, task="landmarks"),
                         scoring=scoring)
    for name in scoring:
        assert np.all(np.isfinite(res[f"test_{name}"]))
    assert np.all((res["test_pck"] >= 0) & (res["test_pck"] <= 1))


@pytest.mark.slow
def test_landmarks_grid_search_parallel(faces):
    X, y = faces
    search = GridSearchCV(
        LandmarkEstimator(**PARAMS),
        {"lr": [1e-3, 3e-3], "point_loss": ["wing", "smooth_l1"]},
        cv=KFold(2), scoring={"nme": get_scorer("neg_nme"), "pck": get_scorer("pck")},
        refit="nme", n_jobs=2,
    ).fit(X, y)
    assert search.best_params_["point_loss"] in ("wing", "smooth_l1")
    assert search.predict(X).shape == y.shape


def test_landmarks_pipeline_and_clone(faces):
    X, y = faces
    pipe = Pipeline([
        ("scale", MinMaxScaler()),
        ("lm", LandmarkEstimator(image_shape=(16, 16), **PARAMS)),
    ]).fit(X.reshape(len(X), -1), y)
    assert pipe.predict(X.reshape(len(X), -1)).shape == y.shape
    c = clone(pipe)
    assert c.get_params()["lm__module__width"] == 4


def test_the_user_guides_out_of_fold_presence_recipe():
    from sklearn.model_selection import cross_validate

    from sklocalize import LocalizerEstimator

    from ._helpers import tiny_estimator, tiny_localization

    X, y = tiny_localization(n=36)
    cv = cross_validate(tiny_estimator(LocalizerEstimator), X, y, cv=3,
                        return_estimator=True, return_indices=True)
    presence = np.full(len(X), np.nan)
    for fitted, test in zip(cv["estimator"], cv["indices"]["test"]):
        presence[test] = fitted.predict_proba(X[test])[:, 0]
    # every image has an out-of-fold probability (no NaN left)
    assert np.all((presence >= 0) & (presence <= 1))
