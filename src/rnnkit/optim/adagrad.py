"""Adagrad (Duchi et al., 2011): per-coordinate steps scaled by the summed squared gradients."""

from __future__ import annotations

from typing import Any

import numpy as np

from rnnkit._checks import check_bool
from rnnkit.optim.optimizer import Optimizer, check_real

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad, PyTorch's algorithm.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`::

        g_t <- -g_t                                   if maximize
        g_t <- g_t + weight_decay * theta             if weight_decay != 0
        lr_t = lr / (1 + (t - 1) * lr_decay)
        s_t  = s_{t-1} + g_t**2                       sum, s_0 = initial_accumulator_value
        theta <- theta - lr_t * g_t / (sqrt(s_t) + eps)

    State per parameter: ``step`` and ``sum``.

    Example::

        opt = Adagrad(model.parameters(), lr=1e-2, lr_decay=1e-4)
    """

    _STATE_ARRAYS = ("sum",)
    _STATE_SCALARS = ("step",)
    _REQUIRED_STATE = ("step", "sum")

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        defaults = dict(
            lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize,
        )
        super().__init__(params, defaults)

    @classmethod
    def _check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            options[name] = check_real(name, options[name])
        options["maximize"] = check_bool("maximize", options["maximize"])
        return options

    def _initial_state(self, theta, state, group) -> dict[str, Any]:
        fresh: dict[str, Any] = {} if "step" in state else {"step": 0}
        if "sum" not in state:
            fresh["sum"] = np.full_like(theta, group["initial_accumulator_value"])
        return fresh

    def _written_arrays(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("sum",)

    def _update(self, theta, grad, state, new, group) -> None:
        step = new["step"] = state["step"] + 1
        g = -grad if group["maximize"] else grad
        if group["weight_decay"] != 0:
            g = g + group["weight_decay"] * theta
        clr = group["lr"] / (1 + (step - 1) * group["lr_decay"])
        state_sum = np.add(state["sum"], g * g, out=new["sum"])  # s_t
        std = np.sqrt(state_sum)
        std += group["eps"]
        np.add(theta, (-clr * g) / std, out=new["param"])
