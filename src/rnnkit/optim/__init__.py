"""Optimizers, gradient clipping and learning-rate schedules, matching ``torch.optim``.

``from rnnkit import optim``; then ``optim.Adam(model.parameters(), lr=1e-3)``,
``optim.clip_grad_norm_(model.parameters(), 1.0)``, ``optim.lr_scheduler.StepLR(opt, 10)``
(the schedulers are also importable from ``rnnkit.optim`` directly).
"""

from rnnkit.optim import lr_scheduler
from rnnkit.optim.adagrad import Adagrad
from rnnkit.optim.adam import Adam, AdamW
from rnnkit.optim.clip import clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_, get_total_norm
from rnnkit.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR, LRScheduler, ReduceLROnPlateau, StepLR
from rnnkit.optim.optimizer import Optimizer
from rnnkit.optim.rmsprop import RMSprop
from rnnkit.optim.sgd import SGD

__all__ = [
    "Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad",
    "clip_grad_norm_", "clip_grad_value_", "clip_grads_with_norm_", "get_total_norm",
    "lr_scheduler", "LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "ReduceLROnPlateau",
]
