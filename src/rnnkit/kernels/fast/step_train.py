"""One training step of a cell (forward kept for backward, and its backward), compiled.

A cell unrolled by hand runs one step per call. The sequence kernels (``lstm.py``, ``gru.py``,
``rnn.py``) do a whole sequence per call and, on two threads, pack the weights for the
row-split workers at every call: per step that costs more than the step. Here a step is

    forward:   x_proj = x @ W_ih.T (one BLAS call), then the kind's serial loop at T = 1
               (``_forward_loop``: h @ W_hh.T by BLAS and the compiled gate pass)
    backward:  the kind's serial ``_backward_loop`` at T = 1 (the gate gradients d_x_proj and
               dh_{t-1} = d_x_proj @ W_hh), then dx = d_x_proj @ W_ih and the weight gradients
               added straight into the parameters' ``grad`` by BLAS (``beta = 1``, no temporary):
               dW_ih += d_x_proj.T @ x ;  dW_hh += d_x_proj.T @ h_{t-1} ;  db += sum_b d_x_proj

with no pool dispatch, no packing and nothing cached between steps: the weights are read
from the parameters at every call, so a change of the weights by any route (an optimizer,
``load_state_dict``, ``to()``, an assignment, an in-place write into ``p.data``) is seen by
the next step. The products run on OpenBLAS's own threads when OpenBLAS finds them big
enough. The arithmetic is the sequence kernels' (their loops are called here), so a cell
step equals a layer step of the same kind.

    PATHS[kind.compiled] = (forward, backward)
    forward(x, state, w, options)            -> (state', saved)        x (B, I), state parts (B, H)
    backward(d_state, saved, w, grads)       -> (dx, d_state_prev)     grads: the Parameters, adds into p.grad
"""

from __future__ import annotations

import numpy as np

from rnnkit.kernels.fast import _blas, gru, lstm, rnn
from rnnkit.kernels.fast.rnn import ACT_CODES, NO_LENGTHS

__all__ = ["PATHS", "add_tn"]

_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def add_tn(param, A, X):
    """``param.grad += A.T @ X`` (A (B, N), X (B, K): a (N, K) weight gradient), by one BLAS
    call accumulating into ``grad`` when it is a C-contiguous array of the weight's dtype."""
    if not param.requires_grad:
        return
    g = param.grad
    gemm = _blas._py_gemm.get(A.dtype) if _blas._found else None
    if (g is None or gemm is None or type(g) is not np.ndarray or g.dtype != A.dtype or g.shape != param.data.shape
            or not g.flags.c_contiguous or not X.flags.c_contiguous or not A.flags.c_contiguous):
        param.accumulate(A.T @ X)
        return
    N, K = g.shape
    gemm(_ROW_MAJOR, _TRANS, _NO_TRANS, N, K, A.shape[0], 1.0, A.ctypes.data, A.shape[1], X.ctypes.data, K,
         1.0, g.ctypes.data, K)


def _add_bias(param, d):
    """``param.grad += d.sum(axis=0)`` (d (B, N))."""
    if param is not None and param.requires_grad:
        param.accumulate(d.sum(axis=0))


def _x_proj(x, W_ih, dt):
    B = x.shape[0]
    out = np.empty((1, B, W_ih.shape[0]), dt)
    np.matmul(x, W_ih.T, out=out[0])
    return out


def _weight_grads(grads, d_x_proj, x, h_prev, dx_shape, W_ih):
    """Adds dW_ih, dW_hh (and nothing else) and returns dx (B, I)."""
    p_ih, p_hh = grads[0], grads[1]
    add_tn(p_ih, d_x_proj, x)
    add_tn(p_hh, d_x_proj, h_prev)
    dx = np.empty(dx_shape, d_x_proj.dtype)
    np.matmul(d_x_proj, W_ih, out=dx)
    return dx


