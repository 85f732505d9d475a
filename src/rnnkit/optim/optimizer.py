"""Optimizer base class: parameter groups, per-parameter state, ``step`` and ``state_dict``.

The layout follows ``torch.optim.Optimizer`` so that code written for PyTorch reads the
same here::

    opt = Adam([{"params": lstm.parameters()}, {"params": head.parameters(), "lr": 1e-2}], lr=1e-3)
    opt.zero_grad()
    ...                        # forward, loss, backward: gradients are added into p.grad
    opt.step()                 # parameters whose grad is None are skipped

A subclass only states its defaults, how to check its options (``_check_options``), which
per-parameter state it keeps (``_STATE_ARRAYS``, ``_STATE_SCALARS``, ``_REQUIRED_STATE``), the
starting state of a parameter (``_initial_state``), the arrays one step writes
(``_written_arrays``) and the update rule of one parameter (``_update``), written once, out of
place, for both ways of stepping:

- ``step()`` updates ``p.data`` and the state arrays in place, as ``torch.optim`` does;
- ``step_if_finite()`` (what :func:`rnnkit.train.fit` uses) computes the same values into spare
  arrays and commits them only when every new parameter value is finite, so a step that would
  make a weight NaN or infinite changes nothing at all, at no cost on the normal path.

Both keep each parameter's dtype and its array (``p.data`` is written in place).

``state_dict()`` returns plain data, no pickle needed::

    {"state": {0: {"step": 3, "exp_avg": ndarray, ...}, ...},    # keyed by parameter index
     "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), ..., "params": [0, 1, 2]}, ...]}

Parameter indices count through the groups in order, as in PyTorch. The arrays can go to
an ``.npz`` file and everything else to JSON; ``load_state_dict`` accepts the keys back as
strings (``"0"``), the arrays back as lists and tuples back as lists.
"""

from __future__ import annotations

import abc
import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from rnnkit.nn.module import Module, Parameter
from rnnkit.optim._load import parse_state_dict

__all__ = ["Optimizer", "all_finite", "check_real", "lerp_"]


