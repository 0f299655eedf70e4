"""Pictures: boxes and landmarks over images, and scikit-learn-style displays.

The figures need matplotlib (the ``plot`` extra); :func:`draw_predictions`,
which draws on the original photos, needs Pillow only. Every figure function
draws on given axes or makes its own figure and returns what it drew, so that
tests and users can inspect it.
"""

import os

import numpy as np

from ._validation import final_estimator
from .boxes import box_convert
from .metrics import ced_curve, eye_pair, failure_rate, iou_success_curve
from .targets import BOX_COLUMNS, _frame_point_columns

__all__ = [
    "CEDDisplay",
    "IoUSuccessDisplay",
    "draw_predictions",
    "plot_boxes",
    "plot_landmarks",
]


def _plt():
    try:
        import matplotlib.pyplot as plt
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "sklocalize.plotting needs matplotlib: pip install 'sklocalize[plot]'."
        ) from exc
    return plt


def _grid(n, n_cols, axes, size=2.0):
    plt = _plt()
    if axes is not None:
        axes = np.ravel(axes)
        if len(axes) < n:
            raise ValueError(f"axes holds {len(axes)} axes for {n} images.")
        return axes[0].figure, axes
    n_cols = max(1, min(n_cols, n))
    n_rows = int(np.ceil(n / n_cols))
    # constrained layout: titles of several lines do not run into the row above
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(size * n_cols, size * n_rows),
                             squeeze=False, layout="constrained")
    axes = axes.ravel()
    for ax in axes[n:]:
        ax.axis("off")
    return fig, axes


def _image_list(X):
    """``X`` as a list of arrays: a 4-D array's images, or a sequence of
    images of any size (CHW or HWC arrays, PIL images, or file paths, read
    with their EXIF orientation applied)."""
    if isinstance(X, np.ndarray) and X.ndim == 4:
        return list(X)
    if hasattr(X, "numpy") and getattr(X, "ndim", 0) == 4:  # a torch tensor
        return list(X.numpy())
    images = []
    for image in X:
        if isinstance(image, (str, os.PathLike)):
            from PIL import Image, ImageOps

            with Image.open(image) as img:
                image = np.asarray(ImageOps.exif_transpose(img).convert("RGB"))
        images.append(np.asarray(image))
    return images


def _show_images(X, n_cols, axes, title=None):
    """Each image of ``X`` on a grid of axes, under ``title``; return the
    figure and the axes."""
    fig, axes = _grid(len(X), n_cols, axes)
    for ax, image in zip(axes, X):
        _show_image(ax, image)
    if title is not None:
        # placed by the layout, above the axes' titles (a suptitle given a
        # position of its own is left out of the layout and can overlap them)
        fig.suptitle(title, fontsize=9)
    return fig, axes


def _show_image(ax, image):
    img = np.asarray(image)
    img = img / 255.0 if img.dtype == np.uint8 else img.astype(float)
    if img.ndim == 3 and img.shape[0] in (1, 3):
        img = img[0] if img.shape[0] == 1 else np.moveaxis(img, 0, -1)
    img = np.clip(img, 0, 1)
    # extent in relative units: 0 = left/top edge, 1 = right/bottom edge
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=1,
              extent=(0, 1, 1, 0), interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _box_patch(box, colour, linestyle):
    """A rectangle for a relative box in the seed's order (b_x, b_y, b_h, b_w)."""
    from matplotlib.patches import Rectangle

    x1, y1, w, h = box_convert(box, "cxcyhw", "xywh")
    return Rectangle((x1, y1), w, h, fill=False,
                     edgecolor=colour, linewidth=1.5, linestyle=linestyle)


