"""The shared base of the estimators: a skorch ``NeuralNet`` for image input.

It holds the ``NeuralNet`` plumbing the two tasks share: parameter checks,
default callbacks and the per-term loss history, components sized from the
data, seeding, the fit path, the split and the batched iterators. Running a
fitted network (the test-time passes, decoding, save, load and export) is
:class:`~sklocalize._prediction.PredictionMixin`'s. What is particular to a
task lives elsewhere: how its target moves (:mod:`sklocalize.tasks`),
test-time augmentation (:mod:`sklocalize.tta`), input checks
(``_validation``).

A subclass supplies two hooks and may override one more:

- ``_task()``: the task object (:mod:`sklocalize.tasks`), built from the
  estimator's parameters and what ``fit`` learnt;
- ``_encode_target(y, reset)``: the target checked and encoded into its seed
  layout (learning the data-dependent attributes when ``reset``);
- ``_default_augmenter()``: what ``augment="default"`` means.

Its loss parameters are listed in ``_loss_params``: they have the
criterion's names and defaults (``_params.loss_defaults``).
"""

import inspect
import numbers
import os
import warnings
from numbers import Integral, Real

import skorch.dataset
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNet
from skorch.callbacks import (
    Callback,
    LRScheduler,
)
from skorch.dataset import ValidSplit
from skorch.utils import to_tensor
from torch.utils.data import DataLoader

from ._params import (
    accepted,
    build_criterion,
    fit_generator,
    init_params,
    naming_parameters,
    seeded_global,
)
from ._prediction import PredictionMixin, float32_default
from ._validation import (
    PRECISIONS,
    callback_entries,
    check_callback_entries,
    check_device,
    check_precision,
    check_sample_weight,
    check_torch_load_kwargs,
    validate_images,
)
from .augment import Augmenter
from .callbacks import PreciseBatchNorm, check_callbacks, default_callbacks
from .dataset import AugmentedDataset, ImageDataset, collate_batch, is_batched_dataset
from .nn.backbones import load_backbone_weights
from .nn.modules import BACKBONES


def _raised_by_callback(exc):
    """Whether ``exc`` was raised by a skorch callback's own code (how
    ``EarlyStopping`` ends training), rather than by a signal."""
    tb = exc.__traceback__
    while tb.tb_next is not None:
        tb = tb.tb_next
    return isinstance(tb.tb_frame.f_locals.get("self"), Callback)


def _float32(outputs):
    """The module's outputs (a tensor, or tuples of them) with every floating
    point tensor as float32."""
    if isinstance(outputs, torch.Tensor):
        return outputs.float() if outputs.is_floating_point() else outputs
    if isinstance(outputs, (tuple, list)):
        return type(outputs)(_float32(o) for o in outputs)
    return outputs


