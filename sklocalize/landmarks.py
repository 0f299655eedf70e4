"""Landmark detection: points on the one object of an image."""


import numpy as np
from sklearn.utils._param_validation import StrOptions

from ._base import ImageEstimator
from ._docs import shared_docstring
from ._params import loss_constraints, loss_defaults
from ._validation import check_landmark_names
from .augment import Augmenter
from .metrics import landmark_nme
from .nn.losses import POINT_LOSSES, LandmarkLoss
from .nn.modules import LandmarkNet
from .targets import encode_landmark_target, frame_landmark_names, landmark_frame
from .tasks import LandmarkTask

__all__ = ["LandmarkEstimator"]

# the loss parameters: LandmarkLoss's, with its defaults
_LOSS = loss_defaults(LandmarkLoss, ("loss", "point_loss", "presence_weight",
                                     "point_weight", "heatmap_weight"))


@shared_docstring
class LandmarkEstimator(ImageEstimator):
    """Find a fixed set of points (eyes, nose, ...) on the one object of an image.

    A skorch ``NeuralNet`` whose target is ``[p, x_1, y_1, ..., x_L, y_L]``
    (see :mod:`sklocalize.targets`): a convolutional trunk feeds a presence
    head and a point head, trained jointly with a masked loss. A NaN point
    where ``p = 1`` (not visible, not annotated) is masked out of the loss and
    the metrics.

    Parameters
    ----------
    module : torch module class or instance, default=LandmarkNet
        Must return ``(presence_logit, points)`` (see :mod:`sklocalize.nn`);
        a class whose ``__init__`` takes ``n_landmarks``, ``in_channels`` or
        ``image_size`` gets them from the data. The default reads the points
        off heatmaps with a soft-argmax (``module__head="heatmap"``);
        ``module__head="regression"`` uses a pooled-grid MLP.
    criterion : torch module class or instance, default=LandmarkLoss
        The masked loss. A class is built with the loss parameters below
        (``criterion__<name>`` for its others, e.g. ``criterion__wing_width``);
        an instance keeps its own settings, the loss parameters changed here
        set on top.
    loss : {"practical", "squared_error"}, default="practical"
        ``"squared_error"``: squared error over the whole target vector
        (every visible coordinate where ``p = 1``, ``p`` alone where it is 0).
        ``"practical"``: binary
        cross-entropy on presence + the point term, each weighted.
    point_loss : {"wing", "smooth_l1", "mse"}, default="wing"
        The practical form's point term; wing loss (Feng et al., CVPR 2018) is
        the usual choice for landmarks.
    presence_weight, point_weight : float, default=1.0, 5.0
        The practical form's term weights; the wing loss of errors of a few
        percent of the image is small beside the presence cross-entropy, and
        5 balances them.
    heatmap_weight : float, default=1.0
        Weight of an auxiliary term that pulls each heatmap towards a
        Gaussian at its true point (with the default heatmap head; see
        :func:`sklocalize.nn.heatmap_loss`); it sharpens the heatmaps the
        soft-argmax reads, and 0 leaves it out. On, because it lowered the
        point error (see :ref:`bench-landmarks-heatmap-weight`).
    landmark_names : sequence of str, default=None
        Names of the points, for DataFrames (``<name>_x``, ``<name>_y``);
        None takes them from the columns of a DataFrame ``y`` at fit (see
        ``landmark_names_``).
    flip_pairs : sequence of (int, int), default=None
        Points that swap under a horizontal flip, e.g. ``[(0, 1), (3, 4)]`` for
        left/right eyes and mouth corners; ``[]`` if no point has a mirror
        twin. Needed by flip augmentation and ``tta_flip``; None, because
        which points are mirror twins only you know.
    tta_reframe : int, default=4
        The most re-framing passes at prediction, for objects framed unlike
        the training ones (cropped tighter or looser, shifted, tilted). Each
        pass finds the zoom, rotation and shift that best map the points
        predicted so far onto the training mean shape (``mean_shape_``),
        resamples the image with them (bicubic), predicts again and maps the
        points back; passes repeat until the image's frame moves less than
        half a pixel, so a face framed well is done in one or two. The
        presence probability stays that of the image as given. The first
        prediction must find the object roughly, which the default
        augmentation teaches; 0 turns the passes off. Four, because faces
        framed 2x tighter or tilted by 45 degrees need several steps to
        reach the training framing (see :ref:`bench-landmarks-framing`).
    lr : float, default=4e-3
        Peak learning rate of the AdamW optimizer (warm-up, then cosine
        decay; see :class:`~sklocalize.callbacks.CosineLR`). Higher than the
        localizer's, because the landmark model underfits at lower rates and
        4e-3 is the low end of those that scored best (see
        :ref:`bench-landmarks-lr`).
    batch_size : int, default=64
        Images per training batch; -1 for the whole data set as one batch.
    augment : "default", None or Augmenter, default="default"
        Training-time, target-aware augmentation (see
        :class:`sklocalize.augment.Augmenter`); None turns it off.
        ``"default"`` rotates by up to 12 degrees either way; zooms (1/2 to
        1.25), shifts (up to 10%) and tilts (up to 45 degrees) a quarter of
        the images; cuts a quarter to a window around the face, the rest
        filled with the image's mean, as a tighter crop looks once
        re-framing zooms it out; shrinks and enlarges back a quarter, as a
        small face looks once re-framing enlarges it; jitters brightness and
        contrast, and flips horizontally when ``flip_pairs`` is given:
        ``Augmenter(flip=0.5 or 0, scale=(0.5, 1.25), shift=0.1, rotation=12,
        reframe_rotation=45, reframe_prob=0.25, cut=0.25, lowres=0.25)``.
        So that ``tta_reframe`` finds faces whatever detector framed them,
        for a little accuracy on faces framed as in training (see
        :ref:`bench-landmarks-framing`); if yours always are,
        ``Augmenter(scale=(1, 1), shift=0, rotation=12)`` is that little more
        accurate.
    tta_flip : bool, default=False
        Test-time flip: average the predictions on each image and on its
        mirror image (points mirrored back and their pairs swapped), for
        twice the prediction time. Off, because the default model's
        predictions on mirrored faces sit slightly off in x and the flip made
        it less accurate (see :ref:`bench-landmarks-tta-flip`).
    tta_shift : float, default=0.5
        Test-time shifts, in pixels: the last prediction pass (the last
        re-framing pass, or the only pass with ``tta_reframe=0``) is averaged
        over four copies of each image moved by ``tta_shift`` pixels
        diagonally (bicubic resampling), the points moved back, for four
        times the cost of that pass; 0 turns it off. Half a pixel, because it
        lowered the error on every test set and no other shift did better
        beyond the noise (see :ref:`bench-landmarks-tta-shift`).
    %(shared_parameters)s
    Attributes
    ----------
    n_landmarks_ : int
        Number of points, learned at fit.
    landmark_names_ : list of str or None
        The points' names: ``landmark_names``, or else those of the columns
        (``<name>_x``, ``<name>_y``) of a DataFrame ``y`` given to ``fit``
        (as :func:`~sklocalize.datasets.load_landmarks` returns); None for
        an array. ``predict_frame`` names its columns with them.
    mean_shape_ : ndarray of shape (n_landmarks, 2)
        Mean relative ``(x, y)`` of each point over the training images with
        ``p = 1`` and, when ``flip_pairs`` names pairs, their mirror images (NaN
        for a point never visible); where ``tta_reframe`` puts the points.
    %(shared_attributes)s
    history_ : skorch.History
        Per epoch: ``train_loss``, ``train_presence_loss``,
        ``train_points_loss``, ``train_heatmap_loss`` (with the heatmap
        term; and ``valid_*`` with a ``train_split``).

    See Also
    --------
    LocalizerEstimator : a box and a class instead of points.
    sklocalize.metrics.landmark_nme : the metric behind :meth:`score`.

    Examples
    --------
    >>> from sklocalize import LandmarkEstimator
    >>> from sklocalize.datasets import make_landmarks
    >>> X, y = make_landmarks(n_samples=40, image_size=16, random_state=0)
    >>> est = LandmarkEstimator(max_epochs=1, module__width=8, random_state=0)
    >>> est.fit(X, y).predict(X).shape
    (40, 13)
    """

    _loss_params = tuple(_LOSS)
    _learned_attributes = (*ImageEstimator._learned_attributes, "n_landmarks_",
                           "landmark_names_", "mean_shape_")

    _parameter_constraints = {
        **ImageEstimator._parameter_constraints,
        **loss_constraints(_LOSS),
        "point_loss": [StrOptions(set(POINT_LOSSES))],
        "landmark_names": [list, tuple, None],
        "flip_pairs": [list, tuple, None],
    }

    def __init__(self, module=LandmarkNet, *, criterion=LandmarkLoss,
                 loss=_LOSS["loss"], point_loss=_LOSS["point_loss"],
                 presence_weight=_LOSS["presence_weight"],
                 point_weight=_LOSS["point_weight"],
                 heatmap_weight=_LOSS["heatmap_weight"], landmark_names=None,
                 flip_pairs=None, tta_reframe=4, tta_shift=0.5, lr=4e-3, **kwargs):
        super().__init__(module, criterion, tta_shift=tta_shift,
                         tta_reframe=tta_reframe, lr=lr, **kwargs)
        self.loss = loss
        self.point_loss = point_loss
        self.presence_weight = presence_weight
        self.point_weight = point_weight
        self.heatmap_weight = heatmap_weight
        self.landmark_names = landmark_names
        self.flip_pairs = flip_pairs

    # -- what the base asks of a task -------------------------------------

    def _task(self):
        return LandmarkTask(getattr(self, "n_landmarks_", None), self.flip_pairs,
                            getattr(self, "mean_shape_", None))

    def _encode_target(self, y, reset):
        if reset:
            encoded = encode_landmark_target(y, landmark_names=self.landmark_names)
            n = (encoded.shape[1] - 1) // 2
            present = encoded[:, 0] == 1
            if not np.isfinite(encoded[present, 1:]).any():
                what = ("every row is absent (p = 0)" if not present.any()
                        else "every point of the present rows is NaN (not visible)")
                raise ValueError(
                    f"y holds no visible point to learn from: {what}. Give "
                    "images with the object and its points.")
            check_landmark_names(self.landmark_names, n)
            pairs = LandmarkTask.checked_flip_pairs(self.flip_pairs, n)
            self.n_landmarks_ = n
            self.landmark_names_ = (list(self.landmark_names)
                                    if self.landmark_names is not None
                                    else frame_landmark_names(y))
            self.mean_shape_ = LandmarkTask.mean_shape_of(encoded, pairs)
            return encoded
        return encode_landmark_target(
            y, n_landmarks=self._data_attribute("n_landmarks_"),
            landmark_names=self._data_attribute("landmark_names_"))

    def _default_augmenter(self):
        # rotation for accuracy; zoom, shift and wide tilts on a quarter of the
        # faces, cut windows and lost detail on others, for the re-framing
        # passes; a flip only when the pairs are known (docs/benchmarks.rst,
        # bench-landmarks-framing)
        return Augmenter(flip=0.5 if self.flip_pairs is not None else 0.0,
                         scale=(0.5, 1.25), shift=0.1, rotation=12.0,
                         reframe_rotation=45.0, reframe_prob=0.25, cut=0.25,
                         lowres=0.25)

    # -- prediction ---------------------------------------------------------

    def predict_proba(self, X):
        """Probability that the object (face) is present.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)

        Returns
        -------
        proba : ndarray of shape (n_samples, 1)
            The presence probability (column ``p`` of the layout).
        """
        return self._predict_proba(X)

    def predict(self, X):
        """Predict ``[p, x_1, y_1, ..., x_L, y_L]``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)

        Returns
        -------
        y : ndarray of shape (n_samples, 1 + 2 * n_landmarks)
            ``p = 1`` where the presence probability reaches
            ``presence_threshold``; the relative points follow. Where ``p = 0``
            the points ("don't care") are 0.
        """
        return self._predict(X)

    def predict_frame(self, X, *, pixels=False, image_sizes=None):
        """Predictions as a DataFrame with named points.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
        pixels : bool, default=False
            Points in pixels of the fitted image size instead of 0-1.
        image_sizes : DataFrame or array-like of shape (n_samples, 2), default=None
            Points in pixels of each original photo: the ``info`` of
            :func:`~sklocalize.datasets.load_images` (``file`` is copied to
            the frame), the ``y`` of the readers, or each photo's
            ``(height, width)``.

        Returns
        -------
        frame : DataFrame
            ``file`` (with ``image_sizes`` that has one), ``p``, ``<name>_x``,
            ``<name>_y`` for each point (NaN where ``p = 0``),
            ``presence_proba``.
        """
        size = self._frame_pixels(pixels, image_sizes)
        heads = self._heads(X)
        y = self._task().decode(heads, self.presence_threshold).numpy()
        presence = heads[0].numpy()
        y[y[:, 0] == 0, 1:] = np.nan
        frame = landmark_frame(y, self.landmark_names_, image_size=size,
                               presence_proba=presence)
        return self._with_files(frame, image_sizes)

    def score(self, X, y, sample_weight=None):
        """Negative mean normalised point error (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
        y : array-like of shape (n_samples, 1 + 2 * n_landmarks) or DataFrame
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights of the mean; None weighs all alike.

        Returns
        -------
        score : float
            ``-landmark_nme(y, predict(X), normalize="bbox")``: the mean point
            error over truly present faces divided by the size of each face's
            true points (square root of their bounding-box area); 0 is perfect.
            With one landmark, whose bounding box has no area, the error is
            relative to the image size (``normalize="image"``). Use
            ``scoring=`` with :mod:`sklocalize.metrics`' scorers for other
            normalisations, PCK or the failure rate.
        """
        y_true = self.encode_target(y)
        normalize = "bbox" if self.n_landmarks_ >= 2 else "image"
        return -landmark_nme(y_true, self.predict(X), normalize=normalize,
                             sample_weight=sample_weight)
