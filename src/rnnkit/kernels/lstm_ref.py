"""LSTM over a sequence (PyTorch's gate order i, f, g, o): the readable NumPy reference.

Forward, for each time step t::

    [a_i, a_f, a_g, a_o] = x_proj_t + h_{t-1} @ W_hh.T   # x_proj = x W_ih^T + b_ih + b_hh, (B, 4H)
    i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o)    # input, forget, output gates
    g       = tanh(a_g)                                   # candidate cell
    c_t     = f * c_{t-1} + i * g                         # cell state (B, H)
    m_t     = o * tanh(c_t)                               # (B, H)
    h_t     = m_t @ W_hr.T  if proj_size > 0 else m_t     # (B, P) with P = proj_size or H

Backward, with g_h = dL/dh_t and g_c = dL/dc_t arriving from step t+1::

    dm    = g_h @ W_hr (projection) or g_h
    do    = dm * tanh(c_t)
    dc    = g_c + dm * o * (1 - tanh(c_t)^2)
    di, df, dg = dc * g, dc * c_{t-1}, dc * i
    da    = [di i(1-i), df f(1-f), dg (1-g^2), do o(1-o)]   # (B, 4H)
    g_h  <- da @ W_hh ;  g_c <- dc * f                      # to step t-1
    dW_hh = sum_t da_t.T @ h_{t-1} ;  dW_hr = sum_t g_h,t.T @ m_t   (GEMMs after the loop)
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import blend, sigmoid, step_mask, time_order


def lstm_forward(x_proj, W_hh, W_hr, h0, c0, lengths, reverse, keep, bias=None, x=None, W_ih=None):
    """Run the recurrence.

    x_proj (T, B, 4H), W_hh (4H, P), W_hr (P, H) or None, h0 (B, P), c0 (B, H),
    bias (4H,) or None: added to x_proj first (the layer passes b_ih + b_hh here).
    ``x_proj=None``: x (T, B, I) and W_ih (4H, I) are given and x_proj = x @ W_ih.T.
    Returns ``out (T, B, P), h_n (B, P), c_n (B, H), cache``.
    """
    if x_proj is None:
        x_proj = x @ W_ih.T                                 # (T, B, 4H)
    if bias is not None:
        x_proj = x_proj + bias                              # (T, B, 4H)
    T, B, G4 = x_proj.shape
    H = G4 // 4
    P = h0.shape[1]
    out = np.zeros((T, B, P), x_proj.dtype)
    if keep:
        h_prev_all = np.empty((T, B, P), x_proj.dtype)
        c_prev_all = np.empty((T, B, H), x_proj.dtype)
        gates_all = np.empty((T, B, 4 * H), x_proj.dtype)   # activated i, f, g, o
        tanh_c_all = np.empty((T, B, H), x_proj.dtype)
        m_all = np.empty((T, B, H), x_proj.dtype) if W_hr is not None else None
    h, c = h0.copy(), c0.copy()
    for t in time_order(T, reverse):
        a = x_proj[t] + h @ W_hh.T                          # (B, 4H)
        i = sigmoid(a[:, :H])
        f = sigmoid(a[:, H:2 * H])
        g = np.tanh(a[:, 2 * H:3 * H])
        o = sigmoid(a[:, 3 * H:])
        c_new = f * c + i * g                               # (B, H)
        tanh_c = np.tanh(c_new)
        m_new = o * tanh_c                                  # (B, H)
        h_new = m_new @ W_hr.T if W_hr is not None else m_new   # (B, P)
        if keep:
            h_prev_all[t], c_prev_all[t], tanh_c_all[t] = h, c, tanh_c
            gates_all[t] = np.concatenate([i, f, g, o], axis=1)
            if m_all is not None:
                m_all[t] = m_new
        mask = step_mask(lengths, t, B, h.dtype)
        out[t] = h_new if mask is None else h_new * mask
        h, c = blend(mask, h_new, h), blend(mask, c_new, c)
    cache = None
    if keep:
        cache = (h_prev_all, c_prev_all, gates_all, tanh_c_all, m_all, lengths, reverse)
    return out, h, c, cache


def lstm_backward(d_out, dh_n, dc_n, W_hh, W_hr, cache, W_ih=None):
    """BPTT. d_out (T, B, P); dh_n (B, P) or None; dc_n (B, H) or None.

    Returns ``d_x_proj (T, B, 4H), dh0 (B, P), dc0 (B, H), dW_hh (4H, P), dW_hr (P, H) or None``,
    and with ``W_ih`` (4H, I) also ``dx = d_x_proj @ W_ih`` (T, B, I), ``db`` (4H,), the
    sum of d_x_proj over time and batch (the gradient of b_ih and of b_hh), and ``dW_ih`` as
    None (the caller, which has x, computes it; the compiled kernel may return it).
    """
    h_prev_all, c_prev_all, gates_all, tanh_c_all, m_all, lengths, reverse = cache
    T, B, P = h_prev_all.shape
    H = c_prev_all.shape[2]
    dt = h_prev_all.dtype
    dh = np.zeros((B, P), dt) if dh_n is None else dh_n.copy()
    dc = np.zeros((B, H), dt) if dc_n is None else dc_n.copy()
    d_x_proj = np.zeros((T, B, 4 * H), dt)
    dh_out_all = np.zeros((T, B, P), dt) if W_hr is not None else None
    for t in reversed(time_order(T, reverse)):
        mask = step_mask(lengths, t, B, dt)
        g_h = d_out[t] + dh if mask is None else (d_out[t] + dh) * mask   # (B, P)
        if W_hr is not None:
            dh_out_all[t] = g_h
            dm = g_h @ W_hr                                  # (B, H)
        else:
            dm = g_h
        gates = gates_all[t]
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        tanh_c = tanh_c_all[t]
        dc_t = dc + dm * o * (1 - tanh_c * tanh_c)
        if mask is not None:
            dc_t = dc_t * mask
        da = np.concatenate(
            [dc_t * g * i * (1 - i),
             dc_t * c_prev_all[t] * f * (1 - f),
             dc_t * i * (1 - g * g),
             dm * tanh_c * o * (1 - o)],
            axis=1,
        )                                                    # (B, 4H)
        d_x_proj[t] = da
        dh = blend(mask, da @ W_hh, dh)
        dc = blend(mask, dc_t * f, dc)
    dW_hh = d_x_proj.reshape(-1, 4 * H).T @ h_prev_all.reshape(-1, P)      # (4H, P)
    dW_hr = None
    if W_hr is not None:
        dW_hr = dh_out_all.reshape(-1, P).T @ m_all.reshape(-1, H)          # (P, H)
    if W_ih is not None:
        return d_x_proj, dh, dc, dW_hh, dW_hr, d_x_proj @ W_ih, d_x_proj.sum(axis=(0, 1)), None
    return d_x_proj, dh, dc, dW_hh, dW_hr
