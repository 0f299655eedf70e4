"""The parameter and attribute docs the two estimators share, written once
(as skorch derives its classifier's docs from ``NeuralNet``'s)."""

import re

# The parameters and attributes the two estimators share, written once: each
# estimator's docstring holds ``%(shared_parameters)s`` and
# ``%(shared_attributes)s`` where they go (see ``shared_docstring``).
SHARED_PARAMETERS = """\
    optimizer : torch optimizer class, default=torch.optim.AdamW
        Its arguments are routed with ``optimizer__<name>`` (e.g.
        ``optimizer__weight_decay``). AdamW, with the package's warm-up and
        cosine schedule (:class:`~sklocalize.callbacks.CosineLR`), trains
        these small networks from scratch without tuning.
    max_epochs : int, default=20
        Passes over the training data.
    train_split : None, float in (0, 1) or callable, default=None
        None trains on all the data, as scikit-learn estimators do (model
        selection is the job of ``cross_validate`` and ``GridSearchCV``). A
        float holds out that share as a shuffled validation set (seeded by
        ``random_state``), recorded in the history as ``valid_*``; or any
        skorch ``train_split`` callable (e.g. ``skorch.dataset.ValidSplit``).
    callbacks : list of (name, callback) or callbacks, default=None
        skorch callbacks, e.g. ``[("stop", EarlyStopping(patience=3))]`` with a
        ``train_split``; their parameters are routed with
        ``callbacks__<name>__<param>``. They run beside the built-in ones
        (``lr_schedule``, ``precise_bn``, the loss terms' scoring); a skorch
        ``LRScheduler`` among them replaces the built-in cosine schedule.
    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights.
    verbose : int, default=0
        0: silent, as scikit-learn estimators are. 1: a table of the losses
        after each epoch. 2: also a progress bar over the batches.
    device : str or torch.device, default="cpu"
        Where to train and predict, e.g. ``"cuda"``; the CPU works everywhere.
    precision : {"float32", "bfloat16"}, default="float32"
        The arithmetic of the network's forward and backward passes.
        ``"bfloat16"``: mixed precision, the convolutions and linear layers
        under ``torch.autocast`` in bfloat16 (weights, optimizer, batch-norm
        statistics, losses and decoding stay float32), on the CPU or a GPU
        that supports bfloat16 (:ref:`precision`). ``"float32"``, because
        bfloat16 pays only on hardware with bfloat16 matrix units (recent
        GPUs, CPUs with AMX); on a CPU with AVX512-BF16 alone it was slower
        (see :ref:`bench-flops`). Exports are float32 either way.
    random_state : int, RandomState instance or None, default=None
        Seeds the weights, the shuffling, the augmentation and the validation
        split. An int makes fits reproducible; the global torch RNG is left as
        it was.
    backbone : {"scratch", "mobilenet_v2", "efficientnet_lite0"}, default="scratch"
        The network's trunk: the package's own, trained from scratch, or an
        ImageNet one, MobileNetV2 (torchvision's layout) or
        EfficientNet-Lite0 (TensorFlow's model, EfficientNet-PyTorch's
        layout), each with its input normalisation inside: pass 0-1 or uint8
        images as usual. ``"scratch"``, because every default here was
        chosen with it; a pretrained trunk is for small sets of real photos.
    backbone_weights : "imagenet", str, path-like, dict or None, default="imagenet"
        The pretrained trunk's starting weights, loaded at ``fit``:
        ``"imagenet"`` (the trunk's ImageNet file, found offline; see
        :func:`sklocalize.nn.backbones.resolve_weights`), a state-dict file
        (read with ``weights_only=True``, its keys and shapes checked), a
        state dict, or None for random weights. Unused with
        ``backbone="scratch"``.
    backbone_lr_scale : float, default=1.0
        A pretrained trunk learns at ``lr`` times this (a ``trunk.*``
        parameter group, unless ``optimizer__param_groups`` is given). 1.0,
        because the learning-rate warm-up already spares the pretrained
        features the new heads' first gradients and a trunk at a fraction of
        the heads' rate learned markedly slower on photos unlike ImageNet's
        (see :ref:`bench-pretrained-ablation`). Lower it to keep the features
        closer to ImageNet's, or freeze the trunk for the first epochs with
        skorch's ``Freezer`` (see :ref:`pretrained-trunks`).
    image_shape : tuple of int, default=None
        ``(n_channels, height, width)`` or ``(height, width)``: how a 2-D
        ``X`` of shape ``(n_samples, n_features)`` is laid out (C-order), so
        that scikit-learn transformers can precede the estimator in a Pipeline.
        None: ``X`` holds images.
    presence_threshold : float in (0, 1), default=0.5
        ``predict`` sets the presence entry to 1 where the presence
        probability is at least this; 0.5 is the decision of the presence
        head's cross-entropy.
    **kwargs
        Any other skorch ``NeuralNet`` parameter (``iterator_train__*``,
        ``dataset``, ``compile``, ...).
"""

SHARED_ATTRIBUTES = """\
    n_channels_ : int
        Image channels seen at fit.
    image_size_ : tuple of (height, width)
        Image size seen at fit; ``predict`` needs the same.
    n_features_in_ : int
        ``n_channels * height * width``.
    module_, criterion_, optimizer_ : torch objects
        The initialized components.
"""


# The ``input_dtype`` of the export functions and methods, written once.
INPUT_DTYPE = """\
input_dtype : {"uint8", "float32"} or None, default=None
    The dtype of the images the exported model takes: uint8 (divided by 255
    in the model, as ``predict`` does) or float32 (used as they are). None
    picks uint8 for an estimator fitted on a 0-1 scale, because images read
    from files are uint8, and float32 for one fitted on 0-255 floats.
"""


# The parameters and returns of the estimators' to_onnx and to_torchscript
EXPORT_PARAMETERS = """\
Parameters
----------
path : str or path-like
    The file to write.
""" + INPUT_DTYPE + """\
check : bool, default=True
    Compare the file's outputs with the estimator's on random images, so
    that a difference cannot go unnoticed.

Returns
-------
path : pathlib.Path
    The file written.
"""


def _dedent(text):
    lines = text.splitlines(keepends=True)
    margin = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "".join(line[margin:] for line in lines)


def fill_docstring(**parts):
    """A decorator that replaces each line ``%(name)s`` of a docstring with
    ``parts[name]``, indented as that line is."""
    def fill(obj):
        doc = obj.__doc__
        if doc is None:  # python -OO
            return obj
        for name, text in parts.items():
            doc = re.sub(rf"^( *)%\({name}\)s\n",
                         lambda m, text=text: "".join(
                             m.group(1) + line if line.strip() else line
                             for line in _dedent(text.rstrip("\n") + "\n")
                             .splitlines(keepends=True)),
                         doc, flags=re.MULTILINE)
        obj.__doc__ = doc
        return obj
    return fill


# Fills in an estimator's docstring with SHARED_PARAMETERS and
# SHARED_ATTRIBUTES (a class decorator).
shared_docstring = fill_docstring(shared_parameters=SHARED_PARAMETERS,
                                  shared_attributes=SHARED_ATTRIBUTES)
