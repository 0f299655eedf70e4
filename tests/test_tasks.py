"""The tasks move targets with the pixels and outputs back; the estimators'
loss parameters are their criteria's."""

import inspect

import numpy as np
import pytest
import torch

import sklocalize
from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.augment import Augmenter
from sklocalize.geometry import affine_matrix
from sklocalize.nn import LandmarkLoss, LocalizationLoss
from sklocalize.tasks import LandmarkTask, LocalizationTask

from ._helpers import tiny_estimator, tiny_landmarks, tiny_localization


def _boxes(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    centre = 0.4 + 0.2 * torch.rand(n, 2, generator=g, dtype=torch.float64)
    size = 0.1 + 0.2 * torch.rand(n, 2, generator=g, dtype=torch.float64)
    return torch.cat([centre, size], dim=1)  # cxcyhw, well inside the image


def _move(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    scale = 0.8 + 0.4 * torch.rand(n, generator=g)
    shift = (torch.rand(n, 2, generator=g) - 0.5) * 0.1
    return affine_matrix(scale), shift


def test_localization_outputs_move_back_as_targets_moved():
    n = 6
    boxes = _boxes(n)
    y = torch.cat([torch.ones(n, 1, dtype=torch.float64), boxes,
                   torch.ones(n, 1, dtype=torch.float64)], dim=1)
    task = LocalizationTask(n_classes=1)
    matrix, shift = _move(n)
    moved = task.affine(y, matrix, shift)
    outputs = (torch.zeros(n), moved[:, 1:5], torch.zeros(n, 1))
    back = task.unwarp(outputs, matrix, shift)[1]
    torch.testing.assert_close(back, boxes, atol=1e-6, rtol=0)
    flipped = task.flip(y, torch.ones(n, dtype=torch.bool))
    unflipped = task.unflip((torch.zeros(n), flipped[:, 1:5], torch.zeros(n, 1)))
    torch.testing.assert_close(unflipped[1], boxes)
    torch.testing.assert_close(y[:, 1:5], boxes)  # inputs kept


def test_landmark_outputs_move_back_as_targets_moved():
    n, k = 5, 4
    g = torch.Generator().manual_seed(1)
    pts = 0.3 + 0.4 * torch.rand(n, 2 * k, generator=g, dtype=torch.float64)
    y = torch.cat([torch.ones(n, 1, dtype=torch.float64), pts], dim=1)
    task = LandmarkTask(k, flip_pairs=[(0, 1), (2, 3)])
    matrix, shift = _move(n, seed=2)
    moved = task.affine(y, matrix, shift)
    back = task.unwarp((torch.zeros(n), moved[:, 1:]), matrix, shift)[1]
    torch.testing.assert_close(back, pts, atol=1e-6, rtol=0)
    flipped = task.flip(y, torch.ones(n, dtype=torch.bool))
    # the mirror image's left eye is the true right eye, mirrored
    torch.testing.assert_close(flipped[:, 1], 1 - pts[:, 2])
    torch.testing.assert_close(task.unflip((torch.zeros(n), flipped[:, 1:]))[1], pts)


def test_landmark_task_flip_pairs():
    with pytest.raises(ValueError, match="tta_flip flips images horizontally.*"
                                         "set flip_pairs"):
        LandmarkTask(4).check_flip("tta_flip")
    LandmarkTask(4, flip_pairs=[]).check_flip("augment")  # no error
    with pytest.raises(ValueError, match=r"indices in \[0, 3\]; got \(0, 4\)"):
        LandmarkTask(4, flip_pairs=[(0, 4)]).pairs
    with pytest.raises(ValueError, match="at most once"):
        LandmarkTask(4, flip_pairs=[(0, 1), (1, 2)]).pairs


@pytest.mark.parametrize("estimator, criterion", [
    (LocalizerEstimator, LocalizationLoss), (LandmarkEstimator, LandmarkLoss)])
def test_loss_parameters_share_names_and_defaults(estimator, criterion):
    ours = inspect.signature(estimator).parameters
    theirs = inspect.signature(criterion).parameters
    assert estimator._loss_params
    for name in estimator._loss_params:
        assert ours[name].default == theirs[name].default, name


def test_a_criterion_instance_keeps_its_settings():
    X, y = tiny_localization()
    est = tiny_estimator(LocalizerEstimator,
                         criterion=LocalizationLoss(beta=0.1, edge_sigma=2.0))
    est.fit(X, y)
    assert (est.criterion_.beta, est.criterion_.edge_sigma) == (0.1, 2.0)
    # a loss parameter changed on the estimator is applied, the rest kept
    est.set_params(box_weight=3.0)
    assert (est.criterion_.beta, est.criterion_.box_weight) == (0.1, 3.0)
    est.set_params(criterion__class_weight=0.5).fit(X, y)
    assert (est.criterion_.beta, est.criterion_.class_weight) == (0.1, 0.5)
    # one set on the instance wins over the estimator's default
    est = tiny_estimator(LocalizerEstimator, criterion=LocalizationLoss(box_weight=5))
    assert est.fit(X, y).criterion_.box_weight == 5
    with pytest.raises(ValueError, match="box_weight is set twice, to 3.0 on the "
                                         "LocalizerEstimator and to 5 on"):
        est.set_params(box_weight=3.0)


def test_an_unknown_loss_name_is_refused():
    X, y = tiny_landmarks()
    with pytest.raises(ValueError, match="The 'loss' parameter"):
        tiny_estimator(LandmarkEstimator, loss="seed").fit(X, y)


@pytest.mark.parametrize("params, error, match", [
    ({"module__width": 0}, ValueError, "module__<name>.*width must be a positive "
                                       "integer; got 0"),
    ({"module__width": -3}, ValueError, "width must be a positive integer; got -3"),
    ({"module__width": 2.5}, ValueError, "width must be a positive integer; got 2.5"),
    ({"module__hidden": 0, "module__box_head": "grid"}, ValueError,
     "hidden must be a positive integer"),
    ({"module__dropout": 1.5}, ValueError, r"dropout must be a probability in \[0, "
                                           r"1\); got 1.5"),
    ({"augment": Augmenter(scale=1.1)}, ValueError,
     r"Augmenter scale must be \(low, high\).*got 1.1"),
    ({"callbacks": [42]}, TypeError, "callbacks must be a list of skorch callbacks "
                                     "or \\(name, callback\\) pairs; got 42"),
    ({"optimizer__betas": "bad"}, TypeError, "optimizer could not be built.*"
                                             "given: optimizer__betas='bad'"),
    ({"optimizer__weight_decay": -1}, ValueError, "optimizer__weight_decay=-1.*"
                                                  "Invalid weight_decay"),
    ({"optimizer__foo": 1}, TypeError, "optimizer__foo=1.*unexpected keyword"),
    ({"torch_load_kwargs": "yes"}, TypeError, "torch_load_kwargs must be a dict"),
    ({"torch_load_kwargs": {"weights_ony": False}}, ValueError,
     r"torch_load_kwargs has \['weights_ony'\]"),
    ({"torch_load_kwargs": {"weights_only": "no"}}, TypeError,
     r"torch_load_kwargs\['weights_only'\] must be True or False"),
])
def test_routed_and_nested_parameters_are_checked_before_training(params, error,
                                                                  match):
    X, y = tiny_localization()
    with pytest.raises(error, match=match):
        tiny_estimator(LocalizerEstimator, **params).fit(X, y)


def test_torch_load_kwargs_are_checked_when_loading_params(tmp_path):
    X, y = tiny_localization()
    est = tiny_estimator(LocalizerEstimator).fit(X, y)
    est.save_params(f_params=tmp_path / "w.pt")
    est.set_params(torch_load_kwargs={"map_location": "cpu"})
    with pytest.raises(ValueError, match=r"torch_load_kwargs has \['map_location'\]"):
        est.load_params(f_params=tmp_path / "w.pt")
    est.set_params(torch_load_kwargs={"weights_only": True})
    est.load_params(f_params=tmp_path / "w.pt")


def test_a_pixel_frames_column_names_are_checked_as_sklearn_does():
    import pandas as pd

    X, y = tiny_localization(n=16)
    frame = pd.DataFrame(X.reshape(len(X), -1),
                         columns=[f"px{i}" for i in range(X[0].size)])
    est = tiny_estimator(LocalizerEstimator, image_shape=(1, 16, 16)).fit(frame, y)
    np.testing.assert_array_equal(est.feature_names_in_, frame.columns)
    est.predict(frame)
    with pytest.raises(ValueError, match="feature names should match"):
        est.predict(frame[frame.columns[::-1]])
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        est.predict(frame.to_numpy())
    plain = tiny_estimator(LocalizerEstimator).fit(X, y)
    assert not hasattr(plain, "feature_names_in_")


def test_numbers_that_break_training_get_clear_errors():
    X, y = tiny_localization()
    with pytest.raises(ValueError, match="too large for float32"):
        tiny_estimator(LocalizerEstimator).fit(X.astype(np.float64) * 1e300, y)
    with pytest.raises(ValueError, match="The training loss became nan in epoch 1"):
        tiny_estimator(LocalizerEstimator, criterion__edge_sigma=0.0).fit(X, y)
    est = tiny_estimator(LocalizerEstimator).fit(torch.from_numpy(X).bfloat16(), y)
    assert est.predict(X).shape == y.shape


def test_a_pixel_scale_unlike_fits_warns(tmp_path):
    X, y = tiny_localization()
    X8 = np.round(X * 255).astype(np.uint8)
    est = tiny_estimator(LocalizerEstimator).fit(X8, y)
    assert est.pixel_scale_ == "0-1"
    with pytest.warns(UserWarning, match="on a 0-255 scale, but this "
                                         "LocalizerEstimator was fitted on images "
                                         "on a 0-1 scale"):
        est.predict(X8.astype(np.float32))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(X)  # floats on 0-1, as uint8 is read
    loaded = sklocalize.load(est.save(tmp_path / "m.skl"))
    assert loaded.pixel_scale_ == "0-1"


def test_landmark_names_must_differ():
    X, y = tiny_landmarks()
    names = ["eye", "eye", "nose", "a", "b", "c"]
    with pytest.raises(ValueError, match=r"landmark_names must be different "
                                         r"names; got \['eye'\] more than once"):
        tiny_estimator(LandmarkEstimator, landmark_names=names).fit(X, y)


def test_each_task_object_answers_what_the_command_line_asks():
    from sklocalize.metrics import SCORERS
    from sklocalize.tasks import TASKS

    assert set(TASKS) == {"localization", "landmarks"}
    for est, make in ((LocalizerEstimator(), tiny_localization),
                      (LandmarkEstimator(), tiny_landmarks)):
        task = TASKS[est._task().name]
        assert isinstance(est._task(), task)
        _, y = make(n=4, as_frame=True)
        assert task.presence_column == y.columns[0]
        assert task.has_classes == ("label" in y.columns)
        name, scorer, sign = task.search_score
        assert SCORERS[scorer].task == task.name and sign in (1, -1)
