"""Central finite differences through a whole recurrent layer (float64), for the tests of its
options (``test_recurrent_dropout.py``, ``test_shared_bidirectional.py``)."""

from __future__ import annotations

import rnnkit
from helpers import check_fd


def check_layer_gradients(layer, run, h0, d_out, d_hn, rng, config: str, n: int = 5) -> None:
    """``run()`` calls ``layer`` on a fixed input ``x`` (kept in ``run``) and returns its output and
    state; the loss is ``sum(out * d_out) + sum(h_n * d_hn)``. One backward, then the gradient of
    every parameter, of ``x`` and of ``h0`` against central differences."""
    two_part = len(layer.kind.state_names) == 2
    run()
    dx, ds0 = layer.backward(d_out, (d_hn, None) if two_part else d_hn)

    def loss():
        with rnnkit.no_grad():                       # training mode stays on: dropout masks still drawn
            out, s_n = run()
        return float((out * d_out).sum() + ((s_n[0] if two_part else s_n) * d_hn).sum())

    for name, p in layer.named_parameters():
        check_fd(f"grad of {name}", p.grad, loss, p.data, rng, n=n, config=config, rtol=1e-7)
    check_fd("dx", dx, loss, run.x, rng, n=6, config=config, rtol=1e-7)
    check_fd("dh0", ds0[0] if two_part else ds0, loss, h0, rng, n=6, config=config, rtol=1e-7)