def plot_boxes(X, y_true=None, y_pred=None, *, classes=None, presence_proba=None,
               n_cols=6, axes=None, title=None):
    """Draw true and predicted boxes, with class names, over a grid of images.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_channels, height, width), or list
        The images: one array, or a list of images of any size each (CHW or
        HWC arrays, PIL images or file paths), such as the original photos;
        the boxes are relative, so they fit each image.
    y_true, y_pred : array-like of shape (n_samples, 5 + n_classes), default=None
        Seed layouts; true boxes are drawn green and dashed, predicted ones red.
    classes : array-like of shape (n_classes,), default=None
        Class names for the titles; default the class indices.
    presence_proba : array-like of shape (n_samples,), default=None
        Shown in the titles when given.
    n_cols : int, default=6
    axes : array of matplotlib Axes, default=None
        Axes to draw on; None makes a figure whose layout keeps each image's
        title clear of the row above.
    title : str, default=None
        A title above the grid, e.g. what the colours mean; the figure's
        layout (or a subfigure's) makes room for it.

    Returns
    -------
    fig : matplotlib Figure
        The figure (or subfigure) of the axes.
    axes : ndarray of Axes
    """
    X = _image_list(X)
    y_true, y_pred = (_rows_per_image(y, name, len(X), 5) for y, name in
                      ((y_true, "y_true"), (y_pred, "y_pred")))
    fig, axes = _show_images(X, n_cols, axes, title)
    for i, ax in enumerate(axes[: len(X)]):
        lines = []
        for y, colour, style, tag in ((y_true, "lime", "--", "true"),
                                      (y_pred, "red", "-", "pred")):
            if y is None:
                continue
            row = np.asarray(y, dtype=float)[i]
            if row[0] == 1:
                if np.isfinite(row[1:5]).all():
                    ax.add_patch(_box_patch(row[1:5], colour, style))
                k = int(np.nan_to_num(row[5:]).argmax())
                name = classes[k] if classes is not None else k
                lines.append(f"{tag}: {name}")
            else:
                lines.append(f"{tag}: none")
        if presence_proba is not None:
            lines.append(f"p={float(presence_proba[i]):.2f}")
        ax.set_title("\n".join(lines), fontsize=7)
    return fig, axes


def _rows_per_image(y, name, n_images, min_columns):
    """``y`` as a float array of one row per image, or None; a clear error
    for another number of rows (an IndexError before)."""
    if y is None:
        return None
    y = np.asarray(y, dtype=float)
    if y.ndim != 2 or y.shape[0] != n_images or y.shape[1] < min_columns:
        raise ValueError(f"{name} must have one row per image ({n_images} rows of "
                         f"at least {min_columns} columns); got shape {y.shape}.")
    return y


def plot_landmarks(X, y_true=None, y_pred=None, *, n_cols=6, axes=None, title=None):
    """Draw true and predicted points over a grid of images, joined by error
    lines.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_channels, height, width), or list
        The images: one array, or a list of images of any size each (see
        :func:`plot_boxes`).
    y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        True points are green circles, predicted ones red crosses; a yellow
        line joins each true point to its prediction.
    n_cols : int, default=6
    axes : array of matplotlib Axes, default=None
        Axes to draw on; None makes a new figure.
    title : str, default=None
        A title above the grid (see :func:`plot_boxes`).

    Returns
    -------
    fig : matplotlib Figure
        The figure (or subfigure) of the axes.
    axes : ndarray of Axes
    """
    X = _image_list(X)
    y_true, y_pred = (_rows_per_image(y, name, len(X), 3) for y, name in
                      ((y_true, "y_true"), (y_pred, "y_pred")))
    fig, axes = _show_images(X, n_cols, axes, title)
    for i, ax in enumerate(axes[: len(X)]):
        t = None if y_true is None else np.asarray(y_true, float)[i]
        p = None if y_pred is None else np.asarray(y_pred, float)[i]
        if t is not None and t[0] == 1:
            ax.plot(t[1::2], t[2::2], "o", mfc="none", mec="lime", ms=5,
                    label="true")
        if p is not None and p[0] == 1:
            ax.plot(p[1::2], p[2::2], "x", color="red", ms=5, label="pred")
            if t is not None and t[0] == 1:
                for xt, yt, xp, yp in zip(t[1::2], t[2::2], p[1::2], p[2::2]):
                    if np.isfinite([xt, yt]).all():
                        ax.plot([xt, xp], [yt, yp], "-", color="yellow", lw=1)
        ax.set_xlim(0, 1)
        ax.set_ylim(1, 0)
    return fig, axes


