"""PyTorch modules for the rnnkit pieces ``torch.nn`` lacks (imported only by rnnkit.interop's torch functions).

- :class:`Recurrent`: a stacked, optionally bidirectional RNN/GRU/LSTM with rnnkit's extras
  (``merge_mode`` sum/mul/ave, GRU ``reset_after=False``, the sigmoid Elman RNN), ``lengths``,
  and rnnkit's (= PyTorch's) parameter names, the time loop written out.
- :class:`Cell`: one step of those cells (``GRUCell(reset_after=False)``, ``RNNCell`` sigmoid).
- :func:`recurrent_forward`: any of these or ``torch.nn.RNN/LSTM/GRU`` with ``lengths`` (packing).
- :class:`Sequential`, :class:`LastStep`, :class:`FinalState`, :class:`TemporalPooling`,
  :class:`WindowMLP`, :class:`SequenceModel`, :class:`Seq2Seq`: rnnkit's containers and models.

Every wrapper keeps ``rnnkit_config`` (rnnkit's own description of the module it came from) so
:func:`rnnkit.interop.from_torch` rebuilds exactly that module; parameter names match rnnkit's,
so the weights copy by name.
"""

from __future__ import annotations

import math

import torch
from torch import nn as tnn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

__all__ = ["Recurrent", "Cell", "recurrent_forward", "Sequential", "LastStep", "FinalState", "TemporalPooling",
           "WindowMLP", "SequenceModel", "Seq2Seq"]

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
_ACT = {"tanh": torch.tanh, "relu": torch.relu, "sigmoid": torch.sigmoid}