# -- LSTM -------------------------------------------------------------------------------------
def lstm_forward(x, state, w, options):
    W_ih, W_hh, b_ih, b_hh = w[0], w[1], w[2], w[3]
    dt = x.dtype
    B = x.shape[0]
    G4 = W_ih.shape[0]
    H = G4 // 4
    x_proj = _x_proj(x, W_ih, dt)
    bias4 = (np.zeros(G4, dt) if b_ih is None else b_ih + b_hh).reshape(4, H)
    h = np.array(state[0], dtype=dt, order="C")               # becomes h_t
    c = np.array(state[1], dtype=dt, order="C")               # becomes c_t
    s = np.empty((4, 1, B, H), dt)                            # h_prev, c_prev, tanh_c, out
    gates = np.empty((1, B, G4), dt)
    m, c_new = np.empty((B, H), dt), np.empty((B, H), dt)
    lstm._forward_loop(x_proj.reshape(1, B, 4, H), bias4, W_hh, _NO_PROJ.get(dt), False, h, c, NO_LENGTHS,
                       False, True, s[3], s[0], s[1], gates, gates.reshape(1, B, 4, H), s[2], s[3], m, h, c_new,
                       None, None)
    return (h, c), (x, s, gates)


def lstm_backward(d_state, saved, w, grads):
    x, s, gates = saved
    W_ih, W_hh = w[0], w[1]
    dt = x.dtype
    B, H = s.shape[2], s.shape[3]
    dh = _grad_part(d_state[0], B, H, dt)
    dc = _grad_part(d_state[1], B, H, dt)
    d_x_proj = np.empty((1, B, 4 * H), dt)
    ws = np.empty((4, B, H), dt)
    lstm._backward_loop(np.zeros((1, B, H), dt), dh, dc, W_hh, _NO_PROJ.get(dt), False, s[1], gates.reshape(1, B, 4, H),
                        s[2], NO_LENGTHS, False, d_x_proj, d_x_proj.reshape(1, B, 4, H), s[3], ws[0], ws[1], ws[2],
                        ws[3], None)
    da = d_x_proj[0]
    dx = _weight_grads(grads, da, x, s[0, 0], x.shape, W_ih)
    _add_bias(grads[2], da)
    _add_bias(grads[3], da)
    return dx, (dh, dc)


# -- RNN --------------------------------------------------------------------------------------
def rnn_forward(x, state, w, options):
    W_ih, W_hh, b_ih, b_hh = w[0], w[1], w[2], w[3]
    dt = x.dtype
    B = x.shape[0]
    H = W_ih.shape[0]
    x_proj = _x_proj(x, W_ih, dt)
    bias = np.zeros(H, dt) if b_ih is None else b_ih + b_hh
    h = np.array(state[0], dtype=dt, order="C")
    s = np.empty((2, 1, B, H), dt)                            # h_prev, out
    act = ACT_CODES[options["nonlinearity"]]
    rnn._forward_loop(x_proj, bias, W_hh, h, NO_LENGTHS, False, act, True, s[1], s[0], None, None)
    return (h,), (x, s, act)


def rnn_backward(d_state, saved, w, grads):
    x, s, act = saved
    W_ih, W_hh = w[0], w[1]
    dt = x.dtype
    B, H = s.shape[2], s.shape[3]
    dh = _grad_part(d_state[0], B, H, dt)
    d_x_proj = np.empty((1, B, H), dt)
    dh_prev = np.empty((B, H), dt)
    rnn._backward_loop(np.zeros((1, B, H), dt), dh, W_hh, s[0], s[1, 0], NO_LENGTHS, False, act, d_x_proj, dh_prev,
                       None)
    da = d_x_proj[0]
    dx = _weight_grads(grads, da, x, s[0, 0], x.shape, W_ih)
    _add_bias(grads[2], da)
    _add_bias(grads[3], da)
    return dx, (dh,)