class ImageEstimator(PredictionMixin, NeuralNet):
    """Base class of the estimators; not meant to be used directly (see the
    module's docstring for what a subclass supplies)."""

    _loss_params = ()
    # the torch generator of the fit under way (_params.fit_generator); None
    # outside fit, where torch's global generator is used
    _rng = None
    # what fit learns from the data, besides the weights (save keeps these)
    _learned_attributes = ("n_channels_", "image_size_", "n_features_in_",
                           "pixel_scale_", "feature_names_in_")

    _parameter_constraints = {
        "module": [callable],
        "criterion": [callable],
        "optimizer": [callable],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "max_epochs": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"),
                       Options(Integral, {-1})],
        "train_split": [None, callable, Interval(Real, 0, 1, closed="neither")],
        "callbacks": [list, None, StrOptions({"disable"})],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "device": [str, torch.device, None],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": ["random_state"],
        "image_shape": [tuple, list, None],
        "presence_threshold": [Interval(Real, 0, 1, closed="neither")],
        "augment": [None, "boolean", StrOptions({"default"}), HasMethods(["check"])],
        "tta_flip": ["boolean"],
        "tta_shift": [Interval(Real, 0, None, closed="left")],
        "tta_reframe": [Interval(Integral, 0, None, closed="left")],
        "backbone": [StrOptions(set(BACKBONES))],
        "backbone_weights": [None, str, os.PathLike, dict],
        "backbone_lr_scale": [Interval(Real, 0, None, closed="neither")],
        # skorch's, which predict does not read (the task decodes the
        # outputs): only its default is accepted, so that no setting is
        # silently ignored
        "predict_nonlinearity": [StrOptions({"auto"})],
    }

    def __init__(self, module, criterion, *, optimizer=torch.optim.AdamW, lr=1e-3,
                 max_epochs=20, batch_size=64, train_split=None, callbacks=None,
                 warm_start=False, verbose=0, device="cpu", precision="float32",
                 random_state=None, image_shape=None, presence_threshold=0.5,
                 augment="default", tta_flip=False, tta_shift=0.0, tta_reframe=0,
                 backbone="scratch",
                 backbone_weights="imagenet", backbone_lr_scale=1.0,
                 iterator_train=DataLoader, iterator_valid=DataLoader,
                 dataset=ImageDataset, **kwargs):
        super().__init__(
            module, criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
            batch_size=batch_size, iterator_train=iterator_train,
            iterator_valid=iterator_valid, dataset=dataset, train_split=train_split,
            callbacks=callbacks, warm_start=warm_start, verbose=verbose,
            device=device, **kwargs)
        self.precision = precision
        self.random_state = random_state
        self.image_shape = image_shape
        self.presence_threshold = presence_threshold
        self.augment = augment
        self.tta_flip = tta_flip
        self.tta_shift = tta_shift
        self.tta_reframe = tta_reframe
        self.backbone = backbone
        self.backbone_weights = backbone_weights
        self.backbone_lr_scale = backbone_lr_scale

    # ------------------------------------------------------------------
    # parameters

    def _check_params(self):
        """Validate the parameters against ``_parameter_constraints``.

        (skorch's own ``_validate_params`` checks the routed ``prefix__``
        names; this hook checks the values, scikit-learn style.)
        """
        validate_parameter_constraints(
            self._parameter_constraints,
            self.get_params(deep=False),
            caller_name=type(self).__name__,
        )
        check_device(self.device)
        check_precision(self.precision, self.device)
        check_callback_entries(self.callbacks)
        check_torch_load_kwargs(self.torch_load_kwargs)

    def get_params(self, deep=True, **kwargs):
        """Get parameters, the ``callbacks__<name>__<param>`` set included.

        (skorch reads a callback's parameters off a fresh default callback
        until the estimator is initialized, so a value set with
        ``set_params`` would read as the default, and a
        ``set_params(**get_params())`` round trip would lose it.)

        Parameters
        ----------
        deep : bool, default=True
            Also the parameters of the components (``module__*``, the
            callbacks', ...).
        **kwargs
            Passed to skorch's ``get_params``.

        Returns
        -------
        params : dict
        """
        params = super().get_params(deep=deep, **kwargs)
        if deep and not self.initialized_:
            params.update({k: v for k, v in vars(self).items()
                           if k.startswith("callbacks__")})
        return params

    def _get_param_names(self):
        # skorch 1.4 also returns its private ``_params_to_validate``; clone and
        # set_params must only see the public parameters.
        return [k for k in super()._get_param_names() if not k.startswith("_")]

    def set_params(self, **kwargs):
        """Set parameters; a changed loss parameter takes effect at once.

        Parameters
        ----------
        **kwargs : dict
            Parameter names (including routed ``module__*``, ``optimizer__*``,
            ``criterion__*``, ``callbacks__*``) and their values.

        Returns
        -------
        self : object
        """
        super().set_params(**kwargs)
        if self.initialized_ and any(k in self._loss_params for k in kwargs):
            self._initialize_criterion()
        return self

    # ------------------------------------------------------------------
    # callbacks and history

    @property
    def _default_callbacks(self):
        return default_callbacks(
            self._task().loss_terms, schedule_lr=not self._user_schedules_lr(),
            progress_bar=isinstance(self.verbose, numbers.Number) and self.verbose >= 2)

    def initialize_callbacks(self):
        """skorch's, with :class:`~sklocalize.callbacks.PreciseBatchNorm`
        moved first: the callbacks after it (a ``Checkpoint`` saving the
        weights of an epoch, ``EarlyStopping(load_best=True)`` keeping them,
        ``EpochScoring``) see the statistics it recomputed.

        Returns
        -------
        self : object
        """
        super().initialize_callbacks()
        first = [(n, c) for n, c in self.callbacks_ if isinstance(c, PreciseBatchNorm)]
        self.callbacks_ = first + [(n, c) for n, c in self.callbacks_
                                   if not isinstance(c, PreciseBatchNorm)]
        return self

    def _user_schedules_lr(self):
        """Whether the user's callbacks hold a learning-rate scheduler (skorch's
        ``LRScheduler``), which then replaces the built-in cosine schedule."""
        return any(isinstance(callback, LRScheduler)
                   for _, callback in callback_entries(self.callbacks))

    def _record_terms(self, prefix):
        terms = getattr(self.criterion_, "terms_", None)
        if not terms:
            return
        values = torch.stack([t.float() for t in terms.values()]).tolist()
        for name, value in zip(terms, values):
            self.history.record_batch(f"{prefix}_{name}_loss", value)

    def _set_training(self, training=True):
        """skorch's, but leaves alone a module whose every submodule is
        already in that mode.

        skorch calls it for every batch, and ``Module.train`` sets the flag
        on each submodule through ``nn.Module.__setattr__``, a cost that
        shows in prediction's time on a small CPU; reading the flags is
        cheaper, and the modes end as skorch's.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                    m.training != training for m in module.modules()):
                module.train(training)

    def infer(self, x, **fit_params):
        """skorch's forward pass, under autocast when ``precision`` asks for
        it; the outputs come back as float32, so that the losses, the
        decoding and the metrics run in full precision.

        Returns
        -------
        outputs : torch.Tensor or tuple of torch.Tensor
        """
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return super().infer(x, **fit_params)
        weight = next(self.module_.parameters(), None)
        device = "cpu" if weight is None else weight.device.type
        with torch.autocast(device, dtype=dtype):
            return _float32(super().infer(x, **fit_params))

    def get_loss(self, y_pred, y_true, X=None, training=False):
        """The criterion's loss of a batch; a batch's target may be the pair
        ``(y, sample_weight)`` (see :class:`~sklocalize.dataset.ImageDataset`),
        whose weights go to the criterion.

        Parameters
        ----------
        y_pred : tuple of torch.Tensor
            The module's outputs.
        y_true : torch.Tensor or tuple of two torch.Tensor
        X : torch.Tensor, default=None
        training : bool, default=False

        Returns
        -------
        loss : torch.Tensor (scalar)
        """
        if not isinstance(y_true, (tuple, list)):
            return super().get_loss(y_pred, y_true, X=X, training=training)
        y_true, weight = (to_tensor(part, device=self.device) for part in y_true)
        return self.criterion_(y_pred, y_true, sample_weight=weight)

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        """skorch's, warning when a ``KeyboardInterrupt`` (Ctrl-C) stops it.

        skorch ends ``fit`` normally after an interrupt, with the weights of
        that moment; this warns that training stopped early, in epoch ``n``
        of ``N``. (A callback that stops training on purpose, as
        ``EarlyStopping`` does with the same exception, is not warned about.)

        Returns
        -------
        self : object
        """
        before = len(self.history)
        try:
            return super().fit_loop(X, y, epochs, **fit_params)
        except KeyboardInterrupt as exc:
            if not _raised_by_callback(exc):
                total = self.max_epochs if epochs is None else epochs
                warnings.warn(
                    f"Training was interrupted (KeyboardInterrupt) in epoch "
                    f"{len(self.history) - before} of {total}; the "
                    f"{type(self).__name__} keeps the weights of that moment.",
                    UserWarning, stacklevel=2,
                )
            raise

    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        if not torch.isfinite(step["loss"]):
            raise ValueError(
                f"The training loss became {float(step['loss'].detach())} in epoch "
                f"{len(self.history)}: training diverged. Likely causes: a "
                f"learning rate too high (lr={self.lr}), images far from a 0-1 "
                "scale, or a loss parameter that leaves a term undefined (a "
                "sigma of 0, say)."
            )
        self._record_terms("train")
        return step

    def validation_step(self, batch, **fit_params):
        step = super().validation_step(batch, **fit_params)
        self._record_terms("valid")
        return step

    # ------------------------------------------------------------------
    # components sized from the data

    def _not_sized(self):
        return NotFittedError(
            f"The module of this {type(self).__name__} is sized from the data: "
            "call 'fit' (not 'initialize') first."
        )

    def _data_attribute(self, name):
        try:
            return getattr(self, name)
        except AttributeError:
            raise self._not_sized() from None

    def initialize_module(self):
        """Build the module with the sizes learned at fit.

        The sizes (``in_channels``, ``image_size`` and the task's, e.g.
        ``n_classes`` or ``n_landmarks``) come from the data, not from
        ``set_params``; they are passed to a module class whose ``__init__``
        accepts them. An already built module instance is used as it is.
        """
        kwargs = self.get_params_for("module")
        takes_backbone = (inspect.isclass(self.module)
                          and "backbone" in init_params(self.module))
        if takes_backbone:
            kwargs.setdefault("backbone", self.backbone)
        elif self.backbone != "scratch":
            raise ValueError(
                f"backbone={self.backbone!r} needs a module class that takes a "
                f"backbone (LocalizerNet, LandmarkNet); got module={self.module!r}."
            )
        if inspect.isclass(self.module) or kwargs:
            sizes = {**self._task().module_sizes(),
                     "in_channels": getattr(self, "n_channels_", None),
                     "image_size": getattr(self, "image_size_", None)}
            if any(value is None for value in sizes.values()):
                raise self._not_sized()
            sizes = accepted(self.module, sizes)
            for key, value in sizes.items():
                if key in kwargs and kwargs[key] != value:
                    raise ValueError(
                        f"module__{key}={kwargs[key]!r} conflicts with the data, "
                        f"which has {key}={value!r}; the estimator sets {key} "
                        "from the data at fit, so leave it out."
                    )
            kwargs = {**kwargs, **sizes}
        with naming_parameters("module", self.get_params_for("module")):
            module = self.initialized_instance(self.module, kwargs)
        if self._pretrained() and self._rng is not None:
            # at fit only: a loaded estimator's weights replace these anyway
            load_backbone_weights(module.trunk, self.backbone_weights)
        # channels_last: faster for convolutions on CPUs (docs/benchmarks.rst,
        # bench-channels-last)
        self.module_ = module.to(memory_format=torch.channels_last)
        return self

    def _pretrained(self):
        """Whether the trunk starts from pretrained weights."""
        return self.backbone != "scratch" and self.backbone_weights is not None

    def get_params_for(self, prefix):
        """skorch's, with a pretrained trunk's learning rate scaled by
        ``backbone_lr_scale`` (a parameter group ``trunk.*``) unless
        ``optimizer__param_groups`` is set.

        Parameters
        ----------
        prefix : str

        Returns
        -------
        params : dict
        """
        params = super().get_params_for(prefix)
        if prefix == "optimizer" and self._pretrained():
            lr = params.get("lr", self.lr) * self.backbone_lr_scale
            params.setdefault("param_groups", [("trunk.*", {"lr": lr})])
        return params

    def initialize_optimizer(self, *args, **kwargs):
        """skorch's, an error from the optimizer's constructor naming the
        ``optimizer__*`` parameters given.

        Returns
        -------
        self : object
        """
        with naming_parameters("optimizer", self.get_params_for("optimizer")):
            return super().initialize_optimizer(*args, **kwargs)

    def initialize_criterion(self):
        """Build the criterion with the estimator's loss parameters.

        The loss parameters (``loss``, the weights, ...) are the criterion's
        own, with the same names and defaults. A criterion class is built
        with them, ``criterion__*`` arguments taking precedence. A criterion
        instance keeps its own settings (``beta``, say): loss parameters
        changed on the estimator, and ``criterion__*`` arguments, are set on a
        new instance built from its settings; a loss parameter changed both
        on the estimator and on the instance, to different values, is an
        error.
        """
        defaults = init_params(type(self))
        self.criterion_ = build_criterion(
            self.criterion, {k: getattr(self, k) for k in self._loss_params},
            {k: defaults[k].default for k in self._loss_params},
            self.get_params_for("criterion"), type(self).__name__)
        return self

    # ------------------------------------------------------------------
    # fitting

    def _check_X(self, X, *, reset):
        """``X`` as a checked (n, C, H, W) tensor (``validate_images``)."""
        return validate_images(self, X, reset=reset)

    def fit(self, X, y, sample_weight=None, **fit_params):
        """Initialize the module (unless ``warm_start``) and train it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
            Images: float (any scale; 0-1 is usual) or uint8 (scaled to 0-1).
            Also ``(n_samples, height, width)`` for one channel, or
            ``(n_samples, n_features)`` with ``image_shape``.
        y : array-like or DataFrame
            The target in the seed layout, or its tidy DataFrame.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights: each term of the loss is a weighted mean over
            the images it counts (a weight of 2 counts an image as two
            copies would). None weighs all alike. Reachable through
            scikit-learn's metadata routing (``set_fit_request``).
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, sample_weight,
                         reset=not self.warm_start or not self.initialized_,
                         **fit_params)

    def partial_fit(self, X, y, classes=None, sample_weight=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initializing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
        y : array-like or DataFrame
        classes : None
            Ignored; the classes are learned at the first fit.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-image weights of the loss (see :meth:`fit`).
        **fit_params : dict

        Returns
        -------
        self : object
        """
        return self._fit(X, y, sample_weight, reset=not self.initialized_,
                         **fit_params)

    def _fit(self, X, y, sample_weight, reset, **fit_params):
        self._check_params()
        augmenter = self._augmenter()
        if augmenter is not None:
            augmenter.check()
            if augmenter.flip > 0:
                self._task().check_flip("augment")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        Xt = self._check_X(X, reset=reset)
        yt = self._encode_target(y, reset=reset)
        if len(Xt) != len(yt):
            raise ValueError(
                f"X and y must have the same number of samples; got {len(Xt)} "
                f"images and {len(yt)} target rows."
            )
        yt = torch.as_tensor(yt, dtype=torch.float32)
        weight = check_sample_weight(sample_weight, len(Xt))
        if weight is not None:
            if not weight.sum() > 0:
                raise ValueError("sample_weight must not be all 0: no image would "
                                 "count in the loss.")
            # the losses are weighted means, which a common factor leaves as
            # they are: scaled to a largest weight of 1 before the float32
            # cast, 1e-50 does not underflow to 0 nor 1e39 overflow
            weight = torch.as_tensor(weight / weight.max(), dtype=torch.float32)
        done = 0 if reset or self.history_ is None else len(self.history_)
        # the fit's randomness (see _params.fit_generator), for the length of it
        self._rng = fit_generator(self.random_state, done)
        # float32 weights and draws, as the images are, whatever torch's
        # default dtype (torch.set_default_dtype(torch.float64) broke fit)
        with float32_default():
            try:
                if reset:
                    with seeded_global(self._rng, self.device):
                        self.initialize()
                check_callbacks(self)
                # y as well as the dataset: skorch's EpochScoring(
                # use_caching=False) indexes the validation targets as this y
                NeuralNet.partial_fit(self, self._training_data(Xt, yt, weight),
                                      yt, **fit_params)
            finally:
                del self._rng
        return self

    def _training_data(self, X, y, sample_weight):
        """The dataset a fit trains on, of the estimator's ``dataset`` class;
        it must take ``sample_weight`` when weights are given."""
        if sample_weight is None:
            return self.get_dataset(X, y)
        if "sample_weight" not in inspect.signature(
                self.criterion_.forward).parameters:
            raise TypeError(
                f"sample_weight needs a criterion whose forward takes "
                f"sample_weight; {type(self.criterion_).__name__}.forward does "
                "not."
            )
        kwargs = self.get_params_for("dataset")
        if "sample_weight" not in init_params(self.dataset):
            raise TypeError(
                f"sample_weight needs a dataset class that takes sample_weight "
                f"(ImageDataset does); dataset={self.dataset!r} does not."
            )
        return self.dataset(X, y, sample_weight=sample_weight, **kwargs)

    def _augmenter(self):
        """The training-time augmenter, or None."""
        if self.augment is None or self.augment is False:
            return None
        if self.augment is True or self.augment == "default":
            return self._default_augmenter()
        return self.augment

    def _default_augmenter(self):
        """What ``augment="default"`` means: a flip and photometric jitter, no
        zoom or shift (docs/benchmarks.rst, bench-localizer-augment)."""
        return Augmenter(scale=(1.0, 1.0), shift=0.0)

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(self.train_split, Real) and not isinstance(self.train_split,
                                                                 bool):
            seed = int(torch.randint(2**31 - 1, (), generator=self._rng).item())
            split = ValidSplit(float(self.train_split), random_state=seed)
            train, valid = split(self.get_dataset(X, y), y, **fit_params)
        else:
            train, valid = super().get_split_datasets(X, y, **fit_params)
        if (isinstance(valid, skorch.dataset.Dataset)
                and not isinstance(valid, ImageDataset)):
            # a user's validation set (predefined_split): the checks and
            # encoding of the training data
            valid = ImageDataset(self._check_X(valid.X, reset=False),
                                 torch.as_tensor(self._encode_target(
                                     valid.y, reset=False), dtype=torch.float32))
        augmenter = self._augmenter()
        if augmenter is not None and is_batched_dataset(train):
            train = AugmentedDataset(train, augmenter, self._task(), self._rng)
        return train, valid

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        kwargs = self.get_params_for(prefix)
        iterator = self.iterator_train if training else self.iterator_valid
        batch_size = kwargs.pop("batch_size", self.batch_size)
        if batch_size == -1:
            batch_size = len(dataset)
        if is_batched_dataset(dataset):
            kwargs.setdefault("collate_fn", collate_batch)
        # shuffles (and the seeds of worker processes) from the fit's
        # generator, not torch's global one; prediction's draws nothing
        if "generator" not in kwargs and accepted(iterator, {"generator": None}):
            kwargs["generator"] = self._rng if training else torch.Generator()
        if training:
            kwargs.setdefault("shuffle", True)
            # a last batch of one image breaks batch norm on tiny feature maps
            kwargs.setdefault("drop_last", len(dataset) % batch_size == 1
                              and len(dataset) > 1)
        return iterator(dataset, batch_size=batch_size, **kwargs)

    # ------------------------------------------------------------------
    # the fitted state

    def _check_fitted(self):
        if not self.initialized_ or not hasattr(self, "image_size_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )
        check_device(self.device)  # e.g. set_params(device="cuda") after fit
        check_precision(self.precision, self.device)

    def load_params(self, *args, **kwargs):
        """skorch's, with ``torch_load_kwargs`` checked first.

        Returns
        -------
        self : object
        """
        check_torch_load_kwargs(self.torch_load_kwargs)
        try:
            return super().load_params(*args, **kwargs)
        except (OSError, EOFError, RuntimeError) as exc:
            unreadable = not isinstance(exc, (FileNotFoundError, RuntimeError)) or (
                "PytorchStreamReader" in str(exc) or "zip" in str(exc).lower())
            if not unreadable:  # a missing file, a state dict of another net
                raise
            # a file cut short or not torch's: torch's own message (an
            # "Errno 22", a zip error) does not say which file or what to do
            raise ValueError(
                f"load_params could not read its file ({type(exc).__name__}: "
                f"{exc}): it is damaged, truncated or not written by "
                "save_params. Save the parameters again.") from exc

    def encode_target(self, y):
        """Validate ``y`` against what was seen at fit and return the seed layout.

        Parameters
        ----------
        y : array-like or DataFrame

        Returns
        -------
        y : ndarray of shape (n_samples, n_outputs), dtype float64
        """
        self._check_fitted()
        return self._encode_target(y, reset=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = False
        tags.non_deterministic = self.random_state is None
        return tags
