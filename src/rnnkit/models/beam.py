"""Beam search for :class:`~rnnkit.models.Seq2Seq`, with length-normalised scores.

For each source ``x`` the decoder's next-token distribution is ``p(y_t | y_<t, x) =
softmax(z_t)`` over the allowed tokens (``banned`` ids such as PAD, SOS and UNK get
``z = -inf``, so the softmax runs over the rest). A finished hypothesis ``y`` (its tokens and
EOS, or ``max_len`` tokens when no EOS came) is ranked by

.. math::
    \\mathrm{score}(y) = \\frac{\\log p(y \\mid x)}{|y|^{\\alpha}},\\qquad
    \\log p(y \\mid x) = \\sum_{t=1}^{|y|} \\log p(y_t \\mid y_{<t}, x)

with ``|y|`` counting the EOS and ``alpha = length_penalty`` (0: the plain log-probability,
which favours short outputs; 1: the mean log-probability per token).

The search, for ``K = beam_size`` and every source at once::

    alive = [SOS] with log p = 0
    for t = 1 .. max_len:
        extend every alive hypothesis by every token: K * V candidates, log p added
        keep the K best candidates by log p (ties: the lower hypothesis slot, then token id)
        a kept candidate ending in EOS is finished (and scored); the others stay alive
        at t = max_len the alive ones are finished as they are
        stop once no hypothesis is alive, or once the best finished score is at least
        max over alive h of log p(h) / max_len ** alpha (no continuation can beat it:
        log p only falls, and the length is at most max_len)

The answer is the finished hypothesis of highest score. With ``K >= (V_allowed)^max_len``
nothing is ever pruned, so the answer is the best of all outputs of length <= max_len
(the test compares it with brute force); ``K = 1`` is greedy decoding.
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import check_float_range, check_int
from rnnkit._grad_mode import inference_mode

__all__ = ["beam_search"]


def _log_softmax(z: np.ndarray) -> np.ndarray:
    z = z.astype(np.float64)
    m = z.max(axis=-1, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=-1, keepdims=True))


def _take_state(state, rows: np.ndarray):
    """State rows picked along the batch axis: ``(L, B*K, H)`` -> ``(L, len(rows), H)``."""
    if isinstance(state, tuple):
        return tuple(s[:, rows] for s in state)
    return state[:, rows]


def beam_search(model, src, lengths=None, *, max_len: int = 50, beam_size: int = 4, length_penalty: float = 1.0,
                banned=()) -> tuple[np.ndarray, np.ndarray]:
    """Beam search on a :class:`~rnnkit.models.Seq2Seq` (see the module docstring).

    Args:
        model: the Seq2Seq network (its ``sos_id``, ``eos_id``, ``pad_id`` are used).
        src: source ids ``(B, Ts)``; lengths: real source steps ``(B,)`` or None.
        max_len: most tokens in an output, EOS included. beam_size: ``K >= 1``.
        length_penalty: ``alpha >= 0`` of the score. banned: ids never emitted.

    Returns:
        ``ids (B, max_len)`` int64 (the best output's tokens, its EOS, then ``pad_id``) and
        ``scores (B,)`` float64 (its length-normalised score).
    """
    from rnnkit.models.seq2seq import _ids

    src = _ids("src", src)
    max_len = check_int("max_len", max_len, 1)
    K = check_int("beam_size", beam_size, 1)
    alpha = check_float_range("length_penalty", length_penalty, 0.0, 10.0)
    ban = model._banned_mask(banned)
    B, V, eos = src.shape[0], model.tgt_vocab, model.eos_id
    best_score = np.full(B, -np.inf)
    best_ids = np.full((B, max_len), model.pad_id, np.int64)
    with inference_mode(model):
        state0, _ = model.encode(src, lengths)                             # (L, B, H)
        state = _take_state(state0, np.repeat(np.arange(B), K))            # (L, B*K, H)
        logp_alive = np.full((B, K), -np.inf)                               # (B, K)
        logp_alive[:, 0] = 0.0
        seqs = np.zeros((B, K, 0), np.int64)                                # (B, K, t)
        tok = np.full(B * K, model.sos_id, np.int64)
        rows = np.arange(B)[:, None]
        for t in range(1, max_len + 1):
            logits, state = model.decode_step(tok, state)                   # (B*K, V)
            logits = np.where(ban, -np.inf, logits)
            cand = logp_alive[:, :, None] + _log_softmax(logits).reshape(B, K, V)   # (B, K, V)
            flat = cand.reshape(B, K * V)
            top = np.argsort(-flat, axis=1, kind="stable")[:, :K]          # (B, K) best first
            parent, token = top // V, top % V
            logp = np.take_along_axis(flat, top, axis=1)                    # (B, K)
            seqs = np.concatenate([seqs[rows, parent], token[:, :, None]], axis=2)   # (B, K, t)
            ends = np.isfinite(logp) & ((token == eos) | (t == max_len))
            norm = logp / float(t) ** alpha
            for b, j in zip(*np.nonzero(ends)):
                if norm[b, j] > best_score[b]:
                    best_score[b] = norm[b, j]
                    best_ids[b] = model.pad_id
                    best_ids[b, :t] = seqs[b, j]
            logp = np.where(ends, -np.inf, logp)
            bound = logp.max(axis=1) / float(max_len) ** alpha              # (B,) best any alive can reach
            done = best_score >= bound
            logp[done] = -np.inf
            if done.all():
                break
            logp_alive = logp
            state = _take_state(state, (rows * K + parent).reshape(-1))
            tok = token.reshape(-1)
    return best_ids, best_score
