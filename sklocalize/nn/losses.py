"""Masked multi-task losses, in torch (the one implementation of each).

Both tasks share the same masking rule (see :mod:`sklocalize.targets`): the
presence term counts for every image; the box, class or point terms count only
where the object is present (and, for boxes and points, annotated).

Two forms, the ``loss`` parameter of the criteria and the estimators:

``"squared_error"``
    The textbook squared error over the whole target vector: per image,
    ``(p - y_p)^2``, plus, where ``y_p = 1``, the squared error of every box
    (point) entry and every class entry, the heads' outputs turned into
    probabilities first (sigmoid for presence, softmax for the class). Averaged
    over images.
``"practical"``
    Binary cross-entropy on the presence logit (mean over images), plus
    ``box_weight`` times a box (point) regression term (mean over annotated
    objects), plus ``class_weight`` times the cross-entropy of the class
    logits (mean over present objects). The presence term is weighted by
    ``presence_weight``. With the distribution heads (landmark heatmaps, box
    edges) an auxiliary term, weighted by ``heatmap_weight`` or
    ``edge_weight``, pulls each distribution towards a Gaussian at the true
    point or edge (:func:`heatmap_loss`, :func:`edge_loss`).

The criteria (:class:`LocalizationLoss`, :class:`LandmarkLoss`) hold the
parameters, with the defaults the estimators take too; they return the total
and keep the detached terms of the last call in ``terms_`` so the estimators
can record each term in the history. The functions
:func:`localization_loss` and :func:`landmark_loss` are the same computation
for one call.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..boxes import box_convert, elementwise_generalized_box_iou
from ..geometry import cell_centres

__all__ = [
    "edge_loss",
    "heatmap_loss",
    "LandmarkLoss",
    "LocalizationLoss",
    "landmark_loss",
    "localization_loss",
    "wing_loss",
]

BOX_LOSSES = ("mse", "smooth_l1", "giou", "l1_giou")
POINT_LOSSES = ("mse", "smooth_l1", "wing")
LOSSES = ("practical", "squared_error")


_EPS = 1e-7


def _presence_terms(presence, p_true, from_logits):
    """(probability, binary cross-entropy per image) of the presence output."""
    if from_logits:
        proba = torch.sigmoid(presence)
        bce = F.binary_cross_entropy_with_logits(presence, p_true, reduction="none")
    else:
        proba = presence
        bce = F.binary_cross_entropy(presence.clamp(_EPS, 1 - _EPS), p_true,
                                     reduction="none")
    return proba, bce


def _class_terms(classes, labels, from_logits):
    """(probabilities, cross-entropy per image) of the class output."""
    if from_logits:
        return (torch.softmax(classes, dim=1),
                F.cross_entropy(classes, labels, reduction="none"))
    proba = classes.clamp(_EPS, 1.0)
    log_proba = torch.log(proba / proba.sum(dim=1, keepdim=True))
    return classes, F.nll_loss(log_proba, labels, reduction="none")


def check_loss(loss):
    """The loss form ``loss`` names; a ValueError for any other name.

    Parameters
    ----------
    loss : str

    Returns
    -------
    loss : {"practical", "squared_error"}
    """
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}; got {loss!r}.")
    return loss


def _check_option(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise ValueError(
            f"Unknown {name}={value!r}. Expected one of "
            f"{', '.join(repr(o) for o in options)}."
        )


def _masked_mean(values, mask=None, sample_weight=None):
    """Mean of ``values`` over ``mask`` (all entries when None), each image's
    entries weighted by its ``sample_weight``; 0, with a gradient path, when
    nothing is left.

    ``values`` and ``mask`` have the images along their first axis, and
    ``sample_weight`` is of shape (n_images,).
    """
    weight = torch.ones_like(values) if mask is None else mask.to(values.dtype)
    if sample_weight is not None:
        shape = (-1,) + (1,) * (values.dim() - 1)
        weight = weight * sample_weight.to(values.dtype).reshape(shape)
    total = weight.sum()
    return (values * weight).sum() / total.clamp(min=torch.finfo(total.dtype).tiny)


def wing_loss(error, width=0.05, curvature=0.01):
    """Wing loss of a regression error (Feng et al., CVPR 2018).

    ``w * ln(1 + |x| / eps)`` for ``|x| < w``, else ``|x| - C`` with
    ``C = w - w * ln(1 + w / eps)``: logarithmic (large gradients) for small
    errors, L1 for large ones.

    Parameters
    ----------
    error : torch.Tensor
        Prediction minus target, any shape.
    width : float, default=0.05
        ``w``, the range of the logarithmic part, in the error's units
        (relative coordinates here: 0.05 is 5% of the image).
    curvature : float, default=0.01
        ``eps``; smaller makes the logarithmic part steeper.

    Returns
    -------
    loss : torch.Tensor
        Elementwise loss, the shape of ``error``.

    References
    ----------
    .. [1] Z.-H. Feng et al., "Wing Loss for Robust Facial Landmark
       Localisation with Convolutional Neural Networks", CVPR 2018.
    """
    abs_err = error.abs()
    c = width - width * math.log1p(width / curvature)
    return torch.where(
        abs_err < width, width * torch.log1p(abs_err / curvature), abs_err - c
    )


def _regression(error, kind, beta):
    if kind == "mse":
        return error.pow(2)
    if kind == "smooth_l1":
        return F.smooth_l1_loss(error, torch.zeros_like(error), reduction="none",
                                beta=beta)
    raise ValueError(f"Unknown regression loss {kind!r}.")


def localization_loss(presence, boxes, classes, target, *, from_logits=True,
                      edges=None, sample_weight=None, **params):
    """The masked localization loss and its terms.

    Parameters
    ----------
    presence : torch.Tensor of shape (n_samples,)
        The presence logit (or probability, with ``from_logits=False``).
    boxes : torch.Tensor of shape (n_samples, 4)
        Predicted relative ``"cxcyhw"`` boxes.
    classes : torch.Tensor of shape (n_samples, n_classes)
        The class logits (or probabilities, with ``from_logits=False``).
    target : torch.Tensor of shape (n_samples, 5 + n_classes)
        The seed layout; don't-care entries may hold anything (NaN included),
        a NaN box where ``p_c = 1`` is masked out of the box term.
    from_logits : bool, default=True
        Whether ``presence`` and ``classes`` are logits (the module's outputs)
        or probabilities (a prediction being scored). Probabilities are clipped
        to [1e-7, 1 - 1e-7] for the cross-entropies.
    edges : tuple of two torch.Tensor, default=None
        The edge head's logits ``(columns, rows)``, when the module returns
        them (see :func:`edge_loss`).
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Each image's weight: every term is a weighted mean over the images
        (objects, points) it counts. None weighs all alike.
    **params
        The parameters of :class:`LocalizationLoss`, with its defaults.

    Returns
    -------
    total : torch.Tensor (scalar)
    terms : dict of str to torch.Tensor
        ``presence``, ``box`` and ``class`` (unweighted), and ``edge`` when
        used.
    """
    return LocalizationLoss(**params).compute(
        presence, boxes, classes, target, from_logits=from_logits, edges=edges,
        sample_weight=sample_weight)


def _gaussian_log_weights(pos, k, sigma):
    """``-d**2 / 2`` for ``d`` the distance, in ``sigma``, from each of ``k``
    cells to relative positions ``pos``: the logarithm of an unnormalised
    Gaussian. Cell ``i`` of ``k`` has its centre at ``(i + 0.5) / k``;
    ``sigma`` is in cells. Returns ``pos.shape + (k,)``.
    """
    d = (cell_centres(k, pos) - pos[..., None]) * k / sigma
    return -0.5 * d ** 2


def heatmap_loss(heatmaps, target, sigma=1.0, sample_weight=None):
    """Cross-entropy of heatmaps against Gaussians at the true points.

    Parameters
    ----------
    heatmaps : torch.Tensor of shape (n_samples, n_landmarks, h, w)
        Heatmap logits; pixel ``(i, j)`` has its centre at ``((j + 0.5) / w,
        (i + 0.5) / h)``.
    target : torch.Tensor of shape (n_samples, 1 + 2 * n_landmarks)
    sigma : float, default=1.0
        The Gaussians' standard deviation, in heatmap pixels.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Each image's weight in the mean; None weighs all alike.

    Returns
    -------
    loss : torch.Tensor (scalar)
        Mean over visible points of ``-sum(g * log_softmax(heatmap))``, ``g``
        the normalised Gaussian: lowest when the softmax of each heatmap is
        the Gaussian itself.
    """
    n, k, h, w = heatmaps.shape
    pts = target[:, 1:].reshape(n, k, 2)
    visible = (target[:, :1] == 1) & torch.isfinite(pts).all(dim=2)
    pts = torch.nan_to_num(pts, nan=0.5)
    g = torch.exp(_gaussian_log_weights(pts[..., 1], h, sigma)[..., :, None]
                  + _gaussian_log_weights(pts[..., 0], w, sigma)[..., None, :])
    g = g / g.sum(dim=(2, 3), keepdim=True).clamp(min=1e-12)
    logp = torch.log_softmax(heatmaps.reshape(n, k, -1).float(), dim=2)
    ce = -(g.reshape(n, k, -1) * logp).sum(dim=2)
    return _masked_mean(ce, visible, sample_weight)


def edge_loss(edges, target, sigma=0.5, sample_weight=None):
    """Cross-entropy of the box edges' 1-D distributions against Gaussians at
    the true edges.

    The localizer's edge head (:class:`sklocalize.nn.LocalizerNet` with
    ``box_head="edges"``) reads each box edge as the soft-argmax of a
    distribution over the columns (left, right) or rows (top, bottom) of a
    feature map; this term pulls each distribution towards a narrow Gaussian
    at the true edge, as :func:`heatmap_loss` does for landmark heatmaps (in
    the spirit of the distribution focal loss of generalized focal loss).

    Parameters
    ----------
    edges : tuple of two torch.Tensor
        ``(columns, rows)``: the logits of shape ``(n_samples, 2, w)`` (left
        and right edges over the map's columns) and ``(n_samples, 2, h)``
        (top and bottom edges over its rows); cell ``i`` of ``k`` has its
        centre at ``(i + 0.5) / k``.
    target : torch.Tensor of shape (n_samples, 5 + n_classes)
        The seed layout (relative ``b_x, b_y, b_h, b_w`` in columns 1-4).
    sigma : float, default=0.5
        The Gaussians' standard deviation, in cells of the map.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Each image's weight in the mean; None weighs all alike.

    Returns
    -------
    loss : torch.Tensor (scalar)
        Mean over annotated objects of the mean over the four edges of
        ``-sum(g * log_softmax(logits))``; 0 (with a gradient path) when no
        object is annotated.

    References
    ----------
    .. [1] X. Li et al., "Generalized Focal Loss: Learning Qualified and
       Distributed Bounding Boxes for Dense Object Detection", NeurIPS 2020.
    """
    columns, rows = edges
    box = target[:, 1:5]
    has_box = (target[:, 0] == 1) & torch.isfinite(box).all(dim=1)
    box = torch.nan_to_num(box, nan=0.5).to(columns.dtype)
    x1, y1, x2, y2 = box_convert(box, "cxcyhw", "xyxy").unbind(1)
    ce = []
    for logits, lo, hi in ((columns, x1, x2), (rows, y1, y2)):
        g = torch.softmax(_gaussian_log_weights(torch.stack([lo, hi], dim=1),
                                                logits.shape[2], sigma), dim=2)
        ce.append(-(g * torch.log_softmax(logits.float(), dim=2)).sum(dim=2))
    return _masked_mean(torch.cat(ce, dim=1).mean(dim=1), has_box, sample_weight)


def landmark_loss(presence, points, target, *, from_logits=True, heatmaps=None,
                  sample_weight=None, **params):
    """The masked landmark loss and its terms.

    Parameters
    ----------
    presence : torch.Tensor of shape (n_samples,)
        The presence logit (or probability, with ``from_logits=False``).
    points : torch.Tensor of shape (n_samples, 2 * n_landmarks)
        Predicted relative points ``x_1, y_1, ...``.
    target : torch.Tensor of shape (n_samples, 1 + 2 * n_landmarks)
        NaN points where ``p = 1`` (not visible) are masked out.
    from_logits : bool, default=True
        Whether ``presence`` is a logit or a probability.
    heatmaps : torch.Tensor of shape (n_samples, n_landmarks, h, w), default=None
        The heatmap logits, when the module returns them.
    sample_weight : torch.Tensor of shape (n_samples,), default=None
        Each image's weight: every term is a weighted mean over the images
        (points) it counts. None weighs all alike.
    **params
        The parameters of :class:`LandmarkLoss`, with its defaults.

    Returns
    -------
    total : torch.Tensor (scalar)
    terms : dict of str to torch.Tensor
        ``presence`` and ``points`` (unweighted), and ``heatmap`` when used.
    """
    return LandmarkLoss(**params).compute(
        presence, points, target, from_logits=from_logits, heatmaps=heatmaps,
        sample_weight=sample_weight)


class _TermsLoss(nn.Module):
    """A criterion that keeps the detached terms of its last call."""

    def _keep(self, total, terms):
        self.terms_ = {name: value.detach() for name, value in terms.items()}
        return total


class LocalizationLoss(_TermsLoss):
    """Masked multi-task localization criterion.

    The estimator :class:`~sklocalize.LocalizerEstimator` has the same loss
    parameters, with the same defaults, and passes them on.

    Parameters
    ----------
    loss : {"practical", "squared_error"}, default="practical"
        The form (see :mod:`sklocalize.nn.losses`).
    box_loss : {"l1_giou", "smooth_l1", "mse", "giou"}, default="l1_giou"
        The practical form's box term, per object: the L1 error of the four
        entries plus ``1 - GIoU`` (as in DETR), the sum of the smooth L1
        (``beta``) or squared errors, or ``1 - GIoU``.
    presence_weight : float, default=1.0
    box_weight : float, default=2.0
        The box term's weight; 2 balances its gradients with the two
        cross-entropies' (see the benchmarks page).
    class_weight : float, default=1.0
    edge_weight : float, default=1.0
        Weight of :func:`edge_loss`, used when the module returns its edge
        logits (a fourth output); 0 leaves it out.
    beta : float, default=0.05
        The smooth L1 transition point, in relative units.
    edge_sigma : float, default=0.5
        The edge term's Gaussians' standard deviation, in cells.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn import LocalizationLoss
    >>> crit = LocalizationLoss()
    >>> target = torch.tensor([[1.0, .5, .5, .2, .2, 1, 0], [0, 0, 0, 0, 0, 0, 0]])
    >>> out = (torch.zeros(2), torch.full((2, 4), .5), torch.zeros(2, 2))
    >>> float(crit(out, target)) > 0
    True
    """

    def __init__(self, loss="practical", box_loss="l1_giou", presence_weight=1.0,
                 box_weight=2.0, class_weight=1.0, edge_weight=1.0, beta=0.05,
                 edge_sigma=0.5):
        super().__init__()
        _check_option(box_loss, "box_loss", BOX_LOSSES)
        self.loss = check_loss(loss)
        self.box_loss = box_loss
        self.presence_weight = presence_weight
        self.box_weight = box_weight
        self.class_weight = class_weight
        self.edge_weight = edge_weight
        self.beta = beta
        self.edge_sigma = edge_sigma

    def forward(self, y_pred, y_true, sample_weight=None):
        presence_logit, boxes, class_logits = y_pred[:3]
        edges = y_pred[3] if len(y_pred) > 3 else None
        return self._keep(*self.compute(presence_logit, boxes, class_logits, y_true,
                                        edges=edges, sample_weight=sample_weight))

    def compute(self, presence, boxes, classes, target, *, from_logits=True,
                edges=None, sample_weight=None):
        """The total and the terms (see :func:`localization_loss`)."""
        w = sample_weight
        p_true = target[:, 0]
        present = p_true == 1
        box_true = target[:, 1:5]
        has_box = present & torch.isfinite(box_true).all(dim=1)
        box_true = torch.nan_to_num(box_true, nan=0.0, posinf=0.0, neginf=0.0)
        cls_true = torch.nan_to_num(target[:, 5:], nan=0.0)
        p_proba, bce = _presence_terms(presence, p_true, from_logits)
        c_proba, ce = _class_terms(classes, cls_true.argmax(dim=1), from_logits)

        if self.loss == "squared_error":
            box_sq = (boxes - box_true).pow(2).sum(dim=1)
            cls_sq = (c_proba - cls_true).pow(2).sum(dim=1)
            # means over all images, the masked entries counting 0
            terms = {
                "presence": _masked_mean((p_proba - p_true).pow(2), None, w),
                "box": _masked_mean(box_sq * has_box, None, w),
                "class": _masked_mean(cls_sq * present, None, w),
            }
            total = terms["presence"] + terms["box"] + terms["class"]
            return total, terms

        error = boxes - box_true
        if self.box_loss in ("mse", "smooth_l1"):
            per_box = _regression(error, self.box_loss, self.beta).sum(dim=1)
        else:  # "giou", "l1_giou"
            giou = elementwise_generalized_box_iou(boxes, box_true, fmt="cxcyhw")
            per_box = 1.0 - giou
            if self.box_loss == "l1_giou":
                per_box = per_box + error.abs().sum(dim=1)
        terms = {
            "presence": _masked_mean(bce, None, w),
            "box": _masked_mean(per_box, has_box, w),
            "class": _masked_mean(ce, present, w),
        }
        total = (self.presence_weight * terms["presence"]
                 + self.box_weight * terms["box"]
                 + self.class_weight * terms["class"])
        if edges is not None and self.edge_weight > 0:
            terms["edge"] = edge_loss(edges, target, self.edge_sigma, w)
            total = total + self.edge_weight * terms["edge"]
        return total, terms


class LandmarkLoss(_TermsLoss):
    """Masked landmark criterion.

    The estimator :class:`~sklocalize.LandmarkEstimator` has the same loss
    parameters, with the same defaults, and passes them on.

    Parameters
    ----------
    loss : {"practical", "squared_error"}, default="practical"
        The form (see :mod:`sklocalize.nn.losses`).
    point_loss : {"wing", "smooth_l1", "mse"}, default="wing"
        The practical form's point term: the mean over visible points of the
        sum over x and y of the elementwise loss. Wing loss (:func:`wing_loss`)
        is the usual choice for landmarks.
    presence_weight : float, default=1.0
    point_weight : float, default=5.0
        The point term's weight; the wing loss of errors of a few percent of
        the image is small beside the presence cross-entropy, and 5 balances
        them (see the benchmarks page).
    heatmap_weight : float, default=1.0
        Weight of :func:`heatmap_loss`, used when the module returns heatmaps
        (a third output); 0 leaves it out.
    beta : float, default=0.05
        Smooth L1 transition point.
    wing_width, wing_curvature : float, default=0.05, 0.01
        The wing loss's ``w`` and ``eps`` (see :func:`wing_loss`).
    heatmap_sigma : float, default=1.0
        The heatmap term's Gaussians' standard deviation, in heatmap pixels.

    Examples
    --------
    >>> import torch
    >>> from sklocalize.nn import LandmarkLoss
    >>> crit = LandmarkLoss()
    >>> target = torch.tensor([[1.0, .2, .3, .7, .3]])
    >>> float(crit((torch.zeros(1), torch.full((1, 4), .5)), target)) > 0
    True
    """

    def __init__(self, loss="practical", point_loss="wing", presence_weight=1.0,
                 point_weight=5.0, heatmap_weight=1.0, beta=0.05, wing_width=0.05,
                 wing_curvature=0.01, heatmap_sigma=1.0):
        super().__init__()
        _check_option(point_loss, "point_loss", POINT_LOSSES)
        self.loss = check_loss(loss)
        self.point_loss = point_loss
        self.presence_weight = presence_weight
        self.point_weight = point_weight
        self.heatmap_weight = heatmap_weight
        self.beta = beta
        self.wing_width = wing_width
        self.wing_curvature = wing_curvature
        self.heatmap_sigma = heatmap_sigma

    def forward(self, y_pred, y_true, sample_weight=None):
        presence_logit, points = y_pred[0], y_pred[1]
        heatmaps = y_pred[2] if len(y_pred) > 2 else None
        return self._keep(*self.compute(presence_logit, points, y_true,
                                        heatmaps=heatmaps, sample_weight=sample_weight))

    def compute(self, presence, points, target, *, from_logits=True, heatmaps=None,
                sample_weight=None):
        """The total and the terms (see :func:`landmark_loss`)."""
        w = sample_weight
        p_true = target[:, 0]
        present = p_true == 1
        n = len(p_true)
        pts_true = target[:, 1:].reshape(n, -1, 2)
        visible = present[:, None] & torch.isfinite(pts_true).all(dim=2)
        pts_true = torch.nan_to_num(pts_true, nan=0.0, posinf=0.0, neginf=0.0)
        error = points.reshape(n, -1, 2) - pts_true
        p_proba, bce = _presence_terms(presence, p_true, from_logits)

        if self.loss == "squared_error":
            sq = (error.pow(2).sum(dim=2) * visible).sum(dim=1)
            terms = {
                "presence": _masked_mean((p_proba - p_true).pow(2), None, w),
                "points": _masked_mean(sq, None, w),
            }
            return terms["presence"] + terms["points"], terms

        if self.point_loss == "wing":
            per_coord = wing_loss(error, self.wing_width, self.wing_curvature)
        else:  # "mse", "smooth_l1"
            per_coord = _regression(error, self.point_loss, self.beta)
        terms = {
            "presence": _masked_mean(bce, None, w),
            "points": _masked_mean(per_coord.sum(dim=2), visible, w),
        }
        total = (self.presence_weight * terms["presence"]
                 + self.point_weight * terms["points"])
        if heatmaps is not None and self.heatmap_weight > 0:
            terms["heatmap"] = heatmap_loss(heatmaps, target, self.heatmap_sigma, w)
            total = total + self.heatmap_weight * terms["heatmap"]
        return total, terms
