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


def test_plot_boxes_takes_photos_of_different_sizes(tmp_path):
    from PIL import Image

    paths = []
    for i, (w, h) in enumerate([(40, 20), (16, 30)]):
        paths.append(tmp_path / f"{i}.png")
        Image.new("RGB", (w, h), (200, 10, 10)).save(paths[-1])
    y = np.array([[1, .5, .5, .2, .4, 1.0], [0, 0, 0, 0, 0, 0]])
    fig, axes = plot_boxes(paths, y_pred=y)
    assert len([p for p in axes[0].patches if isinstance(p, Rectangle)]) == 1
    arrays = [np.zeros((3, 20, 40)), np.zeros((30, 16, 3), dtype=np.uint8)]
    plot_boxes(arrays, y_pred=y)


def _photo(path, size, box=None):
    """A dark photo of ``size`` (width, height), white inside the pixel box."""
    from PIL import Image

    arr = np.zeros((size[1], size[0], 3), dtype=np.uint8)
    if box is not None:
        x1, y1, x2, y2 = box
        arr[y1:y2, x1:x2] = 255
    Image.fromarray(arr).save(path)
    return path


def test_draw_predictions_draws_each_photos_pixel_boxes(tmp_path):
    import pandas as pd

    from sklocalize.plotting import draw_predictions

    paths = [_photo(tmp_path / "a.png", (60, 40)), _photo(tmp_path / "b.png", (30, 30))]
    frame = pd.DataFrame({"file": ["a.png", "b.png"], "p_c": [1, 0],
                          "x1": [10.0, np.nan], "y1": [5.0, np.nan],
                          "x2": [50.0, np.nan], "y2": [30.0, np.nan],
                          "label": ["cat", None], "presence_proba": [.9, .1]})
    written = draw_predictions(tmp_path, frame, out_dir=tmp_path / "drawn")
    assert [p.endswith(n) for p, n in zip(written, ["a.png", "b.png"])] == [True] * 2
    from PIL import Image

    a = np.asarray(Image.open(written[0]))
    assert a.shape == (40, 60, 3)
    assert (a[5, 10:51] == [255, 0, 0]).all()   # the top edge, in red
    assert (a[20, 30] == 0).all()                # inside, untouched
    assert (np.asarray(Image.open(written[1])) == 0).all()  # absent: nothing
    images = draw_predictions(paths, frame.drop(columns="file"))
    assert images[0].size == (60, 40)
    with pytest.raises(ValueError, match="2 rows of predictions"):
        draw_predictions(paths[:1], frame)


def test_draw_predictions_marks_points(tmp_path):
    import pandas as pd

    from sklocalize.plotting import draw_predictions

    frame = pd.DataFrame({"p": [1], "eye_x": [20.0], "eye_y": [10.0]})
    image = draw_predictions([np.zeros((3, 30, 40), dtype=np.uint8)], frame)[0]
    drawn = np.asarray(image)
    assert drawn[:, :, 0].sum() > 0 and drawn[10, 20, 0] == 0  # a ring around it
    with pytest.raises(ValueError, match="p_c .* or p .* column"):
        draw_predictions([np.zeros((30, 40, 3), dtype=np.uint8)],
                         frame.rename(columns={"p": "q"}))


def test_draw_predictions_never_writes_outside_out_dir(tmp_path):
    import pandas as pd

    from sklocalize.plotting import draw_predictions

    frame = pd.DataFrame({"file": ["../escape.jpg", "/abs/photo.jpg", "sub/a.jpg"],
                          "p": [0, 0, 0], "x_1": [0.0] * 3, "y_1": [0.0] * 3})
    images = [np.zeros((8, 8, 3), dtype=np.uint8)] * 3
    out = tmp_path / "out"
    written = draw_predictions(images, frame, out_dir=out)
    assert [p.replace(str(out), "") for p in written] == [
        "/escape.png", "/photo.png", "/sub/a.png"]
    assert not (tmp_path / "escape.png").exists()


def test_draw_predictions_gives_each_photo_its_own_file(tmp_path):
    # x.jpg and x.png, and a/img.jpg and b/img.jpg given by absolute paths,
    # would have written the same x.png and img.png
    import pandas as pd

    from sklocalize.plotting import draw_predictions

    for name in ("x.jpg", "x.png", "a/img.jpg", "b/img.jpg"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        _photo(tmp_path / name, (20, 20), (2, 2, 10, 10))
    files = [str(tmp_path / n) for n in ("x.jpg", "x.png", "a/img.jpg", "b/img.jpg")]
    frame = pd.DataFrame({"file": files, "p_c": [1] * 4, "x1": [2.0] * 4,
                          "y1": [2.0] * 4, "x2": [10.0] * 4, "y2": [10.0] * 4})
    out = tmp_path / "drawn"
    written = draw_predictions(files, frame, out_dir=out)
    assert [p.replace(str(out), "") for p in written] == [
        "/x.png", "/x-2.png", "/img.png", "/img-2.png"]
    assert all((out / p.split("/")[-1]).is_file() for p in written)


def test_draw_predictions_refuses_the_photos_folder(tmp_path):
    import pandas as pd

    from sklocalize.plotting import draw_predictions

    photo = _photo(tmp_path / "a.png", (20, 20), (2, 2, 10, 10))
    before = photo.read_bytes()
    frame = pd.DataFrame({"file": ["a.png"], "p_c": [1], "x1": [2.0],
                          "y1": [2.0], "x2": [10.0], "y2": [10.0]})
    with pytest.raises(ValueError, match="out_dir .* holds photos being drawn"):
        draw_predictions(tmp_path, frame, out_dir=tmp_path)
    with pytest.raises(ValueError, match="holds photos being drawn"):
        draw_predictions([photo], frame, out_dir=str(tmp_path) + "/.")
    assert photo.read_bytes() == before


@pytest.mark.parametrize("kind", ["boxes", "points"])
def test_draw_predictions_refuses_relative_coordinates(tmp_path, kind):
    # predict_frame without image_sizes: boxes in 0-1, all in the corner
    import pandas as pd

    from sklocalize.plotting import draw_predictions

    if kind == "boxes":
        frame = pd.DataFrame({"p_c": [1, 0], "x1": [0.2, np.nan], "y1": [0.1, np.nan],
                              "x2": [0.7, np.nan], "y2": [0.8, np.nan]})
    else:
        frame = pd.DataFrame({"p": [1, 1], "eye_x": [0.3, 0.5], "eye_y": [0.4, 0.5]})
    images = [np.zeros((40, 60, 3), dtype=np.uint8)] * 2
    with pytest.raises(ValueError, match="relative to the image .* "
                       "image_sizes=info"):
        draw_predictions(images, frame)


@pytest.mark.parametrize("kind", ["boxes", "landmarks"])
def test_plots_refuse_targets_of_another_length(kind):
    # y_true shorter than X was an IndexError from inside the loop
    import matplotlib.pyplot as plt

    from sklocalize.plotting import plot_boxes, plot_landmarks

    X = np.zeros((3, 1, 16, 16))
    if kind == "boxes":
        plot, y = plot_boxes, np.array([[1, .5, .5, .2, .2, 1]] * 2)
    else:
        plot, y = plot_landmarks, np.array([[1, .5, .5]] * 2)
    with pytest.raises(ValueError, match=r"y_true must have one row per image "
                       r"\(3 rows of at least \d columns\); got shape \(2, \d\)"):
        plot(X, y_true=y)
    plt.close("all")