def _frame_boxes(predictions):
    """The pixel boxes (x1, y1, x2, y2) of a localization predict_frame."""
    for fmt, cols in BOX_COLUMNS.items():
        if all(c in predictions.columns for c in cols):
            return box_convert(predictions[cols].to_numpy(float), fmt, "xyxy")
    raise ValueError(
        "predictions has p_c but no box columns (b_x, b_y, b_h, b_w; cx, cy, w, "
        f"h; x1, y1, x2, y2; or x1, y1, w, h); got {list(predictions.columns)}."
    )


def _frame_points(predictions):
    """The pixel points, shape (n, L, 2), of a landmark predict_frame."""
    columns = _frame_point_columns(predictions, None, "predictions")
    return predictions[columns].to_numpy(float).reshape(len(predictions), -1, 2)


def draw_predictions(images, predictions, *, out_dir=None, color="red"):
    """Draw predictions on the original photos, at their own size, and
    optionally save annotated copies.

    Parameters
    ----------
    images : sequence or str or path-like
        One image per row of ``predictions``: file paths, PIL images or
        arrays (HWC or CHW, uint8). A folder is read with the ``file``
        column of ``predictions`` (as ``load_images``' ``info`` gives it).
    predictions : DataFrame
        The estimator's ``predict_frame(X, image_sizes=info)``: boxes
        (``p_c``, a box format's columns, ``label``, ``presence_proba``) or
        points (``p``, ``<name>_x``, ``<name>_y``), in each photo's pixels.
        Rows predicted absent draw nothing.
    out_dir : str or path-like, default=None
        Where to save the annotated copies, as PNG files named after the
        ``file`` column (its folders kept below ``out_dir``; a name that is
        absolute or leads out of it keeps only its last part), or
        ``00000.png``, ... without one; two photos whose names would give
        the same file (``a.jpg`` and ``a.png``, or ``x/a.jpg`` and
        ``y/a.jpg`` given by absolute paths) get ``a.png`` and ``a-2.png``.
        A folder that holds any of the photos is refused: the copies would
        overwrite them, or be read as photos next time. None saves nothing.
    color : str, default="red"
        Pillow's colour of the boxes, points and labels.

    Returns
    -------
    drawn : list
        The annotated PIL images, or, with ``out_dir``, the paths written.

    Raises
    ------
    ValueError
        Predictions relative to the image (every coordinate within 0-1, on
        photos larger than that: ``predict_frame`` without ``image_sizes``),
        which would all be drawn in the top-left corner; an ``out_dir`` that
        holds photos being drawn.

    Examples
    --------
    >>> X, info = load_images("new_photos/")                   # doctest: +SKIP
    >>> frame = est.predict_frame(X, image_sizes=info)          # doctest: +SKIP
    >>> draw_predictions("new_photos/", frame, out_dir="drawn")  # doctest: +SKIP
    """
    import pandas as pd
    from PIL import Image, ImageDraw, ImageOps

    if not isinstance(predictions, pd.DataFrame):
        raise TypeError("predictions must be the DataFrame of an estimator's "
                        f"predict_frame; got {type(predictions).__name__}.")
    names = (list(predictions["file"].astype(str)) if "file" in predictions.columns
             else [f"{i:05d}.png" for i in range(len(predictions))])
    if isinstance(images, (str, os.PathLike)):
        if "file" not in predictions.columns:
            raise ValueError("images is a folder, so predictions needs a file "
                             "column (give predict_frame the info of load_images).")
        images = [os.path.join(images, name) for name in names]
    images = list(images)
    if len(images) != len(predictions):
        raise ValueError(f"images holds {len(images)} images for "
                         f"{len(predictions)} rows of predictions.")
    boxes = points = None
    if "p_c" in predictions.columns:
        boxes, present = _frame_boxes(predictions), predictions["p_c"]
    elif "p" in predictions.columns:
        points, present = _frame_points(predictions), predictions["p"]
    else:
        raise ValueError("predictions must have a p_c (boxes) or p (points) "
                         f"column; got {list(predictions.columns)}.")
    present = present.to_numpy() == 1
    coords = boxes if boxes is not None else points.reshape(len(points), -1)
    _check_pixels(coords[present])
    paths = None if out_dir is None else _drawing_paths(names, out_dir, images)
    drawn = []
    for i, image in enumerate(images):
        if isinstance(image, (str, os.PathLike)):
            with Image.open(image) as img:
                image = ImageOps.exif_transpose(img).convert("RGB")
        elif not isinstance(image, Image.Image):
            arr = np.asarray(image)
            if arr.ndim == 3 and arr.shape[0] in (1, 3) and arr.shape[-1] not in (1, 3):
                arr = np.moveaxis(arr, 0, -1)
            image = Image.fromarray(arr.squeeze()).convert("RGB")
        else:
            image = image.convert("RGB")
        draw = ImageDraw.Draw(image)
        line = max(1, round(min(image.size) / 150))
        font = _font(max(10, round(min(image.size) / 30)))
        if present[i] and boxes is not None:
            x1, y1, x2, y2 = boxes[i]
            draw.rectangle((x1, y1, x2, y2), outline=color, width=line)
            text = str(predictions["label"].iloc[i]) if "label" in predictions else ""
            if "presence_proba" in predictions:
                text += f" {predictions['presence_proba'].iloc[i]:.2f}"
            draw.text((x1 + line + 1, y1 + line + 1), text.strip(), fill=color,
                      font=font)
        elif present[i]:
            r = 1.5 * line + 1
            for x, y in points[i]:
                if np.isfinite([x, y]).all():
                    draw.ellipse((x - r, y - r, x + r, y + r), outline=color,
                                 width=line)
        if paths is None:
            drawn.append(image)
        else:
            os.makedirs(os.path.dirname(paths[i]) or ".", exist_ok=True)
            image.save(paths[i])
            drawn.append(paths[i])
    return drawn


