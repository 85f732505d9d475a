"""MNIST-1D (Greydanus 2020): ten 1-D digit templates, padded, scaled, sheared, shifted and
noised into sequences of 40 steps; generated on this machine by the ``mnist1d`` package (an
optional extra: ``pip install mnist1d``), nothing downloaded.

With the package's default arguments (5000 examples, 80 % train, seed 42) this is the standard
4000 / 1000 split. Reference test accuracies from the mnist1d README: GRU 91 %, CNN 94 %,
human 96 %.
"""

from __future__ import annotations

import functools
import importlib.util
import random

import numpy as np

from rnnkit._checks import check_choice

__all__ = ["load_mnist1d"]

_INSTALL = "load_mnist1d needs the mnist1d package: `pip install mnist1d` (or `pip install --no-deps mnist1d`)"


@functools.lru_cache(maxsize=4)
def _generate(overrides: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    if importlib.util.find_spec("mnist1d") is None:
        raise ModuleNotFoundError(_INSTALL)
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args(as_dict=True)
    unknown = sorted(set(dict(overrides)) - (set(args) - {"url"}))
    if unknown:
        raise TypeError(f"load_mnist1d: unknown dataset arguments {unknown}; known: {sorted(set(args) - {'url'})}")
    args.update({k: list(v) if isinstance(v, tuple) else v for k, v in overrides})
    from mnist1d.utils import ObjectView

    # mnist1d seeds NumPy's and Python's global generators: put both back as they were
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002
    try:
        d = make_dataset(ObjectView(args))
    finally:
        np.random.set_state(np_state)  # noqa: NPY002
        random.setstate(py_state)
    return d["x"], d["y"], d["x_test"], d["y_test"]


def load_mnist1d(split: str | None = None, *, dtype=np.float32, **dataset_args):
    """The MNIST-1D digits as sequences ``(N, 40, 1)`` and labels 0-9.

    Args:
        split: ``'train'``, ``'test'`` or None for both.
        dtype: float dtype of the sequences (float32 by default).
        **dataset_args: overrides of the package's ``get_dataset_args()`` (``num_samples``,
            ``train_split``, ``seed``, ``shuffle_seq``, ...); none for the standard dataset.

    Returns:
        ``(X_train, y_train), (X_test, y_test)`` (or one pair with ``split``): ``X`` float
        ``(N, 40, 1)`` (the whole dataset standardised to mean 0 and std 1 by the package),
        ``y`` int64 ``(N,)``. The standard split has 4000 and 1000 examples.

    The package seeds NumPy's and Python's global random generators; their states are saved
    and restored around it, so calling this changes no global state.

    Raises:
        ModuleNotFoundError: mnist1d is not installed (the message says how to install it).
    """
    check_choice("split", split, (None, "train", "test"))
    dt = np.dtype(dtype)
    if dt not in (np.float32, np.float64):
        raise ValueError(f"dtype must be float32 or float64, got {dt}")
    key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in dataset_args.items()))
    x, y, x_test, y_test = _generate(key)
    train = (x.astype(dt)[:, :, None], y.astype(np.int64))  # (N, T, 1), (N,)
    test = (x_test.astype(dt)[:, :, None], y_test.astype(np.int64))
    if split == "train":
        return train
    if split == "test":
        return test
    return train, test
