"""
Landmarks on synthetic faces
============================

:class:`~sklocalize.LandmarkEstimator` with a heatmap head, wing loss and
test-time flip, evaluated with the normalised mean error and a CED curve.
As for real faces, the errors are divided by the distance between the eyes
(the inter-ocular NME): ``normalize=(0, 1)``, the indices of the two eyes.
"""

# %%
import matplotlib.pyplot as plt

from sklocalize import LandmarkEstimator
from sklocalize.datasets import FACE_FLIP_PAIRS, FACE_LANDMARKS, make_landmarks
from sklocalize.metrics import failure_rate, landmark_nme
from sklocalize.plotting import CEDDisplay, plot_landmarks

X, y = make_landmarks(n_samples=600, image_size=32, random_state=0)
X_test, y_test = make_landmarks(n_samples=200, image_size=32, random_state=1)
est = LandmarkEstimator(max_epochs=10, batch_size=32, module__width=16,
                        landmark_names=list(FACE_LANDMARKS),
                        flip_pairs=list(FACE_FLIP_PAIRS), tta_flip=True,
                        random_state=0).fit(X, y)
pred = est.predict(X_test)
eyes = (FACE_LANDMARKS.index("left_eye"), FACE_LANDMARKS.index("right_eye"))
print(f"inter-ocular NME {landmark_nme(y_test, pred, normalize=eyes):.3f}, "
      f"failures (NME > 0.3) "
      f"{failure_rate(y_test, pred, normalize=eyes, threshold=0.3):.3f}")

# %%
fig, _ = plot_landmarks(X_test[:8], y_test[:8], pred[:8], n_cols=8,
                        title="truth green, prediction red, error yellow")

# %%
# The CED: the share of faces whose inter-ocular NME is at most x; the axis
# names the normalisation. Real faces are measured up to 0.1, the usual
# failure threshold; these faces are small (their eyes a few pixels apart in
# 32x32 images), so their curve runs to 0.3.
CEDDisplay.from_estimator(est, X_test, y_test, normalize=eyes, max_error=0.3)
plt.show()