def _check_pixels(coords):
    """Refuse coordinates that are all within 0-1 (relative to the image,
    not in its pixels)."""
    finite = coords[np.isfinite(coords)]
    if len(finite) and np.abs(finite).max() <= 1.0:
        raise ValueError(
            "predictions hold coordinates relative to the image (every one is "
            "within 0-1), which would be drawn in each photo's top-left corner: "
            "give predict_frame the photos' sizes, "
            "predict_frame(X, image_sizes=info) with the info of load_images.")


def _drawing_paths(names, out_dir, images):
    """The PNG file of each row in ``out_dir``: named after ``names`` (folders
    kept below it, never outside), numbered where two would coincide."""
    photo_dirs = {os.path.realpath(os.path.dirname(os.fspath(image)) or ".")
                  for image in images if isinstance(image, (str, os.PathLike))}
    if os.path.realpath(out_dir) in photo_dirs:
        raise ValueError(
            f"out_dir {os.fspath(out_dir)!r} holds photos being drawn: the "
            "drawings would overwrite them, or be read as photos later. Draw "
            "into another folder.")
    paths, used = [], set()
    for name in names:
        name = os.path.normpath(name)
        if os.path.isabs(name) or name.startswith(os.pardir):
            name = os.path.basename(name)  # never write outside out_dir
        stem = os.path.join(os.fspath(out_dir), os.path.splitext(name)[0])
        path, number = f"{stem}.png", 1
        while os.path.normcase(path) in used:
            number += 1
            path = f"{stem}-{number}.png"
        used.add(os.path.normcase(path))
        paths.append(path)
    return paths