# -- option checks shared by the optimizers ---------------------------------------------
def check_real(name: str, value, minimum: float | None = 0.0, below: float | None = None) -> float:
    """A finite real number with ``minimum <= value`` (and ``value < below`` when given)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if minimum is not None and value < minimum:
        bound = f"in [{minimum}, {below})" if below is not None else f">= {minimum}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    if below is not None and value >= below:
        bound = f"in [{minimum}, {below})" if minimum is not None else f"< {below}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return value


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, out: np.ndarray | None = None) -> np.ndarray:
    """``out <- start + weight * (end - start)`` (in place into ``start`` by default), evaluated as
    ``torch.lerp`` does.

    For ``weight >= 0.5`` the same value is computed from the ``end`` side,
    ``end - (end - start) * (1 - weight)``, which is the more accurate form there.
    """
    out = start if out is None else out
    if weight < 0.5:
        np.add(start, weight * (end - start), out=out)
    else:
        np.subtract(end, (end - start) * (1.0 - weight), out=out)
    return out


def all_finite(a: np.ndarray) -> bool:
    """True when no element of ``a`` is NaN or infinite.

    The sum of squares ``a . a`` is NaN or infinite whenever an element is, so one BLAS dot
    product decides the usual case; only a non-finite result (which large finite values can
    also give, by overflow) is looked at element by element.
    """
    flat = a.reshape(-1)
    if math.isfinite(np.dot(flat, flat)):         # an overflow warns: callers run it under np.errstate
        return True
    return bool(np.isfinite(a).all())


class Optimizer(abc.ABC):
    """Base class of all optimizers.

    Args:
        params: an iterable of :class:`~rnnkit.nn.Parameter`, of ``(name, Parameter)`` pairs
            (as from ``module.named_parameters()``), or of dicts that each hold ``'params'``
            and options overriding ``defaults`` for that group.
        defaults: the option values of every group that does not set its own.

    Attributes:
        param_groups: list of dicts, one per group, with ``'params'`` and every option
            (``'lr'`` etc.); learning-rate schedulers write ``'lr'`` here.
        state: ``{Parameter: {name: ndarray | number}}`` per-parameter state.
    """

    #: names of the per-parameter state entries that are arrays shaped like the parameter
    _STATE_ARRAYS: tuple[str, ...] = ()
    #: names of the per-parameter state entries that are numbers (``'step'``)
    _STATE_SCALARS: tuple[str, ...] = ()
    #: the entries a loaded (non-empty) per-parameter state must hold
    _REQUIRED_STATE: tuple[str, ...] = ()

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = dict(self._check_options(dict(defaults)))
        self.state: dict[Parameter, dict[str, Any]] = {}
        self._spare: dict[Parameter, dict[str, np.ndarray]] = {}     # step_if_finite's arrays
        self.param_groups: list[dict[str, Any]] = []
        if isinstance(params, (Parameter, np.ndarray, Module)) or not isinstance(params, Iterable):
            hint = " (pass module.parameters())" if isinstance(params, Module) else ""
            raise TypeError(
                "params must be an iterable of Parameters or of dicts with 'params', "
                f"got {type(params).__name__}{hint}"
            )
        if isinstance(params, (set, frozenset)):
            raise TypeError("params must be an ordered iterable (a list), not a set: its order changes between runs")
        groups = list(params)
        if not groups:
            raise ValueError("params is an empty parameter list: the optimizer has nothing to optimize")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # -- hooks for subclasses -----------------------------------------------------------
    @classmethod
    @abc.abstractmethod
    def _check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        """Check (and normalise) the option values of one group; return ``options``."""

    def _initial_state(self, theta: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
        """The starting values of the entries that ``state`` lacks and the update needs (by
        default ``step = 0`` and zeros for every written array). Nothing returned here is
        stored unless the step is committed."""
        fresh: dict[str, Any] = {"step": 0} if "step" in self._STATE_SCALARS and "step" not in state else {}
        for name in self._written_arrays(group):
            if name not in state:
                fresh[name] = np.zeros_like(theta)
        return fresh

    def _written_arrays(self, group: dict[str, Any]) -> tuple[str, ...]:
        """Names of the state arrays one step with ``group``'s options writes."""
        return ()

    @abc.abstractmethod
    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], new: dict[str, Any],
                group: dict[str, Any]) -> None:
        """One step of the update rule, written out of place.

        Reads the parameter ``theta``, its gradient ``grad`` (read-only) and its ``state`` (the
        entries of :meth:`_initial_state` filled in); writes every element of ``new['param']``
        and of ``new[name]`` for each name of :meth:`_written_arrays`, and sets the scalar
        entries (``new['step']``). The arrays of ``new`` may be ``theta`` and the arrays of
        ``state`` themselves (the in-place :meth:`step`): read an entry before writing it.
        """

    # -- groups -------------------------------------------------------------------------
    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional options)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        group = dict(param_group)
        if "params" not in group:
            raise ValueError("param_group must have a 'params' entry")
        params = group["params"]
        if isinstance(params, Parameter):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError("param_group['params'] must be ordered (a list), not a set")
        elif isinstance(params, (np.ndarray, Module)) or not isinstance(params, Iterable):
            raise TypeError(f"param_group['params'] must be an iterable of Parameters, got {type(params).__name__}")
        params = list(params)
        names = [p[0] for p in params if isinstance(p, tuple)]
        if names:
            if len(names) != len(params) or any(len(p) != 2 for p in params):
                raise ValueError("param_group['params'] must be all Parameters or all (name, Parameter) pairs")
            group["param_names"] = names
            params = [p[1] for p in params]
        if not params:
            raise ValueError("param_group['params'] is an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Parameter):
                raise TypeError(
                    f"params[{i}] must be an rnnkit.nn.Parameter, got {type(p).__name__}"
                )
        if len({id(p) for p in params}) != len(params):
            raise ValueError("param_group['params'] holds the same Parameter more than once")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        if self.param_groups and (("param_names" in group) != ("param_names" in self.param_groups[0])):
            raise ValueError("all parameter groups must be given with names or all without names")
        group["params"] = params
        unknown = sorted(set(group) - set(self.defaults) - {"params", "param_names", "initial_lr"})
        if unknown:
            raise ValueError(f"param_group has unknown options {unknown}; known: {sorted(self.defaults)}")
        for name, value in self.defaults.items():
            group.setdefault(name, value)
        self._check_options(group)
        self.param_groups.append(group)

    # -- the public step ----------------------------------------------------------------
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Drop every gradient (``grad = None``) or, with ``set_to_none=False``, fill it with 0."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad[...] = 0

    def _with_grads(self):
        """``(p, grad, group)`` for every parameter that has a gradient (cast to its dtype)."""
        for gi, group in enumerate(self.param_groups):
            for pi, p in enumerate(group["params"]):
                if p.grad is None:
                    continue
                grad = np.asarray(p.grad)
                if grad.shape != p.data.shape:
                    raise ValueError(
                        f"param_groups[{gi}]['params'][{pi}]: grad shape {grad.shape} does not match "
                        f"the parameter shape {p.data.shape}"
                    )
                yield p, grad.astype(p.data.dtype, copy=False), group

    def _current(self, p: Parameter, group: dict[str, Any]) -> dict[str, Any]:
        """``p``'s state with the missing entries at their starting values (a new dict)."""
        state = dict(self.state.get(p, ()))
        state.update(self._initial_state(p.data, state, group))
        return state

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient, in place; returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (as in PyTorch); it runs
        before the update. Parameters whose ``grad`` is None are left untouched, and their
        state (step counts, moments) does not advance.
        """
        loss = closure() if closure is not None else None
        for p, grad, group in self._with_grads():
            state = self._current(p, group)
            new: dict[str, Any] = {"param": p.data}
            for name in self._written_arrays(group):
                new[name] = state[name] if state.get(name) is not None else np.empty_like(p.data)
            self._update(p.data, grad, state, new, group)
            del new["param"]
            state.update(new)
            self.state[p] = state
        return loss

    def step_if_finite(self) -> list[Parameter]:
        """One :meth:`step`, kept only if every updated parameter stays finite.

        The new values of the parameters and of their state are computed into spare arrays
        (kept from step to step: nothing is allocated or copied on the normal path but the
        new values themselves). When every new parameter value is finite the step is
        committed: each parameter's array receives its new values in place and the state
        arrays trade places with the spare ones. Otherwise nothing changes, no parameter and
        no state (step counts included), and the parameters whose update would have been
        NaN or infinite are returned. The arithmetic is :meth:`step`'s, bit for bit.

        Returns ``[]`` when the step was committed.
        """
        staged, bad = [], []
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):   # non-finite results are reported
            for p, grad, group in self._with_grads():
                state = self._current(p, group)
                spare = self._spare.get(p, {})
                new: dict[str, Any] = {}
                for name in ("param",) + self._written_arrays(group):
                    a = spare.get(name)
                    fits = a is not None and a.shape == p.data.shape and a.dtype == p.data.dtype
                    new[name] = a if fits else np.empty_like(p.data)
                self._update(p.data, grad, state, new, group)
                if not all_finite(new["param"]):
                    bad.append(p)
                staged.append((p, state, new))
        if bad:
            return bad
        for p, state, new in staged:      # commit: nothing below can fail half-way
            np.copyto(p.data, new["param"])
            recycled = {name: state[name] for name in new if isinstance(state.get(name), np.ndarray)}
            recycled["param"] = new.pop("param")
            state.update(new)
            self.state[p] = state
            self._spare[p] = recycled
        return []

    # -- state --------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """Per-parameter state keyed by parameter index, and the groups' options (copies)."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            if "param_names" in packed:
                packed["param_names"] = list(packed["param_names"])
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if self.state.get(p):
                    state[index[id(p)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self.state[p].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load options and per-parameter state saved by :meth:`state_dict`.

        The groups must have the same sizes as this optimizer's. Arrays (or torch tensors)
        are copied and cast to each parameter's dtype; their shapes must match the parameter
        and their values be finite; a parameter's state must hold every entry the update
        reads. Anything malformed raises ``ValueError`` or ``TypeError`` naming the entry;
        everything is checked before anything is changed.
        """
        groups, state = parse_state_dict(self, state_dict)
        self.param_groups = groups
        self.state = state
        self._spare = {}

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k not in ("params", "param_names"):
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)
