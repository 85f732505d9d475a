"""Modules by configuration: the allow-list of classes a file may name, and guarded building.

A module is saved as ``{"class", "args", "kwargs"}`` (:func:`module_config`: the
arguments its outermost constructor was called with, minus ``rng``) and rebuilt by
:func:`build_module` from the allow-list only: everything exported by :mod:`rnnkit.nn` and
the classes passed to :func:`register` (every model of :mod:`rnnkit.models` registers
itself). Loading a file never imports or runs anything it names.

A file's configuration could also ask for sizes far beyond its weights (``hidden_size =
10**9``) and make the constructor allocate them. :func:`build_within` builds under a budget
set by the number of weights the file holds: every whole number in the configuration must
be at most ``max(weights, 1024)``, and the random initialisation (which every layer draws
before its weights are overwritten, for as many numbers as it has weights) may draw at most
``8 * weights + 2**18`` numbers. A configuration over budget is a
:class:`~rnnkit.errors.FileFormatError` before the large arrays exist.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import math
import operator

import numpy as np

from rnnkit.errors import FileFormatError
from rnnkit.nn.module import Module

__all__ = ["register", "allowed_classes", "module_config", "build_module", "build_within"]

_REGISTRY: dict[str, type] = {}
_BUDGET: contextvars.ContextVar = contextvars.ContextVar("rnnkit_build_budget", default=None)


# -- the allow-list ---------------------------------------------------------------------
def register(cls: type, name: str | None = None) -> type:
    """Allow :func:`rnnkit.load_model` to build ``cls`` (a :class:`~rnnkit.nn.Module` subclass).

    Usable as a decorator. ``name`` defaults to ``cls.__name__``; a name already taken by
    another class raises ``ValueError``.
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register expects a Module subclass, got {cls!r}")
    key = cls.__name__ if name is None else name
    if not isinstance(key, str) or not key:
        raise TypeError(f"name must be a non-empty string, got {name!r}")
    taken = allowed_classes().get(key)
    if taken is not None and taken is not cls:
        raise ValueError(f"class name {key!r} is already registered for {taken.__module__}.{taken.__qualname__}")
    _REGISTRY[key] = cls
    return cls


def allowed_classes() -> dict[str, type]:
    """``{name: class}`` of every module class a file may name."""
    from rnnkit import nn

    out: dict[str, type] = {}
    for name in nn.__all__:
        obj = getattr(nn, name, None)
        if isinstance(obj, type) and issubclass(obj, Module):
            out[name] = obj
    out.update(_REGISTRY)
    return out


def _class_name(module: Module) -> str:
    cls = type(module)
    for name, c in allowed_classes().items():
        if c is cls:
            return name
    raise TypeError(
        f"cannot save {cls.__module__}.{cls.__qualname__}: it is not an rnnkit.nn class; "
        "allow it with rnnkit.serialization.register(cls)"
    )


# -- configuration ----------------------------------------------------------------------
def module_config(module: Module, arrays: dict[str, np.ndarray] | None = None) -> dict:
    """JSON-able ``{"class", "args", "kwargs"}`` that rebuilds ``module`` (without weights).

    The ``rng`` argument is left out (the weights are loaded afterwards anyway).
    """
    from rnnkit.io._values import pack

    if not isinstance(module, Module):
        raise TypeError(f"module must be an rnnkit.nn.Module, got {type(module).__name__}")
    config = module.__dict__.get("_config")
    if config is None and type(module).__init__ is Module.__init__:
        config = ((), {})           # a class without its own __init__ takes no arguments
    if config is None:
        raise TypeError(f"{type(module).__name__} has no recorded constructor arguments")
    arrays = {} if arrays is None else arrays
    name = _class_name(module)
    args, kwargs = config
    return {
        "class": name,
        "args": [pack(v, arrays, f"{name} argument {i}") for i, v in enumerate(args)],
        "kwargs": {k: pack(v, arrays, f"{name}({k}=...)") for k, v in kwargs.items() if k != "rng"},
    }


