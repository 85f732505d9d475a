"""Long-range memory tasks: the adding problem, the copy task, delayed recall.

These are the classic tests of how far back a recurrent network can carry information: a
vanilla RNN fails once the gap grows past a few tens of steps (its gradients vanish), an LSTM
or GRU keeps solving them. ``T`` is the sequence length, ``N`` (``n``) the number of sequences.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_bool, check_int
from rnnkit.datasets._base import IGNORE_INDEX, SequenceDataset, check_dtype, resolve_rng, time_major_to_layout

__all__ = ["adding_problem", "copy_task", "delayed_recall"]


def adding_problem(
    T: int = 50,
    n: int = 1000,
    *,
    seed=None,
    rng=None,
    batch_first: bool = False,
    dtype=np.float32,
) -> SequenceDataset:
    """The adding problem (Hochreiter & Schmidhuber 1997; the form of Le et al. 2015): many-to-one regression.

    Each step has two features: a value ``u_t ~ U(0, 1)`` and a marker ``m_t`` in {0, 1}.
    Exactly two steps are marked, one in the first half (``t < T//2``) and one in the second
    half. The target is the sum of the two marked values::

        X[t, b] = (u_t, m_t),   y[b] = sum_t u_t m_t  in [0, 2]

    Predicting the constant 1 gives MSE 1/6 ~ 0.167 (``info['baseline_mse']`` is that
    figure on this sample). A model that solved it has MSE well below 0.01. Checked with
    PyTorch at T = 50 (H = 64, 3000 Adam steps of 64 sequences): an LSTM reached test MSE
    0.0006, a tanh RNN stayed at the baseline (0.171).

    Returns:
        ``X`` ``(T, n, 2)`` (``(n, T, 2)`` with ``batch_first``), ``y`` ``(n, 1)``;
        ``info['positions']`` ``(n, 2)`` the marked steps.
    """
    T = check_int("T", T, 2)
    n = check_int("n", n, 1)
    batch_first = check_bool("batch_first", batch_first)
    dt = check_dtype(dtype)
    gen = resolve_rng(seed, rng)
    half = T // 2
    u = gen.uniform(0.0, 1.0, size=(T, n))  # (T, N)
    p1 = gen.integers(0, half, size=n)  # (N,)
    p2 = gen.integers(half, T, size=n)  # (N,)
    m = np.zeros((T, n))  # (T, N)
    cols = np.arange(n)
    m[p1, cols] = 1.0
    m[p2, cols] = 1.0
    X = np.stack([u, m], axis=-1).astype(dt)  # (T, N, 2)
    y = (u[p1, cols] + u[p2, cols])[:, None].astype(dt)  # (N, 1)
    baseline = float(np.mean((y.astype(np.float64) - 1.0) ** 2))
    desc = (
        f"adding_problem: many-to-one regression, T={T}, n={n}: sum the two marked values. "
        f"Predicting 1 gives MSE {baseline:.3f} (theory 1/6); solved means MSE < 0.01."
    )
    info = {"T": T, "positions": np.stack([p1, p2], axis=1), "baseline_mse": baseline, "solved_mse": 0.01}
    return SequenceDataset(
        X=time_major_to_layout(X, batch_first), y=y, mapping="many-to-one", description=desc,
        batch_first=batch_first, info=info,
    )


def copy_task(
    n: int = 1000,
    seq_len: int = 10,
    delay: int = 20,
    n_symbols: int = 8,
    *,
    seed=None,
    rng=None,
    batch_first: bool = False,
) -> SequenceDataset:
    """The copy task (Hochreiter & Schmidhuber 1997; the form of Arjovsky et al. 2016): many-to-many synchronous.

    Tokens: blank 0, symbols ``1 .. S`` (``S = n_symbols``), delimiter ``S + 1``. With
    ``L = seq_len`` and ``D = delay`` the input of ``T = 2L + D + 1`` steps is::

        x = a_1 .. a_L, 0 x D, S+1, 0 x L        (a_i uniform in 1..S)
        y = 0 x (L + D + 1),        a_1 .. a_L

    so after seeing the delimiter the model must write the ``L`` symbols it saw ``L + D + 1``
    steps earlier. Targets are classes ``0 .. S`` (``info['n_classes'] = S + 1``).

    A model that only learned when to output blanks (it cannot remember) has cross-entropy
    ``L log S / T`` per step (``info['baseline_ce']``); solving the task means cross-entropy
    near 0 and every copied symbol right. Models sit on the baseline plateau for a long time
    before they break through, and the plateau grows with ``delay`` (Arjovsky et al. report
    LSTMs stuck there for delays in the hundreds); start with a short delay.

    Returns:
        ``X``, ``y``: ``(T, n)`` int64 (``(n, T)`` with ``batch_first``).
    """
    n = check_int("n", n, 1)
    L = check_int("seq_len", seq_len, 1)
    D = check_int("delay", delay, 0)
    S = check_int("n_symbols", n_symbols, 2)
    batch_first = check_bool("batch_first", batch_first)
    gen = resolve_rng(seed, rng)
    T = 2 * L + D + 1
    a = gen.integers(1, S + 1, size=(L, n))  # (L, N)
    X = np.zeros((T, n), dtype=np.int64)  # (T, N)
    y = np.zeros((T, n), dtype=np.int64)  # (T, N)
    X[:L] = a
    X[L + D] = S + 1
    y[T - L :] = a
    baseline = L * np.log(S) / T
    desc = (
        f"copy_task: many-to-many synchronous, T={T} (seq_len={L}, delay={D}), {S} symbols: after the delimiter, "
        f"write the first {L} symbols. Memoryless baseline cross-entropy {baseline:.4f} nats/step; solved: ~0."
    )
    info = {
        "T": T, "seq_len": L, "delay": D, "n_symbols": S, "blank": 0, "delimiter": S + 1,
        "vocab_size": S + 2, "n_classes": S + 1, "baseline_ce": float(baseline),
    }
    return SequenceDataset(
        X=time_major_to_layout(X, batch_first), y=time_major_to_layout(y, batch_first), mapping="many-to-many",
        description=desc, batch_first=batch_first, y_has_time=True, info=info,
    )


def delayed_recall(
    n: int = 1000,
    T: int = 30,
    delay: int = 5,
    n_symbols: int = 8,
    *,
    seed=None,
    rng=None,
    batch_first: bool = False,
) -> SequenceDataset:
    """Delayed recall: at every step output the input seen ``delay`` steps before (many-to-many synchronous).

    Inputs are symbols uniform in ``0 .. S-1`` (``S = n_symbols``); the target is::

        y[t] = x[t - delay]   for t >= delay,     y[t] = -100 (ignored) for t < delay

    The model must hold the last ``delay`` symbols at all times. Chance is accuracy ``1/S``,
    cross-entropy ``log S``; a solved task has accuracy ~1 on the non-ignored steps. Checked
    with PyTorch at T = 30, delay 5, 8 symbols (embedding 16, H = 64, 2000 Adam steps): both
    an LSTM and a tanh RNN reached accuracy 1.0; raise ``delay`` to separate them.

    Returns:
        ``X``, ``y``: ``(T, n)`` int64 (``(n, T)`` with ``batch_first``); ignored steps of ``y``
        are ``IGNORE_INDEX`` (-100), PyTorch's ``CrossEntropyLoss`` default.
    """
    n = check_int("n", n, 1)
    T = check_int("T", T, 1)
    delay = check_int("delay", delay, 0)
    if delay >= T:
        raise ValueError(f"delay must be < T={T} (at least one step to recall), got {delay}")
    S = check_int("n_symbols", n_symbols, 2)
    batch_first = check_bool("batch_first", batch_first)
    gen = resolve_rng(seed, rng)
    X = gen.integers(0, S, size=(T, n)).astype(np.int64)  # (T, N)
    y = np.full((T, n), IGNORE_INDEX, dtype=np.int64)  # (T, N)
    y[delay:] = X[: T - delay]
    desc = (
        f"delayed_recall: many-to-many synchronous, T={T}, output the symbol from {delay} steps before "
        f"({S} symbols). Chance accuracy {1 / S:.3f}, cross-entropy {np.log(S):.3f}; solved: accuracy ~1."
    )
    info = {
        "T": T, "delay": delay, "n_symbols": S, "vocab_size": S, "n_classes": S,
        "ignore_index": IGNORE_INDEX, "chance_accuracy": 1 / S, "chance_ce": float(np.log(S)),
    }
    return SequenceDataset(
        X=time_major_to_layout(X, batch_first), y=time_major_to_layout(y, batch_first), mapping="many-to-many",
        description=desc, batch_first=batch_first, y_has_time=True, info=info,
    )
