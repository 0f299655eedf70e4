"""
Classification with localization in ten lines
=============================================

Train :class:`~sklocalize.LocalizerEstimator` on generated shapes, look at the
history of each loss term, the predictions and the IoU success curve.
"""

# %%
import matplotlib.pyplot as plt

from sklocalize import LocalizerEstimator
from sklocalize.datasets import make_localization
from sklocalize.metrics import class_accuracy, iou_score
from sklocalize.plotting import IoUSuccessDisplay, plot_boxes

X, y = make_localization(n_samples=600, image_size=32, random_state=0)
X_test, y_test = make_localization(n_samples=200, image_size=32, random_state=1)
est = LocalizerEstimator(max_epochs=8, module__width=16, random_state=0)
est.fit(X, y)
pred = est.predict(X_test)
print(f"IoU {iou_score(y_test, pred):.3f}, class accuracy "
      f"{class_accuracy(y_test, pred):.3f}")

# %%
# Each term of the masked loss is recorded per epoch.
history = est.history_
for term in ("presence", "box", "class"):
    plt.plot(history[:, f"train_{term}_loss"], label=term)
plt.xlabel("epoch")
plt.ylabel("loss term")
plt.legend()

# %%
fig, _ = plot_boxes(X_test[:8], y_test[:8], pred[:8], classes=["square", "circle"],
                    n_cols=8)

# %%
IoUSuccessDisplay.from_estimator(est, X_test, y_test)
plt.show()
