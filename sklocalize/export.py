"""Export a fitted estimator's whole prediction as ONNX or TorchScript.

:class:`PredictionModule` is a torch module that does what ``predict`` and
``predict_proba`` do, from the images to the seed layout: the input scaling
(uint8 images divided by 255), the network, the test-time passes the
estimator is set to (``tta_flip``, ``tta_shift`` and, for landmarks,
``tta_reframe``, through :func:`sklocalize.tta.predict_outputs` and the task's
moves back), the sigmoid and softmax, and the decoding. :func:`to_onnx` and
:func:`to_torchscript` write it to a file that runs without sklocalize: with
``onnxruntime`` (or any ONNX runtime), or with ``torch.jit.load``.

The exported model takes one input, ``X``: a batch of images of the fitted
shape ``(n_samples, n_channels, height, width)`` in one dtype, uint8 or
float32 (``input_dtype``); the batch size is free. It returns two arrays,
float64: ``y``, what ``predict`` returns, and ``proba``, what
``predict_proba`` returns.

ONNX is written by torch's ``torch.export``-based exporter
(``torch.onnx.export(..., dynamo=True)``), which needs the ``onnx`` and
``onnxscript`` packages (``pip install "sklocalize[export]"``, which also
brings ``onnxruntime`` to check and run the file). The test-time moves
invert 2x2 matrices and re-framing takes a ``hypot``, which that exporter
cannot convert: the export writes their closed forms in ONNX in their place.
"""

import contextlib
import copy
import importlib.util
import json
import logging
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from ._docs import INPUT_DTYPE, fill_docstring
from .dataset import float_images
from .tta import predict_outputs

__all__ = ["PredictionModule", "to_onnx", "to_torchscript"]

_INPUT_DTYPES = ("uint8", "float32")
_INPUT_NAMES = ["X"]
_OUTPUT_NAMES = ["y", "proba"]
# the largest difference from the estimator's own predictions that ``check``
# accepts: float32 arithmetic done in another order or by another library
# (about 1e-6 here), not a different model
_TOLERANCE = 1e-4


# --------------------------------------------------------------------------
# the module


@fill_docstring(input_dtype=INPUT_DTYPE)
class PredictionModule(torch.nn.Module):
    """The whole prediction of a fitted estimator, as one torch module.

    ``forward`` takes a batch of images and returns what ``predict`` and
    ``predict_proba`` return, computed as they compute it: the network's
    outputs in float64 from the test-time passes on, the same functions
    moving them back (:func:`sklocalize.tta.predict_outputs`), turning them
    into probabilities and decoding them (the task's ``probabilities``,
    ``proba`` and ``decode``). Its
    operations can be traced (``torch.jit.trace``, ``torch.export``), with
    the batch size left free.

    Parameters
    ----------
    estimator : LocalizerEstimator or LandmarkEstimator
        Fitted. Its network is copied to the CPU, in evaluation mode; its
        test-time parameters (``tta_flip``, ``tta_shift``, ``tta_reframe``) and
        ``presence_threshold`` are read now.
    %(input_dtype)s

    Attributes
    ----------
    input_dtype : {"uint8", "float32"}
        The dtype of the images ``forward`` takes, ``input_dtype`` resolved.
    network : torch.nn.Module
        The copy of the estimator's network.
    task : LocalizationTask or LandmarkTask
        How the outputs move back (:mod:`sklocalize.tasks`).
    image_size : tuple of (height, width)
    threshold : float
        The estimator's ``presence_threshold``.
    tta : dict
        The test-time passes: keyword arguments of
        :func:`~sklocalize.tta.predict_outputs`.

    See Also
    --------
    to_onnx, to_torchscript : write it to a file.
    """

    def __init__(self, estimator, input_dtype=None):
        super().__init__()
        _check_estimator(estimator)
        self.input_dtype = _check_input_dtype(input_dtype, estimator)
        self.network = copy.deepcopy(estimator.module_).cpu().eval()
        self.network.requires_grad_(False)
        self.task = estimator._task()
        self.image_size = tuple(int(v) for v in estimator.image_size_)
        self.n_channels = int(estimator.n_channels_)
        self.pixel_scale = getattr(estimator, "pixel_scale_", "0-1")
        self.threshold = float(estimator.presence_threshold)
        self.tta = dict(estimator._tta_options())
        if self.tta.get("tta_flip"):
            self.task.check_flip("tta_flip")

    def _outputs(self, images):
        outputs = self.network(images)
        return tuple(o.double() for o in outputs[:self.task.n_predicted])

    def forward(self, X):
        """Predict the seed layout and the probabilities.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_channels, height, width)
            Images of the fitted shape, in ``input_dtype``.

        Returns
        -------
        y : torch.Tensor of shape (n_samples, n_outputs), float64
            What the estimator's ``predict`` returns.
        proba : torch.Tensor of shape (n_samples, n_proba), float64
            What its ``predict_proba`` returns.
        """
        outputs = predict_outputs(self._outputs, float_images(X), self.task,
                                  image_size=self.image_size, chunk=None,
                                  traceable=True,
                                  **self.tta)
        heads = self.task.probabilities(outputs)
        return self.task.decode(heads, self.threshold), self.task.proba(heads)

    def example_input(self, n_samples=2, seed=0):
        """Random images that ``forward`` takes, to trace and check it with.

        Smooth random shading (a random 4x4 grid, enlarged bilinearly) on the
        scale of fit, rather than pixel noise: on noise, re-framing fits wild
        zooms that amplify the rounding of float32 resampling far beyond what
        images show.

        Parameters
        ----------
        n_samples : int, default=2
            The batch size; 2, because ``torch.export`` would fix a size of 1
            in the graph.
        seed : int, default=0
            Seed of the random shading.

        Returns
        -------
        X : torch.Tensor of shape (n_samples, n_channels, height, width)
            In ``input_dtype``.
        """
        generator = torch.Generator().manual_seed(seed)
        grid = torch.rand(n_samples, self.n_channels, 4, 4, generator=generator)
        X = torch.nn.functional.interpolate(grid, size=self.image_size,
                                            mode="bilinear", align_corners=False)
        if self.input_dtype == "uint8":
            return X.mul(255).round().to(torch.uint8)
        return X.mul(255) if self.pixel_scale == "0-255" else X


