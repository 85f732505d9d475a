"""Saving and loading without pickle (the names of earlier releases; the code is :mod:`rnnkit.io`).

A model, estimator or checkpoint file is one file: the weights and other arrays in the
safetensors layout, the configuration and metadata as JSON inside it, a format version and
a SHA-256 of the whole file (docs/file_format.md). ``.npz`` files of rnnkit 0.1 still load.
Modules are rebuilt only from an allow-list of classes (everything exported by
:mod:`rnnkit.nn`, and the classes passed to :func:`register`, as every model of
:mod:`rnnkit.models` does), so loading a file never imports or runs anything named in it.

Writes are atomic (temporary file, fsync, replace, directory fsync) and safe for several
processes writing one path at once; NaN/inf weights are refused.

Example::

    model = nn.GRU(8, 16, num_layers=2)
    rnnkit.save_model(model, "gru.rnnkit")
    same = rnnkit.load_model("gru.rnnkit")      # same class, arguments and weights

``write_npz_atomic`` and ``read_npz`` keep their names and signatures for the callers of
earlier releases; they write and read the same files as :func:`rnnkit.io.write_archive`
and :func:`rnnkit.io.read_archive`.
"""

from __future__ import annotations

from rnnkit.errors import FileFormatError
from rnnkit.io._archive import FORMAT_VERSION, read_archive, write_archive
from rnnkit.io._models import (
    MODEL_FORMAT,
    load_model,
    load_weights,
    model_state,
    restore_model,
    save_model,
)
from rnnkit.io._modules import allowed_classes, build_module, module_config, register
from rnnkit.io._values import pack, unpack

__all__ = [
    "save_model", "load_model", "register", "allowed_classes", "module_config", "build_module",
    "pack", "unpack", "write_npz_atomic", "read_npz", "FileFormatError",
    "model_state", "restore_model", "load_weights", "FORMAT_VERSION", "MODEL_FORMAT",
]

write_npz_atomic = write_archive
read_npz = read_archive
