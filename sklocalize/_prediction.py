"""Prediction for the estimators: the test-time passes, the decoded outputs,
DataFrames in each photo's pixels, and the wrappers of save, load and export.

:class:`PredictionMixin` is the half of the estimators' base that runs a
fitted network; :class:`~sklocalize._base.ImageEstimator` is the half that
builds and trains it. The mixin asks the estimator for ``_task()``,
``_check_X``, ``_check_fitted``, ``forward_iter`` and its fitted
``image_size_``.
"""

import contextlib

import torch
from torch.utils.data import Dataset

from . import persistence
from ._docs import EXPORT_PARAMETERS, fill_docstring
from .dataset import ImageDataset
from .tta import predict_outputs

__all__ = ["PredictionMixin", "float32_default"]


def _describe(outputs):
    if isinstance(outputs, tuple):
        return f"a tuple of {len(outputs)}"
    return type(outputs).__name__


@contextlib.contextmanager
def float32_default():
    """torch's default dtype float32 for the block, restored after."""
    before = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    try:
        yield
    finally:
        torch.set_default_dtype(before)


class PredictionMixin:
    """Prediction, persistence and export for a fitted image estimator."""

    def _tta_options(self):
        """The test-time augmentation, as keyword arguments of
        :func:`sklocalize.tta.predict_outputs`."""
        return {name: getattr(self, name)
                for name in ("tta_flip", "tta_shift", "tta_reframe")}

    def _heads(self, X):
        """The heads' probabilities on ``X`` under test-time augmentation
        (``task.probabilities``), float64 tensors on the CPU."""
        self._check_fitted()
        task = self._task()
        if isinstance(X, Dataset):
            # a dataset comes from skorch's callbacks (EpochScoring), which
            # may replay the outputs of the epoch's own pass through
            # forward_iter: score those, without test-time augmentation
            outputs = self._forward(X, task.n_predicted)
        else:
            with float32_default():
                outputs = predict_outputs(
                    lambda images: self._forward(images, task.n_predicted),
                    self._check_X(X, reset=False), task,
                    image_size=self.image_size_, **self._tta_options())
        return task.probabilities(outputs)

    def _predict_proba(self, X):
        """``predict_proba`` (``task.proba``), a float64 array."""
        return self._task().proba(self._heads(X)).numpy()

    def _predict(self, X):
        """``predict`` (``task.decode``), a float64 array."""
        return self._task().decode(self._heads(X), self.presence_threshold).numpy()

    def _forward(self, X, n_outputs):
        """The first ``n_outputs`` module outputs on images ``X`` (a tensor,
        or a dataset), float64 on the CPU.

        Batch by batch, so that outputs prediction does not read (the landmark
        heatmaps, which training needs) are never gathered.
        """
        kept = []
        with torch.no_grad():
            dataset = X if isinstance(X, Dataset) else ImageDataset(X)
            for outputs in self.forward_iter(dataset):
                if not isinstance(outputs, tuple) or len(outputs) < n_outputs:
                    raise TypeError(
                        f"The module must return a tuple of at least "
                        f"{n_outputs} tensors (see sklocalize.nn); got "
                        f"{_describe(outputs)}."
                    )
                kept.append(outputs[:n_outputs])
        return tuple(torch.cat(parts).detach().double() for parts in zip(*kept))

    def _frame_pixels(self, pixels, image_sizes):
        """The image size(s) ``predict_frame`` gives pixels of: each photo's
        (``image_sizes``), the fitted size (``pixels``), or None (relative)."""
        if image_sizes is None:
            return self.image_size_ if pixels else None
        if pixels:
            raise ValueError(
                "Give pixels=True (pixels of the fitted image size) or "
                "image_sizes (pixels of each original photo), not both."
            )
        return image_sizes

    @staticmethod
    def _with_files(frame, image_sizes):
        """``frame`` with the ``file`` column of ``image_sizes`` first, when it
        has one (the ``info`` of ``load_images``)."""
        if getattr(image_sizes, "columns", None) is not None and (
                "file" in image_sizes.columns):
            frame.insert(0, "file", image_sizes["file"].to_numpy())
        return frame

    def save(self, path):
        """Save the fitted estimator to one file that loads without running
        code (see :mod:`sklocalize.persistence`).

        Parameters
        ----------
        path : str or path-like

        Returns
        -------
        path : pathlib.Path
            The file written.
        """
        return persistence.save(self, path)

    @classmethod
    def load(cls, path, **params):
        """Load an estimator of this class saved by :meth:`save`.

        Parameters
        ----------
        path : str or path-like
        **params
            Parameters to set instead of the saved ones (e.g. ``device="cpu"``).

        Returns
        -------
        estimator : object
            Fitted, predicting as the estimator saved did.
        """
        return persistence.load(path, expected=cls, **params)

    @fill_docstring(export_parameters=EXPORT_PARAMETERS)
    def to_onnx(self, path, *, input_dtype=None, check=True):
        """Write the whole prediction to an ONNX file (``.onnx`` by
        convention), which runs without sklocalize (see
        :func:`sklocalize.export.to_onnx`).

        %(export_parameters)s
        """
        from .export import to_onnx

        return to_onnx(self, path, input_dtype=input_dtype, check=check)

    @fill_docstring(export_parameters=EXPORT_PARAMETERS)
    def to_torchscript(self, path, *, input_dtype=None, check=True):
        """Write the whole prediction to a TorchScript file (``.pt`` by
        convention), which ``torch.jit.load`` reads without sklocalize (see
        :func:`sklocalize.export.to_torchscript`).

        %(export_parameters)s
        """
        from .export import to_torchscript

        return to_torchscript(self, path, input_dtype=input_dtype, check=check)
