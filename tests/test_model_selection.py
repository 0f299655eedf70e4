import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import StratifiedKFold

from sklocalize.model_selection import StratifiedTargetKFold, stratification_labels


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
    assert stratification_labels(lm, layout="landmarks").tolist() == [0, -1]
    with pytest.raises(ValueError, match="layout must be one of"):
        stratification_labels(lm, layout="boxes")


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