def _font(size):
    """Pillow's default font at ``size`` pixels (its fixed bitmap font on a
    Pillow older than 10.1)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:
        return ImageFont.load_default()


class _CurveDisplay:
    """What the curve displays share: drawing the curve with its statistics in
    the legend, and building it from a fitted estimator.

    A subclass names its curve's ``(x, y)`` attributes in ``_curve``, the
    axes' labels in ``_axes`` and the legend's options in ``_legend``, and
    says what the legend reports in ``_stats``.
    """

    _curve = ()
    _axes = {}
    _legend = {}

    def _stats(self):
        raise NotImplementedError

    def _xmax(self):
        """Where the x axis ends: by default, where the curve ends."""
        return getattr(self, self._curve[0])[-1]

    def _decorate(self, ax):
        """Anything drawn after the curve besides the legend."""

    def plot(self, ax=None, *, name=None, **kwargs):
        """Draw the curve.

        Parameters
        ----------
        ax : matplotlib Axes, default=None
            Default a new figure.
        name : str, default=None
            The curve's name in the legend; default the display's ``name``.
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : the display itself
            With ``line_``, ``ax_`` and ``figure_`` set.
        """
        if ax is None:
            # wide enough for a legend that names the curve and its figures
            _, ax = _plt().subplots(figsize=(5.5, 4), layout="constrained")
        name = name or self.name
        label = self._stats() if name is None else f"{name} ({self._stats()})"
        x, y = (getattr(self, attr) for attr in self._curve)
        (self.line_,) = ax.plot(x, y, label=label, **kwargs)
        ax.set(**self._axes, xlim=(0, self._xmax()), ylim=(0, 1.02))
        self._decorate(ax)
        ax.legend(**self._legend)
        self.ax_, self.figure_ = ax, ax.figure
        return self

    @classmethod
    def _from_estimator(cls, estimator, X, y, *, name, **kwargs):
        """``from_predictions`` on ``y`` encoded by the (final) estimator and
        on the estimator's predictions; ``name`` defaults to its class name."""
        y_true = final_estimator(estimator).encode_target(y)
        return cls.from_predictions(y_true, estimator.predict(X),
                                    name=name or type(estimator).__name__, **kwargs)


class IoUSuccessDisplay(_CurveDisplay):
    """Share of images with IoU >= t, over thresholds t, and its area.

    Build it with :meth:`from_estimator` or :meth:`from_predictions`.

    Parameters
    ----------
    thresholds, success : ndarray of shape (n_thresholds,)
    auc : float
    name : str, default=None

    Attributes
    ----------
    line_ : matplotlib Line2D
    ax_ : matplotlib Axes
    figure_ : matplotlib Figure

    Examples
    --------
    >>> import numpy as np
    >>> from sklocalize.plotting import IoUSuccessDisplay
    >>> y = np.array([[1, .5, .5, .2, .2, 1.0]])
    >>> disp = IoUSuccessDisplay.from_predictions(y, y)
    >>> round(disp.auc, 2)
    1.0
    """

    _curve = ("thresholds", "success")
    _axes = {"xlabel": "IoU threshold",
             "ylabel": "Share of images with IoU >= threshold"}
    _legend = {"loc": "lower left"}

    def __init__(self, thresholds, success, auc, name=None):
        self.thresholds = thresholds
        self.success = success
        self.auc = auc
        self.name = name

    plot = _CurveDisplay.plot  # own attribute, so that the API docs show it

    def _stats(self):
        return f"AUC = {self.auc:.3f}"

    def _xmax(self):
        return 1

    def _decorate(self, ax):
        ax.axvline(0.5, color="grey", lw=0.8, ls=":")

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, name=None, ax=None, **kwargs):
        """Plot the curve from seed-layout targets and predictions.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples, 5 + n_classes)
        name : str, default=None
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : IoUSuccessDisplay
        """
        t, success, auc = iou_success_curve(y_true, y_pred)
        return cls(t, success, auc, name=name).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, name=None, ax=None, **kwargs):
        """Plot the curve of a fitted localizer on ``X``, ``y``.

        Parameters
        ----------
        estimator : fitted LocalizerEstimator (or Pipeline ending in one)
        X : array-like
        y : array-like or DataFrame
        name : str, default=None
            Default the estimator's class name.
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : IoUSuccessDisplay
        """
        return cls._from_estimator(estimator, X, y, name=name, ax=ax, **kwargs)


def _nme_label(normalize, landmark_names=None):
    """The x axis's label of a CED: what the point errors were divided by."""
    if isinstance(normalize, str):
        if normalize == "image":
            return "Mean error (share of the image size)"
        return "Normalised mean error (NME)"  # "bbox", the metrics' default
    i, j = (int(v) for v in normalize)
    if landmark_names is not None and max(i, j) < len(landmark_names):
        a, b = str(landmark_names[i]), str(landmark_names[j])
        if eye_pair(list(landmark_names)) in ((i, j), (j, i)):
            return f"Inter-ocular NME ({a} to {b})"
        return f"NME by the {a} to {b} distance"
    return f"NME by the distance of points {i} and {j}"


