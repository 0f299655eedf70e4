"""The torch datasets that feed the networks, a batch at a time.

(As ``skorch.dataset`` beside ``sklearn.datasets``: this module holds the
torch ``Dataset`` classes the estimators train and predict with;
:mod:`sklocalize.datasets` holds the data sets to generate or load.)

:class:`ImageDataset` holds the images as one tensor (uint8 or float32, shared
with the caller's array where possible, never written to) and serves whole
batches through ``__getitems__``: one indexing operation and one conversion to
float per batch instead of per-sample indexing and collation (see skorch issue
#1100); with per-image weights a batch's target is the pair ``(y, weight)``.
The DataLoader is given :func:`collate_batch`, which passes the batch through
unchanged. :class:`AugmentedDataset` sends each training batch through
an :class:`~sklocalize.augment.Augmenter`.
"""

import inspect

import numpy as np
import skorch.dataset
import torch
from skorch.utils import data_from_dataset
from torch.utils.data import Subset, get_worker_info

__all__ = [
    "AugmentedDataset",
    "ImageDataset",
    "collate_batch",
    "float_images",
    "is_batched_dataset",
]


def float_images(X):
    """uint8 images scaled to 0-1 as float32; float images unchanged.

    Parameters
    ----------
    X : torch.Tensor of shape (n, C, H, W)

    Returns
    -------
    X : torch.Tensor
        A new tensor for uint8 input; ``X`` itself otherwise.
    """
    if X.dtype == torch.uint8:
        return X.to(torch.float32).div_(255.0)
    return X


class ImageDataset(skorch.dataset.Dataset):
    """Images and (optionally) targets and per-image weights, served a batch
    at a time.

    A batch of consecutive rows (prediction's, in order) is a view of ``X``,
    not a copy; any other batch is gathered in one indexing operation. A
    ``skorch.dataset.Dataset``, so that skorch's callbacks (``EpochScoring``)
    can read its ``X`` and ``y``.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_channels, height, width)
        uint8 (scaled to 0-1 per batch) or float32 images.
    y : torch.Tensor of shape (n_samples, n_outputs) or None
        float32 targets.
    sample_weight : torch.Tensor of shape (n_samples,) or None
        Per-image weights of the loss; with them, a batch's target is the
        pair ``(y, sample_weight)`` (see ``ImageEstimator.get_loss``).
    """

    def __init__(self, X, y=None, sample_weight=None):
        super().__init__(X, y, length=len(X))
        self.sample_weight = sample_weight

    def __len__(self):
        return len(self.X)

    def _targets(self, index, n):
        if self.y is None:
            return torch.zeros(n, dtype=torch.float32)  # skorch's placeholder
        if self.sample_weight is None:
            return self.y[index]
        return self.y[index], self.sample_weight[index]

    def __getitem__(self, i):
        if self.y is None:
            return float_images(self.X[i]), torch.zeros((), dtype=torch.float32)
        return float_images(self.X[i]), self._targets(i, 1)

    def __getitems__(self, indices):
        index = np.asarray(indices, dtype=np.int64)
        if len(index) and (np.diff(index) == 1).all():
            # consecutive (prediction, in order): a view, not a copy of the batch
            index = slice(int(index[0]), int(index[-1]) + 1)
        else:
            index = torch.from_numpy(index)
        return float_images(self.X[index]), self._targets(index, len(indices))


def collate_batch(batch):
    """Collate function for datasets whose ``__getitems__`` builds the batch.

    Parameters
    ----------
    batch : tuple of (X, y)
        What the dataset's ``__getitems__`` returned.

    Returns
    -------
    batch : tuple of (X, y)
        The same, unchanged.
    """
    return batch


def is_batched_dataset(dataset):
    """Whether ``dataset`` (or the dataset under a Subset) builds whole batches.

    Parameters
    ----------
    dataset : torch Dataset

    Returns
    -------
    batched : bool
    """
    while isinstance(dataset, (Subset, AugmentedDataset)):
        dataset = dataset.dataset
    return isinstance(dataset, ImageDataset)


class AugmentedDataset(skorch.dataset.Dataset):
    """A batched dataset whose batches go through an augmenter.

    Its ``X`` and ``y`` are those of the dataset it wraps, as given (for
    skorch's callbacks, which read them).

    Parameters
    ----------
    dataset : ImageDataset or Subset of one
    augmenter : callable
        ``augmenter(X, y, task, generator=None) -> (X, y)``, e.g. an
        :class:`~sklocalize.augment.Augmenter`; one without the ``generator``
        argument draws from torch's global generator.
    task : LocalizationTask or LandmarkTask
        How the targets move with the pixels (see :mod:`sklocalize.tasks`).
    generator : torch.Generator, default=None
        Where the augmenter draws its random numbers (the fit's own, so that
        fits in several threads do not share torch's global generator). In a
        DataLoader's worker process each worker draws from a generator seeded
        with its own seed, which the DataLoader derives from its generator.
    """

    def __init__(self, dataset, augmenter, task, generator=None):
        self.dataset = dataset
        self.augmenter = augmenter
        self.task = task
        self.generator = generator
        # an augmenter of the user's may not take the generator
        self._takes_generator = (
            "generator" in inspect.signature(augmenter).parameters)

    @property
    def X(self):
        return data_from_dataset(self.dataset)[0]

    @property
    def y(self):
        return data_from_dataset(self.dataset)[1]

    def __len__(self):
        return len(self.dataset)

    def __getitem__(self, i):
        X, y = self.__getitems__([i])
        if isinstance(y, tuple):
            return X[0], tuple(part[0] for part in y)
        return X[0], y[0]

    def _generator(self):
        worker = get_worker_info()
        if worker is None:
            return self.generator
        if getattr(self, "_worker", None) != worker.id:  # this worker's copy
            self._worker = worker.id
            self._worker_generator = torch.Generator().manual_seed(worker.seed)
        return self._worker_generator

    def __getitems__(self, indices):
        X, y = self.dataset.__getitems__(indices)
        weight = None
        if isinstance(y, tuple):  # (targets, sample weights)
            y, weight = y
        kwargs = {"generator": self._generator()} if self._takes_generator else {}
        X, y = self.augmenter(X, y, self.task, **kwargs)
        return (X, y) if weight is None else (X, (y, weight))
