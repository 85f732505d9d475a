"""Stochastic gradient descent with momentum, dampening, Nesterov and weight decay."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit._checks import check_bool
from rnnkit.optim.optimizer import Optimizer, check_real

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, PyTorch's algorithm.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t`::

        g_t <- -g_t                                  if maximize
        g_t <- g_t + weight_decay * theta            if weight_decay != 0
        b_t  = g_t                                   (t = 1)          if momentum != 0
        b_t  = momentum * b_{t-1} + (1 - dampening) * g_t   (t > 1)
        g_t <- g_t + momentum * b_t  if nesterov  else  b_t
        theta <- theta - lr * g_t

    State per parameter: ``momentum_buffer`` (only when ``momentum != 0``).

    Example::

        opt = SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
        opt.zero_grad(); loss_backward(); opt.step()
    """

    _STATE_ARRAYS = ("momentum_buffer",)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
            nesterov=nesterov, maximize=maximize,
        )
        super().__init__(params, defaults)

    @classmethod
    def _check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        options["lr"] = check_real("lr", options["lr"])
        options["momentum"] = check_real("momentum", options["momentum"])
        options["dampening"] = check_real("dampening", options["dampening"], minimum=None)
        options["weight_decay"] = check_real("weight_decay", options["weight_decay"])
        options["nesterov"] = check_bool("nesterov", options["nesterov"])
        options["maximize"] = check_bool("maximize", options["maximize"])
        if options["nesterov"] and (options["momentum"] <= 0 or options["dampening"] != 0):
            raise ValueError(
                "nesterov=True requires momentum > 0 and dampening == 0, "
                f"got momentum={options['momentum']} and dampening={options['dampening']}"
            )
        return options

    def _initial_state(self, theta, state, group) -> dict[str, Any]:
        return {}                      # b_1 = g_1: the buffer starts from the first gradient

    def _written_arrays(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if group["momentum"] != 0 else ()

    def _update(self, theta, grad, state, new, group) -> None:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = g + wd * theta
        if momentum != 0:
            buf = new["momentum_buffer"]                          # b_t
            if state.get("momentum_buffer") is None:
                np.copyto(buf, g)
            else:
                np.multiply(state["momentum_buffer"], momentum, out=buf)
                buf += (1 - group["dampening"]) * g
            g = g + momentum * buf if group["nesterov"] else buf
        np.add(theta, -lr * g, out=new["param"])
