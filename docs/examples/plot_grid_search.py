"""
Model selection with GridSearchCV and a Pipeline
================================================

The estimators work unchanged inside scikit-learn's model selection: here a
``MinMaxScaler`` on flattened images precedes the estimator, and a grid over
the learning rate and the box loss is scored with two sklocalize scorers.
"""

# %%
import pandas as pd
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import MinMaxScaler

from sklocalize import LocalizerEstimator
from sklocalize.datasets import make_localization
from sklocalize.metrics import get_scorer
from sklocalize.model_selection import StratifiedTargetKFold

X, y = make_localization(n_samples=300, image_size=24, random_state=0)
pipe = Pipeline([
    ("scale", MinMaxScaler()),
    ("loc", LocalizerEstimator(image_shape=(1, 24, 24), max_epochs=4,
                               module__width=8, random_state=0)),
])
search = GridSearchCV(
    pipe, {"loc__lr": [1e-3, 3e-3], "loc__box_loss": ["smooth_l1", "giou"]},
    cv=StratifiedTargetKFold(2, shuffle=True, random_state=0),
    scoring={"iou": get_scorer("iou"),
             "acc": get_scorer("localization_accuracy")},
    refit="iou",
)
search.fit(X.reshape(len(X), -1), y)
print(pd.DataFrame(search.cv_results_)[["params", "mean_test_iou",
                                        "mean_test_acc"]])
print("best:", search.best_params_)
