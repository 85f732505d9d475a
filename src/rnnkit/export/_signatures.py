"""What an exported graph takes and gives, per kind of object, and how rnnkit computes the same.

A :class:`Signature` declares the graph's inputs and outputs (``build``), makes example inputs
for :func:`rnnkit.export.check` (``feeds``) and runs rnnkit on them (``reference``)::

    kind                 inputs                                   outputs
    RNN / LSTM / GRU / PeepholeLSTM  input (T, B, I) or (B, T, I), [lengths], [h0, c0 (L*D, B, P)]
                                                                  output, h_n, [c_n]
    RNNCell / ...        input (B, I), hx (B, H), [cx]            h, [c]
    SequenceModel        x (B, T, I) or ids (B, T), [lengths], [h0, c0]   y, h_n, [c_n]
    Seq2Seq              per part (see rnnkit.export._models)
    other modules        input -> output (Sequential: [lengths] when a child takes them)

``lengths`` are int64, one per sequence, in [1, T]; ids are int64.
"""

from __future__ import annotations

import numpy as np

from rnnkit import nn
from rnnkit._grad_mode import inference_mode
from rnnkit.export._models import seq2seq_decode, seq2seq_encode, seq2seq_greedy, sequence_model
from rnnkit.export._modules import write
from rnnkit.export._recurrent import LSTM_MODES, Lengths, emit_cell, emit_recurrent
from rnnkit.models import CharRNN, Seq2Seq, SequenceModel
from rnnkit.nn.container import _accepts_lengths
from rnnkit.nn.rnn_base import RNNBase

__all__ = ["signature_for", "SEQ2SEQ_PARTS"]

F32, I64 = np.float32, np.int64
SEQ2SEQ_PARTS = ("forward", "encoder", "decoder", "greedy")


def _sizes(B: int, T: int) -> dict:
    return {"B": B, "T": T, "Ts": T, "Tt": max(1, T - 2)}


def _random_lengths(rng, B, T, full: bool):
    if full or B == 1:
        return np.full(B, T, I64)
    lens = rng.integers(1, T + 1, size=B).astype(I64)
    lens[0] = T                                          # one full sequence, as a padded batch has
    return lens


def _lengths_choice(lengths, takes: bool, obj) -> bool:
    """The ``lengths`` argument of to_onnx resolved: default yes where taken; yes where not is an error."""
    if lengths and not takes:
        raise ValueError(f"lengths=True, but a {type(obj).__name__} takes no lengths (pass lengths=None or False)")
    return takes if lengths is None else bool(lengths)


def _floats(rng, shape):
    return rng.standard_normal(shape).astype(F32)


class Signature:
    """Base: subclasses set the names and implement ``build``, ``feeds`` and ``reference``."""

    takes_lengths = False

    def __init__(self, obj, lengths=None, initial_state: bool = False, part=None):
        self.obj = obj
        self.lengths = _lengths_choice(lengths, self.takes_lengths, obj)
        self.initial_state = initial_state
        self.part = part

    def lengths_input(self, g):
        return Lengths(g, g.input("lengths", I64, ["B"])) if self.lengths else None


def _state_feeds(f, rng, rnn, B, lengths, T, full, initial_state):
    """Add ``lengths`` and the initial states of the recurrent layer ``rnn`` to the feeds ``f``."""
    if lengths:
        f["lengths"] = _random_lengths(rng, B, T, full)
    if initial_state:
        LD = rnn.num_layers * rnn.num_directions
        for n in ("h0", "c0")[: 2 if rnn.mode in LSTM_MODES else 1]:
            f[n] = _floats(rng, (LD, B, rnn.output_size if n == "h0" else rnn.hidden_size)) * F32(0.5)
    return f


def _state_inputs(g, rnn, initial_state):
    """The graph inputs ``h0`` (and ``c0``) ``(L*D, B, .)`` of ``rnn``, or None."""
    if not initial_state:
        return None
    LD, P, H = rnn.num_layers * rnn.num_directions, rnn.output_size, rnn.hidden_size
    names = ("h0", "c0") if rnn.mode in LSTM_MODES else ("h0",)
    return tuple(g.input(n, F32, [LD, "B", P if n == "h0" else H]) for n in names)


