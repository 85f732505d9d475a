"""RMSprop (Hinton's lecture 6e), plain or centered, with optional momentum."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit._checks import check_bool
from rnnkit.optim.optimizer import Optimizer, check_real, lerp_

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, PyTorch's algorithm.

    For each parameter :math:`\theta` with gradient :math:`g_t`::

        g_t <- -g_t                                        if maximize
        g_t <- g_t + weight_decay * theta                  if weight_decay != 0
        v_t = alpha * v_{t-1} + (1 - alpha) * g_t**2       square_avg
        if centered:
            a_t = alpha * a_{t-1} + (1 - alpha) * g_t      grad_avg
            d_t = sqrt(v_t - a_t**2) + eps
        else:
            d_t = sqrt(v_t) + eps
        if momentum > 0:
            b_t = momentum * b_{t-1} + g_t / d_t           momentum_buffer
            theta <- theta - lr * b_t
        else:
            theta <- theta - lr * g_t / d_t

    State per parameter: ``step``, ``square_avg``, ``momentum_buffer`` (momentum > 0),
    ``grad_avg`` (centered).

    Example::

        opt = RMSprop(model.parameters(), lr=1e-2, alpha=0.99, centered=True)
    """

    _STATE_ARRAYS = ("square_avg", "momentum_buffer", "grad_avg")
    _STATE_SCALARS = ("step",)
    _REQUIRED_STATE = ("step", "square_avg")

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
            centered=centered, maximize=maximize,
        )
        super().__init__(params, defaults)

    @classmethod
    def _check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        options["lr"] = check_real("lr", options["lr"])
        options["alpha"] = check_real("alpha", options["alpha"])
        options["eps"] = check_real("eps", options["eps"])
        options["weight_decay"] = check_real("weight_decay", options["weight_decay"])
        options["momentum"] = check_real("momentum", options["momentum"])
        options["centered"] = check_bool("centered", options["centered"])
        options["maximize"] = check_bool("maximize", options["maximize"])
        return options

    def _written_arrays(self, group: dict[str, Any]) -> tuple[str, ...]:
        names = ("square_avg",)
        if group["momentum"] > 0:
            names += ("momentum_buffer",)
        if group["centered"]:
            names += ("grad_avg",)
        return names

    def _update(self, theta, grad, state, new, group) -> None:
        lr, alpha, eps, momentum = group["lr"], group["alpha"], group["eps"], group["momentum"]
        wd = group["weight_decay"]
        new["step"] = state["step"] + 1

        g = -grad if group["maximize"] else grad
        if wd != 0:
            g = g + wd * theta
        square_avg = np.multiply(state["square_avg"], alpha, out=new["square_avg"])
        square_avg += ((1 - alpha) * g) * g  # v_t
        if group["centered"]:
            grad_avg = lerp_(state["grad_avg"], g, 1 - alpha, out=new["grad_avg"])  # a_t
            avg = np.sqrt(square_avg - grad_avg * grad_avg)
        else:
            avg = np.sqrt(square_avg)
        avg += eps  # d_t
        if momentum > 0:
            buf = np.multiply(state["momentum_buffer"], momentum, out=new["momentum_buffer"])
            buf += g / avg
            np.add(theta, -lr * buf, out=new["param"])
        else:
            np.add(theta, (-lr * g) / avg, out=new["param"])
