"""
Real photographs (when the benchmark files are present)
=======================================================

Reads the Caltech-3 box annotations with
:func:`~sklocalize.datasets.load_boxes`, adds images without an object cut
beside the boxes of the original photos with
:func:`~sklocalize.datasets.background_crops` (every Caltech photo holds an
object) and trains briefly. The data are not
shipped with the package: this example looks for ``../shared/datasets/caltech3``
and says so when it is absent. Images: Caltech-101 (Fei-Fei, Fergus, Perona,
2004), CC BY 4.0.
"""

# %%
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from sklocalize import LocalizerEstimator
from sklocalize.datasets import background_crops, load_boxes
from sklocalize.plotting import plot_boxes

candidates = [Path("../shared/datasets/caltech3"),
              Path("../../shared/datasets/caltech3")]
root = next((p for p in candidates if p.is_dir()), None)
if root is None:
    print("The Caltech-3 files are not here; see ../shared/datasets/README.md.")
else:
    classes = ("airplane", "face", "motorcycle")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parts = [load_boxes(root / "annotations" / f"{c}.csv",
                            root / "images" / c, image_size=48)
                 for c in classes]
    X = np.concatenate([p[0] for p in parts])
    y = pd.concat([p[1] for p in parts], ignore_index=True)
    # images without an object (p_c = 0), cut from the full-size photos
    photos = [root / "images" / c / f for c, (_, part) in zip(classes, parts)
              for f in part["file"]]
    X_bg, y_bg = background_crops(X, y, images=photos, share=0.2, random_state=0)
    X = np.concatenate([X, X_bg])
    y = pd.concat([y, y_bg], ignore_index=True)
    rng = np.random.RandomState(0)
    idx = rng.permutation(len(X))
    train, test = idx[:300], idx[-12:]
    est = LocalizerEstimator(max_epochs=5, module__width=16,
                             module__stem_stride=2, random_state=0)
    est.fit(X[train], y.iloc[train])
    pred = est.predict(X[test])
    plot_boxes(X[test], est.encode_target(y.iloc[test]), pred, classes=est.classes_)