def _state_outputs(g, rnn, h_n, c_n):
    LD = rnn.num_layers * rnn.num_directions
    g.output(h_n, "h_n", F32, [LD, "B", rnn.output_size])
    if c_n is not None:
        g.output(c_n, "c_n", F32, [LD, "B", rnn.hidden_size])


def _call_with_state(module, mode, x, f, initial_state, **kw):
    """``module(x, state, lengths=...)`` from the feeds; returns ``(out, {"h_n": .., "c_n": ..})``."""
    state = None
    if initial_state:
        state = (f["h0"], f["c0"]) if mode in LSTM_MODES else f["h0"]
    with inference_mode(module):
        out, st = module(x, state, lengths=f.get("lengths"), **kw)
    return out, (dict(zip(("h_n", "c_n"), st)) if mode in LSTM_MODES else {"h_n": st})


# -- recurrent layers and cells ------------------------------------------------------------
class RecurrentSignature(Signature):
    takes_lengths = True

    def build(self, g):
        m = self.obj
        x = g.input("input", F32, ["B", "T", m.input_size] if m.batch_first else ["T", "B", m.input_size])
        lengths = self.lengths_input(g)
        out, h_n, c_n = emit_recurrent(g, m, x, lengths, _state_inputs(g, m, self.initial_state))
        g.output(out, "output", F32, None)
        _state_outputs(g, m, h_n, c_n)

    def feeds(self, rng, B, T, full):
        m = self.obj
        shape = (B, T, m.input_size) if m.batch_first else (T, B, m.input_size)
        return _state_feeds({"input": _floats(rng, shape)}, rng, m, B, self.lengths, T, full, self.initial_state)

    def reference(self, f):
        out, states = _call_with_state(self.obj, self.obj.mode, f["input"], f, self.initial_state)
        return {"output": out, **states}


class CellSignature(Signature):
    def build(self, g):
        m = self.obj
        x = g.input("input", F32, ["B", m.input_size])
        hx = g.input("hx", F32, ["B", m.hidden_size])
        cx = g.input("cx", F32, ["B", m.hidden_size]) if m.mode in LSTM_MODES else None
        h, c = emit_cell(g, m, x, hx, cx)
        g.output(h, "h", F32, ["B", m.hidden_size])
        if c is not None:
            g.output(c, "c", F32, ["B", m.hidden_size])

    def feeds(self, rng, B, T, full):
        m = self.obj
        f = {"input": _floats(rng, (B, m.input_size)), "hx": _floats(rng, (B, m.hidden_size))}
        if m.mode in LSTM_MODES:
            f["cx"] = _floats(rng, (B, m.hidden_size))
        return f

    def reference(self, f):
        m = self.obj
        with inference_mode(m):
            if m.mode in LSTM_MODES:
                h, c = m(f["input"], (f["hx"], f["cx"]))
                return {"h": h, "c": c}
            return {"h": m(f["input"], f["hx"])}


# -- SequenceModel / CharRNN -----------------------------------------------------------------
class SequenceModelSignature(Signature):
    takes_lengths = True

    def build(self, g):
        m, rnn = self.obj, self.obj.rnn
        if m.num_embeddings is not None:
            x = g.input("x", I64, ["B", "T"])
        else:
            x = g.input("x", F32, ["B", "T", rnn.input_size if "pre" not in m._modules else m.pre[0].in_features])
        lengths = self.lengths_input(g)
        y, h_n, c_n = sequence_model(g, m, x, lengths, _state_inputs(g, rnn, self.initial_state))
        g.output(y, "y", F32, None)
        _state_outputs(g, rnn, h_n, c_n)

    def feeds(self, rng, B, T, full):
        m, rnn = self.obj, self.obj.rnn
        if m.num_embeddings is not None:
            f = {"x": rng.integers(0, m.num_embeddings, size=(B, T)).astype(I64)}
        else:
            width = rnn.input_size if "pre" not in m._modules else m.pre[0].in_features
            f = {"x": _floats(rng, (B, T, width))}
        return _state_feeds(f, rng, rnn, B, self.lengths, T, full, self.initial_state)

    def reference(self, f):
        y, states = _call_with_state(self.obj, self.obj.rnn.mode, f["x"], f, self.initial_state)
        return {"y": y, **states}


