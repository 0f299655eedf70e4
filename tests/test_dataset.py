"""The batched datasets."""

import pytest
import torch

from sklocalize.dataset import ImageDataset


def test_batched_dataset_scales_uint8():
    X = torch.full((3, 1, 16, 16), 255, dtype=torch.uint8)
    xb, yb = ImageDataset(X).__getitems__([0, 2])
    assert xb.dtype == torch.float32 and xb.max() == 1.0 and yb.shape == (2,)


@pytest.mark.parametrize("indices", [[3, 4, 5, 6], [6, 2, 4], [5], [2, 3, 5]])
def test_batched_dataset_serves_the_rows_asked_for(indices):
    X = torch.rand(8, 1, 4, 4)
    y = torch.rand(8, 5)
    xb, yb = ImageDataset(X, y).__getitems__(indices)
    torch.testing.assert_close(xb, X[indices])
    torch.testing.assert_close(yb, y[indices])
    # a run of consecutive rows (prediction's batches) is served without a copy
    consecutive = indices == list(range(indices[0], indices[-1] + 1))
    assert (xb.data_ptr() == X[indices[0]].data_ptr()) == consecutive
