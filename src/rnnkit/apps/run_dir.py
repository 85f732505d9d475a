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

``DIR`` or ``DIR/model.npz`` both name a run. A directory that already holds a run is refused
unless ``--overwrite`` (start again) or ``--resume`` (continue it); while a run trains, its
directory is locked, so a second ``rnnkit train`` on the same ``--out`` is refused at once.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass

__all__ = ["RunDir", "write_json"]

_FILES = ("model.npz", "config.json", "checkpoint.npz", "history.json", "summary.json", "evaluation.json",
          "report.html")


def write_json(path: str, obj) -> None:
    """Write ``obj`` as JSON to ``path`` atomically (temp file in the same directory, fsync,
    replace), with the mode a plain ``open`` would give (the umask's)."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-" + os.path.basename(path) + "-", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=2, allow_nan=False, default=_plain)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _plain(v):
    """JSON for NumPy scalars and arrays; non-finite floats become None."""
    import numpy as np

    if isinstance(v, np.ndarray):
        return [_plain(x) if isinstance(x, (np.generic, np.ndarray)) else x for x in v.tolist()]
    if isinstance(v, np.generic):
        v = v.item()
        if isinstance(v, float) and not np.isfinite(v):
            return None
        return v
    raise TypeError(f"cannot write a {type(v).__name__} as JSON")


@dataclass(frozen=True)
class RunDir:
    """Paths of one run directory (see the module docstring)."""

    path: str

    @classmethod
    def of(cls, path) -> RunDir:
        """The run named by ``path``: the directory, or its ``model.npz``."""
        p = os.fspath(path)
        if os.path.basename(p) == "model.npz" or (os.path.isfile(p) and p.endswith(".npz")):
            p = os.path.dirname(os.path.abspath(p))
        return cls(p)

    def file(self, name: str) -> str:
        if name not in _FILES:
            raise KeyError(name)
        return os.path.join(self.path, name)

    @property
    def model(self) -> str:
        return self.file("model.npz")

    @property
    def config(self) -> str:
        return self.file("config.json")

    @property
    def checkpoint(self) -> str:
        return self.file("checkpoint.npz")

    def holds_run(self) -> bool:
        return any(os.path.exists(self.file(n)) for n in ("config.json", "model.npz", "checkpoint.npz"))

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

    def require_model(self) -> str:
        if not os.path.isfile(self.model):
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
            for name in _FILES:
                if os.path.exists(self.file(name)):
                    os.unlink(self.file(name))