# -- Seq2Seq -----------------------------------------------------------------------------------
class Seq2SeqSignature(Signature):
    takes_lengths = True

    def __init__(self, obj, lengths=None, initial_state=False, part=None):
        if part == "decoder" and lengths:
            raise ValueError("lengths=True, but the Seq2Seq decoder part takes no lengths (only the source has them)")
        if initial_state and part != "decoder":
            raise ValueError("initial_state applies to the Seq2Seq decoder part only (which always takes h0)")
        super().__init__(obj, lengths, initial_state, "forward" if part is None else part)
        if self.part == "decoder":
            self.lengths = False

    def _state_names(self):
        return ("h0", "c0") if self.obj.cell == "lstm" else ("h0",)

    def build(self, g):
        m, part = self.obj, self.part
        L, H = m.num_layers, m.hidden_size
        if part == "decoder":
            tgt = g.input("tgt_in", I64, ["B", "Tt"])
            state0 = tuple(g.input(n, F32, [L, "B", H]) for n in self._state_names())
            logits, st = seq2seq_decode(g, m, tgt, state0)
            g.output(logits, "logits", F32, ["B", "Tt", m.tgt_vocab])
            for n, s in zip(("h_n", "c_n"), st):
                g.output(s, n, F32, [L, "B", H])
            return
        src = g.input("src", I64, ["B", "Ts"])
        tgt = g.input("tgt_in", I64, ["B", "Tt"]) if part == "forward" else None
        lengths = self.lengths_input(g)
        if part == "encoder":
            for n, s in zip(self._state_names(), seq2seq_encode(g, m, src, lengths)):
                g.output(s, n, F32, [L, "B", H])
        elif part == "forward":
            logits, _ = seq2seq_decode(g, m, tgt, seq2seq_encode(g, m, src, lengths))
            g.output(logits, "logits", F32, ["B", "Tt", m.tgt_vocab])
        else:
            max_len = g.input("max_len", I64, [])
            g.output(seq2seq_greedy(g, m, src, lengths, max_len), "ids", I64, ["B", "max_len"])

    def feeds(self, rng, B, T, full):
        m, s = self.obj, _sizes(B, T)
        f = {}
        if self.part != "decoder":
            f["src"] = rng.integers(0, m.src_vocab, size=(B, s["Ts"])).astype(I64)
        if self.part in ("forward", "decoder"):
            f["tgt_in"] = rng.integers(0, m.tgt_vocab, size=(B, s["Tt"])).astype(I64)
        if self.lengths:
            f["lengths"] = _random_lengths(rng, B, s["Ts"], full)
        if self.part == "decoder":
            for n in self._state_names():
                f[n] = _floats(rng, (m.num_layers, B, m.hidden_size)) * F32(0.5)
        if self.part == "greedy":
            f["max_len"] = np.array(T + 3, I64)
        return f

    def reference(self, f):
        m, part = self.obj, self.part
        with inference_mode(m):
            if part == "greedy":
                return {"ids": m.greedy_decode(f["src"], f.get("lengths"), int(f["max_len"]))}
            if part == "forward":
                return {"logits": m(f["src"], f["tgt_in"], lengths=f.get("lengths"))}
            if part == "encoder":
                st, _ = m.encode(f["src"], f.get("lengths"))
                return dict(zip(self._state_names(), st if isinstance(st, tuple) else (st,)))
            state = tuple(f[n] for n in self._state_names())
            logits, st = m._decode(f["tgt_in"], state if len(state) > 1 else state[0])
            return dict(zip(("logits", "h_n", "c_n"), (logits,) + (st if isinstance(st, tuple) else (st,))))


