"""One direction of one recurrent layer: input projection, kernel, parameter gradients.

This is the glue between a layer's :class:`Parameter` objects and the plain-array kernels::

    x_proj = x @ W_ih.T + b_ih (+ b_hh folded in where the cell allows)   # (T, B, G*H), one GEMM
    out, state_n, cache = kernel_forward(x_proj, W_hh, ..., state0, lengths, reverse)

The LSTM and vanilla RNN kernels take ``x``, ``W_ih`` and the bias instead of x_proj: their
row-split path (float32, several threads) does the input projection inside its step products
and never writes the (T, B, G*H) array; the serial path computes it first.
    d_x_proj, d_state0, dW_hh, ... = kernel_backward(d_out, d_state_n, ..., cache)
    dW_ih = d_x_proj.T @ x ;  db_ih = sum d_x_proj ;  dx = d_x_proj @ W_ih   # GEMMs

(the LSTM and RNN kernels return dx and db themselves: their row-split path computes them per
step, and dW_ih too, in one GEMM with dW_hh, when their forward kept [x_t | h_{t-1}].)

States are tuples: ``(h,)`` for RNN and GRU, ``(h, c)`` for LSTM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rnnkit.kernels import _workspace as workspace
from rnnkit.nn.module import Parameter

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


@dataclass
class DirectionParams:
    """The parameters of one (layer, direction): PyTorch's shapes."""

    w_ih: Parameter            # (G*H, I_l)
    w_hh: Parameter            # (G*H, H_out)
    b_ih: Parameter | None     # (G*H,)
    b_hh: Parameter | None     # (G*H,)
    w_hr: Parameter | None     # (P, H), LSTM with proj_size only


def _bias_for_projection(mode: str, p: DirectionParams, H: int) -> np.ndarray | None:
    """The bias added to x_proj: b_ih + b_hh, except GRU's b_hn which stays inside r * (.)."""
    if p.b_ih is None:
        return None
    b = p.b_ih.data + p.b_hh.data
    if mode == "GRU":
        b = b.copy()
        b[2 * H:] = p.b_ih.data[2 * H:]
    return b


def forward_direction(kern, mode, opts, x, p: DirectionParams, state0, lengths, reverse, keep):
    """x (T, B, I_l); state0 tuple of (B, .) arrays. Returns ``out, state_n, cache``."""
    T, B, I = x.shape
    GH = p.w_ih.data.shape[0]
    H = GH // GATES[mode]
    bias = _bias_for_projection(mode, p, H)
    if mode == "LSTM":                        # the LSTM kernels take x and W_ih (and add the bias) themselves
        w_hr = p.w_hr.data if p.w_hr is not None else None
        out, h_n, c_n, kc = kern.lstm_forward(
            None, p.w_hh.data, w_hr, state0[0], state0[1], lengths, reverse, keep, bias, x=x, W_ih=p.w_ih.data
        )
        state_n = (h_n, c_n)
    elif mode == "RNN":                       # so do the vanilla RNN kernels
        out, h_n, kc = kern.rnn_forward(
            None, p.w_hh.data, state0[0], lengths, reverse, opts["nonlinearity"], keep, bias, x=x, W_ih=p.w_ih.data
        )
        state_n = (h_n,)
    else:                                     # GRU: b_hn stays inside r * (.), the rest goes into x_proj
        x_proj = workspace.empty((T, B, GH), x.dtype)                  # (T, B, G*H)
        np.matmul(x.reshape(T * B, I), p.w_ih.data.T, out=x_proj.reshape(T * B, GH))
        if bias is not None:
            x_proj += bias
        b_hn = p.b_hh.data[2 * H:] if p.b_hh is not None else np.zeros(H, x.dtype)
        out, h_n, kc = kern.gru_forward(
            x_proj, p.w_hh.data, b_hn, state0[0], lengths, reverse, opts["reset_after"], keep
        )
        state_n = (h_n,)
    cache = (x, kc, kern) if keep else None     # backward uses the kernels that made kc
    return out, state_n, cache


def backward_direction(mode, d_out, d_state_n, p: DirectionParams, cache):
    """BPTT for one direction; adds into the parameters' grads. Returns ``dx, d_state0``."""
    x, kc, kern = cache                       # the forward's kernels, even if the backend changed since
    T, B, I = x.shape
    GH = p.w_ih.data.shape[0]
    H = GH // GATES[mode]
    dx = db = dW_ih = None
    if mode == "RNN":                         # the RNN and LSTM kernels also give dx and db (row-split: in their loop)
        d_x_proj, dh0, dW_hh, dx, db, dW_ih = kern.rnn_backward(d_out, d_state_n[0], p.w_hh.data, kc, W_ih=p.w_ih.data)
        d_state0 = (dh0,)
    elif mode == "GRU":
        d_x_proj, dh0, dW_hh, db_hn = kern.gru_backward(d_out, d_state_n[0], p.w_hh.data, kc)
        d_state0 = (dh0,)
    else:                                     # the LSTM kernels also give dx and db (row-split: in their loop)
        w_hr = p.w_hr.data if p.w_hr is not None else None
        d_x_proj, dh0, dc0, dW_hh, dW_hr, dx, db, dW_ih = kern.lstm_backward(
            d_out, d_state_n[0], d_state_n[1], p.w_hh.data, w_hr, kc, W_ih=p.w_ih.data
        )
        d_state0 = (dh0, dc0)
        if p.w_hr is not None:
            p.w_hr.accumulate(dW_hr)
    dxp = d_x_proj.reshape(T * B, GH)                       # (T*B, G*H)
    p.w_ih.accumulate(dxp.T @ x.reshape(T * B, I) if dW_ih is None else dW_ih)    # (G*H, I)
    p.w_hh.accumulate(dW_hh)
    if p.b_ih is not None:
        if db is None:
            db = dxp.sum(axis=0)                            # (G*H,)
        p.b_ih.accumulate(db)
        if mode == "GRU":
            db = db.copy()
            db[2 * H:] = db_hn
        p.b_hh.accumulate(db)
    if dx is None:
        dx = workspace.empty((T, B, I), x.dtype)            # (T, B, I)
        np.matmul(dxp, p.w_ih.data, out=dx.reshape(T * B, I))
    return dx, d_state0
