"""Files: the one reader and writer of rnnkit's model files, atomic writes and a lock.

- :func:`write_archive` / :func:`read_archive`: a JSON description plus named arrays in one
  file (the safetensors layout of docs/file_format.md; ``.npz`` files of rnnkit 0.1 still
  load), checked before anything is allocated or built; every problem is a
  :class:`~rnnkit.errors.FileFormatError` naming the file.
- :func:`save_model` / :func:`load_model` and the pieces estimators and checkpoints use
  (:func:`model_state`, :func:`restore_model`, :func:`load_weights`, :func:`pack`,
  :func:`unpack`, :func:`register`, :func:`module_config`, :func:`build_module`).
- :func:`write_atomic`, :func:`write_bytes_atomic`, :func:`write_text_atomic`: atomic writes
  that concurrent writers of one path can make safely; :func:`file_lock`: an advisory lock.

Example::

    from rnnkit import nn, io
    io.save_model(nn.GRU(8, 16), "gru.rnnkit")
    gru = io.load_model("gru.rnnkit")
"""

from rnnkit.errors import FileFormatError, FileLockedError
from rnnkit.io._archive import FORMAT_VERSION, ArchiveArrays, read_archive, write_archive
from rnnkit.io._atomic import write_atomic, write_bytes_atomic, write_text_atomic
from rnnkit.io._container import CONTAINER_VERSION
from rnnkit.io._lock import file_lock
from rnnkit.io._models import (
    MODEL_FORMAT,
    check_finite_parameters,
    file_errors,
    load_model,
    load_weights,
    model_state,
    restore_model,
    save_model,
)
from rnnkit.io._modules import allowed_classes, build_module, module_config, register
from rnnkit.io._values import pack, unpack

__all__ = [
    "read_archive", "write_archive", "ArchiveArrays", "FORMAT_VERSION", "CONTAINER_VERSION", "MODEL_FORMAT",
    "save_model", "load_model", "model_state", "restore_model", "load_weights", "check_finite_parameters",
    "file_errors", "pack", "unpack", "register", "allowed_classes", "module_config", "build_module",
    "write_atomic", "write_bytes_atomic", "write_text_atomic", "file_lock", "FileFormatError", "FileLockedError",
]
