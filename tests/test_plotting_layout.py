"""Pictures are readable: no title runs into the row above or into the
grid's title, and a CED's axis says what the errors were divided by."""

import runpy
from itertools import combinations
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

from sklocalize.plotting import CEDDisplay, plot_boxes, plot_landmarks

from ._helpers import tiny_landmarks, tiny_localization

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _boxes_of(fig):
    """The window extents of every axes and every non-empty title (the axes'
    and the figure's and subfigures' titles) of ``fig``, drawn."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [ax.get_window_extent(renderer) for ax in fig.axes if ax.axison]
    titles = [ax.title.get_window_extent(renderer) for ax in fig.axes
              if ax.get_title()]
    for sub in [fig, *fig.subfigs]:
        if sub._suptitle is not None:
            titles.append(sub._suptitle.get_window_extent(renderer))
    return axes, titles


def _assert_readable(fig):
    axes, titles = _boxes_of(fig)
    for title in titles:
        for ax in axes:
            assert not title.overlaps(ax), "a title runs into an image"
    for a, b in combinations(titles, 2):
        assert not a.overlaps(b), "two titles run into each other"


def test_a_grid_of_boxes_keeps_its_titles_clear():
    X, y = tiny_localization(n=12)
    fig, _ = plot_boxes(X, y, y, classes=["circle", "square"],
                        presence_proba=np.full(12, 0.9),
                        title="truth green and dashed, prediction red")
    assert fig._suptitle.get_text() == "truth green and dashed, prediction red"
    _assert_readable(fig)


def test_a_grid_of_landmarks_keeps_its_title_clear():
    X, y = tiny_landmarks(n=12)
    fig, _ = plot_landmarks(X, y, y, title="truth green, prediction red")
    _assert_readable(fig)


@pytest.mark.slow
def test_the_readme_picture_is_readable():
    script = runpy.run_path(str(ROOT / "docs" / "images" / "demo_predictions.py"))
    fig = script["draw"](n_samples=40, epochs=1)
    assert len(fig.subfigs) == 2
    _assert_readable(fig)


@pytest.mark.parametrize("normalize, names, label", [
    ("bbox", None, "Normalised mean error (NME)"),
    ("image", None, "Mean error (share of the image size)"),
    ((0, 1), None, "NME by the distance of points 0 and 1"),
    ((0, 1), ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right",
              "chin"],
     "Inter-ocular NME (left_eye to right_eye)"),
    ((0, 2), ["left_eye", "right_eye", "nose", "mouth_left", "mouth_right",
              "chin"],
     "NME by the left_eye to nose distance"),
])
def test_the_ced_axis_names_the_normalisation(normalize, names, label):
    _, y = tiny_landmarks(n=12)
    disp = CEDDisplay.from_predictions(y, y, normalize=normalize,
                                       landmark_names=names)
    assert disp.ax_.get_xlabel() == label


def test_the_ced_of_a_face_model_reads_inter_ocular():
    from sklocalize import LandmarkEstimator
    from sklocalize.datasets import FACE_LANDMARKS

    from ._helpers import tiny_estimator

    X, y = tiny_landmarks(n=24)
    est = tiny_estimator(LandmarkEstimator,
                         landmark_names=list(FACE_LANDMARKS)).fit(X, y)
    disp = CEDDisplay.from_estimator(est, X, y, normalize=(0, 1))
    assert disp.ax_.get_xlabel().startswith("Inter-ocular NME")