class _DtypeChecked(torch.nn.Module):
    """A traced :class:`PredictionModule` that refuses images of another
    dtype than the one it was traced with: the trace of uint8 input divides
    by 255 whatever it is given, so 0-1 float images would come out 255
    times too dark, silently."""

    def __init__(self, traced, input_dtype: str):
        super().__init__()
        self.traced = traced
        self.uint8 = input_dtype == "uint8"

    def forward(self, X):
        if self.uint8 and X.dtype != torch.uint8:
            raise ValueError("This model takes uint8 images (0-255, scaled "
                             "inside); got " + str(X.dtype) + ". Pass "
                             "X.to(torch.uint8), or export with "
                             "input_dtype='float32'.")
        if not self.uint8 and X.dtype != torch.float32:
            raise ValueError("This model takes float32 images; got "
                             + str(X.dtype) + ". Pass X.to(torch.float32).")
        return self.traced(X)


def _metadata(estimator, model):
    """What a reader of the file needs besides the graph: the names behind
    the columns of ``y`` (``classes_``, or ``landmark_names_``, as given or
    learnt from a DataFrame's columns), the input dtype and the threshold of
    ``p``."""
    from . import __version__

    names = {"classes": getattr(estimator, "classes_", None),
             "landmark_names": getattr(estimator, "landmark_names_", None)}
    return {
        "estimator": type(estimator).__name__,
        "sklocalize_version": __version__,
        "input_dtype": model.input_dtype,
        "presence_threshold": model.threshold,
        **{k: np.asarray(v).tolist() for k, v in names.items() if v is not None},
    }


def _as_strings(metadata):
    """``metadata`` as ONNX keeps it: strings, anything else JSON-encoded."""
    return {k: v if isinstance(v, str) else json.dumps(v, default=str)
            for k, v in metadata.items()}


# --------------------------------------------------------------------------
# checks


def _check_estimator(estimator):
    """Raise unless ``estimator`` is one of the package's, fitted."""
    if not (callable(getattr(estimator, "_task", None))
            and callable(getattr(estimator, "_check_fitted", None))):
        raise TypeError(
            "estimator must be a fitted LocalizerEstimator or LandmarkEstimator; "
            f"got an object of type {type(estimator).__name__}."
        )
    estimator._check_fitted()


def _check_input_dtype(input_dtype, estimator):
    """``input_dtype`` checked against the scale the estimator was fitted on;
    None picks uint8 for a 0-1 scale, float32 for a 0-255 one."""
    scale = getattr(estimator, "pixel_scale_", "0-1")
    if input_dtype is None:
        return "uint8" if scale == "0-1" else "float32"
    if input_dtype not in _INPUT_DTYPES:
        raise ValueError(
            f"input_dtype must be 'uint8', 'float32' or None; got {input_dtype!r}."
        )
    if input_dtype == "uint8" and scale != "0-1":
        raise ValueError(
            f"input_dtype='uint8' scales the images to 0-1, but this "
            f"{type(estimator).__name__} was fitted on images on a {scale} "
            "scale; export with input_dtype='float32' and give it images on "
            "the scale of fit."
        )
    return input_dtype


