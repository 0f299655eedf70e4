"""Single-object classification with localization."""

import warnings

import numpy as np
from sklearn.utils._param_validation import StrOptions

from ._base import ImageEstimator
from ._docs import shared_docstring
from ._params import loss_constraints, loss_defaults
from .metrics import iou_score
from .nn.losses import BOX_LOSSES, LocalizationLoss
from .nn.modules import LocalizerNet
from .targets import encode_localization_target, localization_frame
from .tasks import LocalizationTask

__all__ = ["LocalizerEstimator"]

# the loss parameters: LocalizationLoss's, with its defaults
_LOSS = loss_defaults(LocalizationLoss, ("loss", "box_loss", "presence_weight",
                                         "box_weight", "class_weight", "edge_weight"))


def _warn_no_absent_image(classes):
    one = (f" and a single class, {classes.tolist()[0]!r}, which every object found "
           "will be called" if len(classes) == 1 else "")
    warnings.warn(
        f"y holds no image without an object (p_c = 0){one}: the presence head "
        "cannot learn what absence looks like, so predict will call an object "
        "present in almost any photo. Add images without one, e.g. crops of "
        "the background: X_bg, y_bg = sklocalize.datasets.background_crops(X, y). "
        "If you added such images and this is one fold of a cross-validation, "
        "they all sit in other folds (appended at the end, unshuffled): split "
        "with sklocalize.model_selection.StratifiedTargetKFold(shuffle=True).",
        UserWarning, stacklevel=5,
    )


