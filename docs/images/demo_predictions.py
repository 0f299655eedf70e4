"""Draw ``docs/images/demo_predictions.png``, the README's picture.

Predictions beside the truth on held-out generated images: boxes above (as
``sklocalize demo`` trains its localizer: 15 epochs, ``module__width=16``,
without the demo's grid search), landmarks below (the demo's landmark
model). From the repository root::

    python docs/images/demo_predictions.py

It takes about a minute on 2 CPU cores. ``--epochs`` and ``--n-samples``
shorten it (the test suite draws the picture with one epoch).
"""

import argparse
from pathlib import Path


def draw(n_samples=1500, epochs=15, n_images=12):
    """Train both estimators on generated data; return the figure."""
    import matplotlib.pyplot as plt

    from sklocalize import LandmarkEstimator, LocalizerEstimator
    from sklocalize.datasets import (
        FACE_FLIP_PAIRS,
        FACE_LANDMARKS,
        make_landmarks,
        make_localization,
    )
    from sklocalize.plotting import plot_boxes, plot_landmarks

    X, y = make_localization(n_samples=n_samples, image_size=32, n_classes=3,
                             random_state=0, as_frame=True)
    n_train = len(X) - n_images
    boxes = LocalizerEstimator(max_epochs=epochs, module__width=16,
                               random_state=0).fit(X[:n_train], y[:n_train])
    X_faces, y_faces = make_landmarks(n_samples=n_samples, image_size=32,
                                      random_state=0)
    points = LandmarkEstimator(max_epochs=epochs, batch_size=32, module__width=16,
                               flip_pairs=list(FACE_FLIP_PAIRS),
                               landmark_names=list(FACE_LANDMARKS),
                               random_state=0).fit(X_faces[:n_train],
                                                   y_faces[:n_train])

    fig = plt.figure(figsize=(10, 7.8), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=(4.2, 3.6), hspace=0.04)
    X_test, y_test = X[n_train:], boxes.encode_target(y[n_train:])
    plot_boxes(X_test, y_test, boxes.predict(X_test), classes=boxes.classes_,
               presence_proba=boxes.predict_proba(X_test)[:, 0],
               axes=top.subplots(2, n_images // 2),
               title="Boxes: truth green and dashed, prediction red")
    X_test, y_test = X_faces[n_train:], y_faces[n_train:]
    plot_landmarks(X_test, y_test, points.predict(X_test),
                   axes=bottom.subplots(2, n_images // 2),
                   title="Landmarks: truth green, prediction red, error yellow")
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path,
                        default=Path(__file__).with_suffix(".png"))
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--n-samples", type=int, default=1500)
    args = parser.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    fig = draw(args.n_samples, args.epochs)
    fig.savefig(args.out, dpi=90)
    print(f"Wrote {args.out}.")
    return fig


if __name__ == "__main__":
    main()
