"""
The two target layouts
======================

A localization target ``[p_c, b_x, b_y, b_h, b_w, c_1, ..., c_K]`` and a
landmark target ``[p, x_1, y_1, ..., x_L, y_L]``, drawn over generated images.
"""

# %%
import matplotlib.pyplot as plt

from sklocalize.datasets import FACE_LANDMARKS, make_landmarks, make_localization
from sklocalize.plotting import plot_boxes, plot_landmarks

X, y = make_localization(n_samples=6, image_size=32, n_classes=3, random_state=2)
print("first row:", y[0].round(3))
fig, _ = plot_boxes(X, y, classes=["square", "circle", "triangle"], n_cols=6)

# %%
# Landmarks: six named points, some images without a face.
X, y = make_landmarks(n_samples=6, image_size=32, random_state=1)
print("points:", ", ".join(FACE_LANDMARKS))
fig, _ = plot_landmarks(X, y, n_cols=6)
plt.show()
