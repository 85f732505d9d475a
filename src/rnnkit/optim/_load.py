"""Checking a saved optimizer state before it is loaded: every entry, with errors that name it.

``parse_state_dict(opt, state_dict)`` returns the new ``param_groups`` and ``state`` of
``opt`` or raises ``TypeError`` / ``ValueError`` naming the entry that is wrong; nothing of
``opt`` is changed here. What :meth:`Optimizer.state_dict` writes, also after a trip through
JSON (string keys, lists for tuples) and ``.npz`` files, and torch tensors where arrays go, is
accepted.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rnnkit._checks import to_numpy

__all__ = ["parse_state_dict"]


def _index(value, where: str) -> int:
    """A parameter index: an integer (or, as JSON keys come back, a string of one)."""
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{where} must be an integer parameter index, got {type(value).__name__} {value!r}")
    return int(value)


def _count(value, where: str) -> int:
    """A step count: an integer >= 0 (an integral float or a 0-d array/tensor, as torch saves it)."""
    v = to_numpy(value)
    if isinstance(v, np.ndarray):
        if v.ndim != 0:
            raise TypeError(f"{where} must be a number, got an array of shape {v.shape}")
        v = v.item()
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise TypeError(f"{where} must be an integer step count, got {type(value).__name__} {value!r}")
    if v != v or v < 0 or v != int(v):
        raise ValueError(f"{where} must be an integer >= 0, got {v!r}")
    return int(v)


def _array(value, where: str, like: np.ndarray) -> np.ndarray:
    """A finite real array of ``like``'s shape, copied and cast to ``like``'s dtype."""
    v = to_numpy(value)
    if isinstance(v, (str, bytes, dict)):
        raise TypeError(f"{where} must be an array, got {type(value).__name__}")
    try:
        a = np.asarray(v)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where} must be a numeric array: {err}") from None
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{where} must hold real numbers, got dtype {a.dtype}")
    if a.shape != like.shape:
        raise ValueError(f"{where} has shape {a.shape}, the parameter has shape {like.shape}")
    a = np.array(a, dtype=like.dtype)                                 # a copy
    if not np.isfinite(a).all():
        raise ValueError(f"{where} holds non-finite values (NaN or inf)")
    return a


def _param_state(opt, key, entries, p) -> dict[str, Any]:
    where = f"state_dict['state'][{key!r}]"
    if not isinstance(entries, dict):
        raise TypeError(f"{where} must be a dict of the parameter's state, got {type(entries).__name__}")
    out: dict[str, Any] = {}
    for name, value in entries.items():
        if name in opt._STATE_SCALARS:
            out[name] = _count(value, f"{where}[{name!r}]")
        elif name in opt._STATE_ARRAYS:
            if value is not None:                                     # torch keeps None for an unused buffer
                out[name] = _array(value, f"{where}[{name!r}]", p.data)
        else:
            known = opt._STATE_SCALARS + opt._STATE_ARRAYS
            raise ValueError(f"{where} has entry {name!r}, which {type(opt).__name__} does not keep (known: {known})")
    missing = [n for n in opt._REQUIRED_STATE if n not in out]
    if out and missing:
        raise ValueError(f"{where} lacks {missing}: {type(opt).__name__} keeps {list(opt._REQUIRED_STATE)} "
                         "for every parameter it has updated")
    return out


def _group(opt, gi: int, saved, group: dict[str, Any]) -> tuple[list[int], dict[str, Any]]:
    where = f"state_dict['param_groups'][{gi}]"
    if not isinstance(saved, dict):
        raise TypeError(f"{where} must be a dict, got {type(saved).__name__}")
    if "params" not in saved:
        raise ValueError(f"{where} lacks 'params' (the indices of its parameters)")
    ids = saved["params"]
    if isinstance(ids, (str, bytes, dict)) or not hasattr(ids, "__len__"):
        raise TypeError(f"{where}['params'] must be a list of parameter indices, got {type(ids).__name__}")
    ids = [_index(i, f"{where}['params'][{j}]") for j, i in enumerate(ids)]
    if len(ids) != len(group["params"]):
        raise ValueError(f"param_groups[{gi}] has {len(ids)} parameters in state_dict, "
                         f"{len(group['params'])} in the optimizer")
    new = {k: v for k, v in saved.items() if k != "params"}
    missing = sorted(set(opt.defaults) - set(new))
    unknown = sorted(set(new) - set(opt.defaults) - {"param_names", "initial_lr"})
    if missing or unknown:
        raise ValueError(f"state_dict param_groups[{gi}] does not hold {type(opt).__name__}'s options: "
                         f"missing {missing}, unknown {unknown}")
    if "param_names" in new:
        names = new["param_names"]
        if isinstance(names, (str, bytes)) or not isinstance(names, (list, tuple)) or \
                not all(isinstance(n, str) for n in names) or len(names) != len(ids):
            raise ValueError(f"{where}['param_names'] must be a list of {len(ids)} names, got {names!r:.80}")
        new["param_names"] = list(names)
    elif "param_names" in group:
        new["param_names"] = group["param_names"]
    if "initial_lr" in new:
        from rnnkit.optim.optimizer import check_real

        new["initial_lr"] = check_real(f"{where}['initial_lr']", new["initial_lr"])
    new["params"] = group["params"]
    try:
        opt._check_options(new)
    except (TypeError, ValueError) as err:
        raise type(err)(f"{where}: {err}") from None
    return ids, new


def parse_state_dict(opt, state_dict) -> tuple[list[dict[str, Any]], dict]:
    """``(param_groups, state)`` for ``opt`` from a saved ``state_dict``, every entry checked."""
    if not isinstance(state_dict, dict):
        raise TypeError(f"state_dict must be a dict with 'state' and 'param_groups', got {type(state_dict).__name__}")
    if "state" not in state_dict or "param_groups" not in state_dict:
        raise ValueError(f"state_dict must be a dict with 'state' and 'param_groups', got keys {sorted(state_dict)}")
    saved_groups = state_dict["param_groups"]
    if not isinstance(saved_groups, (list, tuple)):
        raise TypeError(f"state_dict['param_groups'] must be a list of dicts, got {type(saved_groups).__name__}")
    if len(saved_groups) != len(opt.param_groups):
        raise ValueError(
            f"state_dict has {len(saved_groups)} parameter groups, the optimizer has {len(opt.param_groups)}"
        )
    by_index: dict[int, Any] = {}
    groups = []
    for gi, (saved, group) in enumerate(zip(saved_groups, opt.param_groups)):
        ids, new = _group(opt, gi, saved, group)
        for i, p in zip(ids, group["params"]):
            if i in by_index:
                raise ValueError(f"state_dict['param_groups'] lists parameter index {i} more than once")
            by_index[i] = p
        groups.append(new)
    saved_state = state_dict["state"]
    if not isinstance(saved_state, dict):
        raise TypeError("state_dict['state'] must be a dict keyed by parameter index, "
                        f"got {type(saved_state).__name__}")
    state = {}
    for key, entries in saved_state.items():
        try:
            p = by_index[_index(key, "key")]
        except (KeyError, TypeError):
            raise ValueError(f"state_dict['state'] has key {key!r}, which is no parameter index") from None
        state[p] = _param_state(opt, key, entries, p)
    return groups, state