# -- feed-forward modules and containers ------------------------------------------------------
def _leaves(m):
    if type(m) is nn.Sequential:
        for c in m._modules.values():
            yield from _leaves(c)
    else:
        yield m


def _input_spec(m):
    """``(dtype, shape)`` of the input ``m`` takes, from its first modules."""
    feat = None
    for c in _leaves(m):
        if isinstance(c, nn.Embedding):
            return I64, ["B", "T"]
        if isinstance(c, RNNBase):
            F = c.input_size if feat is None else feat
            return F32, (["B", "T", F] if c.batch_first else ["T", "B", F])
        if isinstance(c, nn.WindowMLP):
            return F32, ["B", c.window, c.n_features]
        if isinstance(c, nn.Linear):
            feat = c.in_features if feat is None else feat
        elif isinstance(c, nn.FinalState):
            return F32, ["LD", "B", "H" if feat is None else feat]
        elif isinstance(c, nn.Flatten):
            return F32, ["B", "W", "F"]
        elif _accepts_lengths(c):                       # LastStep, TemporalPooling: (T, B, F) or (B, T, F)
            F = "F" if feat is None else feat
            return F32, (["B", "T", F] if getattr(c, "batch_first", False) else ["T", "B", F])
    return F32, ["N", "F" if feat is None else feat]


def _first_embedding(m):
    for c in _leaves(m):
        if isinstance(c, nn.Embedding):
            return c
    return None


class ModuleSignature(Signature):
    def __init__(self, obj, lengths=None, initial_state=False, part=None):
        self.takes_lengths = _accepts_lengths(obj) and (
            type(obj) is not nn.Sequential or any(_accepts_lengths(c) for c in obj._modules.values()))
        if initial_state:
            raise ValueError(f"initial_state applies to recurrent layers and SequenceModels, "
                             f"not to a {type(obj).__name__}")
        super().__init__(obj, lengths, initial_state, part)

    def build(self, g):
        dtype, shape = _input_spec(self.obj)
        x = g.input("input", dtype, shape)
        g.output(write(g, self.obj, x, self.lengths_input(g)), "output", F32, None)

    def feeds(self, rng, B, T, full):
        dtype, shape = _input_spec(self.obj)
        dims = {**_sizes(B, T), "N": B, "LD": 2, "W": 4, "F": 5, "H": 5}
        shape = tuple(dims[d] if isinstance(d, str) else d for d in shape)
        if dtype == I64:
            f = {"input": rng.integers(0, _first_embedding(self.obj).num_embeddings, size=shape).astype(I64)}
        else:
            f = {"input": _floats(rng, shape)}
        if self.lengths:
            f["lengths"] = _random_lengths(rng, B, T, full)
        return f

    def reference(self, f):
        m = self.obj
        with inference_mode(m):
            y = m(f["input"], lengths=f["lengths"]) if "lengths" in f else m(f["input"])
        return {"output": y}


def signature_for(obj, lengths=None, initial_state=False, part=None) -> Signature:
    """The :class:`Signature` of ``obj`` (a module); ``part`` is for Seq2Seq only."""
    if part is not None and type(obj) is not Seq2Seq:
        raise ValueError(f"part applies to a Seq2Seq model only, got part={part!r} for {type(obj).__name__}")
    kind = type(obj)              # exact classes: a subclass may compute something else
    if kind is Seq2Seq:
        if part is not None and part not in SEQ2SEQ_PARTS:
            raise ValueError(f"part must be one of {SEQ2SEQ_PARTS}, got {part!r}")
        return Seq2SeqSignature(obj, lengths, initial_state, part)
    if kind in (SequenceModel, CharRNN):
        return SequenceModelSignature(obj, lengths, initial_state)
    if kind in (nn.RNN, nn.LSTM, nn.GRU, nn.PeepholeLSTM):
        return RecurrentSignature(obj, lengths, initial_state)
    if kind in (nn.RNNCell, nn.LSTMCell, nn.GRUCell, nn.PeepholeLSTMCell):
        return CellSignature(obj, lengths, initial_state)
    return ModuleSignature(obj, lengths, initial_state)
