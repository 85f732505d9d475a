"""The UCR / UEA archive problems that the sktime and aeon wheels ship, read with ``load_ts``.

Every ``<Name>_TRAIN.ts`` with its ``<Name>_TEST.ts`` under the packages' ``datasets/data``
folders is a problem, of one of three kinds read from its header:

- ``'ucr'``: univariate classification (the UCR archive): GunPoint, ItalyPowerDemand, ...
- ``'uea'``: multivariate classification (the UEA archive): JapaneseVowels, BasicMotions, ...
- ``'regression'``: ``@targetLabel true`` (the Monash TSER archive): Covid3Month, ...

Nothing is downloaded: only the files already installed are found.
"""

from __future__ import annotations

import functools
import os

from rnnkit._checks import check_choice
from rnnkit.datasets._packaged import INSTALL_HINT, PACKAGES, package_data_dirs
from rnnkit.datasets.sequence_data import SequenceData
from rnnkit.datasets.ts_format import load_ts, read_ts_header

__all__ = ["load_uea", "load_ucr", "load_archive", "list_archives", "ARCHIVE_KINDS"]

ARCHIVE_KINDS = ("ucr", "uea", "regression")
_SPLITS = (None, "train", "test")


def _kind(header: dict) -> str:
    if header.get("targetlabel"):
        return "regression"
    univariate = header.get("univariate", header.get("dimensions", 1) == 1)
    return "ucr" if univariate else "uea"


@functools.lru_cache(maxsize=8)
def _index(packages: tuple[str, ...]) -> dict[str, tuple[str, str, str, str, str]]:
    """lower-case name -> (name, kind, train path, test path, package)."""
    found: dict[str, tuple[str, str, str, str, str]] = {}
    for pkg, data_dir in package_data_dirs(packages):
        for sub in sorted(os.listdir(data_dir)):
            folder = os.path.join(data_dir, sub)
            if not os.path.isdir(folder):
                continue
            for f in sorted(os.listdir(folder)):
                if not f.endswith("_TRAIN.ts"):
                    continue
                name = f[: -len("_TRAIN.ts")]
                train, test = os.path.join(folder, f), os.path.join(folder, f"{name}_TEST.ts")
                if name.lower() in found or not os.path.isfile(test):
                    continue
                header, _, _ = read_ts_header(train)
                found[name.lower()] = (name, _kind(header), train, test, pkg)
    return found


def list_archives(kind: str | None = None) -> list[str]:
    """The names of the installed archive problems (sorted, case-insensitively), all or of
    one ``kind`` (``'ucr'``, ``'uea'``, ``'regression'``). Empty when neither aeon nor sktime is
    installed.

    Example::

        >>> 'JapaneseVowels' in list_archives('uea')   # with aeon or sktime installed
        True
    """
    if kind is not None:
        check_choice("kind", kind, ARCHIVE_KINDS)
    entries = _index(PACKAGES).values()
    return sorted((e[0] for e in entries if kind is None or e[1] == kind), key=str.lower)


def _lookup(name, kind: str | None) -> tuple[str, str, str, str, str]:
    if not isinstance(name, str):
        raise TypeError(f"name must be a str (an archive problem name), got {type(name).__name__} {name!r}")
    index = _index(PACKAGES)
    if not index:
        raise ModuleNotFoundError(
            f"no UCR/UEA archive files found: they ship with the aeon and sktime wheels; {INSTALL_HINT}"
        )
    entry = index.get(name.lower())
    if entry is None:
        raise ValueError(f"name: no installed archive problem {name!r}; available: {list_archives(kind)}")
    if kind is not None and entry[1] != kind:
        use = {"ucr": "load_ucr", "uea": "load_uea", "regression": "load_archive"}[entry[1]]
        raise ValueError(f"name: {entry[0]} is a {entry[1]!r} problem, not {kind!r}: use {use}({entry[0]!r})")
    return entry


def load_archive(name: str, split: str | None = None, *, kind: str | None = None):
    """An installed archive problem by name (case-insensitive), any kind unless ``kind`` is given.

    Args:
        name: the problem, e.g. ``'JapaneseVowels'``, ``'GunPoint'``, ``'Covid3Month'``.
        split: ``'train'``, ``'test'``, or None for both.
        kind: None, or the kind the problem must be (``'ucr'``, ``'uea'``, ``'regression'``).

    Returns:
        A ``SequenceData`` (``split`` given) or the pair ``(train, test)``.

    Raises:
        ModuleNotFoundError: neither aeon nor sktime is installed (the message says how to get
            the files); ValueError: an unknown name (the message lists the available ones) or
            a problem of another kind.
    """
    check_choice("split", split, _SPLITS)
    if kind is not None:
        check_choice("kind", kind, ARCHIVE_KINDS)
    _, _, train, test, _ = _lookup(name, kind)
    if split == "train":
        return load_ts(train)
    if split == "test":
        return load_ts(test)
    return load_ts(train), load_ts(test)


def load_uea(name: str, split: str | None = None) -> SequenceData | tuple[SequenceData, SequenceData]:
    """A multivariate classification problem of the UEA archive, e.g. JapaneseVowels (270 train,
    370 test, 12 channels, lengths 7-29, 9 speakers) or BasicMotions; see ``load_archive``.

    Example::

        >>> train, test = load_uea('JapaneseVowels')   # with aeon or sktime installed
        >>> len(train), len(test), train.n_channels, len(train.class_labels)
        (270, 370, 12, 9)
    """
    return load_archive(name, split, kind="uea")


def load_ucr(name: str, split: str | None = None) -> SequenceData | tuple[SequenceData, SequenceData]:
    """A univariate classification problem of the UCR archive, e.g. GunPoint (50 train, 150 test,
    length 150, 2 classes) or ItalyPowerDemand; see ``load_archive``."""
    return load_archive(name, split, kind="ucr")
