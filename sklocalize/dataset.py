"""The torch datasets that feed the networks, a batch at a time.

(As ``skorch.dataset`` beside ``sklearn.datasets``: this module holds the
torch ``Dataset`` classes the estimators train and predict with;
:mod:`sklocalize.datasets` holds the data sets to generate or load.)

:class:`ImageDataset` holds the images as one tensor (uint8 or float32, shared
with the caller's array where possible, never written to) and serves whole
batches through ``__getitems__``: one indexing operation and one conversion to
float per batch instead of per-sample indexing and collation (see skorch issue
#1100). The DataLoader is given :func:`collate_batch`, which passes the batch
through unchanged. :class:`AugmentedDataset` sends each training batch through
an :class:`~sklocalize.augment.Augmenter`.
"""

import numpy as np
import skorch.dataset
import torch
from skorch.utils import data_from_dataset
from torch.utils.data import Subset

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
    """Images and (optionally) targets, served a batch at a time.

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
    """

    def __init__(self, X, y=None):
        super().__init__(X, y, length=len(X))

    def __len__(self):
        return len(self.X)

    def _targets(self, index, n):
        if self.y is None:
            return torch.zeros(n, dtype=torch.float32)  # skorch's placeholder
        return self.y[index]

    def __getitem__(self, i):
        y = torch.zeros((), dtype=torch.float32) if self.y is None else self.y[i]
        return float_images(self.X[i]), y

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
        ``augmenter(X, y, task) -> (X, y)``, e.g. an
        :class:`~sklocalize.augment.Augmenter`.
    task : LocalizationTask or LandmarkTask
        How the targets move with the pixels (see :mod:`sklocalize.tasks`).
    """

    def __init__(self, dataset, augmenter, task):
        self.dataset = dataset
        self.augmenter = augmenter
        self.task = task

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
        return X[0], y[0]

    def __getitems__(self, indices):
        X, y = self.dataset.__getitems__(indices)
        return self.augmenter(X, y, self.task)
