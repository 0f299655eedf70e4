"""skorch callbacks the estimators use."""

import torch
from skorch.callbacks import Callback
from torch import nn

from .augment import ImageDataset

__all__ = ["PreciseBatchNorm"]


class PreciseBatchNorm(Callback):
    """Recompute batch-norm statistics with the final weights after training.

    During training, batch norm keeps running averages of each batch's mean and
    variance, computed with weights that kept changing; after a short training
    (few epochs, a small data set, a high learning rate) they lag the final
    weights and the network behaves differently in evaluation mode than it did
    in training. This callback runs the training images once more through the
    network, without gradients and without augmentation, and sets the
    statistics to their exact average under the final weights ("precise BN",
    Wu & Johnson, 2021).

    Parameters
    ----------
    max_samples : int, default=8192
        At most this many training images (drawn at random) are used.

    References
    ----------
    .. [1] Y. Wu and J. Johnson, "Rethinking 'Batch' in BatchNorm", 2021.
    """

    def __init__(self, max_samples=8192):
        self.max_samples = max_samples

    def on_train_end(self, net, X=None, y=None, **kwargs):
        module = net.module_
        norms = [m for m in module.modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm)
                 and m.track_running_stats]
        if not norms or not isinstance(X, torch.Tensor) or len(X) == 0:
            return
        dataset = ImageDataset(X)
        index = torch.randperm(len(X))[: self.max_samples]
        batch = len(X) if net.batch_size == -1 else net.batch_size
        momenta = [m.momentum for m in norms]
        training = module.training
        module.eval()
        for m in norms:
            m.reset_running_stats()
            m.momentum = None  # cumulative average over the batches
            m.train()
        try:
            with torch.no_grad():
                for start in range(0, len(index), batch):
                    chunk = index[start:start + batch]
                    if len(chunk) < 2:
                        continue
                    xb, _ = dataset.__getitems__(chunk.tolist())
                    net.infer(xb)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            module.train(training)
