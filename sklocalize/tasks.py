"""The two tasks: what the estimators' shared machinery needs to know about a
target layout, in torch.

A task says how its target moves when the pixels move (for training-time
augmentation: :meth:`flip`, :meth:`affine`, :meth:`extent`), how the
network's outputs move back (for test-time augmentation: :meth:`unflip`,
:meth:`unwarp`), whether a flip is allowed (:meth:`check_flip`), the names of
its loss terms, how many of the network's outputs prediction reads, how they
become probabilities and the target layout (:meth:`probabilities`,
:meth:`proba`, :meth:`decode`: ``predict``, ``predict_proba`` and the
exported models share them), and the module sizes it learns from the data
(:meth:`module_sizes`).

The estimators build their task from their parameters and what ``fit`` saw
(``_task()``); the base class asks it. The layouts themselves (validation,
encoding, DataFrames) live in :mod:`sklocalize.targets`; the geometry in
:mod:`sklocalize.geometry`.
"""

import warnings
from functools import cached_property
from numbers import Integral

import numpy as np
import torch

from .boxes import box_convert
from .geometry import (
    as_matrices,
    box_corners,
    enclosing_boxes,
    map_points,
    mirrored_points,
    similarity_to,
)
from .targets import decode_landmarks, decode_localization

__all__ = ["TASKS", "LandmarkTask", "LocalizationTask"]


def _moved_boxes(xyxy, matrix, shift, inverse=False):
    """The ``"xyxy"`` boxes enclosing the moved corners of ``xyxy`` boxes."""
    return enclosing_boxes(map_points(box_corners(xyxy), matrix, shift,
                                      inverse=inverse))


class LocalizationTask:
    """The localization target ``[p_c, b_x, b_y, b_h, b_w, c_1, ..., c_K]``.

    Parameters
    ----------
    n_classes : int, default=None
        Learned at fit; None before.

    Notes
    -----
    The network's outputs are ``(presence_logit, boxes, class_logits)``, the
    boxes relative ``"cxcyhw"``. Moved boxes are the boxes enclosing their
    moved corners (a rotated box grows); a box pushed out of view until less
    than ``min_visible`` of it remains makes the object absent.
    """

    name = "localization"
    #: the presence column of the tidy target and of ``predict_frame``
    presence_column = "p_c"
    #: whether the target names a class
    has_classes = True
    #: what its annotations are called
    annotations = "box annotations"
    #: where no image is without an object, background crops supply some
    needs_background = True
    #: a cross-validated search's score: its name in tables, the scorer, and
    #: the sign that turns the scorer's value into that score
    search_score = ("mean IoU", "iou", 1)
    loss_terms = ("presence", "box", "class", "edge")
    n_predicted = 3
    min_visible = 0.25

    def __init__(self, n_classes=None, reframe_fill=0.7, max_zoom=3.0):
        self.n_classes = n_classes
        self.reframe_fill = reframe_fill
        self.max_zoom = max_zoom

    def module_sizes(self):
        """The module's ``__init__`` arguments that the data sets."""
        return {"n_classes": self.n_classes}

    def check_flip(self, param):
        """Boxes can always be mirrored."""

    # -- targets (training-time augmentation) ------------------------------

    def flip(self, y, mask):
        """The targets of the mirror images where ``mask`` is set."""
        y = y.clone()
        y[mask, 1] = 1.0 - y[mask, 1]
        return y

    def extent(self, y):
        """``"xyxy"`` of what must stay in view; NaN where nothing."""
        ext = box_convert(y[:, 1:5], "cxcyhw", "xyxy")
        return torch.where(y[:, :1] == 1, ext, torch.full_like(ext, float("nan")))

    def affine(self, y, matrix, shift):
        """Move boxes with pixels that move by ``p -> A (p - 0.5) + 0.5 + t``.

        ``matrix`` is a zoom factor per image or the matrices ``A``.
        """
        y = y.clone()
        moved = _moved_boxes(self.extent(y), as_matrices(matrix, len(y), y.dtype),
                             shift)
        x1, y1, x2, y2 = moved.unbind(1)
        area = (x2 - x1) * (y2 - y1)
        clipped = moved.clamp(0, 1)
        cx1, cy1, cx2, cy2 = clipped.unbind(1)
        visible = ((cx2 - cx1) * (cy2 - cy1)) / area.clamp(min=1e-12)
        annotated = (y[:, 0] == 1) & torch.isfinite(area)
        new = box_convert(clipped, "xyxy", "cxcyhw")
        y[annotated, 1:5] = new[annotated]
        gone = annotated & (visible < self.min_visible)  # pushed out: absent
        y[gone, 0] = 0.0
        return y

    # -- outputs (test-time augmentation) ----------------------------------

    def unflip(self, outputs):
        """Outputs on mirror images, mirrored back: ``b_x -> 1 - b_x``."""
        presence, boxes, classes = outputs
        boxes = boxes.clone()
        boxes[:, 0] = 1.0 - boxes[:, 0]
        return presence, boxes, classes

    def unwarp(self, outputs, matrix, shift):
        """Outputs on images warped by ``(matrix, shift)``, moved back."""
        presence, boxes, classes = outputs
        xyxy = _moved_boxes(box_convert(boxes, "cxcyhw", "xyxy"), matrix, shift,
                            inverse=True)
        return presence, box_convert(xyxy, "xyxy", "cxcyhw"), classes

    def reframing(self, outputs, image_size):
        """The zoom that centres each predicted box and enlarges it until its
        longer side spans :attr:`reframe_fill` of the image.

        The zoom keeps the aspect ratio, is never below 1 (a box that already
        fills the image is only centred) and at most :attr:`max_zoom`.

        Returns
        -------
        matrix, shift : torch.Tensor of shape (n, 2, 2) and (n, 2)
        """
        boxes = outputs[1]
        h, w = (float(v) for v in image_size)
        centre = boxes[:, :2]
        # the longer side, in pixels, as a share of the shorter image side
        longer = torch.maximum(boxes[:, 2] * h, boxes[:, 3] * w) / min(h, w)
        zoom = (self.reframe_fill / longer.clamp(min=1e-6)).clamp(1.0, self.max_zoom)
        zoom = torch.where(torch.isfinite(zoom), zoom, torch.ones_like(zoom))
        centre = torch.nan_to_num(centre, nan=0.5)
        eye = torch.eye(2, dtype=boxes.dtype)
        return zoom[:, None, None] * eye, -zoom[:, None] * (centre - 0.5)

    # -- prediction --------------------------------------------------------

    @staticmethod
    def probabilities(outputs):
        """``(presence_proba, boxes, class_proba)`` from the outputs kept for
        prediction (logits, boxes, logits)."""
        presence_logit, boxes, class_logits = outputs
        return torch.sigmoid(presence_logit), boxes, torch.softmax(class_logits, 1)

    @staticmethod
    def proba(probabilities):
        """``predict_proba``'s columns: presence, then each class."""
        presence, _, class_proba = probabilities
        return torch.cat([presence[:, None], class_proba], dim=1)

    @staticmethod
    def decode(probabilities, threshold):
        """``predict``'s seed layout
        (:func:`~sklocalize.targets.decode_localization`)."""
        return decode_localization(*probabilities, threshold=threshold)


