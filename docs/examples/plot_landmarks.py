"""
Landmarks on synthetic faces
============================

:class:`~sklocalize.LandmarkEstimator` with a heatmap head, wing loss and
test-time flip, evaluated with the normalised mean error and a CED curve.
"""

# %%
import matplotlib.pyplot as plt

from sklocalize import LandmarkEstimator
from sklocalize.datasets import FACE_FLIP_PAIRS, make_landmarks
from sklocalize.metrics import failure_rate, landmark_nme
from sklocalize.plotting import CEDDisplay, plot_landmarks

X, y = make_landmarks(n_samples=600, image_size=32, random_state=0)
X_test, y_test = make_landmarks(n_samples=200, image_size=32, random_state=1)
est = LandmarkEstimator(max_epochs=10, batch_size=32, module__width=16,
                        flip_pairs=list(FACE_FLIP_PAIRS), tta_flip=True,
                        random_state=0).fit(X, y)
pred = est.predict(X_test)
print(f"NME {landmark_nme(y_test, pred):.3f}, failures "
      f"{failure_rate(y_test, pred):.3f}")

# %%
fig, _ = plot_landmarks(X_test[:8], y_test[:8], pred[:8], n_cols=8)

# %%
CEDDisplay.from_predictions(y_test, pred, name="LandmarkEstimator")
plt.show()
