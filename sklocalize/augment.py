"""The training data pipeline: a batched image dataset.

:class:`ImageDataset` holds the images as one tensor (uint8 or float32, shared
with the caller's array where possible, never written to) and serves whole
batches through ``__getitems__``: one indexing operation and one conversion to
float per batch instead of per-sample indexing and collation (see skorch issue
#1100). The DataLoader is given :func:`collate_batch`, which passes the batch
through unchanged.
"""

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

__all__ = ["ImageDataset", "collate_batch", "is_batched_dataset"]


class ImageDataset(Dataset):
    """Images and (optionally) targets, served a batch at a time.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_channels, height, width)
        uint8 (scaled to 0-1 per batch) or float32 images.
    y : torch.Tensor of shape (n_samples, n_outputs) or None
        float32 targets.
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = y

    def __len__(self):
        return len(self.X)

    def _images(self, index):
        xb = self.X[index]
        if xb.dtype == torch.uint8:
            return xb.to(torch.float32).div_(255.0)
        return xb

    def _targets(self, index, n):
        if self.y is None:
            return torch.zeros(n, dtype=torch.float32)  # skorch's placeholder
        return self.y[index]

    def __getitem__(self, i):
        y = torch.zeros((), dtype=torch.float32) if self.y is None else self.y[i]
        return self._images(i), y

    def __getitems__(self, indices):
        index = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        return self._images(index), self._targets(index, len(index))


def collate_batch(batch):
    """Collate function for datasets whose ``__getitems__`` builds the batch."""
    return batch


def is_batched_dataset(dataset):
    """Whether ``dataset`` (or the dataset under a Subset) builds whole batches."""
    while isinstance(dataset, Subset):
        dataset = dataset.dataset
    return isinstance(dataset, ImageDataset)
