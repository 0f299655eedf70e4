"""The shared base of the estimators: a skorch ``NeuralNet`` for image input.

It holds everything the two tasks share: image checks and conversion,
scikit-learn-style parameter validation, seeding, the batched data pipeline,
device handling, per-term loss history, and the plumbing that turns module
outputs into the seed layouts. :class:`~sklocalize.LocalizerEstimator` and
:class:`~sklocalize.LandmarkEstimator` only say what is particular to them.
"""

import contextlib
import inspect
import numbers
from numbers import Integral, Real

import numpy as np
import scipy.sparse
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNet
from skorch.callbacks import EpochTimer, PassthroughScoring, PrintLog, ProgressBar
from skorch.dataset import ValidSplit
from torch.utils.data import DataLoader

from .augment import (
    AugmentedDataset,
    Augmenter,
    ImageDataset,
    _float_images,
    collate_batch,
    is_batched_dataset,
    warp_images,
)
from .callbacks import CosineLR, PreciseBatchNorm

MIN_IMAGE_SIZE = 16
# the four diagonal moves of the tta_shift copies, in units of tta_shift pixels
_TTA_MOVES = np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float32)
_NO_MOVE = np.zeros((1, 2), dtype=np.float32)


def _all_finite(arr, chunk=512):
    """``np.isfinite(arr).all()`` without a boolean copy of all of ``arr``."""
    return all(np.isfinite(arr[i:i + chunk]).all() for i in range(0, len(arr), chunk))


def _describe(outputs):
    if isinstance(outputs, tuple):
        return f"a tuple of {len(outputs)}"
    return type(outputs).__name__


def _check_device(device):
    """A clear ``ValueError`` for a device torch cannot use here, instead of
    torch's own error from deep inside ``fit``."""
    if device is None:
        return
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise ValueError(
            "device must be a torch device such as 'cpu', 'cuda' or 'cuda:1' (or "
            f"None to leave the module where it is); got {device!r}."
        ) from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(
                f"device={device!r} needs a GPU and a CUDA build of torch, but "
                "torch.cuda.is_available() is False here; use device='cpu'."
            )
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(
                f"device={device!r} names GPU {dev.index}, but only "
                f"{torch.cuda.device_count()} GPU(s) are visible."
            )
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} needs Apple's MPS backend, which is not available "
            "here; use device='cpu'."
        )


