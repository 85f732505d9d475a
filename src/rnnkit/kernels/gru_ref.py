"""GRU over a sequence (PyTorch's gate order r, z, n): the readable NumPy reference.

``reset_after=True`` (PyTorch, cuDNN)::

    [a_r, a_z, a_n] = x_proj_t                      # x_proj = x W_ih^T + b_ih (+ b_hr, b_hz)
    [s_r, s_z, s_n] = h_{t-1} @ W_hh.T              # (B, 3H)
    r = sigmoid(a_r + s_r) ;  z = sigmoid(a_z + s_z)           # reset, update gates
    n = tanh(a_n + r * (s_n + b_hn))                           # candidate
    h_t = (1 - z) * n + z * h_{t-1}

``reset_after=False`` (Cho et al. 2014): the reset gate acts before the product::

    n = tanh(a_n + (r * h_{t-1}) @ W_hn.T + b_hn)

Backward, with g = dL/dh_t::

    dn_pre = g (1 - z) (1 - n^2) ;  dz_pre = g (h_{t-1} - n) z (1 - z)
    reset_after:   dr = dn_pre * (s_n + b_hn) ;  ds_n = dn_pre * r
    reset_before:  d(rh) = dn_pre @ W_hn ;  dr = d(rh) * h_{t-1} ;  g_{t-1} += d(rh) * r
    dr_pre = dr r (1 - r)
    g_{t-1} += g z + [dr_pre, dz_pre, ds_n] @ W_hh         (reset_before: [dr_pre, dz_pre] @ W_hh[:2H])
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels._common import blend, sigmoid, step_mask, time_order


def gru_forward(x_proj, W_hh, b_hn, h0, lengths, reverse, reset_after, keep):
    """Run the recurrence.

    x_proj (T, B, 3H), W_hh (3H, H), b_hn (H,), h0 (B, H).
    Returns ``out (T, B, H), h_n (B, H), cache``.
    """
    T, B, G3 = x_proj.shape
    H = G3 // 3
    dt = x_proj.dtype
    out = np.zeros((T, B, H), dt)
    if keep:
        h_prev_all = np.empty((T, B, H), dt)
        gates_all = np.empty((T, B, 3 * H), dt)     # r, z, n after activation
        s_all = np.empty((T, B, H), dt)             # reset_after: s_n + b_hn; else r * h_{t-1}
    h = h0.copy()
    for t in time_order(T, reverse):
        xp = x_proj[t]
        if reset_after:
            s = h @ W_hh.T                           # (B, 3H)
            r = sigmoid(xp[:, :H] + s[:, :H])
            z = sigmoid(xp[:, H:2 * H] + s[:, H:2 * H])
            s_keep = s[:, 2 * H:] + b_hn
            n = np.tanh(xp[:, 2 * H:] + r * s_keep)
        else:
            s = h @ W_hh[:2 * H].T                   # (B, 2H)
            r = sigmoid(xp[:, :H] + s[:, :H])
            z = sigmoid(xp[:, H:2 * H] + s[:, H:2 * H])
            s_keep = r * h
            n = np.tanh(xp[:, 2 * H:] + s_keep @ W_hh[2 * H:].T + b_hn)
        h_new = (1 - z) * n + z * h
        if keep:
            h_prev_all[t], s_all[t] = h, s_keep
            gates_all[t] = np.concatenate([r, z, n], axis=1)
        mask = step_mask(lengths, t, B, dt)
        out[t] = h_new if mask is None else h_new * mask
        h = blend(mask, h_new, h)
    cache = (h_prev_all, gates_all, s_all, lengths, reverse, reset_after) if keep else None
    return out, h, cache


def gru_backward(d_out, dh_n, W_hh, cache):
    """BPTT. d_out (T, B, H), dh_n (B, H) or None.

    Returns ``d_x_proj (T, B, 3H), dh0 (B, H), dW_hh (3H, H), db_hn (H,)``.
    """
    h_prev_all, gates_all, s_all, lengths, reverse, reset_after = cache
    T, B, H = h_prev_all.shape
    dt = h_prev_all.dtype
    dh = np.zeros((B, H), dt) if dh_n is None else dh_n.copy()
    d_x_proj = np.zeros((T, B, 3 * H), dt)
    d_s_all = np.zeros((T, B, H), dt)      # gradient of the n-block's recurrent product
    for t in reversed(time_order(T, reverse)):
        mask = step_mask(lengths, t, B, dt)
        g = d_out[t] + dh if mask is None else (d_out[t] + dh) * mask
        gates = gates_all[t]
        r, z, n = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
        h_prev = h_prev_all[t]
        dn_pre = g * (1 - z) * (1 - n * n)
        dz_pre = g * (h_prev - n) * z * (1 - z)
        dh_prev = g * z
        if reset_after:
            dr = dn_pre * s_all[t]
            d_s_all[t] = dn_pre * r
        else:
            d_rh = dn_pre @ W_hh[2 * H:]                  # (B, H)
            dr = d_rh * h_prev
            dh_prev = dh_prev + d_rh * r
            d_s_all[t] = dn_pre
        dr_pre = dr * r * (1 - r)
        d_x_proj[t] = np.concatenate([dr_pre, dz_pre, dn_pre], axis=1)
        if reset_after:
            dh_prev = dh_prev + np.concatenate([dr_pre, dz_pre, d_s_all[t]], axis=1) @ W_hh
        else:
            dh_prev = dh_prev + np.concatenate([dr_pre, dz_pre], axis=1) @ W_hh[:2 * H]
        dh = blend(mask, dh_prev, dh)
    Hp = h_prev_all.reshape(-1, H)
    dW_hh = np.empty((3 * H, H), dt)
    dW_hh[:2 * H] = d_x_proj[:, :, :2 * H].reshape(-1, 2 * H).T @ Hp
    if reset_after:
        dW_hh[2 * H:] = d_s_all.reshape(-1, H).T @ Hp
    else:
        dW_hh[2 * H:] = d_s_all.reshape(-1, H).T @ s_all.reshape(-1, H)   # s_all = r * h_{t-1}
    db_hn = d_s_all.sum(axis=(0, 1))
    return d_x_proj, dh, dW_hh, db_hn
