import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.model_selection import StratifiedKFold

from sklocalize import LocalizerEstimator
from sklocalize.metrics import get_scorer
from sklocalize.model_selection import (
    StratifiedTargetKFold,
    stratification_labels,
    tune_presence_threshold,
)


def make_y(n_per=(6, 6, 3)):
    rows = []
    for cls, n in enumerate(n_per[:2]):
        for _ in range(n):
            onehot = [0, 0]
            onehot[cls] = 1
            rows.append([1, .5, .5, .2, .2, *onehot])
    rows += [[0, 0, 0, 0, 0, 0, 0]] * n_per[2]
    return np.array(rows, dtype=float)


def test_labels():
    assert stratification_labels(make_y((1, 1, 1))).tolist() == [0, 1, -1]
    lm = np.array([[1, .2, .2], [0, 0, 0]])
    assert stratification_labels(lm, task="landmarks").tolist() == [0, -1]
    with pytest.raises(ValueError, match="task must be one of"):
        stratification_labels(lm, task="boxes")


def test_plain_stratified_kfold_refuses_2d_but_ours_stratifies():
    y = make_y()
    X = np.zeros((len(y), 1))
    with pytest.raises(ValueError):
        list(StratifiedKFold(3).split(X, y))
    cv = StratifiedTargetKFold(n_splits=3, shuffle=True, random_state=0)
    assert cv.get_n_splits() == 3
    seen = []
    for train, test in cv.split(X, y):
        labels = stratification_labels(y[test])
        assert sorted(labels.tolist()) == [-1, 0, 0, 1, 1]
        seen.extend(test)
    assert sorted(seen) == list(range(len(y)))


def test_dataframe_and_none():
    frame = pd.DataFrame({"p_c": [1, 1, 0, 0], "b_x": .5, "b_y": .5, "b_h": .2,
                          "b_w": .2, "label": ["a", "a", None, None]},
                         index=[10, 11, 12, 13])
    folds = list(StratifiedTargetKFold(2).split(np.zeros((4, 1)), frame))
    assert all(sorted(frame["p_c"].iloc[test]) == [0, 1] for _, test in folds)
    with pytest.raises(ValueError, match="needs y to stratify on"):
        list(StratifiedTargetKFold(2).split(np.zeros((4, 1)), None))


class DimPresence(torch.nn.Module):
    """Presence probability 0.2 where the image holds its (dim) box, 0.01
    where it is empty; the box is always the centre box."""

    def __init__(self, n_classes=1, in_channels=1):
        super().__init__()
        self.bias = torch.nn.Parameter(torch.zeros(1))

    def forward(self, X):
        n = X.shape[0]
        shown = X.flatten(1).amax(dim=1) > 0
        p = torch.where(shown, torch.tensor(0.2), torch.tensor(0.01))
        boxes = torch.tensor([[0.5, 0.5, 0.5, 0.5]]).expand(n, 4) + self.bias
        return torch.logit(p), boxes, torch.zeros(n, 1)


def test_tune_presence_threshold_finds_where_the_presence_cuts():
    X = np.zeros((10, 1, 16, 16), dtype=np.float32)
    X[:6, :, 4:12, 4:12] = 0.3  # six images with the box, four without
    y = np.zeros((10, 6))
    y[:6] = [1, 0.5, 0.5, 0.5, 0.5, 1]
    est = LocalizerEstimator(DimPresence, max_epochs=0, augment=None,
                             tta_flip=False, random_state=0).fit(X, y)
    assert est.score(X, y) == pytest.approx(0.4)  # at 0.5 every box is missed
    thresholds = [0.005, 0.1, 0.15, 0.5]
    threshold, scores = tune_presence_threshold(est, X, y, thresholds=thresholds)
    np.testing.assert_allclose(scores, [0.6, 1.0, 1.0, 0.4])
    assert threshold == 0.1  # the middle of the two best (the lower)
    # the middle of the run of best thresholds: the widest margin to both
    # the absent images' 0.01 and the present ones' 0.2
    thresholds = [0.5, 0.02, 0.05, 0.1, 0.15, 0.19, 0.3]
    threshold, scores = tune_presence_threshold(est, X, y, thresholds=thresholds)
    np.testing.assert_allclose(scores, [0.4, 1, 1, 1, 1, 1, 0.4])
    assert threshold == 0.1
    assert est.presence_threshold == 0.5  # left as it was
    threshold, _ = tune_presence_threshold(est, X, y,
                                           scoring=get_scorer("presence_accuracy"))
    assert 0.01 < threshold <= 0.2


def test_tune_presence_threshold_keeps_its_own_where_no_score_is_defined():
    X = np.zeros((4, 1, 16, 16), dtype=np.float32)
    y = np.zeros((4, 6))
    y[:2] = [1, 0.5, 0.5, 0.5, 0.5, 1]
    est = LocalizerEstimator(DimPresence, max_epochs=0, augment=None,
                             tta_flip=False, random_state=0,
                             presence_threshold=0.4).fit(X, y)
    threshold, scores = tune_presence_threshold(
        est, X, y, scoring=lambda est, X, y: float("nan"), thresholds=[0.1, 0.5])
    assert threshold == 0.4 and np.isnan(scores).all()


@pytest.mark.parametrize("thresholds", [[], [0.0, 0.5], [1.0], [[0.5]]])
def test_tune_presence_threshold_refuses_bad_thresholds(thresholds):
    with pytest.raises(ValueError, match=r"thresholds must be a non-empty 1-D "
                       r"array of numbers in \(0, 1\)"):
        tune_presence_threshold(None, None, None, thresholds=thresholds)
