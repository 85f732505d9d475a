"""Layer normalisation of one row, compiled: the equations of ``kernels/_layernorm.py`` for the
recurrent side of the LayerNorm LSTM and GRU (called per batch row inside their time loops),
and the NumPy helpers their input side and the gain/shift arguments share.

    ln_row:           n = (v - mean v) * rstd, rstd = 1 / sqrt(var v + eps) ;  y = gain * n + beta
    ln_row_backward:  dv = rstd * (dn - mean(dn) - n * mean(dn * n)),  dn = dy * gain
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._layernorm import ln_backward, ln_forward
from rnnkit.kernels.fast._jit import kernel

__all__ = ["sigmoid", "ln_row", "ln_row_backward", "gain_shift", "project_ln", "input_backward"]


@kernel
def sigmoid(v):
    """``1 / (1 + exp(-v))`` of a scalar (exp overflows to inf for v < -709: the result is 0)."""
    return 1.0 / (1.0 + np.exp(-v))


@kernel
def ln_row(v, gain, beta, eps, n_out, y_out):
    """v, gain, beta, n_out, y_out (N,): n_out <- normalised v, y_out <- gain * n + beta; returns rstd.
    ``y_out`` may be ``v`` itself."""
    N = v.shape[0]
    s = v.dtype.type(0.0)
    for j in range(N):
        s += v[j]
    mu = s / N
    q = v.dtype.type(0.0)
    for j in range(N):
        d = v[j] - mu
        q += d * d
    rstd = v.dtype.type(1.0) / np.sqrt(q / N + eps)
    for j in range(N):
        nj = (v[j] - mu) * rstd
        n_out[j] = nj
        y_out[j] = gain[j] * nj + beta[j]
    return rstd


@kernel
def ln_row_backward(dy, n, rstd, gain, dv_out):
    """dy, n, gain, dv_out (N,): dv_out <- the gradient of v (see the module docstring)."""
    N = dy.shape[0]
    m1 = dy.dtype.type(0.0)
    m2 = dy.dtype.type(0.0)
    for j in range(N):
        dn = dy[j] * gain[j]
        m1 += dn
        m2 += dn * n[j]
    m1 = m1 / N
    m2 = m2 / N
    for j in range(N):
        dv_out[j] = rstd * (dy[j] * gain[j] - m1 - n[j] * m2)


def gain_shift(extra, names, N, dt):
    """The gain ``1 + w`` and shift ``beta`` (N,) of dtype ``dt`` of one normalisation
    (ones / zeros for a parameter ``extra`` does not hold)."""
    w_name, b_name = names
    gain = np.ones(N, dt) if w_name not in extra else np.ascontiguousarray(1 + extra[w_name], dtype=dt)
    beta = np.zeros(N, dt) if b_name not in extra else np.ascontiguousarray(extra[b_name], dtype=dt)
    return gain, beta


def project_ln(x, W_ih, extra, names, eps):
    """The input side for the whole sequence: ``LN_ih(x @ W_ih.T)`` (T, B, G*H) in one GEMM and
    one vectorised normalisation. Returns ``y, n, rstd``."""
    T, B, I = x.shape
    xp = (x.reshape(T * B, I) @ np.asarray(W_ih, dtype=x.dtype).T).reshape(T, B, -1)
    y, n, rstd = ln_forward(xp, extra.get(names[0]), extra.get(names[1]), x.dtype.type(eps))
    return np.ascontiguousarray(y, dtype=x.dtype), n.astype(x.dtype, copy=False), rstd.astype(x.dtype, copy=False)


def input_backward(da, n_ih, rstd_ih, x, W_ih, extra, names):
    """The input side's backward for the whole sequence: from ``da = dL/dLN_ih(x_proj)``
    (T, B, G*H), ``dx`` (T, B, I) and ``dW_ih`` (G*H, I)."""
    T, B, I = x.shape
    dt = x.dtype
    w = extra.get(names[0])
    d_xp = ln_backward(da, n_ih, rstd_ih, None if w is None else w.astype(dt, copy=False))
    flat = d_xp.reshape(T * B, -1)
    dx = (flat @ np.asarray(W_ih, dtype=dt)).reshape(T, B, I)
    return dx.astype(dt, copy=False), (flat.T @ x.reshape(T * B, I)).astype(dt, copy=False)
