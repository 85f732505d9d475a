"""Adam and AdamW (decoupled weight decay), with the AMSGrad variant."""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from rnnkit._checks import check_bool
from rnnkit.optim.optimizer import Optimizer, check_real, lerp_

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), PyTorch's algorithm.

    For each parameter :math:`\theta` with gradient :math:`g_t` at step :math:`t = 1, 2, ...`::

        g_t <- -g_t                                            if maximize
        theta <- theta * (1 - lr * weight_decay)               if decoupled_weight_decay (AdamW)
        g_t <- g_t + weight_decay * theta                      otherwise, if weight_decay != 0
        m_t = beta1 * m_{t-1} + (1 - beta1) * g_t              exp_avg
        v_t = beta2 * v_{t-1} + (1 - beta2) * g_t**2           exp_avg_sq
        v_max = max(v_max, v_t)  and use v_max below           if amsgrad
        theta <- theta - lr / (1 - beta1**t) * m_t / (sqrt(v_t) / sqrt(1 - beta2**t) + eps)

    State per parameter: ``step`` (int), ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``,
    ``max_exp_avg_sq``; a parameter's step count advances only when it has a gradient.

    Example::

        opt = Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.999))
        opt.zero_grad(); loss_backward(); opt.step()
    """

    _STATE_ARRAYS = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    _STATE_SCALARS = ("step",)
    _REQUIRED_STATE = ("step", "exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        defaults = dict(
            lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    @classmethod
    def _check_options(cls, options: dict[str, Any]) -> dict[str, Any]:
        options["lr"] = check_real("lr", options["lr"])
        betas = options["betas"]
        if isinstance(betas, (str, bytes)) or not hasattr(betas, "__len__") or len(betas) != 2:
            raise TypeError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        if not all(isinstance(b, numbers.Real) and not isinstance(b, bool) for b in betas):
            raise TypeError(f"betas must be two real numbers, got {betas!r}")
        options["betas"] = (
            check_real("betas[0]", betas[0], 0.0, below=1.0),
            check_real("betas[1]", betas[1], 0.0, below=1.0),
        )
        options["eps"] = check_real("eps", options["eps"])
        options["weight_decay"] = check_real("weight_decay", options["weight_decay"])
        for name in ("amsgrad", "maximize", "decoupled_weight_decay"):
            options[name] = check_bool(name, options[name])
        return options

    def _written_arrays(self, group: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq", "max_exp_avg_sq") if group["amsgrad"] else ("exp_avg", "exp_avg_sq")

    def _update(self, theta, grad, state, new, group) -> None:
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        step = new["step"] = state["step"] + 1
        out, exp_avg, exp_avg_sq = new["param"], new["exp_avg"], new["exp_avg_sq"]

        g = -grad if group["maximize"] else grad
        base = theta
        if wd != 0:
            if group["decoupled_weight_decay"]:
                base = np.multiply(theta, 1 - lr * wd, out=out)
            else:
                g = g + wd * theta
        lerp_(state["exp_avg"], g, 1 - beta1, out=exp_avg)  # m_t
        np.multiply(state["exp_avg_sq"], beta2, out=exp_avg_sq)
        exp_avg_sq += ((1 - beta2) * g) * g  # v_t

        step_size = lr / (1 - beta1**step)
        bias_correction2_sqrt = (1 - beta2**step) ** 0.5
        if group["amsgrad"]:
            v_max = np.maximum(state["max_exp_avg_sq"], exp_avg_sq, out=new["max_exp_avg_sq"])
            denom = np.sqrt(v_max) / bias_correction2_sqrt + eps
        else:
            denom = np.sqrt(exp_avg_sq) / bias_correction2_sqrt + eps
        np.add(base, (-step_size * exp_avg) / denom, out=out)


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019): ``Adam(decoupled_weight_decay=True)``.

    The decay multiplies the parameter before the Adam step, ``theta <- theta * (1 - lr * weight_decay)``,
    instead of being added to the gradient. Default ``weight_decay=1e-2`` as in PyTorch.

    Example::

        opt = AdamW(model.parameters(), lr=1e-3, weight_decay=1e-2)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ):
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
            maximize=maximize, decoupled_weight_decay=True,
        )