@shared_docstring
class LocalizerEstimator(ImageEstimator):
    """Find the one object in an image, its box and its class.

    A skorch ``NeuralNet`` whose target is the seed layout
    ``[p_c, b_x, b_y, b_h, b_w, c_1, ..., c_K]`` (see
    :mod:`sklocalize.targets`): a convolutional trunk feeds a presence head,
    a box head and a class head, trained jointly with a masked multi-task loss.

    Parameters
    ----------
    module : torch module class or instance, default=LocalizerNet
        Must return ``(presence_logit, boxes, class_logits)`` (see
        :mod:`sklocalize.nn`). A class whose ``__init__`` takes ``n_classes``,
        ``in_channels`` or ``image_size`` gets them from the data; set its
        other arguments with ``module__<name>`` (e.g. ``module__width=16``).
    criterion : torch module class or instance, default=LocalizationLoss
        The masked loss. A class is built with the loss parameters below
        (``criterion__<name>`` for its others, e.g. ``criterion__beta``); an
        instance keeps its own settings, the loss parameters changed here
        set on top.
    loss : {"practical", "squared_error"}, default="practical"
        ``"squared_error"``: the textbook squared error over the whole target
        vector (every entry where ``p_c = 1``, ``p_c`` alone where it is 0).
        ``"practical"``: binary
        cross-entropy on presence + box term + cross-entropy on the class,
        each weighted, which trains better (see :ref:`bench-caltech3`).
    box_loss : {"l1_giou", "smooth_l1", "mse", "giou"}, default="l1_giou"
        The practical form's box term: ``"l1_giou"`` is the L1 error of the
        four box entries plus ``1 - GIoU``, as in DETR (see
        :ref:`bench-localizer-box-loss`).
    presence_weight, box_weight, class_weight : float, default=1.0, 2.0, 1.0
        The practical form's term weights. These values, because a heavier
        box or class term did not help (see :ref:`bench-localizer-box-weight`).
    edge_weight : float, default=1.0
        Weight of an auxiliary term that pulls each box edge's distribution
        (the default edge head reads each edge off a distribution over the
        columns or rows of a feature map) towards a narrow Gaussian at the
        true edge (``criterion__edge_sigma=0.5`` cells; see
        :func:`sklocalize.nn.edge_loss`), as ``heatmap_weight`` does for
        :class:`LandmarkEstimator`; 0 leaves it out. 1, because the term
        raised the mean IoU beyond the noise between seeds and a heavier
        weight did not add to it (see :ref:`bench-localizer-edge-weight`).
    lr : float, default=2e-3
        Peak learning rate of the AdamW optimizer (warm-up, then cosine
        decay; see :class:`~sklocalize.callbacks.CosineLR`). 2e-3, because it
        scored best of the rates tried on a validation split (see
        :ref:`bench-localizer-lr`).
    batch_size : int, default=32
        Images per training batch; -1 for the whole data set as one batch. 32,
        smaller than the landmark estimator's, because it raised the mean IoU
        for slightly more training time (see
        :ref:`bench-localizer-batch-size`).
    augment : "default", None or Augmenter, default="default"
        Training-time, target-aware augmentation (see
        :class:`sklocalize.augment.Augmenter`); None turns it off.
        ``"default"`` is a random horizontal flip (``b_x -> 1 - b_x``) with
        brightness and contrast jitter, ``Augmenter(scale=(1, 1), shift=0)``,
        without zoom and shift (the boxes moved exactly with the pixels),
        because they cost mean IoU on photos that frame their objects alike
        (see :ref:`bench-localizer-augment`). Add them with an ``Augmenter``
        if your images may come framed differently. If your classes change
        meaning when mirrored, use ``Augmenter(flip=0, scale=(1, 1),
        shift=0)`` and ``tta_flip=False``.
    tta_flip : bool, default=True
        Test-time flip: average the predictions on each image and on its
        mirror image (boxes mirrored back; presence and class logits
        averaged), for twice the prediction time. On, because it raised the
        mean IoU on average over the benchmark's models (see
        :ref:`bench-localizer-tta-flip`). Set it to False, with
        ``augment=Augmenter(flip=0, scale=(1, 1), shift=0)``, if your classes
        change meaning when mirrored.
    tta_shift : float, default=0.0
        Test-time shifts, in pixels: average the predictions on four copies of
        each image moved by ``tta_shift`` pixels diagonally (bicubic
        resampling), the boxes moved back, for four times the prediction
        cost; 0 turns it off. Off, because the resampled copies cost the
        localizer a little mean IoU (see :ref:`bench-localizer-tta-shift`).
    tta_reframe : int, default=0
        Zoomed passes at prediction: each centres the box predicted so far
        and enlarges it until its longer side spans 70% of the image (a zoom
        of 1 to 3; see :meth:`~sklocalize.tasks.LocalizationTask.reframing`),
        resamples the image (bicubic), predicts again and maps the box back;
        the presence probability stays that of the image as given. Small
        objects are seen larger, at the cost of one more prediction a pass;
        the zoomed images resemble training images only if the training
        augmentation zooms in as far (``Augmenter(scale=(0.7, 3))``). 0
        turns it off. Off, because on photos whose object fills much of the
        frame it did not raise the mean IoU, and the zoomed training it needs
        lowered it (see :ref:`bench-photo-recipe`).
    %(shared_parameters)s
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels: column ``c_k`` of the target is ``classes_[k - 1]``.
    n_classes_ : int
    %(shared_attributes)s
    history_ : skorch.History
        Per epoch: ``train_loss`` and its terms ``train_presence_loss``,
        ``train_box_loss``, ``train_class_loss``, ``train_edge_loss`` (with
        the edge term; and ``valid_*`` with a ``train_split``, the edge term
        left out: the network returns its edge logits in training only),
        ``dur``.

    See Also
    --------
    LandmarkEstimator : points instead of a box.
    sklocalize.metrics.iou_score : the score of :meth:`score`.

    Notes
    -----
    Persistence: :meth:`save` writes one file with everything ``predict``
    needs, and :func:`sklocalize.load` reads it without running code (see
    :mod:`sklocalize.persistence`). ``pickle`` and ``joblib`` keep everything
    too but run code on load: trusted files only.

    Examples
    --------
    >>> from sklocalize import LocalizerEstimator
    >>> from sklocalize.datasets import make_localization
    >>> X, y = make_localization(n_samples=40, image_size=16, random_state=0)
    >>> est = LocalizerEstimator(max_epochs=1, module__width=8, random_state=0)
    >>> est.fit(X, y).predict(X).shape
    (40, 7)
    """

    _loss_params = tuple(_LOSS)
    _learned_attributes = (*ImageEstimator._learned_attributes, "classes_",
                           "n_classes_")

    _parameter_constraints = {
        **ImageEstimator._parameter_constraints,
        **loss_constraints(_LOSS),
        "box_loss": [StrOptions(set(BOX_LOSSES))],
    }

    def __init__(self, module=LocalizerNet, *, criterion=LocalizationLoss,
                 loss=_LOSS["loss"], box_loss=_LOSS["box_loss"],
                 presence_weight=_LOSS["presence_weight"],
                 box_weight=_LOSS["box_weight"], class_weight=_LOSS["class_weight"],
                 edge_weight=_LOSS["edge_weight"], tta_flip=True, lr=2e-3,
                 batch_size=32, **kwargs):
        super().__init__(module, criterion, tta_flip=tta_flip, lr=lr,
                         batch_size=batch_size, **kwargs)
        self.loss = loss
        self.box_loss = box_loss
        self.presence_weight = presence_weight
        self.box_weight = box_weight
        self.class_weight = class_weight
        self.edge_weight = edge_weight

    # -- what the base asks of a task -------------------------------------

    def _task(self):
        return LocalizationTask(getattr(self, "n_classes_", None))

    def _encode_target(self, y, reset):
        if reset:
            y, self.classes_ = encode_localization_target(y)
            self.n_classes_ = len(self.classes_)
            if not (y[:, 0] == 0).any():
                _warn_no_absent_image(self.classes_)
            return y
        classes = self._data_attribute("classes_")
        return encode_localization_target(y, classes=classes)[0]

    # -- prediction ---------------------------------------------------------

    def predict_proba(self, X):
        """Presence and class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)

        Returns
        -------
        proba : ndarray of shape (n_samples, 1 + n_classes)
            Column 0 is the probability that an object is present; columns
            ``1..K`` are the class probabilities given an object (they sum to
            1, in the order of ``classes_``).
        """
        return self._predict_proba(X)

    def predict(self, X):
        """Predict the seed layout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)

        Returns
        -------
        y : ndarray of shape (n_samples, 5 + n_classes)
            ``p_c`` is 1 where the presence probability reaches
            ``presence_threshold``; then the relative box ``b_x, b_y, b_h,
            b_w`` and a one-hot class follow. Where ``p_c = 0`` the box and
            class entries ("don't care") are 0.
        """
        return self._predict(X)

    def predict_frame(self, X, *, box_format="cxcyhw", pixels=False,
                      image_sizes=None):
        """Predictions as a DataFrame with class names.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
        box_format : {"cxcyhw", "cxcywh", "xyxy", "xywh"}, default="cxcyhw"
            The box columns (see :func:`sklocalize.targets.localization_frame`).
        pixels : bool, default=False
            Boxes in pixels of the fitted image size instead of 0-1.
        image_sizes : DataFrame or array-like of shape (n_samples, 2), default=None
            Boxes in pixels of each original photo: the ``info`` of
            :func:`~sklocalize.datasets.load_images` (its ``width``,
            ``height`` and ``file`` columns; ``file`` is copied to the
            frame), the ``y`` of the readers, or each photo's ``(height,
            width)``. The boxes are relative to the image, so they scale to
            the photo whatever its size and aspect ratio.

        Returns
        -------
        frame : DataFrame
            ``file`` (with ``image_sizes`` that has one), ``p_c``, the box
            columns (NaN where ``p_c = 0``), ``label`` (a name from
            ``classes_``, None where ``p_c = 0``), ``presence_proba`` and
            ``class_proba`` (the probability of the label).
        """
        size = self._frame_pixels(pixels, image_sizes)
        heads = self._heads(X)
        y = self._task().decode(heads, self.presence_threshold).numpy()
        presence, _, class_proba = (h.numpy() for h in heads)
        frame = localization_frame(y, self.classes_, box_format=box_format,
                                   image_size=size, presence_proba=presence)
        absent = y[:, 0] == 0
        frame.iloc[np.flatnonzero(absent), 1:5] = np.nan
        frame["class_proba"] = class_proba.max(axis=1)
        return self._with_files(frame, image_sizes)

    def score(self, X, y, sample_weight=None):
        """Mean IoU of the predictions (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
        y : array-like of shape (n_samples, 5 + n_classes) or DataFrame
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights of the mean; None weighs all alike.

        Returns
        -------
        score : float
            :func:`sklocalize.metrics.iou_score`: an absent object predicted
            absent counts 1, a presence mismatch 0, otherwise the boxes' IoU.
        """
        y_true = self.encode_target(y)
        return iou_score(y_true, self.predict(X), sample_weight=sample_weight)
