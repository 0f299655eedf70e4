"""Pictures: check what was drawn, not only that it ran."""

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.patches import Rectangle

from sklocalize import LandmarkEstimator, LocalizerEstimator
from sklocalize.plotting import (
    CEDDisplay,
    IoUSuccessDisplay,
    plot_boxes,
    plot_landmarks,
)

from ._helpers import TINY_MODULE, tiny_landmarks, tiny_localization


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_plot_boxes_draws_true_and_predicted_rectangles():
    X, y = tiny_localization(n=4)
    pred = y.copy()
    pred[:, 1] = np.clip(pred[:, 1] + 0.05, 0, 1)
    fig, axes = plot_boxes(X, y, pred, classes=["circle", "square"], n_cols=2,
                           presence_proba=np.full(4, 0.9))
    assert len(fig.axes) == 4
    for ax, row in zip(axes, y):
        rects = [p for p in ax.patches if isinstance(p, Rectangle)]
        assert len(rects) == (2 if row[0] == 1 else 0)
        if row[0] == 1:
            true = [r for r in rects if r.get_linestyle() == "--"][0]
            bx, by, bh, bw = row[1:5]
            assert true.get_x() == pytest.approx(bx - bw / 2)
            assert true.get_width() == pytest.approx(bw)
            name = ["circle", "square"][int(row[5:].argmax())]
            assert f"true: {name}" in ax.get_title()
        assert "p=0.90" in ax.get_title()


def test_plot_landmarks_draws_points_and_error_lines():
    X, y = tiny_landmarks(n=3)
    pred = y.copy()
    pred[:, 1:] = np.where(y[:, :1] == 1, pred[:, 1:] + 0.02, 0)
    fig, axes = plot_landmarks(X, y, pred)
    for ax, row in zip(axes, y):
        lines = ax.get_lines()
        if row[0] == 1:
            # true markers, predicted markers, one error line per point
            assert len(lines) == 2 + 6
            np.testing.assert_allclose(lines[0].get_xdata(), row[1::2])
        else:
            assert len(lines) == 0


def test_iou_success_display_from_estimator_and_predictions():
    X, y = tiny_localization()
    est = LocalizerEstimator(max_epochs=1, random_state=0, **TINY_MODULE).fit(X, y)
    disp = IoUSuccessDisplay.from_estimator(est, X, y)
    assert disp.ax_.get_xlabel() == "IoU threshold"
    assert "LocalizerEstimator (AUC" in disp.line_.get_label()
    np.testing.assert_allclose(disp.line_.get_ydata(), disp.success)
    assert disp.ax_.get_xlim() == (0, 1) and disp.ax_.get_ylim() == (0, 1.02)
    assert disp.ax_.get_legend().get_texts()[0].get_text() == disp.line_.get_label()
    perfect = IoUSuccessDisplay.from_predictions(y, y, name="oracle")
    assert perfect.auc == pytest.approx(1.0)
    assert np.all(perfect.success == 1.0)
    assert perfect.line_.get_label() == "oracle (AUC = 1.000)"
    unnamed = IoUSuccessDisplay(perfect.thresholds[:51], perfect.success[:51], 0.5)
    assert unnamed.plot().line_.get_label() == "AUC = 0.500"
    assert unnamed.ax_.get_xlim() == (0, 1)  # the IoU axis always ends at 1


def test_ced_display():
    X, y = tiny_landmarks()
    est = LandmarkEstimator(max_epochs=1, random_state=0, **TINY_MODULE).fit(X, y)
    disp = CEDDisplay.from_estimator(est, X, y, max_error=0.2)
    assert disp.errors[-1] == pytest.approx(0.2)
    assert 0 <= disp.failure_rate <= 1
    assert "failures (> 0.2)" in disp.line_.get_label()
    assert disp.ax_.get_xlim() == (0, 0.2) and disp.ax_.get_ylim() == (0, 1.02)
    assert disp.ax_.get_xlabel() == "Normalised mean error (NME)"
    perfect = CEDDisplay.from_predictions(y, y)
    assert perfect.failure_rate == 0.0 and perfect.auc == pytest.approx(1.0,
                                                                          abs=0.01)
