"""The errors rnnkit raises beyond Python's own ``ValueError`` / ``TypeError``.

- :class:`FileFormatError` (a ``ValueError``): a file that is not what it should be
  (a model or estimator archive, a ``.ts`` or CSV file), naming the file and the problem.
- :class:`FileLockedError` (an ``OSError``): another process holds the lock on an output
  (:func:`rnnkit.io.file_lock`), naming the lock file and the holder's pid.
- :class:`NotFittedError` (``ValueError`` and ``AttributeError``, as scikit-learn's): an
  estimator used before ``fit``.
- :class:`~rnnkit.train.NonFiniteError` (a ``FloatingPointError``): training met NaN or inf.
"""

from __future__ import annotations

__all__ = ["FileFormatError", "FileLockedError", "NotFittedError"]


class FileFormatError(ValueError):
    """A file that is not a valid file of its kind; the message names the file and the problem
    (and the line, for text formats)."""


class FileLockedError(OSError):
    """Another process holds the advisory lock on a path (``path + '.lock'``)."""


class NotFittedError(ValueError, AttributeError):
    """An estimator was asked to predict, score or save before ``fit``."""