def _check_path(path, suffix_hint):
    """``path`` as a Path to a file that can be written."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(
            f"path must be a str or path-like naming the file to write (e.g. "
            f"'model{suffix_hint}'); got an object of type {type(path).__name__}."
        )
    path = Path(path)
    if path.is_dir():
        raise ValueError(
            f"path must name a file to write (e.g. '{path / ('model' + suffix_hint)}'"
            f"); got {str(path)!r}, a folder."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"path names a file in a folder that does not exist: "
            f"{str(path.parent)!r} (from path={str(path)!r}); create the folder "
            "first."
        )
    return path


def _require(*packages):
    missing = [p for p in packages if importlib.util.find_spec(p) is None]
    if missing:
        raise ImportError(
            f"Exporting to ONNX needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed: "
            'pip install "sklocalize[export]".'
        )


def _check_parity(estimator, model, run, what):
    """Raise if ``run`` (the file written, run on a batch of images) differs
    from the estimator's ``predict`` and ``predict_proba`` beyond
    ``_TOLERANCE``."""
    # a batch of another size than the one traced: a size fixed in the
    # graph shows
    X = model.example_input(n_samples=3, seed=1)
    y_got, proba_got = (np.asarray(a) for a in run(X))
    y, proba = estimator.predict(X.numpy()), estimator.predict_proba(X.numpy())
    # p_c may differ only where the presence probability is on the threshold
    same = y[:, 0] == y_got[:, 0]
    on_threshold = np.abs(proba[:, 0] - model.threshold) <= _TOLERANCE
    differ = max(np.abs(proba_got - proba).max(),
                 np.abs(y_got[same] - y[same]).max(initial=0.0))
    if differ <= _TOLERANCE and (same | on_threshold).all():
        return
    off = {"tta_flip": False, "tta_shift": 0.0, "tta_reframe": 0}
    used = [k for k, v in model.tta.items() if v]
    hint = (f"Turn the test-time passes off (est.set_params("
            f"{', '.join(f'{k}={off[k]!r}' for k in used)})) and export "
            "again, or pass" if used else "Pass")
    raise RuntimeError(
        f"The {what} written differs from the estimator's predictions by up to "
        f"{differ:.3g} on random images (at most {_TOLERANCE:g} is accepted; "
        f"the presence decisions agree: {bool(same.all())}). {hint} check=False "
        "to keep the file as it is."
    )


# --------------------------------------------------------------------------
# ONNX


def _onnx_translations():
    """ONNX for the two operations of the test-time resampling that torch's
    exporter has no conversion for: the inverse of 2x2 matrices (closed
    form) and ``hypot``."""
    from onnxscript import opset18 as op

    def hypot(x, y):
        return op.Sqrt(op.Add(op.Mul(x, x), op.Mul(y, y)))

    def inverse_2x2(matrix):
        first, second = op.Constant(value_int=0), op.Constant(value_int=1)
        (a, b), (c, d) = ((op.Gather(row, first, axis=-1),
                           op.Gather(row, second, axis=-1))
                          for row in (op.Gather(matrix, first, axis=-2),
                                      op.Gather(matrix, second, axis=-2)))
        det = op.Sub(op.Mul(a, d), op.Mul(b, c))
        last, before_last = op.Constant(value_ints=[-1]), op.Constant(value_ints=[-2])

        def row(u, v):
            entries = [op.Unsqueeze(op.Div(e, det), last) for e in (u, v)]
            return op.Unsqueeze(op.Concat(*entries, axis=-1), before_last)

        return op.Concat(row(d, op.Neg(b)), row(op.Neg(c), a), axis=-2)

    return {torch.ops.aten.linalg_inv.default: inverse_2x2,
            torch.ops.aten.hypot.default: hypot}


@contextlib.contextmanager
def _quiet_exporter():
    """Silence what torch's ONNX exporter says that a user cannot act on: a
    log line for each torchvision operator when torchvision is not
    installed, and a deprecation inside ``torch.export``."""
    registration = logging.getLogger("torch.onnx._internal.exporter._registration")
    level = registration.level
    registration.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*LeafSpec.*",
                                    category=FutureWarning)
            # nan_to_num's default bounds in float64, cast on the way; the
            # points it guards are finite
            warnings.filterwarnings("ignore", message="overflow encountered in cast",
                                    category=RuntimeWarning, module="onnx_ir")
            yield
    finally:
        registration.setLevel(level)


@fill_docstring(input_dtype=INPUT_DTYPE)
def to_onnx(estimator, path, *, input_dtype=None, check=True):
    """Write a fitted estimator's whole prediction to an ONNX file.

    The model written takes a batch of images ``X`` of the fitted shape (any
    batch size) and returns ``y`` (what ``predict`` returns) and ``proba``
    (what ``predict_proba`` returns), float64; see :class:`PredictionModule`.
    It runs with ``onnxruntime``, without sklocalize or torch.

    Parameters
    ----------
    estimator : LocalizerEstimator or LandmarkEstimator
        Fitted. The test-time passes it is set to (``tta_flip``,
        ``tta_shift`` and ``tta_reframe``) are exported with it;
        change them first with ``set_params`` to export others.
    path : str or path-like
        The file to write (``.onnx`` by convention); its folder must exist.
    %(input_dtype)s
    check : bool, default=True
        Run the file written with ``onnxruntime`` on random images and raise
        a RuntimeError where it differs from the estimator's predictions by
        more than 1e-4, so that an operation the exporter converts otherwise
        cannot go unnoticed; it needs ``onnxruntime`` and takes a fraction of
        a second.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    ImportError
        Without ``onnx`` and ``onnxscript`` (or ``onnxruntime`` with
        ``check``): ``pip install "sklocalize[export]"``.

    See Also
    --------
    to_torchscript : the same module as TorchScript.

    Notes
    -----
    torch's ``torch.export``-based ONNX exporter writes the file (the legacy
    TorchScript-based one has no conversion for the matrix inverse of the
    test-time resampling). The weights are kept in the file itself, unless
    the network is larger than ONNX's 2 GB limit: then they go to a second
    file beside it, which must travel with it.
    """
    _check_estimator(estimator)
    path = _check_path(path, ".onnx")
    _require("onnx", "onnxscript", *(["onnxruntime"] if check else []))
    model = PredictionModule(estimator, input_dtype=input_dtype).eval()
    with torch.no_grad(), _quiet_exporter():
        program = torch.onnx.export(
            model, (model.example_input(),), dynamo=True,
            dynamic_shapes={"X": {0: torch.export.Dim("batch", min=1)}},
            custom_translation_table=_onnx_translations(),
            input_names=_INPUT_NAMES, output_names=_OUTPUT_NAMES, verbose=False)
        program.model.metadata_props.update(_as_strings(_metadata(estimator, model)))
        program.save(path, external_data=False)
        if check:
            import onnxruntime

            session = onnxruntime.InferenceSession(
                str(path), providers=["CPUExecutionProvider"])
            _check_parity(estimator, model,
                          lambda X: session.run(None, {"X": X.numpy()}),
                          "ONNX model")
    return path


# --------------------------------------------------------------------------
# TorchScript


@fill_docstring(input_dtype=INPUT_DTYPE)
def to_torchscript(estimator, path, *, input_dtype=None, check=True):
    """Write a fitted estimator's whole prediction to a TorchScript file.

    The model written (``torch.jit.trace`` of :class:`PredictionModule`)
    takes a batch of images ``X`` of the fitted shape (any batch size) and
    returns ``y`` (what ``predict`` returns) and ``proba`` (what
    ``predict_proba`` returns), float64 tensors. ``torch.jit.load`` reads it
    without sklocalize.

    Parameters
    ----------
    estimator : LocalizerEstimator or LandmarkEstimator
        Fitted. The test-time passes it is set to (``tta_flip``,
        ``tta_shift`` and ``tta_reframe``) are exported with it;
        change them first with ``set_params`` to export others.
    path : str or path-like
        The file to write (``.pt`` by convention); its folder must exist.
    %(input_dtype)s
    check : bool, default=True
        Load the file written and raise a RuntimeError where its outputs on
        random images, in a batch of another size than the one traced, differ
        from the estimator's predictions by more than 1e-4, so that a size
        the trace fixed cannot go unnoticed.

    Returns
    -------
    path : pathlib.Path
        The file written.

    See Also
    --------
    to_onnx : the same module as ONNX.

    Notes
    -----
    torch deprecates TorchScript in favour of ``torch.export``; ONNX is the
    format to prefer for serving.
    """
    _check_estimator(estimator)
    path = _check_path(path, ".pt")
    model = PredictionModule(estimator, input_dtype=input_dtype).eval()
    with torch.no_grad(), warnings.catch_warnings():
        # constants the trace records on purpose (the image size, the moves)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, model.example_input(), check_trace=False)
        # a trace keeps the scaling of the dtype it saw: refuse the other
        traced = torch.jit.script(_DtypeChecked(traced, model.input_dtype))
        torch.jit.save(traced, path, _extra_files={
            "metadata.json": json.dumps(_metadata(estimator, model), default=str)})
        if check:
            loaded = torch.jit.load(path)
            _check_parity(estimator, model,
                          lambda X: [t.numpy() for t in loaded(X)],
                          "TorchScript model")
    return path
