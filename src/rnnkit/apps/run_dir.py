"""The directory a ``rnnkit train`` run writes, and the rules for reusing one.

::

    DIR/model.npz         the fitted estimator (rnnkit.load(DIR/model.npz)) or, for the
                          built-in generated tasks, the model with its task metadata
    DIR/config.json       what the run was asked to do (task, data, settings): --resume and
                          `rnnkit predict/evaluate/report DIR` read it, no flags to repeat
    DIR/checkpoint.npz    the training checkpoint after the last finished epoch (--resume)
    DIR/history.json      per-epoch losses and metrics
    DIR/summary.json      the final figures and where every file went
    DIR/evaluation.json   held-out predictions, baselines, confusion matrix (the report's data)
    DIR/report.html       `rnnkit report DIR` or `train --report`
    DIR/train.lock        held while a run trains (the file stays; the lock goes with the process)

``DIR`` or ``DIR/model.npz`` both name a run. A directory that already holds a run is refused
unless ``--overwrite`` (start again) or ``--resume`` (continue it); while a run trains, its
directory is locked, so a second ``rnnkit train`` on the same ``--out`` is refused at once.
``--overwrite`` first moves the old run's files aside (``DIR/.previous-run/``); they come back
if the new run fails before it has written a checkpoint or a model, and are deleted once it has.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass

__all__ = ["RunDir", "write_json", "json_safe"]

_FILES = ("model.npz", "config.json", "checkpoint.npz", "history.json", "summary.json", "evaluation.json",
          "report.html")
_PREVIOUS = ".previous-run"


def json_safe(v):
    """``v`` with NumPy scalars/arrays as Python values and non-finite floats as None."""
    import numpy as np

    if isinstance(v, dict):
        return {str(k): json_safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [json_safe(x) for x in v]
    if isinstance(v, np.ndarray):
        return json_safe(v.tolist())
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise TypeError(f"cannot write a {type(v).__name__} as JSON")


def write_json(path: str, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (:func:`rnnkit.io.write_text_atomic`: temp
    file, fsync, replace; the umask's mode); NaN and inf become ``null``."""
    from rnnkit.io import write_text_atomic

    write_text_atomic(path, json.dumps(json_safe(obj), indent=2, allow_nan=False) + "\n")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory (see the module docstring). ``model_path`` is the model file
    named on the command line (``DIR/model.npz`` unless another ``.npz`` was named)."""

    path: str
    model_path: str | None = None

    @classmethod
    def of(cls, path) -> RunDir:
        """The run named by ``path``: the directory, or a model file in it."""
        p = os.fspath(path)
        if os.path.isfile(p) or (not os.path.isdir(p) and p.endswith(".npz")):
            return cls(os.path.dirname(os.path.abspath(p)), p)
        return cls(p)

    def file(self, name: str) -> str:
        if name not in _FILES:
            raise KeyError(name)
        return os.path.join(self.path, name)

    @property
    def model(self) -> str:
        return self.model_path or self.file("model.npz")

    @property
    def config(self) -> str:
        return self.file("config.json")

    @property
    def checkpoint(self) -> str:
        return self.file("checkpoint.npz")

    def holds_run(self) -> bool:
        """Whether a run saved something here: a model or a checkpoint (a config.json alone is
        a run stopped before its first checkpoint, kill -9 included: nothing to lose)."""
        return any(os.path.exists(self.file(n)) for n in ("model.npz", "checkpoint.npz"))

    def read_json(self, name: str) -> dict:
        path = self.file(name)
        if not os.path.exists(path):
            raise ValueError(f"{self.path}: no {name} (is it a directory written by `rnnkit train`?)")
        try:
            with open(path, encoding="utf-8") as f:
                data = json.load(f)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValueError(f"{path}: not valid JSON ({err})") from err
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a JSON object, got {type(data).__name__}")
        return data

    def read_optional(self, name: str) -> dict | None:
        """``read_json(name)``, or None when the file is absent."""
        return self.read_json(name) if os.path.exists(self.file(name)) else None

    def resume_config(self) -> dict:
        """config.json of the run ``--resume`` is to continue (``prepare`` then checks its checkpoint)."""
        if not os.path.isfile(self.config):
            raise ValueError(f"--resume: no run to resume in {self.path} (no config.json, no checkpoint at "
                             f"{self.checkpoint})")
        return self.read_json("config.json")

    def require_model(self) -> str:
        if not os.path.isfile(self.model):
            if not os.path.exists(self.path):
                raise FileNotFoundError(f"{self.path}: no such run directory")
            raise ValueError(f"{self.path}: no model.npz (train first: rnnkit train ... --out {self.path})")
        return self.model

    def prepare(self, *, overwrite: bool, resume: bool) -> None:
        """Make the directory ready to train into, refusing to clobber another run."""
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"--out {self.path} is a file, not a directory")
        if resume:
            if not os.path.isfile(self.checkpoint):
                raise ValueError(f"--resume: no checkpoint at {self.checkpoint}")
            return
        if self.holds_run() and not overwrite:
            raise ValueError(f"--out {self.path} already holds a run; pass --overwrite to replace it or --resume "
                             "to continue it")
        os.makedirs(self.path, exist_ok=True)
        if overwrite:
            stash = os.path.join(self.path, _PREVIOUS)
            if os.path.isdir(stash):
                shutil.rmtree(stash)
            for name in _FILES:
                if os.path.exists(self.file(name)):
                    os.makedirs(stash, exist_ok=True)
                    os.replace(self.file(name), os.path.join(stash, name))

    def settle_previous(self) -> None:
        """After ``prepare(overwrite=True)``: put the old run back if the new one wrote neither a
        checkpoint nor a model, else delete it."""
        stash = os.path.join(self.path, _PREVIOUS)
        if not os.path.isdir(stash):
            return
        if os.path.exists(self.checkpoint) or os.path.exists(self.file("model.npz")):
            shutil.rmtree(stash)
            return
        for name in _FILES:
            if os.path.exists(self.file(name)):
                os.unlink(self.file(name))
            old = os.path.join(stash, name)
            if os.path.exists(old):
                os.replace(old, self.file(name))
        shutil.rmtree(stash)
