"""Training history: one log dict per epoch and the loss of every step, savable as JSON.

``history.epochs`` is ``[{"epoch": 1, "loss": ..., "val_loss": ..., "lr": ..., ...}, ...]``;
``history.history`` the same by key, as Keras gives it (``{"loss": [...], ...}``);
``history.steps`` the training loss of every optimizer step (None for a skipped step);
``history.validations`` the validations run every ``val_every`` steps,
``[{"step": 500, "epoch": 2, "val_loss": ..., ...}, ...]``.

An epoch log also says how many batches the epoch ran (``batches``) and whether it ran to the
end of its data (``complete``; False when training stopped inside it: ``max_steps``, a
callback's ``stop_training``, Ctrl-C).
"""

from __future__ import annotations

import json
import math

__all__ = ["History"]


def _clean(v):
    """JSON-safe: non-finite floats become None; NumPy scalars become Python numbers."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (list, tuple)):
        return [_clean(x) for x in v]
    if isinstance(v, dict):
        return {str(k): _clean(x) for k, x in v.items()}
    if hasattr(v, "item"):
        v = v.item()
    if isinstance(v, int):
        return v
    v = float(v)
    return v if math.isfinite(v) else None


class History:
    """Per-epoch logs and per-step losses of a training run."""

    def __init__(self) -> None:
        self.epochs: list[dict] = []
        self.steps: list[float | None] = []
        self.validations: list[dict] = []

    @property
    def history(self) -> dict[str, list]:
        """``{key: [value per epoch]}`` (None where an epoch lacks the key)."""
        keys: list[str] = []
        for e in self.epochs:
            keys += [k for k in e if k not in keys]
        return {k: [e.get(k) for e in self.epochs] for k in keys}

    def __getitem__(self, key: str) -> list:
        return self.history[key]

    def __len__(self) -> int:
        return len(self.epochs)

    def to_dict(self) -> dict:
        return {"epochs": _clean(self.epochs), "steps": _clean(self.steps), "validations": _clean(self.validations)}

    @classmethod
    def from_dict(cls, d: dict) -> History:
        if not isinstance(d, dict) or not isinstance(d.get("epochs"), list) or not isinstance(d.get("steps"), list) \
                or not isinstance(d.get("validations", []), list):
            raise ValueError("history must be a dict with lists 'epochs', 'steps' (and 'validations')")
        if not all(isinstance(e, dict) for e in d["epochs"] + d.get("validations", [])):
            raise ValueError("history: every entry of 'epochs' and 'validations' must be a dict")
        h = cls()
        h.epochs = [dict(e) for e in d["epochs"]]
        h.steps = list(d["steps"])
        h.validations = [dict(v) for v in d.get("validations", [])]
        return h

    def save(self, path) -> None:
        """Write JSON to ``path`` atomically (temp file, fsync, replace; the umask's mode)."""
        from rnnkit.io import write_text_atomic

        write_text_atomic(path, json.dumps(self.to_dict(), indent=1, allow_nan=False))

    @classmethod
    def load(cls, path) -> History:
        with open(path, encoding="utf-8") as f:
            return cls.from_dict(json.load(f))

    def __repr__(self) -> str:
        last = self.epochs[-1] if self.epochs else {}
        return (f"History(epochs={len(self.epochs)}, steps={len(self.steps)}, validations={len(self.validations)}, "
                f"last={last})")
