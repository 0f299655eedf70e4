"""skorch callbacks the estimators use."""

import math
import re
import sys

import torch
from skorch.callbacks import (
    Callback,
    Checkpoint,
    EarlyStopping,
    EpochTimer,
    PassthroughScoring,
    PrintLog,
    ProgressBar,
)
from torch import nn

from .dataset import AugmentedDataset, ImageDataset, is_batched_dataset

__all__ = ["CosineLR", "PlainPrintLog", "PreciseBatchNorm"]


class CosineLR(Callback):
    """Linear warm-up, then cosine decay of the learning rate, per batch.

    The schedule spans each call of ``fit`` (or ``partial_fit``): its length is
    read at the start of training from ``max_epochs`` and the number of
    batches, so it follows ``set_params(max_epochs=...)``. The learning rate of
    each parameter group goes from ``initial_lr`` (the optimizer's ``lr``) up
    from ``warmup_factor * initial_lr`` over the first ``warmup`` share of the
    steps, then down along a half cosine to ``final_factor * initial_lr``. The
    rate of each batch is recorded in the history as ``lr``.

    Parameters
    ----------
    warmup : float, default=0.05
        Share of the steps spent warming up.
    warmup_factor : float, default=0.1
    final_factor : float, default=0.01

    References
    ----------
    .. [1] I. Loshchilov and F. Hutter, "SGDR: Stochastic Gradient Descent with
       Warm Restarts", ICLR 2017.
    """

    def __init__(self, warmup=0.05, warmup_factor=0.1, final_factor=0.01):
        self.warmup = warmup
        self.warmup_factor = warmup_factor
        self.final_factor = final_factor

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.step_ = 0
        self.total_ = None
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", group["lr"])

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_ is None and dataset_train is not None:
            batch = net.batch_size if net.batch_size > 0 else len(dataset_train)
            per_epoch = max(1, -(-len(dataset_train) // batch))
            self.total_ = max(1, net.max_epochs * per_epoch)

    def factor(self, step, total):
        """The multiplier of the initial learning rate at ``step`` of ``total``."""
        t = min(step / total, 1.0)
        if self.warmup > 0 and t < self.warmup:
            return self.warmup_factor + (1 - self.warmup_factor) * t / self.warmup
        span = max(1.0 - self.warmup, 1e-12)
        progress = (t - self.warmup) / span
        cosine = 0.5 * (1 + math.cos(math.pi * progress))
        return self.final_factor + (1 - self.final_factor) * cosine

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training or self.total_ is None:
            return
        f = self.factor(self.step_, self.total_)
        for group in net.optimizer_.param_groups:
            group["lr"] = group["initial_lr"] * f
        net.history.record_batch("lr", net.optimizer_.param_groups[0]["lr"])
        self.step_ += 1


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class PlainPrintLog(PrintLog):
    """skorch's ``PrintLog`` (the table of each epoch's losses), without its
    colour codes when it prints to a standard output that is not a terminal
    (a log file, a pipe, a notebook's captured output), where they would
    show as ``\x1b[32m`` litter. Its parameters are ``PrintLog``'s."""

    def _sink(self, text, verbose):
        isatty = getattr(sys.stdout, "isatty", None)
        if self.sink is print and not (isatty is not None and isatty()):
            text = _ANSI.sub("", text)
        super()._sink(text, verbose)


def _keeps_epoch_weights(net):
    """Whether one of ``net``'s callbacks keeps the weights of an epoch to
    save or restore later: skorch's ``Checkpoint`` (and its subclasses), or
    ``EarlyStopping(load_best=True)``."""
    return any(isinstance(callback, Checkpoint)
               or (isinstance(callback, EarlyStopping) and callback.load_best)
               for _, callback in net.callbacks_)


class PreciseBatchNorm(Callback):
    """Recompute batch-norm statistics with the final weights after training.

    During training, batch norm keeps running averages of each batch's mean and
    variance, computed with weights that kept changing; after a short training
    (few epochs, a small data set, a high learning rate) they lag the final
    weights and the network behaves differently in evaluation mode than it did
    in training. This callback runs the training images once more through the
    network, without gradients and without augmentation, and sets the
    statistics to their exact average under the final weights ("precise BN",
    Wu & Johnson, 2021). The estimators add it by default, because short
    trainings scored much better with it (see :ref:`bench-precise-bn`), and
    put it first among the callbacks, so that the callbacks after it see the
    recomputed statistics.

    Parameters
    ----------
    max_samples : int, default=512
        At most this many training images (drawn at random) are used: one
        forward pass over them, without gradients. 512, because statistics
        recomputed from fewer images scored worse on held-out data and from
        more no better (see :ref:`bench-precise-bn`).
    every_epoch : bool or "auto", default="auto"
        Also recompute them at the end of every epoch, so that weights kept
        from an epoch (by ``Checkpoint`` or ``EarlyStopping(load_best=True)``)
        carry statistics that match them. ``"auto"`` does so when the net
        holds such a callback; otherwise the one pass at the end of training
        is enough, and the others would cost a forward pass each.

    References
    ----------
    .. [1] Y. Wu and J. Johnson, "Rethinking 'Batch' in BatchNorm", 2021.
    """

    def __init__(self, max_samples=512, every_epoch="auto"):
        self.max_samples = max_samples
        self.every_epoch = every_epoch

    def _every_epoch(self, net):
        every = self.every_epoch
        return _keeps_epoch_weights(net) if every == "auto" else bool(every)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        self.epoch_done_ = False

    def on_epoch_end(self, net, dataset_train=None, **kwargs):
        if self._every_epoch(net) and dataset_train is not None:
            self.recompute(net, dataset_train)
            self.epoch_done_ = True

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # recomputed at the last epoch's end already, for the weights a
        # Checkpoint saved then: a new sample now would make the model
        # returned differ from the checkpoint of the same weights
        if X is not None and not getattr(self, "epoch_done_", False):
            self.recompute(net, X)

    def recompute(self, net, data):
        """Set the statistics of ``net``'s batch norms from ``data``.

        Parameters
        ----------
        net : skorch.NeuralNet
            Its module's batch norms that track running statistics are reset
            and set to the average over up to ``max_samples`` images.
        data : torch.Tensor, ImageDataset or Subset of one
            The images (an ``AugmentedDataset`` is read without its
            augmentation).
        """
        module = net.module_
        norms = [m for m in module.modules()
                 if isinstance(m, nn.modules.batchnorm._BatchNorm)
                 and m.track_running_stats]
        while isinstance(data, AugmentedDataset):
            data = data.dataset
        if isinstance(data, torch.Tensor):
            data = ImageDataset(data)
        if not norms or not is_batched_dataset(data) or len(data) == 0:
            return
        generator = getattr(net, "_rng", None)  # the fit's (ImageEstimator)
        index = torch.randperm(len(data), generator=generator)[: self.max_samples]
        batch = len(data) if net.batch_size == -1 else net.batch_size
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
                    xb, _ = data.__getitems__(chunk.tolist())
                    net.infer(xb)
        finally:
            for m, momentum in zip(norms, momenta):
                m.momentum = momentum
            module.train(training)


def check_callbacks(net):
    """Raise a clear ``ValueError`` for two callback mistakes that skorch
    lets through.

    A ``callbacks__<name>__<param>`` for a callback that does not exist (a
    typo skorch ignores silently), and a callback that watches a validation
    score that a fit without ``train_split`` never records (skorch's error is
    a ``KeyError`` from the history after the first epoch). The estimators
    call it at fit, after the callbacks are initialized.

    Parameters
    ----------
    net : skorch.NeuralNet
    """
    if net.callbacks == "disable":  # none run, none monitor
        return
    names = [name for name, _ in net._uniquely_named_callbacks()]
    for key in net.get_params_for("callbacks"):
        name = key.split("__")[0]
        if name not in names:
            raise ValueError(
                f"callbacks__{key} sets a callback named {name!r}, but there is "
                f"none; the callbacks are {names}."
            )
    if net.train_split is not None:
        return
    for name, callback in net.callbacks_:
        monitor = getattr(callback, "monitor", None)
        if isinstance(monitor, str) and monitor.startswith("valid"):
            raise ValueError(
                f"The callback {name!r} ({type(callback).__name__}) monitors "
                f"{monitor!r}, a validation score, but train_split=None "
                "trains on all the data and records none. Set train_split "
                "(e.g. train_split=0.2) or the callback's monitor (e.g. "
                "'train_loss')."
            )


def default_callbacks(loss_terms, *, schedule_lr=True, progress_bar=False):
    """The estimators' built-in callbacks: the batch-norm pass, the epoch
    timer, the loss and each of its ``loss_terms`` recorded per epoch, the
    cosine schedule (unless the user schedules the learning rate), the epoch
    table and, with ``progress_bar``, skorch's progress bar.

    Returns
    -------
    callbacks : list of (name, callback)
    """
    callbacks = [
        ("precise_bn", PreciseBatchNorm()),
        ("epoch_timer", EpochTimer()),
        ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
        ("valid_loss", PassthroughScoring(name="valid_loss")),
    ]
    for term in loss_terms:
        for prefix in ("train", "valid"):
            name = f"{prefix}_{term}_loss"
            callbacks.append((name, PassthroughScoring(
                name=name, on_train=prefix == "train")))
    if schedule_lr:
        callbacks.append(("lr_schedule", CosineLR()))
    callbacks.append(("print_log", PlainPrintLog()))
    if progress_bar:
        callbacks.append(("progress_bar", ProgressBar()))
    return callbacks
