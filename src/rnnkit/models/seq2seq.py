"""Encoder-decoder (seq2seq): many-to-many with different input and output lengths.

Data flow (batch-first; ``Ts`` source steps, ``Tt`` target steps, ``L`` layers, ``D`` encoder
directions, ``E`` embedding, ``H`` hidden, ``V`` target vocabulary)::

    src (B, Ts) ids -> Embedding (B, Ts, E) -> encoder RNN/LSTM/GRU (lengths-aware)
        final state s_n (L*D, B, H)  = each sequence's last real step (and, bidirectional,
                                       the reverse direction after reading back to step 0)
        -> bridge -> decoder initial state s_0 (L, B, H)
    y_input (B, Tt) ids -> Embedding (B, Tt, E) -> decoder (same cell, L layers) (B, Tt, H)
        -> (Dropout) -> Linear -> logits (B, Tt, V)

The bridge is the identity for a one-direction encoder. For a bidirectional encoder the two
directions of each layer ``l`` are concatenated and mapped by a learned layer::

    h_0[l] = tanh(W_h [h_fwd[l]; h_bwd[l]] + b_h)        W_h (H, 2H)
    c_0[l] =      W_c [c_fwd[l]; c_bwd[l]] + b_c         W_c (H, 2H)   (LSTM only; the cell
                                                                        state is not squashed)

Backward is BPTT along two paths: the decoder runs back through the target steps and returns
``d s_0``; through the bridge that becomes ``d s_n`` of the encoder, which runs back through
the source steps (its outputs get a zero gradient: only its final state is used).

Training with :func:`rnnkit.train.fit`: the model also takes one packed integer array per
batch (see :func:`pack_seq2seq`) so that ``fit``/``evaluate``/``predict`` carry source,
source lengths and decoder input as one ``X``::

    model = Seq2Seq(13, 13, 16, 64, cell="gru", rng=0)
    X, Y = seq2seq_data(reverse_sequence(2000, seed=0))        # X (N, 2+Ts+Tt), Y (N, Tt)
    fit(model, (X, Y), loss=nn.CrossEntropyLoss(), optimizer=optim.Adam(model.parameters(), 1e-2),
        epochs=10, metrics=["accuracy"], rng=0)                 # -100 targets are ignored
    ids = model.greedy_decode(src, lengths, max_len=12)         # (B, 12), EOS then PAD
"""

from __future__ import annotations

import numpy as np

from rnnkit._checks import (
    as_float_array,
    as_rng,
    check_bool,
    check_choice,
    check_float_range,
    check_int,
    check_shape,
)
from rnnkit._grad_mode import inference_mode
from rnnkit.nn.dropout import Dropout
from rnnkit.nn.embedding import Embedding
from rnnkit.nn.linear import Linear
from rnnkit.nn.module import Module, _as_float_dtype
from rnnkit.nn.rnn import GRU, LSTM, RNN
from rnnkit.serialization import register

__all__ = ["Seq2Seq", "pack_seq2seq", "unpack_seq2seq", "seq2seq_data"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


# -- one packed input array for fit / evaluate / predict --------------------------------
def _ids(name: str, a) -> np.ndarray:
    if hasattr(a, "detach") and hasattr(a, "numpy"):  # a torch tensor
        a = a.detach().cpu().numpy()
    a = np.asarray(a)
    if a.dtype == np.bool_ or not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name} must hold integer token ids, got dtype {a.dtype}")
    if a.ndim != 2 or 0 in a.shape:
        raise ValueError(f"{name} must be non-empty token ids of shape (B, T), got shape {a.shape}")
    return a.astype(np.int64, copy=False)