class LandmarkTask:
    """The landmark target ``[p, x_1, y_1, ..., x_L, y_L]``.

    Parameters
    ----------
    n_landmarks : int, default=None
        Learned at fit; None before.
    flip_pairs : sequence of (int, int) or None, default=None
        Points that swap under a horizontal flip; None forbids flips (which
        side is which is unknown).
    mean_shape : array-like of shape (n_landmarks, 2), default=None
        Where re-framing (:meth:`reframing`) puts the points.

    Notes
    -----
    The network's outputs are ``(presence_logit, points)``, the points
    relative ``x_1, y_1, ...``. A point moved out of the image becomes not
    visible (NaN).
    """

    name = "landmarks"
    presence_column = "p"
    has_classes = False
    annotations = "landmarks"
    needs_background = False
    search_score = ("NME (box-normalised)", "neg_nme", -1)
    loss_terms = ("presence", "points", "heatmap")
    n_predicted = 2

    def __init__(self, n_landmarks=None, flip_pairs=None, mean_shape=None):
        self.n_landmarks = n_landmarks
        self.flip_pairs = flip_pairs
        self.mean_shape = mean_shape

    @staticmethod
    def checked_flip_pairs(flip_pairs, n_landmarks):
        """``flip_pairs`` as a list of int pairs, checked against
        ``n_landmarks`` points (when known); ``[]`` for None."""
        if flip_pairs is None:
            return []
        n = np.inf if n_landmarks is None else n_landmarks
        where = "" if n_landmarks is None else f" in [0, {n_landmarks - 1}]"
        pairs = []
        for pair in flip_pairs:
            ok = (isinstance(pair, (tuple, list)) and len(pair) == 2 and all(
                isinstance(i, Integral) and not isinstance(i, bool) and 0 <= i < n
                for i in pair) and pair[0] != pair[1])
            if not ok:
                raise ValueError(
                    "flip_pairs must be pairs (i, j) of two different landmark "
                    f"indices{where}; got {pair!r} in {flip_pairs!r}."
                )
            pairs.append(tuple(int(i) for i in pair))
        flat = [i for p in pairs for i in p]
        if len(set(flat)) != len(flat):
            raise ValueError(
                f"flip_pairs must name each landmark at most once; got "
                f"{flip_pairs!r}."
            )
        return pairs

    @cached_property
    def pairs(self):
        """:attr:`flip_pairs`, checked, as a list of int pairs."""
        return self.checked_flip_pairs(self.flip_pairs, self.n_landmarks)

    @staticmethod
    def mean_shape_of(y, pairs=()):
        """Mean relative points of the rows of ``y`` with ``p = 1``.

        Made mirror-symmetric when flip pairs are known, as flip augmentation
        makes the training faces (and so that re-framing keeps a test-time
        flip mirror-consistent).

        Parameters
        ----------
        y : ndarray of shape (n_samples, 1 + 2 * n_landmarks)
        pairs : sequence of (int, int), default=()

        Returns
        -------
        mean_shape : ndarray of shape (n_landmarks, 2)
            NaN for a point never visible.
        """
        n = (y.shape[1] - 1) // 2
        pts = y[y[:, 0] == 1, 1:].reshape(-1, n, 2)
        if pairs:
            pts = np.concatenate([pts, mirrored_points(pts, pairs)])
        if not len(pts):
            return np.full((n, 2), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN point
            return np.nanmean(pts, axis=0)

    def module_sizes(self):
        """The module's ``__init__`` arguments that the data sets."""
        return {"n_landmarks": self.n_landmarks}

    def check_flip(self, param):
        """Raise if ``param`` asks for a flip while the pairs are unknown."""
        if self.flip_pairs is None:
            raise ValueError(
                f"{param} flips images horizontally, which swaps left and right "
                "points: set flip_pairs, e.g. [(0, 1)] for a left/right pair, or "
                "flip_pairs=[] if no point has a mirror twin."
            )

    # -- targets (training-time augmentation) ------------------------------

    def flip(self, y, mask):
        """The targets of the mirror images where ``mask`` is set."""
        pts = y[:, 1:].reshape(len(y), -1, 2)
        pts = torch.where(mask[:, None, None], mirrored_points(pts, self.pairs), pts)
        return torch.cat([y[:, :1], pts.reshape(len(y), -1)], dim=1)

    def extent(self, y):
        """``"xyxy"`` enclosing the visible points; NaN where none."""
        pts = y[:, 1:].reshape(len(y), -1, 2)
        finite = torch.isfinite(pts).all(dim=2)
        big = torch.full_like(pts, float("inf"))
        ext = torch.cat([torch.where(finite[..., None], pts, big).min(1).values,
                         torch.where(finite[..., None], pts, -big).max(1).values], 1)
        ok = (y[:, 0] == 1) & finite.any(dim=1)
        return torch.where(ok[:, None], ext, torch.full_like(ext, float("nan")))

    def affine(self, y, matrix, shift):
        """Move points with pixels that move by ``p -> A (p - 0.5) + 0.5 + t``.

        ``matrix`` is a zoom factor per image or the matrices ``A``.
        """
        y = y.clone()
        pts = y[:, 1:].reshape(len(y), -1, 2)
        pts = map_points(pts, as_matrices(matrix, len(y), y.dtype), shift)
        outside = ((pts < 0) | (pts > 1)).any(dim=2)
        pts[outside] = float("nan")  # moved out of view: not visible
        y[:, 1:] = pts.reshape(len(y), -1)
        return y

    # -- outputs (test-time augmentation) ----------------------------------

    def unflip(self, outputs):
        """Outputs on mirror images, mirrored back (pairs swapped)."""
        presence, points = outputs
        pts = mirrored_points(points.unflatten(1, (-1, 2)), self.pairs)
        return presence, pts.flatten(1)

    def unwarp(self, outputs, matrix, shift):
        """Outputs on images warped by ``(matrix, shift)``, moved back."""
        presence, points = outputs
        back = map_points(points.unflatten(1, (-1, 2)), matrix, shift,
                          inverse=True)
        return presence, back.flatten(1)

    def reframing(self, outputs, image_size):
        """The warp that moves the predicted points onto :attr:`mean_shape`.

        Returns
        -------
        matrix, shift : torch.Tensor of shape (n, 2, 2) and (n, 2)
        """
        points = outputs[1]
        return similarity_to(points.unflatten(1, (-1, 2)), self.mean_shape,
                             image_size)

    # -- prediction --------------------------------------------------------

    @staticmethod
    def probabilities(outputs):
        """``(presence_proba, points)`` from the outputs kept for prediction
        (a logit, the points)."""
        presence_logit, points = outputs
        return torch.sigmoid(presence_logit), points

    @staticmethod
    def proba(probabilities):
        """``predict_proba``'s one column: presence."""
        return probabilities[0][:, None]

    @staticmethod
    def decode(probabilities, threshold):
        """``predict``'s layout (:func:`~sklocalize.targets.decode_landmarks`)."""
        return decode_landmarks(*probabilities, threshold=threshold)


#: the task objects' classes by name: the one answer to "which task is this?"
TASKS = {task.name: task for task in (LocalizationTask, LandmarkTask)}