class CEDDisplay(_CurveDisplay):
    """Cumulative error distribution of the landmark NME, with its AUC and
    failure rate.

    For faces, the usual NME divides each face's mean point error by the
    distance between its eyes (inter-ocular): pass the two eyes' indices as
    ``normalize`` (e.g. ``(0, 1)``) to :meth:`from_predictions` or
    :meth:`from_estimator`, whose x axis then names the normalisation.

    Parameters
    ----------
    errors, fraction : ndarray of shape (n_points,)
    auc : float
        Area under the curve up to ``max_error``, divided by it.
    failure_rate : float
        Share of faces with NME above ``max_error``.
    name : str, default=None
    xlabel : str, default=None
        The x axis's label, which says what the errors were divided by; None
        reads "Normalised mean error (NME)".

    Attributes
    ----------
    line_, ax_, figure_
        As in :class:`IoUSuccessDisplay`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklocalize.plotting import CEDDisplay
    >>> y = np.array([[1, .2, .2, .6, .6]])
    >>> CEDDisplay.from_predictions(y, y).failure_rate
    0.0
    """

    _curve = ("errors", "fraction")
    _axes = {"xlabel": "Normalised mean error (NME)",
             "ylabel": "Share of faces with NME <= x"}
    _legend = {"loc": "lower right", "fontsize": "small"}

    def __init__(self, errors, fraction, auc, failure_rate, name=None,
                 xlabel=None):
        self.errors = errors
        self.fraction = fraction
        self.auc = auc
        self.failure_rate = failure_rate
        self.name = name
        self.xlabel = xlabel

    plot = _CurveDisplay.plot  # own attribute, so that the API docs show it

    def _stats(self):
        return (f"AUC = {self.auc:.3f}, failures (> {self.errors[-1]:g}) = "
                f"{100 * self.failure_rate:.1f}%")

    def _decorate(self, ax):
        if self.xlabel is not None:
            ax.set_xlabel(self.xlabel)

    @classmethod
    def from_predictions(cls, y_true, y_pred, *, max_error=0.1, normalize="bbox",
                         landmark_names=None, name=None, ax=None, **kwargs):
        """Plot the CED from landmark targets and predictions.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n_samples, 1 + 2 * n_landmarks)
        max_error : float, default=0.1
            Where the curve ends; also the failure threshold.
        normalize : "bbox", "image" or (i, j), default="bbox"
            See :func:`sklocalize.metrics.per_image_nme`; for faces, the
            indices of the two eyes give the inter-ocular NME.
        landmark_names : sequence of str, default=None
            The points' names, for the x axis's label: with
            ``normalize=(i, j)`` it names the two points, and says
            "Inter-ocular" when both are eyes (their names hold "eye").
        name : str, default=None
        ax : matplotlib Axes, default=None
        **kwargs
            Passed to ``ax.plot``.

        Returns
        -------
        display : CEDDisplay
        """
        errors, fraction, auc = ced_curve(y_true, y_pred, max_error=max_error,
                                          normalize=normalize)
        rate = failure_rate(y_true, y_pred, threshold=max_error, normalize=normalize)
        return cls(errors, fraction, auc, rate, name=name,
                   xlabel=_nme_label(normalize, landmark_names)).plot(ax=ax, **kwargs)

    @classmethod
    def from_estimator(cls, estimator, X, y, *, max_error=0.1, normalize="bbox",
                       name=None, ax=None, **kwargs):
        """Plot the CED of a fitted landmark estimator on ``X``, ``y``.

        Parameters
        ----------
        estimator : fitted LandmarkEstimator (or Pipeline ending in one)
            Its ``landmark_names``, if set, name the points of ``normalize``
            on the x axis.
        X : array-like
        y : array-like or DataFrame
        max_error : float, default=0.1
        normalize : "bbox", "image" or (i, j), default="bbox"
            For faces, the indices of the two eyes give the inter-ocular NME.
        name : str, default=None
        ax : matplotlib Axes, default=None
        **kwargs

        Returns
        -------
        display : CEDDisplay
        """
        names = getattr(final_estimator(estimator), "landmark_names_", None)
        return cls._from_estimator(estimator, X, y, max_error=max_error,
                                   normalize=normalize, landmark_names=names,
                                   name=name, ax=ax, **kwargs)