def pack_seq2seq(src, tgt_in, lengths=None) -> np.ndarray:
    """One int64 array ``(B, 2 + Ts + Tt)`` per example row: ``[length, Ts, src..., tgt_in...]``.

    ``src (B, Ts)`` source ids, ``tgt_in (B, Tt)`` decoder input ids (teacher forcing),
    ``lengths (B,)`` real source steps (None: all ``Ts``). Column 1 repeats ``Ts`` so that a
    row (or any subset of rows) can be split again by :func:`unpack_seq2seq`.
    """
    src, tgt_in = _ids("src", src), _ids("tgt_in", tgt_in)
    B, Ts = src.shape
    if tgt_in.shape[0] != B:
        raise ValueError(f"tgt_in must have {B} rows (as src), got shape {tgt_in.shape}")
    if lengths is None:
        lengths = np.full(B, Ts, np.int64)
    lengths = np.asarray(lengths)
    if lengths.shape != (B,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be ({B},) integers, got shape {lengths.shape} dtype {lengths.dtype}")
    if lengths.min() < 1 or lengths.max() > Ts:
        raise ValueError(f"lengths must be in [1, {Ts}], got min {lengths.min()} max {lengths.max()}")
    head = np.stack([lengths.astype(np.int64), np.full(B, Ts, np.int64)], axis=1)   # (B, 2)
    return np.concatenate([head, src, tgt_in], axis=1)                             # (B, 2+Ts+Tt)


def unpack_seq2seq(x) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Inverse of :func:`pack_seq2seq`: ``(src (B, Ts), tgt_in (B, Tt), lengths (B,))``."""
    x = _ids("x", x)
    B, W = x.shape
    Ts = int(x[0, 1])
    if W < 4 or not np.all(x[:, 1] == Ts) or not 1 <= Ts <= W - 3:
        raise ValueError(
            f"x must be packed by pack_seq2seq: rows [length, Ts, src (Ts), tgt_in (>= 1)] with one Ts, "
            f"got shape {x.shape} and Ts column {np.unique(x[:, 1])[:5].tolist()}"
        )
    lengths = x[:, 0]
    if lengths.min() < 1 or lengths.max() > Ts:
        raise ValueError(f"packed lengths must be in [1, {Ts}], got min {lengths.min()} max {lengths.max()}")
    return x[:, 2:2 + Ts], x[:, 2 + Ts:], lengths.copy()


def seq2seq_data(ds) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y)`` for :func:`~rnnkit.train.fit` from a seq2seq ``SequenceDataset`` (any layout):
    ``X = pack_seq2seq(src, y_input, lengths)`` ``(N, 2+Ts+Tt)``, ``Y`` batch-first ``(N, Tt)``."""
    if getattr(ds, "mapping", None) != "seq2seq" or ds.y_input is None:
        raise ValueError(
            f"ds must be a seq2seq SequenceDataset with y_input, got mapping {getattr(ds, 'mapping', ds)!r}"
        )

    def bf(a):
        return a if ds.batch_first else np.ascontiguousarray(np.swapaxes(a, 0, 1))

    return pack_seq2seq(bf(ds.X), bf(ds.y_input), ds.lengths), bf(ds.y)


# -- the model ---------------------------------------------------------------------------
class Seq2Seq(Module):
    """Encoder-decoder over token ids; see the module docstring for the equations and shapes.

    Args:
        src_vocab, tgt_vocab: sizes of the source and target vocabularies (``V`` = tgt_vocab).
        embedding_dim: ``E`` of both embeddings. hidden_size: ``H`` of encoder and decoder.
        cell: ``'gru'``, ``'lstm'`` or ``'rnn'`` (tanh) for both encoder and decoder.
        num_layers: ``L`` of both. bidirectional_encoder: a two-direction encoder with a
            Linear(+tanh) bridge to the one-direction decoder.
        dropout: between stacked layers (``L > 1``) and before the output layer.
        sos_id, eos_id, pad_id: token ids used by :meth:`greedy_decode` (defaults match
            :mod:`rnnkit.datasets.seq2seq`).
        dtype: float32 (default) or float64. rng: Generator or int seed (init and dropout).

    Calls: ``model(src, tgt_in, lengths=None)`` or ``model(packed)`` -> logits ``(B, Tt, V)``;
    ``model.backward(d_logits)`` -> None (ids have no gradient; every parameter gets one).

    Example::

        model = Seq2Seq(13, 13, 8, 32, cell="lstm", bidirectional_encoder=True, rng=0)
        logits = model(src, y_input, lengths=lengths)        # src (B, Ts), y_input (B, Tt)
        model.backward(d_logits)                              # (B, Tt, 13)
    """

    def __init__(self, src_vocab: int, tgt_vocab: int, embedding_dim: int, hidden_size: int, *,
                 cell: str = "gru", num_layers: int = 1, bidirectional_encoder: bool = False,
                 dropout: float = 0.0, sos_id: int = 1, eos_id: int = 2, pad_id: int = 0,
                 dtype=None, rng=None):
        super().__init__()
        self.cell = check_choice("cell", cell, tuple(_CELLS))
        self.src_vocab = check_int("src_vocab", src_vocab, 1)
        self.tgt_vocab = check_int("tgt_vocab", tgt_vocab, 1)
        E = check_int("embedding_dim", embedding_dim, 1)
        H = self.hidden_size = check_int("hidden_size", hidden_size, 1)
        L = self.num_layers = check_int("num_layers", num_layers, 1)
        self.bidirectional_encoder = check_bool("bidirectional_encoder", bidirectional_encoder)
        self.dropout_p = check_float_range("dropout", dropout, 0.0, 1.0)
        for name, v in (("sos_id", sos_id), ("eos_id", eos_id), ("pad_id", pad_id)):
            check_int(name, v, 0)
            if v >= self.tgt_vocab:
                raise ValueError(f"{name} must be < tgt_vocab={self.tgt_vocab}, got {v}")
        self.sos_id, self.eos_id, self.pad_id = int(sos_id), int(eos_id), int(pad_id)
        self.dtype = _as_float_dtype(dtype)
        self.rng = as_rng(rng)
        kind, p_layers = _CELLS[cell], (dropout if L > 1 else 0.0)
        self.src_embedding = Embedding(self.src_vocab, E, dtype=self.dtype, rng=self.rng)
        self.encoder = kind(E, H, num_layers=L, batch_first=True, dropout=p_layers,
                            bidirectional=self.bidirectional_encoder, dtype=self.dtype, rng=self.rng)
        if self.bidirectional_encoder:
            self.bridge_h = Linear(2 * H, H, dtype=self.dtype, rng=self.rng)
            if cell == "lstm":
                self.bridge_c = Linear(2 * H, H, dtype=self.dtype, rng=self.rng)
        self.tgt_embedding = Embedding(self.tgt_vocab, E, dtype=self.dtype, rng=self.rng)
        self.decoder = kind(E, H, num_layers=L, batch_first=True, dropout=p_layers, dtype=self.dtype, rng=self.rng)
        if self.dropout_p > 0:
            self.drop = Dropout(self.dropout_p, rng=self.rng)
        self.head = Linear(H, self.tgt_vocab, dtype=self.dtype, rng=self.rng)

    # -- inputs -------------------------------------------------------------------------
    def _inputs(self, src, tgt_in, lengths):
        if tgt_in is None:
            if lengths is not None:
                raise ValueError("lengths must be None with a packed input (the packed rows carry them)")
            return unpack_seq2seq(src)
        src, tgt_in = _ids("src", src), _ids("tgt_in", tgt_in)
        if tgt_in.shape[0] != src.shape[0]:
            raise ValueError(f"tgt_in must have {src.shape[0]} rows (as src), got shape {tgt_in.shape}")
        return src, tgt_in, lengths

    # -- the bridge: encoder final state (L*D, B, H) -> decoder initial state (L, B, H) --
    def _bridge(self, state_n):
        parts = state_n if isinstance(state_n, tuple) else (state_n,)
        if not self.bidirectional_encoder:
            return state_n, None
        out, saved = [], []
        for k, s in enumerate(parts):
            LD, B, H = s.shape
            a = s.reshape(LD // 2, 2, B, H).transpose(0, 2, 1, 3).reshape(LD // 2, B, 2 * H)   # (L, B, 2H)
            z = (self.bridge_h if k == 0 else self.bridge_c)(a)                                  # (L, B, H)
            if k == 0:
                z = np.tanh(z)
            out.append(z)
            saved.append(z)
        return (tuple(out) if len(out) > 1 else out[0]), saved

    def _bridge_backward(self, d_state0, saved):
        parts = d_state0 if isinstance(d_state0, tuple) else (d_state0,)
        if not self.bidirectional_encoder:
            return d_state0
        res = []
        for k, d in enumerate(parts):
            if k == 0:
                d = d * (1 - saved[0] * saved[0])                     # tanh' (L, B, H)
            da = (self.bridge_h if k == 0 else self.bridge_c).backward(d)   # (L, B, 2H)
            L, B, H2 = da.shape
            res.append(da.reshape(L, B, 2, H2 // 2).transpose(0, 2, 1, 3).reshape(2 * L, B, H2 // 2))
        return tuple(res) if len(res) > 1 else res[0]

    # -- forward / backward -------------------------------------------------------------
    def encode(self, src, lengths=None):
        """Source ids ``(B, Ts)`` -> the decoder's initial state ``(L, B, H)`` (LSTM: ``(h, c)``)."""
        e = self.src_embedding(src)                                   # (B, Ts, E)
        enc_out, state_n = self.encoder(e, lengths=lengths)           # (B, Ts, D*H), (L*D, B, H)
        state0, saved = self._bridge(state_n)
        return state0, (enc_out.shape, saved)

    def _decode(self, tgt_in, state0):
        d = self.tgt_embedding(tgt_in)                                # (B, Tt, E)
        out, state = self.decoder(d, state0)                          # (B, Tt, H)
        if self.dropout_p > 0:
            out = self.drop(out)
        return self.head(out), state                                  # (B, Tt, V)

    def forward(self, src, tgt_in=None, lengths=None):
        """``src (B, Ts)``, ``tgt_in (B, Tt)``, ``lengths (B,)`` (or one packed array) -> logits ``(B, Tt, V)``."""
        src, tgt_in, lengths = self._inputs(src, tgt_in, lengths)
        state0, enc = self.encode(src, lengths)
        logits, _ = self._decode(tgt_in, state0)
        if self.keeps_cache:
            self._push((enc, logits.shape))
        return logits

    def backward(self, d_output):
        """``d_output (B, Tt, V)`` -> None; BPTT through decoder, bridge and encoder into every ``p.grad``."""
        (enc_shape, saved), shape = self._peek()
        d = as_float_array("d_output", d_output, self.dtype)
        check_shape("d_output", d, shape)
        self._pop()
        d = self.head.backward(d)                                     # (B, Tt, H)
        if self.dropout_p > 0:
            d = self.drop.backward(d)
        d_emb, d_state0 = self.decoder.backward(d)                    # (B, Tt, E), (L, B, H)
        self.tgt_embedding.backward(d_emb)
        d_state_n = self._bridge_backward(d_state0, saved)            # (L*D, B, H)
        d_src, _ = self.encoder.backward(np.zeros(enc_shape, self.dtype), d_state_n)   # (B, Ts, E)
        self.src_embedding.backward(d_src)
        return None

    # -- inference ----------------------------------------------------------------------
    def decode_step(self, tokens, state):
        """One decoder step: ``tokens (B,)`` ids and the decoder state ``(L, B, H)`` (LSTM:
        ``(h, c)``) -> ``(logits (B, V), new state)``. Call it in eval mode under ``no_grad``
        (as :meth:`greedy_decode` and :func:`rnnkit.models.beam_search` do)."""
        logits, state = self._decode(np.asarray(tokens, np.int64)[:, None], state)    # (B, 1, V)
        return logits[:, 0], state

    def _banned_mask(self, banned) -> np.ndarray:
        ban = np.zeros(self.tgt_vocab, bool)
        for t in banned:
            t = check_int("banned id", t, 0)
            if t >= self.tgt_vocab:
                raise ValueError(f"banned ids must be < tgt_vocab={self.tgt_vocab}, got {t}")
            ban[t] = True
        if ban[self.eos_id]:
            raise ValueError(f"banned must not hold eos_id={self.eos_id}: every output needs its end")
        return ban

    def greedy_decode(self, src, lengths=None, max_len: int = 50, banned=()) -> np.ndarray:
        """Translate ``src (B, Ts)`` by feeding back the argmax token, from SOS until EOS.

        Returns ids ``(B, max_len)`` int64: each row is the emitted tokens, its EOS, then
        ``pad_id`` (no EOS if ``max_len`` ran out first). Ids in ``banned`` are never
        emitted (e.g. PAD, SOS, an unknown token). Runs in eval mode under ``no_grad`` and
        restores the previous mode; stops early once every row has emitted EOS.
        """
        src = _ids("src", src)
        max_len = check_int("max_len", max_len, 1)
        ban = self._banned_mask(banned)
        B = src.shape[0]
        out = np.full((B, max_len), self.pad_id, np.int64)
        done = np.zeros(B, bool)
        tok = np.full(B, self.sos_id, np.int64)
        with inference_mode(self):
            state, _ = self.encode(src, lengths)
            for t in range(max_len):
                logits, state = self.decode_step(tok, state)      # (B, V)
                if ban.any():
                    logits = np.where(ban, -np.inf, logits)
                nxt = logits.argmax(axis=-1)                      # (B,)
                out[:, t] = np.where(done, self.pad_id, nxt)
                done |= nxt == self.eos_id
                if done.all():
                    break
                tok = nxt
        return out

    def beam_decode(self, src, lengths=None, max_len: int = 50, beam_size: int = 4, length_penalty: float = 1.0,
                    banned=()) -> tuple[np.ndarray, np.ndarray]:
        """Beam search: ``(ids (B, max_len), scores (B,))``, ids laid out as :meth:`greedy_decode`'s.

        See :func:`rnnkit.models.beam_search` for the search and the length-normalised score
        ``log p(y | x) / |y| ** length_penalty``.
        """
        from rnnkit.models.beam import beam_search

        return beam_search(self, src, lengths, max_len=max_len, beam_size=beam_size,
                           length_penalty=length_penalty, banned=banned)

    def extra_repr(self) -> str:
        return f"cell={self.cell!r}, bidirectional_encoder={self.bidirectional_encoder}"


register(Seq2Seq)
