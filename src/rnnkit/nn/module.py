"""Module and Parameter: the containers every layer is built from.

A :class:`Parameter` holds ``data`` (an ndarray) and ``grad`` (an ndarray of the same
shape, or ``None`` until a backward pass adds into it). A :class:`Module` owns parameters
and sub-modules, named as in PyTorch so that ``state_dict()`` keys match
``torch.nn.Module.state_dict()``.

Forward in training mode pushes what backward needs on a per-module stack; ``backward``
pops the most recent entry (LIFO). ``eval()`` or :func:`rnnkit.no_grad` keep nothing.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Iterator

import numpy as np

from rnnkit._grad_mode import is_grad_enabled

__all__ = ["Parameter", "Module"]

_FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _as_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """Normalise ``dtype`` to float32 or float64, else raise ``TypeError``."""
    try:
        dt = np.dtype(dtype) if dtype is not None else np.dtype(np.float32)
    except TypeError as err:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from err
    if dt not in _FLOAT_DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got {dt}")
    return dt


def _recording_init(init):
    """Wrap a subclass ``__init__`` so the outermost call stores its bound arguments."""
    sig = inspect.signature(init)

    @functools.wraps(init)
    def __init__(self, *args, **kwargs):
        outermost = "_config_recording" not in self.__dict__
        if outermost:
            object.__setattr__(self, "_config_recording", True)
        try:
            init(self, *args, **kwargs)
        finally:
            if outermost:
                del self.__dict__["_config_recording"]
        if outermost:
            bound = sig.bind(self, *args, **kwargs)
            bound.apply_defaults()
            object.__setattr__(self, "_config", (tuple(bound.args[1:]), dict(bound.kwargs)))

    return __init__


class Parameter:
    """A trainable array: ``data`` plus an accumulated ``grad``.

    Example::

        p = Parameter(np.zeros((3, 4), np.float32))
        p.grad = None        # gradients are added into p.grad by backward passes
    """

    __slots__ = ("data", "grad", "requires_grad")

    def __init__(self, data: np.ndarray, requires_grad: bool = True):
        self.data = np.ascontiguousarray(data)
        self.grad: np.ndarray | None = None
        self.requires_grad = requires_grad

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    def accumulate(self, g: np.ndarray) -> None:
        """``grad += g`` (allocating ``grad`` on first use)."""
        if not self.requires_grad:
            return
        if self.grad is None:
            self.grad = np.array(g, dtype=self.data.dtype, copy=True)
        else:
            self.grad += g

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"


class Module:
    """Base class: parameters, sub-modules, train/eval mode and the backward cache stack.

    Every subclass records the arguments of its outermost ``__init__`` call as
    ``self._config = (args, kwargs)`` (defaults filled in), so that
    :func:`rnnkit.save_model` can rebuild the module without help.
    """

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is not None:
            cls.__init__ = _recording_init(init)

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_cache_stack", [])
        object.__setattr__(self, "training", True)

    # -- registration -------------------------------------------------------------------
    def __setattr__(self, name: str, value) -> None:
        params = self.__dict__.get("_parameters")
        if params is None:
            raise RuntimeError("call Module.__init__() before assigning attributes")
        if isinstance(value, Parameter):
            self._modules.pop(name, None)
            params[name] = value
            self.__dict__.pop(name, None)
            return
        if isinstance(value, Module):
            params.pop(name, None)
            self._modules[name] = value
            self.__dict__.pop(name, None)
            return
        if name in params:
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} to parameter {name!r}")
            del params[name]
        if name in self._modules:
            del self._modules[name]
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str):
        d = self.__dict__
        if name in d.get("_parameters", {}):
            return d["_parameters"][name]
        if name in d.get("_modules", {}):
            return d["_modules"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._parameters.pop(name, None)
        else:
            setattr(self, name, param)

    # -- traversal ----------------------------------------------------------------------
    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        seen: set[int] = set()
        for name, p in self._named_parameters_all(prefix):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def _named_parameters_all(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        for name, p in self._parameters.items():
            yield prefix + name, p
        for mname, m in self._modules.items():
            yield from m._named_parameters_all(prefix + mname + ".")

    def parameters(self) -> Iterator[Parameter]:
        for _, p in self.named_parameters():
            yield p

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        yield prefix, self
        for name, m in self._modules.items():
            yield from m.named_modules(prefix + ("." if prefix else "") + name)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """``{name: array}`` with PyTorch's names; arrays are copies."""
        return OrderedDict((n, p.data.copy()) for n, p in self._named_parameters_all(""))

    def load_state_dict(self, state_dict, strict: bool = True) -> tuple[list[str], list[str]]:
        """Copy arrays into parameters. With ``strict``, missing and unexpected keys raise ``ValueError``.

        Values may be NumPy arrays or anything ``numpy.asarray`` accepts (for example CPU
        torch tensors). Shapes must match exactly; values are cast to the parameter dtype.
        Returns ``(missing_keys, unexpected_keys)``.
        """
        if not hasattr(state_dict, "keys"):
            raise TypeError(f"state_dict must be a mapping, got {type(state_dict).__name__}")
        own = OrderedDict(self._named_parameters_all(""))
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            raise ValueError(
                f"load_state_dict: missing keys {missing}, unexpected keys {unexpected}"
            )
        arrays = {}
        for k, p in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            if hasattr(v, "detach"):  # a torch tensor
                v = v.detach().cpu().numpy()
            a = np.asarray(v)
            if a.shape != p.data.shape:
                raise ValueError(
                    f"load_state_dict: {k!r} expected shape {p.data.shape}, got {a.shape}"
                )
            if not (np.issubdtype(a.dtype, np.number) or a.dtype == np.bool_):
                raise TypeError(f"load_state_dict: {k!r} expected numbers, got {a.dtype}")
            arrays[k] = a
        for k, a in arrays.items():  # all checked before anything is written
            own[k].data = np.ascontiguousarray(a, dtype=own[k].data.dtype)
        return missing, unexpected

    def zero_grad(self, set_to_none: bool = True) -> None:
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad[...] = 0

    # -- modes and dtype ----------------------------------------------------------------
    def train(self, mode: bool = True) -> Module:
        if not isinstance(mode, bool):
            raise TypeError(f"train(mode) expects a bool, got {type(mode).__name__}")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self) -> Module:
        return self.train(False)

    def to(self, dtype) -> Module:
        """Cast every parameter (and its gradient) to ``dtype`` (float32 or float64)."""
        dt = _as_float_dtype(dtype)
        for m in self.modules():
            for p in m._parameters.values():
                p.data = p.data.astype(dt)
                if p.grad is not None:
                    p.grad = p.grad.astype(dt)
            if "dtype" in m.__dict__:
                object.__setattr__(m, "dtype", dt)
            m._cache_stack.clear()
        return self

    def double(self) -> Module:
        return self.to(np.float64)

    def float(self) -> Module:
        return self.to(np.float32)

    # -- the backward cache -------------------------------------------------------------
    @property
    def keeps_cache(self) -> bool:
        """True when a forward call should save what backward needs."""
        return self.training and is_grad_enabled()

    def _push(self, cache) -> None:
        self._cache_stack.append(cache)

    def _peek(self):
        """The most recent saved forward, left on the stack: backward checks its arguments
        first and pops only then, so a rejected gradient does not lose the forward."""
        if not self._cache_stack:
            raise RuntimeError(
                f"{type(self).__name__}.backward() called without a matching forward in "
                "training mode (no saved forward is left; eval() and no_grad() keep nothing)"
            )
        return self._cache_stack[-1]

    def _pop(self):
        self._peek()
        return self._cache_stack.pop()

    def clear_cache(self) -> None:
        """Drop every saved forward (of this module and its sub-modules)."""
        for m in self.modules():
            m._cache_stack.clear()

    # -- calling ------------------------------------------------------------------------
    def forward(self, *args, **kwargs):
        raise TypeError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        if self._modules:
            for name, m in self._modules.items():
                sub = repr(m).replace("\n", "\n  ")
                lines.append(f"  ({name}): {sub}")
            return "\n".join(lines) + "\n)"
        return lines[0] + ")"