# -- GRU --------------------------------------------------------------------------------------
def gru_forward(x, state, w, options):
    W_ih, W_hh, b_ih, b_hh = w[0], w[1], w[2], w[3]
    dt = x.dtype
    B = x.shape[0]
    G3 = W_ih.shape[0]
    H = G3 // 3
    reset_after = bool(options["reset_after"])
    x_proj = _x_proj(x, W_ih, dt)
    if b_ih is not None:
        bias = b_ih + b_hh
        bias[2 * H:] = b_ih[2 * H:]                           # b_hn stays inside r * (.)
        x_proj += bias
        b_hn = np.ascontiguousarray(b_hh[2 * H:])
    else:
        b_hn = np.zeros(H, dt)
    h = np.array(state[0], dtype=dt, order="C")
    s = np.empty((5, 1, B, H), dt)                            # h_prev, s, out, scratch r_ws, sn
    gates = np.empty((1, B, G3), dt)
    gru._forward_loop(x_proj.reshape(1, B, 3, H), W_hh, W_hh[:2 * H], W_hh[2 * H:], b_hn, h, NO_LENGTHS, False,
                      reset_after, True, s[2], s[0], gates, gates.reshape(1, B, 3, H), s[1], s[3, 0], s[4, 0],
                      None, None)
    return (h,), (x, s, gates, reset_after)


def gru_backward(d_state, saved, w, grads):
    x, s, gates, reset_after = saved
    W_ih, W_hh = w[0], w[1]
    dt = x.dtype
    B, H = s.shape[2], s.shape[3]
    dh = _grad_part(d_state[0], B, H, dt)
    d_x_proj = np.empty((1, B, 3 * H), dt)
    d_s = np.empty((1, B, H), dt)
    ws = np.empty((B, 3 * H), dt)
    tmp = np.empty((3, B, H), dt)                             # g_ws, dhz, dh_new
    gru._backward_loop(np.zeros((1, B, H), dt), dh, W_hh, W_hh[:2 * H], W_hh[2 * H:], s[0], gates.reshape(1, B, 3, H),
                       s[1], NO_LENGTHS, False, reset_after, d_x_proj, d_x_proj.reshape(1, B, 3, H), d_s, ws,
                       ws.reshape(B, 3, H), tmp[0], tmp[1], tmp[2], None)
    dxp, h_prev = d_x_proj[0], s[0, 0]
    p_ih, p_hh = grads[0], grads[1]
    add_tn(p_ih, dxp, x)
    if p_hh.requires_grad:                                    # rows r, z from h; row n from h (or r * h)
        dW_hh = np.empty((3 * H, H), dt)
        np.matmul(dxp[:, :2 * H].T, h_prev, out=dW_hh[:2 * H])
        np.matmul(d_s[0].T, h_prev if reset_after else s[1, 0], out=dW_hh[2 * H:])
        p_hh.accumulate(dW_hh)
    dx = np.empty(x.shape, dt)
    np.matmul(dxp, W_ih, out=dx)
    if grads[2] is not None:
        _add_bias(grads[2], dxp)
        if grads[3].requires_grad:
            db_hh = dxp.sum(axis=0)
            db_hh[2 * H:] = d_s[0].sum(axis=0)                # b_hn: through r * (.)
            grads[3].accumulate(db_hh)
    return dx, (dh,)


def _grad_part(d, B, H, dt):
    """A state part's incoming gradient as a fresh C array (B, H) the loops may write into."""
    return np.zeros((B, H), dt) if d is None else np.array(d, dtype=dt, order="C")


class _NoProj:
    """The (unused) projection weight the LSTM loop takes when there is none, one per dtype."""

    def __init__(self):
        self._arrays = {}

    def get(self, dt):
        a = self._arrays.get(dt)
        if a is None:
            a = self._arrays[dt] = np.zeros((1, 1), dt)
        return a


_NO_PROJ = _NoProj()

PATHS = {
    lstm.__name__: (lstm_forward, lstm_backward),
    gru.__name__: (gru_forward, gru_backward),
    rnn.__name__: (rnn_forward, rnn_backward),
}