class ImageEstimator(NeuralNet):
    """Base class of the estimators; not meant to be used directly.

    Subclasses set ``_loss_terms``, ``_criterion_params`` (the estimator
    parameters passed on to the criterion) and ``_n_predicted`` (how many of
    the module's leading outputs prediction reads), and implement
    ``_encode_target(y, reset)``, ``_module_data_kwargs()``, ``_targets()``
    (how augmentation moves the target), ``_unflip(outputs)`` (test-time
    flip) and ``_warped_back(outputs, matrix, shift)`` (test-time shifts), and
    may override ``_check_flip(param)``.
    """

    _loss_terms = ()
    _criterion_params = ()

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
        "random_state": ["random_state"],
        "image_shape": [tuple, list, None],
        "presence_threshold": [Interval(Real, 0, 1, closed="neither")],
        "augment": [None, "boolean", StrOptions({"default"}), HasMethods(["check"])],
        "tta_flip": ["boolean"],
        "tta_shift": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(
        self,
        module,
        criterion,
        *,
        optimizer=torch.optim.AdamW,
        lr=1e-3,
        max_epochs=20,
        batch_size=64,
        train_split=None,
        callbacks=None,
        warm_start=False,
        verbose=0,
        device="cpu",
        random_state=None,
        image_shape=None,
        presence_threshold=0.5,
        augment="default",
        tta_flip=False,
        tta_shift=0.0,
        iterator_train=DataLoader,
        iterator_valid=DataLoader,
        dataset=ImageDataset,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            iterator_train=iterator_train,
            iterator_valid=iterator_valid,
            dataset=dataset,
            train_split=train_split,
            callbacks=callbacks,
            warm_start=warm_start,
            verbose=verbose,
            device=device,
            **kwargs,
        )
        self.random_state = random_state
        self.image_shape = image_shape
        self.presence_threshold = presence_threshold
        self.augment = augment
        self.tta_flip = tta_flip
        self.tta_shift = tta_shift

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
        _check_device(self.device)

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
        if self.initialized_ and any(k in self._criterion_params for k in kwargs):
            self._initialize_criterion()
        return self

    # ------------------------------------------------------------------
    # callbacks and history

    @property
    def _default_callbacks(self):
        callbacks = [
            ("epoch_timer", EpochTimer()),
            ("train_loss", PassthroughScoring(name="train_loss", on_train=True)),
            ("valid_loss", PassthroughScoring(name="valid_loss")),
        ]
        for term in self._loss_terms:
            callbacks.append((f"train_{term}_loss", PassthroughScoring(
                name=f"train_{term}_loss", on_train=True)))
            callbacks.append((f"valid_{term}_loss", PassthroughScoring(
                name=f"valid_{term}_loss")))
        callbacks.append(("lr_schedule", CosineLR()))
        callbacks.append(("precise_bn", PreciseBatchNorm()))
        callbacks.append(("print_log", PrintLog()))
        if isinstance(self.verbose, numbers.Number) and self.verbose >= 2:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

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
        on each submodule through ``nn.Module.__setattr__``: about 1 ms a
        batch for the default networks, 2% of a prediction's time on 2 CPU
        cores. Reading the flags is cheaper; the modes end as skorch's.
        """
        for name in self._modules + self._criteria:
            module = getattr(self, name + "_")
            if isinstance(module, torch.nn.Module) and any(
                    m.training != training for m in module.modules()):
                module.train(training)

    def train_step_single(self, batch, **fit_params):
        step = super().train_step_single(batch, **fit_params)
        self._record_terms("train")
        return step

    def validation_step(self, batch, **fit_params):
        step = super().validation_step(batch, **fit_params)
        self._record_terms("valid")
        return step

    # ------------------------------------------------------------------
    # components sized from the data

    def _accepted_kwargs(self, component, kwargs):
        """The entries of ``kwargs`` that ``component``'s ``__init__`` accepts."""
        cls = component if inspect.isclass(component) else type(component)
        try:
            params = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            return {}
        if any(p.kind == p.VAR_KEYWORD for p in params.values()):
            return dict(kwargs)
        return {k: v for k, v in kwargs.items() if k in params}

    def initialize_module(self):
        """Build the module with the sizes learned at fit.

        The sizes (``in_channels`` and ``n_classes`` or ``n_landmarks``) come
        from the data, not from ``set_params``; they are passed to a module
        class whose ``__init__`` accepts them. An already built module instance
        is used as it is.
        """
        kwargs = self.get_params_for("module")
        if inspect.isclass(self.module) or kwargs:
            data_kwargs = self._accepted_kwargs(self.module, self._module_data_kwargs())
            for key, value in data_kwargs.items():
                if key in kwargs and kwargs[key] != value:
                    raise ValueError(
                        f"module__{key}={kwargs[key]!r} conflicts with the data, "
                        f"which has {key}={value!r}; the estimator sets {key} "
                        "from the data at fit, so leave it out."
                    )
            kwargs = {**kwargs, **data_kwargs}
        module = self.initialized_instance(self.module, kwargs)
        # channels_last: measured faster for conv training on CPU here
        self.module_ = module.to(memory_format=torch.channels_last)
        return self

    def initialize_criterion(self):
        """Build the criterion with the estimator's loss parameters.

        ``criterion__*`` parameters take precedence over the estimator's own
        loss parameters (``loss``, the weights, ...).
        """
        kwargs = {
            **self._accepted_kwargs(self.criterion, self._criterion_kwargs()),
            **self.get_params_for("criterion"),
        }
        if not inspect.isclass(self.criterion) and not kwargs:
            self.criterion_ = self.criterion
        else:
            self.criterion_ = self.initialized_instance(self.criterion, kwargs)
        return self

    def _criterion_kwargs(self):
        """The loss parameters, named as the criterion names them (the
        estimator's ``loss`` is the criterion's ``kind``)."""
        return {("kind" if name == "loss" else name): getattr(self, name)
                for name in self._criterion_params}

    def _data_attribute(self, name):
        try:
            return getattr(self, name)
        except AttributeError:
            raise NotFittedError(
                f"The module of this {type(self).__name__} is sized from the data: "
                "call 'fit' (not 'initialize') first."
            ) from None

    # ------------------------------------------------------------------
    # images

    def _check_images(self, X, *, reset):
        """Validate ``X`` and return it as a (n, C, H, W) tensor.

        uint8 images are kept as uint8 (scaled per batch); float32 images are
        shared with the caller's array; other floats are converted to float32.
        The caller's object is never written to.
        """
        if isinstance(X, torch.Tensor):
            arr = X.detach().cpu().numpy()
        elif scipy.sparse.issparse(X):
            raise TypeError(
                "X is a sparse matrix, but sparse input is not supported: images "
                "must be a dense array (use X.toarray())."
            )
        elif isinstance(X, (str, bytes)) or X is None:
            raise TypeError(
                "X must be an array of images; got an object of type "
                f"{type(X).__name__}."
            )
        else:
            try:
                arr = np.asarray(X)
            except (TypeError, ValueError) as exc:
                raise TypeError(
                    "X must be an array of images; could not convert an object of "
                    f"type {type(X).__name__} to an array: {exc}"
                ) from exc
        if arr.dtype.kind == "c":
            raise ValueError(
                "Complex data not supported: X must hold real pixel values; got "
                f"dtype {arr.dtype}."
            )
        if arr.dtype.kind not in "fu" or (arr.dtype.kind == "u"
                                          and arr.dtype != np.uint8):
            raise TypeError(
                "X must hold float or uint8 pixel values; got dtype "
                f"{arr.dtype}. Convert it, e.g. X.astype(np.float32) for values "
                "already on a 0-1 scale."
            )
        if arr.ndim >= 1 and arr.shape[0] == 0:
            raise ValueError(
                f"X has no images: 0 sample(s) (shape={arr.shape}) while a minimum "
                "of 1 is required."
            )
        if reset and arr.ndim >= 1 and arr.shape[0] < 2:
            raise ValueError(
                f"{type(self).__name__} needs at least 2 samples to fit (batch norm "
                f"cannot train on one image); got n_samples = {arr.shape[0]}."
            )
        if arr.ndim == 2 and arr.shape[1] == 0:
            raise ValueError(
                f"0 feature(s) (shape={arr.shape}) while a minimum of 1 is required."
            )
        if arr.dtype.kind == "f" and not _all_finite(arr):
            raise ValueError(
                "X contains NaN or infinite values; images must be finite."
            )
        arr = self._as_4d(arr)
        n, c, h, w = arr.shape
        if h < MIN_IMAGE_SIZE or w < MIN_IMAGE_SIZE:
            raise ValueError(
                f"Images must be at least {MIN_IMAGE_SIZE}x{MIN_IMAGE_SIZE} pixels; "
                f"X has shape (n_samples, n_channels, height, width) = {arr.shape}. "
                "Channels-last images (n, height, width, channels) must be "
                "transposed first: X.transpose(0, 3, 1, 2)."
            )
        if reset:
            self.n_channels_ = c
            self.image_size_ = (h, w)
            self.n_features_in_ = c * h * w
        else:
            fitted = (self._data_attribute("n_channels_"), *self.image_size_)
            if (c, h, w) != fitted:
                raise ValueError(
                    f"X has images of shape (n_channels, height, width) = "
                    f"{(c, h, w)}, but this {type(self).__name__} was fitted on "
                    f"{fitted}. Resize the images (and keep the channel count) "
                    "to match."
                )
        if arr.dtype not in (np.float32, np.uint8):
            arr = arr.astype(np.float32)
        arr = np.ascontiguousarray(arr)
        if not arr.flags.writeable:  # torch refuses read-only memory
            arr = arr.copy()
        return torch.from_numpy(arr)

    def _as_4d(self, arr):
        if arr.ndim == 4:
            if self.image_shape is not None:
                self._image_shape()  # validate it even where unused
            return arr
        if arr.ndim == 3:
            return arr[:, None]
        if arr.ndim == 2:
            if self.image_shape is None:
                raise ValueError(
                    f"X is 2-D (n_samples, n_features) with n_features = "
                    f"{arr.shape[1]}: set image_shape=(n_channels, height, width) "
                    "(or (height, width) for one channel) to say how each row is "
                    "laid out."
                )
            shape = self._image_shape()
            if int(np.prod(shape)) != arr.shape[1]:
                raise ValueError(
                    f"X has {arr.shape[1]} features per row, but image_shape="
                    f"{tuple(self.image_shape)} needs {int(np.prod(shape))}."
                )
            return arr.reshape(len(arr), *shape)
        raise ValueError(
            "X must have shape (n_samples, n_channels, height, width), "
            "(n_samples, height, width) or (n_samples, n_features) with "
            f"image_shape; got an array with {arr.ndim} dimension(s) and shape "
            f"{arr.shape}."
        )

    def _image_shape(self):
        shape = tuple(self.image_shape)
        if len(shape) == 2:
            shape = (1, *shape)
        if len(shape) != 3 or not all(
            isinstance(v, Integral) and not isinstance(v, bool) and v > 0
            for v in shape
        ):
            raise ValueError(
                "image_shape must be (n_channels, height, width) or (height, width) "
                f"of positive integers; got {self.image_shape!r}."
            )
        return shape

    # ------------------------------------------------------------------
    # fitting

    @contextlib.contextmanager
    def _seeded(self, reset):
        """Seed torch from ``random_state`` without touching the global RNG.

        A fresh fit is seeded from ``random_state`` alone; a continued one
        (``partial_fit``, ``warm_start``) also from the epochs already done, so
        it does not replay the first epochs' shuffles.
        """
        if self.random_state is None:
            yield None
            return
        if isinstance(self.random_state, Integral):
            done = 0 if reset or self.history_ is None else len(self.history_)
            seq = np.random.SeedSequence([int(self.random_state), done])
            seed = int(seq.generate_state(1)[0])
        else:
            seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        devices = []
        if torch.cuda.is_available() and str(self.device).startswith("cuda"):
            devices = [torch.device(self.device).index or 0]
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            yield seed

    def fit(self, X, y, **fit_params):
        """Initialize the module (unless ``warm_start``) and train it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
            Images: float (any scale; 0-1 is usual) or uint8 (scaled to 0-1).
            Also ``(n_samples, height, width)`` for one channel, or
            ``(n_samples, n_features)`` with ``image_shape``.
        y : array-like or DataFrame
            The target in the seed layout, or its tidy DataFrame.
        **fit_params : dict
            Passed to the module's ``forward``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        return self._fit(X, y, reset=not self.warm_start or not self.initialized_,
                         **fit_params)

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initializing.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_channels, height, width)
        y : array-like or DataFrame
        classes : None
            Ignored; the classes are learned at the first fit.
        **fit_params : dict

        Returns
        -------
        self : object
        """
        return self._fit(X, y, reset=not self.initialized_, **fit_params)

    def _fit(self, X, y, reset, **fit_params):
        self._check_params()
        augmenter = self._augmenter()
        if augmenter is not None:
            augmenter.check()
            if augmenter.flip > 0:
                self._check_flip("augment")
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        Xt = self._check_images(X, reset=reset)
        yt = self._encode_target(y, reset=reset)
        if len(Xt) != len(yt):
            raise ValueError(
                f"X and y must have the same number of samples; got {len(Xt)} "
                f"images and {len(yt)} target rows."
            )
        yt = torch.as_tensor(yt, dtype=torch.float32)
        with self._seeded(reset):
            if reset:
                self.initialize()
            self._check_callbacks()
            NeuralNet.partial_fit(self, Xt, yt, **fit_params)
        return self

    def _check_callbacks(self):
        """Clear errors for two callback mistakes that skorch lets through: a
        ``callbacks__<name>__<param>`` for a callback that does not exist (a
        typo skorch ignores silently), and a callback that watches a
        validation score that a fit without ``train_split`` never records
        (skorch's error is a ``KeyError`` from the history after the first
        epoch)."""
        if self.callbacks == "disable":  # none run, none monitor
            return
        names = [name for name, _ in self._uniquely_named_callbacks()]
        for key in self.get_params_for("callbacks"):
            name = key.split("__")[0]
            if name not in names:
                raise ValueError(
                    f"callbacks__{key} sets a callback named {name!r}, but there is "
                    f"none; the callbacks are {names}."
                )
        if self.train_split is not None:
            return
        for name, callback in self.callbacks_:
            monitor = getattr(callback, "monitor", None)
            if isinstance(monitor, str) and monitor.startswith("valid"):
                raise ValueError(
                    f"The callback {name!r} ({type(callback).__name__}) monitors "
                    f"{monitor!r}, a validation score, but train_split=None "
                    "trains on all the data and records none. Set train_split "
                    "(e.g. train_split=0.2) or the callback's monitor (e.g. "
                    "'train_loss')."
                )

    def _augmenter(self):
        """The training-time augmenter, or None."""
        if self.augment is None or self.augment is False:
            return None
        if self.augment is True or self.augment == "default":
            return self._default_augmenter()
        return self.augment

    def _default_augmenter(self):
        """What ``augment="default"`` means: flips and photometric jitter.

        Measured on Caltech-3 and LFW (``benchmarks/results``): zoom and shift
        cost accuracy on photos framed like the training ones at the training
        budgets there; they remain available through an ``Augmenter``.
        """
        return Augmenter(scale=(1.0, 1.0), shift=0.0)

    def _check_flip(self, param):
        """Raise if ``param`` asks for a flip that cannot move the targets."""

    def get_split_datasets(self, X, y=None, **fit_params):
        if isinstance(self.train_split, Real) and not isinstance(self.train_split,
                                                                 bool):
            seed = int(torch.randint(2**31 - 1, ()).item())
            split = ValidSplit(float(self.train_split), random_state=seed)
            train, valid = split(self.get_dataset(X, y), y, **fit_params)
        else:
            train, valid = super().get_split_datasets(X, y, **fit_params)
        augmenter = self._augmenter()
        if augmenter is not None and is_batched_dataset(train):
            train = AugmentedDataset(train, augmenter, self._targets())
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
        if training:
            kwargs.setdefault("shuffle", True)
            # a last batch of one image breaks batch norm on tiny feature maps
            kwargs.setdefault("drop_last", len(dataset) % batch_size == 1
                              and len(dataset) > 1)
        return iterator(dataset, batch_size=batch_size, **kwargs)

    # ------------------------------------------------------------------
    # prediction

    def _check_fitted(self):
        if not self.initialized_ or not hasattr(self, "image_size_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' "
                "with appropriate arguments before using this estimator."
            )
        _check_device(self.device)  # e.g. set_params(device="cuda") after fit

    def _outputs(self, X):
        """The module's outputs on ``X`` as float64 numpy arrays."""
        self._check_fitted()
        return self._image_outputs(self._check_images(X, reset=False))

    def _image_outputs(self, Xt):
        """The module's outputs on checked images, averaged over the
        test-time copies (``tta_shift``, ``tta_flip``)."""
        if not self.tta_shift:
            return self._flip_outputs(Xt)
        n = len(Xt)
        return self._warped_outputs(Xt, torch.eye(2).expand(n, 2, 2),
                                    torch.zeros(n, 2))

    def _flip_outputs(self, Xt):
        """The module's outputs, averaged with the mirror image's (``tta_flip``)."""
        outputs = self._forward_tuple(Xt)
        if self.tta_flip:
            self._check_flip("tta_flip")
            flipped = self._unflip(self._forward_tuple(Xt.flip(-1)))
            outputs = tuple((a + b) / 2 for a, b in zip(outputs, flipped))
        return outputs

    def _tta_moves(self):
        """Relative ``(x, y)`` moves of the ``tta_shift`` copies; one no-move
        without them."""
        if not self.tta_shift:
            return _NO_MOVE
        h, w = self.image_size_
        return _TTA_MOVES * (self.tta_shift / np.array([w, h], dtype=np.float32))

    def _warped_outputs(self, Xt, matrix, shift, *, copies=True, chunk=1024):
        """Outputs on the images resampled so that relative ``p`` moves to
        ``A (p - 0.5) + 0.5 + t`` (bicubic), mapped back to the images as
        given (``_warped_back``); averaged over the ``tta_shift`` copies unless
        ``copies=False``. Chunk by chunk, so that at most ``chunk`` images are
        held as floats at a time."""
        moves = self._tta_moves() if copies else _NO_MOVE
        parts = []
        for start in range(0, len(Xt), chunk):
            part = slice(start, start + chunk)
            images = _float_images(Xt[part])
            runs = []
            for move in torch.from_numpy(moves):
                t = shift[part] + move
                warped = warp_images(images, matrix[part], t, mode="bicubic")
                runs.append(self._warped_back(self._flip_outputs(warped),
                                              matrix[part], t))
            parts.append(tuple(np.mean(r, axis=0) for r in zip(*runs)))
        return tuple(np.concatenate(p) for p in zip(*parts))

    def _forward_tuple(self, Xt):
        """The first ``_n_predicted`` module outputs, as float64 numpy arrays.

        Batch by batch, so that outputs prediction does not read (the landmark
        heatmaps, which training needs) are never gathered.
        """
        kept = []
        # the DataLoader draws a seed from the global RNG: leave it as it was
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            for outputs in self.forward_iter(ImageDataset(Xt)):
                if not isinstance(outputs, tuple) or len(outputs) < self._n_predicted:
                    raise TypeError(
                        f"The module must return a tuple of at least "
                        f"{self._n_predicted} tensors (see sklocalize.nn); got "
                        f"{_describe(outputs)}."
                    )
                kept.append(outputs[:self._n_predicted])
        return tuple(torch.cat(parts).detach().double().numpy()
                     for parts in zip(*kept))

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
