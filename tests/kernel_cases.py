"""Random problems for the kernel-contract tests, and running one on a backend.

A problem holds ``x``, the weights (:class:`rnnkit.kernels.CellWeights`), the initial state,
lengths and the gradients fed to backward, for any registered kind; :func:`run` returns every
array the contract gives back (forward output and state, the cache's arrays, every gradient)
in a dict keyed by a name, so that comparisons name the tensor that failed.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rnnkit.kernels import CellWeights, get_kind, implementation


@dataclass
class Problem:
    kind: str
    x: np.ndarray                  # (T, B, I)
    w: CellWeights
    state0: tuple
    lengths: np.ndarray | None
    d_out: np.ndarray              # (T, B, P)
    d_state: tuple                 # one (B, .) array or None per state part
    options: dict

    def astype(self, dtype) -> Problem:
        def cast(a):
            return None if a is None else a.astype(dtype)

        return replace(self, x=cast(self.x), w=CellWeights(*(cast(a) for a in self.w)),
                       state0=tuple(cast(s) for s in self.state0), d_out=cast(self.d_out),
                       d_state=tuple(cast(s) for s in self.d_state))


def problem(kind, T, B, I, H, rng, *, P=None, bias=True, lengths=False, d_state=True, recurrent=0.5,
            **options) -> Problem:
    """A random problem (float64). ``P`` < H adds a projection (LSTM); ``lengths`` gives at
    least one padded sequence; ``d_state=False`` passes None for every state gradient."""
    k = get_kind(kind)
    P = P or H
    r = rng.standard_normal
    scale = {"weight_ih": 1 / np.sqrt(I), "weight_hh": recurrent, "weight_hr": 0.5}
    a = {name: r(shape) * scale.get(name, 1.0) for name, shape in k.parameter_shapes(I, H, P).items()
         if bias or not name.startswith("bias")}
    w = CellWeights(a["weight_ih"], a.get("weight_hh"), a.get("bias_ih"), a.get("bias_hh"), a.get("weight_hr"))
    sizes = (P,) + (H,) * (len(k.state_names) - 1)
    lens = None
    if lengths:
        lens = rng.integers(1, T + 1, size=B).astype(np.int64)
        lens[0] = T - 1 if T > 1 else 1
    ds = tuple(r((B, n)) if d_state else None for n in sizes)
    return Problem(k.name, r((T, B, I)), w, tuple(r((B, n)) for n in sizes), lens, r((T, B, P)), ds,
                   k.check_options(options))


def run(p: Problem, backend: str, reverse: bool, keep: bool = True) -> dict:
    """Forward (and with ``keep`` backward) of ``p`` on ``backend``: ``{name: array}``."""
    kind = get_kind(p.kind)
    impl = implementation(kind, backend)
    fwd = impl.forward(p.x, p.w, p.state0, p.lengths, reverse, keep, p.options)
    got = {"out": fwd.out}
    for name, s in zip(kind.state_names, fwd.state):
        got[f"{name}_n"] = s
    if not keep:
        assert fwd.cache is None, f"{kind.name} {backend}: keep=False kept a cache"
        return got
    assert type(fwd.cache) is kind.cache, f"{kind.name} {backend}: cache is {type(fwd.cache).__name__}"
    for field, v in fwd.cache._asdict().items():
        if isinstance(v, np.ndarray) and field not in ("x", "lengths", "hx"):
            got[f"cache.{field}"] = v
    g = impl.backward(p.d_out, p.d_state, p.w, fwd.cache)
    for field in ("dx", "dW_ih", "dW_hh", "db_ih", "db_hh", "dW_hr"):
        got[field] = getattr(g, field)
    for name, s in zip(kind.state_names, g.d_state0):
        got[f"d{name}0"] = s
    return got


def assert_same_keys(got: dict, want: dict, config: str) -> None:
    assert list(got) == list(want), f"{config}: results {list(got)} != {list(want)}"
    for k in want:
        if want[k] is None:
            assert got[k] is None, f"{k} should be None ({config})"
        else:
            assert got[k] is not None and got[k].shape == want[k].shape, f"{k}: shape differs ({config})"
