"""How the estimators' parameters become skorch components: the loss
parameters' defaults, read from the criterion; a criterion built from the
estimator's loss parameters that keeps a user's own settings; the torch
generator of a fit, drawn from ``random_state``."""

import contextlib
import functools
import inspect
import threading
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions

from .nn.losses import LOSSES


@functools.lru_cache(maxsize=256)
def _signature_parameters(cls):
    """``inspect.signature(cls).parameters``, or {} where there is none;
    cached, because prediction asks for its iterator's on every call."""
    try:
        return inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}


def init_params(cls):
    """The named parameters of ``cls.__init__`` (no ``*args``/``**kwargs``)."""
    return {name: p for name, p in _signature_parameters(cls).items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}


def accepted(component, kwargs):
    """The entries of ``kwargs`` that ``component``'s ``__init__`` accepts."""
    cls = component if inspect.isclass(component) else type(component)
    params = _signature_parameters(cls)
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k in params}


def loss_defaults(criterion, names):
    """The defaults of the parameters ``names`` of the criterion class: the
    estimators take their loss parameters' defaults from here, so that the
    two never drift apart."""
    params = init_params(criterion)
    return {name: params[name].default for name in names}


def build_criterion(criterion, loss_params, defaults, routed, owner):
    """The criterion an estimator trains with.

    Parameters
    ----------
    criterion : class or instance
        The estimator's ``criterion``.
    loss_params : dict
        The estimator's loss parameters (``loss``, the weights, ...): the
        criterion's own, with the same names.
    defaults : dict
        Their defaults on the estimator.
    routed : dict
        The ``criterion__*`` arguments, which take precedence.
    owner : str
        The estimator's class name, for the error message.

    Returns
    -------
    criterion : torch.nn.Module
        A class is built with ``loss_params`` and ``routed``. An instance
        keeps its own settings (``beta``, say): if loss parameters were
        changed on the estimator, or ``routed`` is given, a new instance is
        built from its settings with those on top; a loss parameter changed
        both on the estimator and on the instance, to different values, is a
        ``ValueError``.
    """
    cls = criterion if inspect.isclass(criterion) else type(criterion)
    params = init_params(cls)
    own = {k: v for k, v in loss_params.items() if k in params}
    if inspect.isclass(criterion):
        return criterion(**{**own, **routed})
    changed = {k: v for k, v in own.items() if v != defaults[k]}
    settings = {k: getattr(criterion, k) for k in params if hasattr(criterion, k)}
    for name, value in changed.items():
        theirs = settings.get(name, params[name].default)
        if theirs != params[name].default and theirs != value:
            raise ValueError(
                f"{name} is set twice, to {value!r} on the {owner} and to "
                f"{theirs!r} on its criterion {cls.__name__}; set it in one place."
            )
    overrides = {**changed, **routed}
    return cls(**{**settings, **overrides}) if overrides else criterion


# the global torch generator is shared by every thread: a fit holds this lock
# while it seeds it and builds its network, so that two fits in two threads
# (GridSearchCV with joblib's threading backend) each build theirs from their
# own seed
_GLOBAL_RNG_LOCK = threading.Lock()


def fit_generator(random_state, epochs_done=0):
    """The torch generator one fit draws its randomness from.

    The fit's shuffles, validation split, augmentation and the seed of its
    network's initialization all come from this generator, local to the fit,
    so that fits in several threads, and the caller's own use of torch's
    global generator, are independent of each other.

    Parameters
    ----------
    random_state : None, int or numpy RandomState
        An int is combined with ``epochs_done``, so that a continued fit
        (``partial_fit``, ``warm_start``) does not replay the first epochs'
        shuffles. None draws the seed from torch's global generator, so that
        ``torch.manual_seed`` governs an unseeded estimator, as it does a
        skorch net.
    epochs_done : int, default=0

    Returns
    -------
    generator : torch.Generator
        On the CPU.
    """
    if random_state is None:
        seed = int(torch.randint(2**62, ()).item())
    elif isinstance(random_state, Integral):
        seq = np.random.SeedSequence([int(random_state), epochs_done])
        seed = int(seq.generate_state(1, dtype=np.uint64)[0] >> np.uint64(2))
    else:
        seed = int(check_random_state(random_state).randint(2**31 - 1))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return generator


@contextlib.contextmanager
def seeded_global(generator, device):
    """Seed torch's global generator from ``generator`` for the block, and
    restore it after; for the code that can only draw from the global one
    (building a network's layers).

    The block holds a lock, so that no other fit of this package seeds the
    global generator meanwhile.
    """
    seed = int(torch.randint(2**62, (), generator=generator).item())
    devices = []
    if torch.cuda.is_available() and str(device).startswith("cuda"):
        devices = [torch.device(device).index or 0]
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def loss_constraints(loss_params):
    """The parameter constraints of an estimator's loss parameters that the
    two tasks share: the form's name, and weights that are not negative."""
    weight = [Interval(Real, 0, None, closed="left")]
    return {"loss": [StrOptions(set(LOSSES))],
            **{name: weight for name in loss_params if name.endswith("_weight")}}


@contextlib.contextmanager
def naming_parameters(prefix, routed):
    """Re-raise a TypeError or ValueError from building a component (the
    module, the optimizer) with the ``prefix__*`` parameters that were set."""
    try:
        yield
    except (TypeError, ValueError) as exc:
        given = ", ".join(f"{prefix}__{k}={v!r}" for k, v in routed.items())
        raise type(exc)(
            f"The {prefix} could not be built from its parameters (set on the "
            f"estimator as {prefix}__<name>; given: {given or 'none'}): {exc}"
        ) from exc