def _step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh, w_hr, nonlinearity, reset_after):
    """One step of a cell in rnnkit's equations; returns ``(h', c')`` (``c'`` None but for LSTM)."""
    gi = x @ w_ih.T + (b_ih if b_ih is not None else 0)                    # (B, G*H)
    gh = h @ w_hh.T + (b_hh if b_hh is not None else 0)
    if mode == "RNN":
        return _ACT[nonlinearity](gi + gh), None
    if mode == "GRU":
        H = w_hh.shape[0] // 3
        r = torch.sigmoid(gi[:, :H] + gh[:, :H])
        z = torch.sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
        if reset_after:
            n = torch.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
        else:
            b_hn = b_hh[2 * H:] if b_hh is not None else 0
            n = torch.tanh(gi[:, 2 * H:] + (r * h) @ w_hh[2 * H:].T + b_hn)
        return (1 - z) * n + z * h, None
    i, f, g, o = (gi + gh).chunk(4, dim=1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return (h if w_hr is None else h @ w_hr.T), c


class Recurrent(tnn.Module):
    """rnnkit's ``RNN``/``LSTM``/``GRU`` in PyTorch: ``forward(x, hx=None, lengths=None) -> (out, h_n)``.

    Same arguments, shapes and parameter names as the rnnkit layer; padded steps give zeros and
    ``h_n`` is each sequence's last real step (the reverse direction reads each sequence back
    from its own last real step); directions merged after every layer by ``merge_mode``.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, proj_size=0, merge_mode="concat", nonlinearity="tanh", reset_after=True,
                 dtype=torch.float32, rnnkit_config=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        self.proj_size, self.merge_mode = proj_size, merge_mode
        self.nonlinearity, self.reset_after = nonlinearity, reset_after
        self.rnnkit_config = rnnkit_config
        G, H, P, D = _GATES[mode], hidden_size, proj_size or hidden_size, 2 if bidirectional else 1
        k = 1.0 / math.sqrt(H)
        for layer in range(num_layers):
            width = input_size if layer == 0 else P * (D if merge_mode == "concat" else 1)
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                shapes = [("weight_ih", (G * H, width)), ("weight_hh", (G * H, P))]
                if bias:
                    shapes += [("bias_ih", (G * H,)), ("bias_hh", (G * H,))]
                if proj_size:
                    shapes += [("weight_hr", (P, H))]
                for name, shape in shapes:
                    self.register_parameter(name + sfx, tnn.Parameter(torch.empty(shape, dtype=dtype).uniform_(-k, k)))

    def _params(self, layer, d):
        sfx = f"_l{layer}" + ("_reverse" if d else "")
        return [getattr(self, n + sfx, None) for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]

    def _direction(self, x, h, c, params, lengths, reverse):
        T = x.shape[0]
        outs = [None] * T
        for t in (range(T - 1, -1, -1) if reverse else range(T)):
            h_new, c_new = _step(self.mode, x[t], h, c, *params, self.nonlinearity, self.reset_after)
            if lengths is None:
                h, c, outs[t] = h_new, c_new, h_new
            else:
                m = (t < lengths).unsqueeze(1)                                  # (B, 1)
                outs[t] = torch.where(m, h_new, torch.zeros_like(h_new))
                h = torch.where(m, h_new, h)
                c = torch.where(m, c_new, c) if c is not None else None
        return torch.stack(outs), h, c

    def forward(self, x, hx=None, lengths=None):
        if self.batch_first:
            x = x.transpose(0, 1)
        T, B, _ = x.shape
        D, H, P = 2 if self.bidirectional else 1, self.hidden_size, self.proj_size or self.hidden_size
        if self.mode == "LSTM":
            h0, c0 = hx if hx is not None else (None, None)
        else:
            h0, c0 = hx, None
        if lengths is not None:
            lengths = torch.as_tensor(lengths, device=x.device)
        hs, cs = [], []
        for layer in range(self.num_layers):
            ys = []
            for d in range(D):
                idx = layer * D + d
                h = h0[idx] if h0 is not None else x.new_zeros(B, P)
                c = (c0[idx] if c0 is not None else x.new_zeros(B, H)) if self.mode == "LSTM" else None
                y, h, c = self._direction(x, h, c, self._params(layer, d), lengths, bool(d))
                ys.append(y)
                hs.append(h)
                cs.append(c)
            x = _merge(ys, self.merge_mode, dim=2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = tnn.functional.dropout(x, self.dropout)
        out = x.transpose(0, 1) if self.batch_first else x
        h_n = torch.stack(hs)
        return (out, (h_n, torch.stack(cs))) if self.mode == "LSTM" else (out, h_n)


def _merge(ys, mode, dim):
    if len(ys) == 1:
        return ys[0]
    a, b = ys
    if mode == "concat":
        return torch.cat([a, b], dim=dim)
    if mode == "sum":
        return a + b
    if mode == "mul":
        return a * b
    return (a + b) * 0.5


class Cell(tnn.Module):
    """One step of an rnnkit cell torch lacks: ``forward(x, hx=None) -> h'`` (``(h', c')`` LSTM)."""

    def __init__(self, mode, input_size, hidden_size, bias=True, nonlinearity="tanh", reset_after=True,
                 dtype=torch.float32, rnnkit_config=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = mode, input_size, hidden_size, bias
        self.nonlinearity, self.reset_after, self.rnnkit_config = nonlinearity, reset_after, rnnkit_config
        G, k = _GATES[mode], 1.0 / math.sqrt(hidden_size)
        shapes = [("weight_ih", (G * hidden_size, input_size)), ("weight_hh", (G * hidden_size, hidden_size))]
        if bias:
            shapes += [("bias_ih", (G * hidden_size,)), ("bias_hh", (G * hidden_size,))]
        for name, shape in shapes:
            self.register_parameter(name, tnn.Parameter(torch.empty(shape, dtype=dtype).uniform_(-k, k)))

    def forward(self, x, hx=None):
        if hx is None:
            hx = x.new_zeros(x.shape[0], self.hidden_size)
        h, c = hx if self.mode == "LSTM" else (hx, None)
        params = (self.weight_ih, self.weight_hh, getattr(self, "bias_ih", None), getattr(self, "bias_hh", None), None)
        h, c = _step(self.mode, x, h, c, *params, self.nonlinearity, self.reset_after)
        return (h, c) if self.mode == "LSTM" else h


def recurrent_forward(layer, x, hx=None, lengths=None):
    """``layer(x, hx)`` with rnnkit's ``lengths``: packed for ``torch.nn.RNN/LSTM/GRU``, masked for :class:`Recurrent`.

    Returns ``(out, h_n)`` (LSTM: ``(out, (h_n, c_n))``) with padded steps zero.
    """
    if isinstance(layer, Recurrent):
        return layer(x, hx, lengths=lengths)
    if lengths is None:
        return layer(x, hx)
    T = x.shape[1] if layer.batch_first else x.shape[0]
    packed = pack_padded_sequence(x, torch.as_tensor(lengths).cpu(), batch_first=layer.batch_first,
                                  enforce_sorted=False)
    out, state = layer(packed, hx)
    out, _ = pad_packed_sequence(out, batch_first=layer.batch_first, total_length=T)
    return out, state


def _is_recurrent(m):
    return isinstance(m, (Recurrent, tnn.RNN, tnn.LSTM, tnn.GRU))


class LastStep(tnn.Module):
    """rnnkit's ``LastStep``: each sequence's last real step ``(B, F)`` (reverse half at step 0 with the split)."""

    def __init__(self, batch_first=False, bidirectional_split=False, rnnkit_config=None):
        super().__init__()
        self.batch_first, self.bidirectional_split, self.rnnkit_config = batch_first, bidirectional_split, rnnkit_config

    def forward(self, x, lengths=None):
        xt = x.transpose(0, 1) if self.batch_first else x                    # (T, B, F)
        T, B, F = xt.shape
        last = torch.full((B,), T - 1) if lengths is None else torch.as_tensor(lengths) - 1
        y = xt[last, torch.arange(B)]                                         # (B, F)
        if self.bidirectional_split:
            y = torch.cat([y[:, :F // 2], xt[0, :, F // 2:]], dim=1)
        return y


class FinalState(tnn.Module):
    """rnnkit's ``FinalState``: the last layer's ``h_n`` rows concatenated, ``(L*D, B, H) -> (B, D*H)``."""

    def __init__(self, num_directions=1, rnnkit_config=None):
        super().__init__()
        self.num_directions, self.rnnkit_config = num_directions, rnnkit_config

    def forward(self, state):
        h = state[0] if isinstance(state, (tuple, list)) else state
        D = self.num_directions
        return torch.cat([h[h.shape[0] - D + d] for d in range(D)], dim=-1)


class TemporalPooling(tnn.Module):
    """rnnkit's ``TemporalPooling``: mean / max over each sequence's real steps, concatenated."""

    def __init__(self, mode=("mean",), batch_first=False, rnnkit_config=None):
        super().__init__()
        self.mode, self.batch_first, self.rnnkit_config = tuple(mode), batch_first, rnnkit_config

    def forward(self, x, lengths=None):
        xt = x.transpose(0, 1) if self.batch_first else x                    # (T, B, F)
        T, B, _ = xt.shape
        lens = torch.full((B,), T) if lengths is None else torch.as_tensor(lengths)
        real = (torch.arange(T).unsqueeze(1) < lens.unsqueeze(0)).unsqueeze(2)   # (T, B, 1)
        parts = []
        for m in self.mode:
            if m == "mean":
                parts.append((xt * real).sum(0) / lens.unsqueeze(1).to(xt.dtype))
            else:
                parts.append(torch.where(real, xt, torch.full_like(xt, -math.inf)).amax(0))
        return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


class Sequential(tnn.Module):
    """rnnkit's ``Sequential``: recurrent children pass on their output only; ``lengths`` go to the
    children that take them (recurrent layers, LastStep, TemporalPooling, nested Sequentials)."""

    def __init__(self, children, rnnkit_config=None):
        super().__init__()
        for name, m in children:
            self.add_module(name, m)
        self.rnnkit_config = rnnkit_config

    def forward(self, x, lengths=None):
        for m in self._modules.values():
            if _is_recurrent(m):
                x = recurrent_forward(m, x, lengths=lengths)[0]
            elif lengths is not None and isinstance(m, (LastStep, TemporalPooling, Sequential)):
                x = m(x, lengths=lengths)
            else:
                x = m(x)
        return x


class WindowMLP(tnn.Sequential):
    """rnnkit's ``WindowMLP``: Flatten -> (Linear -> activation)* -> Linear, ``(B, W, F) -> (B, n_outputs)``."""

    def __init__(self, children, rnnkit_config=None):
        super().__init__()
        for name, m in children:
            self.add_module(name, m)
        self.rnnkit_config = rnnkit_config


class SequenceModel(tnn.Module):
    """rnnkit's ``SequenceModel``: ``forward(x, state=None, lengths=None) -> (y, state_n)``, batch-first."""

    def __init__(self, children, parts, merge_mode, features, rnnkit_config=None):
        super().__init__()
        for name, m in children:
            self.add_module(name, m)
        self.parts, self.merge_mode, self.features = tuple(parts), merge_mode, features
        self.rnnkit_config = rnnkit_config

    def forward(self, x, state=None, lengths=None):
        mods = self._modules
        if "embedding" in mods:
            x = self.embedding(x)
        if "pre" in mods:
            x = self.pre(x)
        out, state_n = recurrent_forward(self.rnn, x, state, lengths)
        feat = out
        if self.parts:
            pooled = self.pool(out, lengths=lengths) if "pool" in mods else None
            h = state_n[0] if isinstance(state_n, tuple) else state_n
            D = 2 if self.rnn.bidirectional else 1
            F, k, pieces = self.features, 0, []
            for p in self.parts:
                if p == "last":
                    pieces.append(_merge([h[h.shape[0] - D + d] for d in range(D)], self.merge_mode, dim=1))
                else:
                    pieces.append(pooled[:, k * F:(k + 1) * F])
                    k += 1
            feat = torch.cat(pieces, dim=1) if len(pieces) > 1 else pieces[0]
        if "post" in mods:
            feat = self.post(feat)
        if "drop" in mods:
            feat = self.drop(feat)
        return self.head(feat), state_n


class Seq2Seq(tnn.Module):
    """rnnkit's ``Seq2Seq``: ``forward(src, tgt_in, lengths=None) -> logits`` and ``greedy_decode``."""

    def __init__(self, children, num_layers, bidirectional_encoder, sos_id, eos_id, pad_id, rnnkit_config=None):
        super().__init__()
        for name, m in children:
            self.add_module(name, m)
        self.num_layers, self.bidirectional_encoder = num_layers, bidirectional_encoder
        self.sos_id, self.eos_id, self.pad_id, self.rnnkit_config = sos_id, eos_id, pad_id, rnnkit_config

    def encode(self, src, lengths=None):
        _, state = recurrent_forward(self.encoder, self.src_embedding(src), None, lengths)
        if not self.bidirectional_encoder:
            return state
        parts = state if isinstance(state, tuple) else (state,)
        out = []
        for k, s in enumerate(parts):
            LD, B, H = s.shape
            a = s.reshape(LD // 2, 2, B, H).permute(0, 2, 1, 3).reshape(LD // 2, B, 2 * H)   # (L, B, 2H)
            z = (self.bridge_h if k == 0 else self.bridge_c)(a)
            out.append(torch.tanh(z) if k == 0 else z)
        return tuple(out) if len(out) > 1 else out[0]

    def decode(self, tgt_in, state):
        out, state = recurrent_forward(self.decoder, self.tgt_embedding(tgt_in), state)
        if "drop" in self._modules:
            out = self.drop(out)
        return self.head(out), state

    def forward(self, src, tgt_in, lengths=None):
        return self.decode(tgt_in, self.encode(src, lengths))[0]

    @torch.no_grad()
    def greedy_decode(self, src, lengths=None, max_len=50):
        B = src.shape[0]
        out = torch.full((B, max_len), self.pad_id, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        tok = torch.full((B, 1), self.sos_id, dtype=torch.long)
        state = self.encode(src, lengths)
        for t in range(max_len):
            logits, state = self.decode(tok, state)
            nxt = logits[:, 0].argmax(-1)
            out[:, t] = torch.where(done, torch.full_like(nxt, self.pad_id), nxt)
            done |= nxt == self.eos_id
            if bool(done.all()):
                break
            tok = nxt[:, None]
        return out
