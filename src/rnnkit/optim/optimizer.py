"""Optimizer base class: parameter groups, per-parameter state, ``step`` and ``state_dict``.

The layout follows ``torch.optim.Optimizer`` so that code written for PyTorch reads the
same here::

    opt = Adam([{"params": lstm.parameters()}, {"params": head.parameters(), "lr": 1e-2}], lr=1e-3)
    opt.zero_grad()
    ...                        # forward, loss, backward: gradients are added into p.grad
    opt.step()                 # parameters whose grad is None are skipped

A subclass only states its defaults, how to check its options (``_check_options``), which
per-parameter state it keeps (``_STATE_ARRAYS``, ``_STATE_SCALARS``) and the update rule of
one parameter (``_update``). Updates are written in place into ``p.data`` and keep its dtype.

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

__all__ = ["Optimizer"]


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


def check_flag(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__} {value!r}")
    return bool(value)


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start <- start + weight * (end - start)`` in place, evaluated as ``torch.lerp`` does.

    For ``weight >= 0.5`` the same value is computed from the ``end`` side,
    ``end - (end - start) * (1 - weight)``, which is the more accurate form there.
    """
    if weight < 0.5:
        start += weight * (end - start)
    else:
        start[...] = end - (end - start) * (1.0 - weight)


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

    def __init__(self, params, defaults: dict[str, Any]):
        self.defaults = dict(self._check_options(dict(defaults)))
        self.state: dict[Parameter, dict[str, Any]] = {}
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

    @abc.abstractmethod
    def _update(self, p: Parameter, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]) -> None:
        """Apply one step of the update rule to ``p.data`` in place (``grad`` is read-only)."""

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

    def step(self, closure: Callable[[], Any] | None = None):
        """Update every parameter that has a gradient; returns ``closure()`` if given.

        ``closure`` re-evaluates the model and returns the loss (as in PyTorch); it runs
        before the update. Parameters whose ``grad`` is None are left untouched, and their
        state (step counts, moments) does not advance.
        """
        loss = closure() if closure is not None else None
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
                grad = grad.astype(p.data.dtype, copy=False)
                self._update(p, grad, self.state.setdefault(p, {}), group)
        return loss

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

        The groups must have the same sizes as this optimizer's. Arrays are copied and cast
        to each parameter's dtype; their shapes must match the parameter. Everything is
        checked before anything is changed.
        """
        if not isinstance(state_dict, dict) or "state" not in state_dict or "param_groups" not in state_dict:
            raise ValueError("state_dict must be a dict with 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"state_dict has {len(saved_groups)} parameter groups, the optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Parameter] = {}
        new_groups = []
        for gi, (saved, group) in enumerate(zip(saved_groups, self.param_groups)):
            ids = [int(i) for i in saved["params"]]
            if len(ids) != len(group["params"]):
                raise ValueError(
                    f"param_groups[{gi}] has {len(ids)} parameters in state_dict, "
                    f"{len(group['params'])} in the optimizer"
                )
            by_index.update(zip(ids, group["params"]))
            new = {k: v for k, v in saved.items() if k != "params"}
            missing = sorted(set(self.defaults) - set(new))
            unknown = sorted(set(new) - set(self.defaults) - {"param_names", "initial_lr"})
            if missing or unknown:
                raise ValueError(
                    f"state_dict param_groups[{gi}] does not hold {type(self).__name__}'s options: "
                    f"missing {missing}, unknown {unknown}"
                )
            new["params"] = group["params"]
            if "param_names" in group and "param_names" not in new:
                new["param_names"] = group["param_names"]
            new_groups.append(self._check_options(new))
        new_state: dict[Parameter, dict[str, Any]] = {}
        for key, entries in state_dict["state"].items():
            try:
                p = by_index[int(key)]
            except (KeyError, ValueError):
                raise ValueError(f"state_dict['state'] has key {key!r}, which is no parameter index") from None
            new_state[p] = self._load_param_state(key, entries, p)
        self.param_groups = new_groups
        self.state = new_state

    def _load_param_state(self, key, entries: dict[str, Any], p: Parameter) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in entries.items():
            if name in self._STATE_SCALARS:
                out[name] = int(np.asarray(value).item())
            elif name in self._STATE_ARRAYS:
                a = np.array(value, dtype=p.data.dtype)  # a copy
                if a.shape != p.data.shape:
                    raise ValueError(
                        f"state_dict['state'][{key!r}][{name!r}] has shape {a.shape}, "
                        f"the parameter has shape {p.data.shape}"
                    )
                out[name] = a
            else:
                known = self._STATE_SCALARS + self._STATE_ARRAYS
                raise ValueError(
                    f"state_dict['state'][{key!r}] has entry {name!r}, which {type(self).__name__} "
                    f"does not keep (known: {known})"
                )
        return out

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for k in sorted(group):
                if k not in ("params", "param_names"):
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)
