"""
A folder of annotated photos
============================

The journey with your own photos: a folder of images of every size, a CSV of
boxes in each photo's pixels, :func:`~sklocalize.datasets.load_boxes` to read
them, :func:`~sklocalize.datasets.background_crops` for images without an
object (cut beside the boxes of the original photos, since every photo here
holds one), a short training, and the boxes drawn back on the photos in their
own pixels (:meth:`~sklocalize.LocalizerEstimator.predict_frame` with
``image_sizes``).

Where the Caltech-3 benchmark photos are present (``../shared/datasets``,
not shipped with the package; Caltech-101, Fei-Fei, Fergus, Perona, 2004,
CC BY 4.0), it reads them; elsewhere it first writes such a folder itself,
from generated images stretched to photo-like sizes, so that the page shows
the same steps wherever it is built.
"""

# %%
import tempfile
import warnings
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from PIL import Image

from sklocalize import LocalizerEstimator
from sklocalize.datasets import background_crops, load_boxes, make_localization


def write_photo_folder(folder, n_photos=120, seed=0):
    """Generated images saved as JPEG photos of assorted sizes, and a CSV of
    their boxes in pixels (``file,x1,y1,x2,y2,label``), as a labelling tool
    writes them."""
    rng = np.random.RandomState(seed)
    X, y = make_localization(n_samples=n_photos, image_size=64, n_classes=2,
                             empty_fraction=0.0, as_frame=True, random_state=seed)
    rows = []
    for i, (image, (_, target)) in enumerate(zip(X, y.iterrows())):
        width, height = rng.randint(160, 320), rng.randint(120, 240)
        pixels = (np.moveaxis(image, 0, -1) * 255).astype(np.uint8)
        photo = Image.fromarray(pixels.squeeze(-1) if pixels.shape[-1] == 1
                                else pixels)
        photo.convert("RGB").resize((width, height)).save(folder / f"{i:03d}.jpg")
        x1 = (target["b_x"] - target["b_w"] / 2) * width
        y1 = (target["b_y"] - target["b_h"] / 2) * height
        rows.append([f"{i:03d}.jpg", x1, y1, x1 + target["b_w"] * width,
                     y1 + target["b_h"] * height, target["label"]])
    pd.DataFrame(rows).to_csv(folder / "boxes.csv", header=False, index=False)
    return folder / "boxes.csv", folder


candidates = [Path("../shared/datasets/caltech3"),
              Path("../../shared/datasets/caltech3")]
root = next((p for p in candidates if p.is_dir()), None)
if root is not None:
    classes = ("airplane", "face", "motorcycle")
    annotations = [root / "annotations" / f"{c}.csv" for c in classes]
    folders = [root / "images" / c for c in classes]
else:
    csv, folder = write_photo_folder(Path(tempfile.mkdtemp()))
    annotations, folders = [csv], [folder]

# %%
# Read the photos (resized to 48 pixels for this short run) with their boxes,
# relative to each photo; ``y`` keeps each photo's file and size.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # a Caltech box or two clipped to its photo
    parts = [load_boxes(a, f, image_size=48) for a, f in zip(annotations, folders)]
X = np.concatenate([p[0] for p in parts])
y = pd.concat([p[1] for p in parts], ignore_index=True)
photos = [f / name for f, (_, part) in zip(folders, parts) for name in part["file"]]
print(f"{len(X)} photos, classes {sorted(y['label'].unique())}")

# %%
# Every photo holds an object, so the presence head needs images without one:
# crops beside the boxes, cut from the full-size photos.
X_bg, y_bg = background_crops(X, y, images=photos, share=0.2, random_state=0)
X_all = np.concatenate([X, X_bg])
y_all = pd.concat([y, y_bg], ignore_index=True)

rng = np.random.RandomState(0)
idx = rng.permutation(len(X))
train, test = idx[:-6], idx[-6:]
train = np.concatenate([train, len(X) + np.arange(len(X_bg))])
est = LocalizerEstimator(max_epochs=8, module__width=16, module__stem_stride=2,
                         random_state=0)
est.fit(X_all[train], y_all.iloc[train])

# %%
# The boxes in each photo's own pixels, drawn on the photos.
boxes = est.predict_frame(X[test], box_format="xyxy", image_sizes=y.iloc[test])
fig, axes = plt.subplots(2, 3, figsize=(9, 5))
for ax, path, (_, row), (_, true) in zip(axes.flat, [photos[i] for i in test],
                                          boxes.iterrows(), y.iloc[test].iterrows()):
    photo = Image.open(path).convert("RGB")
    ax.imshow(photo)
    w, h = photo.size
    x1, y1 = (true["b_x"] - true["b_w"] / 2) * w, (true["b_y"] - true["b_h"] / 2) * h
    ax.add_patch(plt.Rectangle((x1, y1), true["b_w"] * w, true["b_h"] * h,
                               fill=False, color="lime", lw=2))
    if row["p_c"] == 1:
        ax.add_patch(plt.Rectangle((row["x1"], row["y1"]), row["x2"] - row["x1"],
                                   row["y2"] - row["y1"], fill=False, color="red",
                                   lw=2))
    ax.set_title(f"{row['label']} ({row['presence_proba']:.2f})", fontsize=9)
    ax.axis("off")
fig.suptitle("truth (green) and prediction (red), in each photo's pixels")
fig.tight_layout()
