"""JAX (XLA on the CPU) as a second peer of ``rnnkit bench``, used when ``jax`` is importable.

The recurrence is a ``jax.lax.scan`` over time with the input projection hoisted out of it
(one matrix product over all steps first), PyTorch's gate order and equations::

    x_proj = x @ W_ih.T + b_ih                                   (T, B, G*H), one product
    RNN:   h' = tanh(x_proj_t + h @ W_hh.T + b_hh)
    GRU:   [s_r, s_z, s_n] = h @ W_hh.T + b_hh ;  r, z = sigmoid(x_r + s_r), sigmoid(x_z + s_z)
           n = tanh(x_n + r * s_n) ;  h' = (1 - z) * n + z * h
    LSTM:  [a_i, a_f, a_g, a_o] = x_proj_t + h @ W_hh.T + b_hh
           c' = sigmoid(a_f) * c + sigmoid(a_i) * tanh(a_g) ;  h' = sigmoid(a_o) * tanh(c')

``infer`` is the jitted forward; ``train`` is the jitted ``value_and_grad`` of
``loss = out.sum()`` with respect to the weights and the input (what the rnnkit and PyTorch
training steps compute). The weights are the rnnkit layer's, so the outputs can be compared.
JAX is never a dependency of rnnkit: without it this peer is simply absent.
"""

from __future__ import annotations

import numpy as np

from rnnkit.bench.timing import best_time

__all__ = ["import_jax", "JaxPeer"]


def import_jax(use_jax: bool):
    """The ``jax`` module, or None when not wanted or not installed."""
    if not use_jax:
        return None
    try:
        import jax
    except ImportError:
        return None
    return jax


def _cells(jnp, jax):
    sig = jax.nn.sigmoid

    def rnn(p, h, xp):
        (h,) = h
        return (jnp.tanh(xp + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]),)

    def gru(p, h, xp):
        (h,) = h
        s = h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        x_r, x_z, x_n = jnp.split(xp, 3, axis=-1)
        s_r, s_z, s_n = jnp.split(s, 3, axis=-1)
        r, z = sig(x_r + s_r), sig(x_z + s_z)
        n = jnp.tanh(x_n + r * s_n)
        return ((1.0 - z) * n + z * h,)

    def lstm(p, hc, xp):
        h, c = hc
        a = xp + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        a_i, a_f, a_g, a_o = jnp.split(a, 4, axis=-1)
        c = sig(a_f) * c + sig(a_i) * jnp.tanh(a_g)
        return (sig(a_o) * jnp.tanh(c), c)

    return {"RNN": (rnn, 1), "GRU": (gru, 1), "LSTM": (lstm, 2)}


class JaxPeer:
    """Times of the training step and of inference for one (cell, row), in JAX."""

    def __init__(self, jax):
        self.jax = jax
        self.version = jax.__version__
        self._cells = _cells(jax.numpy, jax)

    def supports(self, cell: str) -> bool:
        return cell in self._cells

    def make(self, cell: str, layer, x):
        """Jitted ``infer(params, x)`` and ``train(params, x)`` and their arguments."""
        jax, jnp = self.jax, self.jax.numpy
        step, n_states = self._cells[cell]
        params = {k: jnp.asarray(np.asarray(v)) for k, v in layer.state_dict().items()}
        B, H = x.shape[1], layer.hidden_size

        def forward(p, xs):
            xp = xs @ p["weight_ih_l0"].T + p["bias_ih_l0"]                # (T, B, G*H), hoisted

            def body(state, xp_t):
                state = step(p, state, xp_t)
                return state, state[0]

            s0 = tuple(jnp.zeros((B, H), xs.dtype) for _ in range(n_states))
            _, out = jax.lax.scan(body, s0, xp)
            return out                                                     # (T, B, H)

        infer = jax.jit(forward)
        train = jax.jit(jax.value_and_grad(lambda p, xs: forward(p, xs).sum(), argnums=(0, 1)))
        return infer, train, (params, jnp.asarray(x))

    def times(self, made, repeat):
        infer, train, args = made

        def run_train():
            loss, grads = train(*args)
            self.jax.block_until_ready(grads)

        def run_infer():
            infer(*args).block_until_ready()

        return best_time(run_train, repeat), best_time(run_infer, repeat)

    def max_diff(self, made, out) -> float:
        """Max abs difference of JAX's output from rnnkit's ``out`` (T, B, H)."""
        infer, _, args = made
        return float(np.abs(np.asarray(infer(*args)) - out).max())
