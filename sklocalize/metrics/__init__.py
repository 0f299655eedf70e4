"""Metrics and scorers over the seed layouts.

Every metric is a plain function ``f(y_true, y_pred)`` on arrays in the seed
layouts of :mod:`sklocalize.targets` (``y_pred`` as returned by the estimators'
``predict``). The scorers in :data:`SCORERS` wrap them with
:func:`sklearn.metrics.make_scorer`, so a name such as ``"iou"`` or a dict of
names works as ``scoring=`` in :class:`~sklearn.model_selection.GridSearchCV`
and :func:`~sklearn.model_selection.cross_validate`. Each scorer belongs to one
task and refuses an estimator fitted for the other.

``y_true`` and ``y_pred`` must have the same shape, and at least one row: an
empty input is a ``ValueError``. A metric that no image qualifies for (no
object present for ``class_accuracy``, say) is NaN, with an
:class:`~sklearn.exceptions.UndefinedMetricWarning`. The scalar metrics take a
``sample_weight`` of shape ``(n_samples,)``: the weighted mean over the images
that qualify (for ``landmark_pck``, each point weighs as its image).

Localization: ``masked_loss``, ``iou_score``, ``localization_accuracy``,
``presence_accuracy``, ``class_accuracy``, ``iou_success_curve``.
Landmarks: ``landmark_nme``, ``landmark_pck``, ``failure_rate``,
``ced_curve``, and ``landmark_presence_accuracy``.

How presence counts
-------------------
Images truly without an object that are predicted without one are right;
a presence mismatch is wrong. Box metrics skip images whose true box is not
annotated (NaN). Landmark point metrics are computed over truly present faces
and their visible points, with the predicted points as given (so a face that
``predict`` calls absent scores its filled-in zeros: a miss is a large error).
"""

from ._landmarks import (
    ced_curve,
    eye_pair,
    failure_rate,
    landmark_nme,
    landmark_pck,
    landmark_presence_accuracy,
    masked_landmark_loss,
    per_image_nme,
)
from ._localization import (
    class_accuracy,
    iou_score,
    iou_success_curve,
    localization_accuracy,
    masked_loss,
    per_image_iou,
    presence_accuracy,
)
from ._scorers import SCORERS, TargetScorer, get_scorer, get_scorer_names

__all__ = [
    "SCORERS",
    "TargetScorer",
    "ced_curve",
    "eye_pair",
    "class_accuracy",
    "failure_rate",
    "get_scorer",
    "get_scorer_names",
    "iou_score",
    "iou_success_curve",
    "landmark_nme",
    "landmark_pck",
    "landmark_presence_accuracy",
    "localization_accuracy",
    "masked_landmark_loss",
    "masked_loss",
    "per_image_iou",
    "per_image_nme",
    "presence_accuracy",
]