def build_module(config, arrays=None, *, _depth: int = 0) -> Module:
    """Build a module from :func:`module_config` output; the class must be allow-listed."""
    from rnnkit.io._values import unpack

    if not isinstance(config, dict) or set(config) != {"class", "args", "kwargs"}:
        raise FileFormatError(f"module configuration must have keys class/args/kwargs, got {config!r:.80}")
    name = config["class"]
    cls = allowed_classes().get(name) if isinstance(name, str) else None
    if cls is None:
        raise FileFormatError(
            f"unknown module class {name!r:.80}: only rnnkit.nn classes and "
            "classes passed to rnnkit.serialization.register() can be loaded"
        )
    if not isinstance(config["args"], list) or not isinstance(config["kwargs"], dict):
        raise FileFormatError(f"{name}: configuration args must be a list and kwargs an object, got "
                              f"{type(config['args']).__name__} and {type(config['kwargs']).__name__}")
    budget = _BUDGET.get()
    if budget is not None:
        budget.check_sizes(name, config)
    arrays = {} if arrays is None else arrays
    args = [unpack(v, arrays, f"{name} argument", _depth) for v in config["args"]]
    kwargs = {str(k): unpack(v, arrays, f"{name}({k}=...)", _depth) for k, v in config["kwargs"].items()}
    if budget is not None and _takes_rng(cls):
        kwargs["rng"] = budget.rng                       # never a seed the file chose
    return cls(*args, **kwargs)


# -- building within a budget -----------------------------------------------------------
@functools.cache
def _takes_rng(cls: type) -> bool:
    return "rng" in inspect.signature(cls).parameters


def _count(size) -> int:
    if size is None:
        return 1
    if isinstance(size, (tuple, list)):
        return math.prod(operator.index(s) for s in size)
    return operator.index(size)


class _BudgetGenerator(np.random.Generator):
    """A Generator whose draws together may not exceed ``left`` numbers."""

    def charge(self, size) -> None:
        self.left -= _count(size)
        if self.left < 0:
            raise FileFormatError(self.message)

    def uniform(self, low=0.0, high=1.0, size=None):
        self.charge(size)
        return super().uniform(low, high, size)

    def normal(self, loc=0.0, scale=1.0, size=None):
        self.charge(size)
        return super().normal(loc, scale, size)

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        self.charge(size if out is None else out.shape)
        return super().standard_normal(size, dtype, out)

    def random(self, size=None, dtype=np.float64, out=None):
        self.charge(size if out is None else out.shape)
        return super().random(size, dtype, out)

    def integers(self, low, high=None, size=None, dtype=np.int64, endpoint=False):
        self.charge(size)
        return super().integers(low, high, size, dtype, endpoint)


class _Budget:
    def __init__(self, n_weights: int):
        self.max_int = max(n_weights, 1024)
        self.rng = _BudgetGenerator(np.random.PCG64())
        self.rng.left = 8 * n_weights + 2**18
        self.rng.message = (f"the configuration asks for more than {self.rng.left} initial weights, far more "
                            f"than the {n_weights} the file holds")
        self.n_weights = n_weights

    def check_sizes(self, name: str, config: dict) -> None:
        """Every whole number in the arguments (nested modules are checked when built)."""
        todo = [(f"{name} argument {i}", v) for i, v in enumerate(config["args"])]
        todo += [(f"{name}({k}=...)", v) for k, v in config["kwargs"].items()]
        while todo:
            where, v = todo.pop()
            if isinstance(v, int) and not isinstance(v, bool) and abs(v) > self.max_int:
                raise FileFormatError(f"{where}: {v} is larger than any size the file's {self.n_weights} "
                                      "weights could need")
            if isinstance(v, list):
                todo += [(where, x) for x in v]
            elif isinstance(v, dict) and "__module__" not in v:
                todo += [(where, x) for x in v.values()]


def build_within(config, arrays, n_weights: int) -> Module:
    """:func:`build_module` under the budget of a file holding ``n_weights`` weights (see the
    module docstring); the built modules get an ordinary Generator."""
    budget = _Budget(n_weights)
    token = _BUDGET.set(budget)
    try:
        model = build_module(config, arrays)
    finally:
        _BUDGET.reset(token)
    plain = np.random.Generator(budget.rng.bit_generator)
    for m in model.modules():
        for k, v in list(m.__dict__.items()):
            if v is budget.rng:
                m.__dict__[k] = plain
    return model
