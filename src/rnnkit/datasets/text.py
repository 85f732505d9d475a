"""Real text on every machine: the Python standard library's own ``.py`` source files."""

from __future__ import annotations

import functools
import os
import sysconfig

import numpy as np

from rnnkit._checks import check_bool, check_int
from rnnkit.data.vocab import CharVocab
from rnnkit.datasets._base import TextCorpus, resolve_rng

__all__ = ["stdlib_text", "stdlib_files"]

_SKIP_DIRS = {"site-packages", "dist-packages", "__pycache__", "test", "tests", "idle_test"}


def _stdlib_root() -> str:
    return sysconfig.get_paths()["stdlib"]


@functools.lru_cache(maxsize=4)
def _all_files(root: str) -> tuple[str, ...]:
    """Every ``.py`` file under ``root`` (relative paths, '/'-separated, sorted), test suites left out."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS)
        rel = os.path.relpath(dirpath, root)
        for f in filenames:
            if f.endswith(".py"):
                found.append(f if rel == "." else f"{rel}/{f}".replace(os.sep, "/"))
    return tuple(sorted(found))


def stdlib_files(modules=None) -> list[str]:
    """The sorted ``.py`` files (relative to the stdlib directory) ``stdlib_text`` draws from.

    ``modules``: None for all, or module/package names such as ``['json', 'email.mime']``
    (a package brings all its files). Unknown names raise ``ValueError``.
    """
    files = _all_files(_stdlib_root())
    if modules is None:
        return list(files)
    if isinstance(modules, str):
        modules = [modules]
    picked: set[str] = set()
    for m in modules:
        if not isinstance(m, str) or not m:
            raise TypeError(f"modules must be module names (str), got {m!r}")
        path = m.replace(".", "/")
        hits = [f for f in files if f == f"{path}.py" or f.startswith(f"{path}/")]
        if not hits:
            raise ValueError(f"modules: no standard library source for {m!r} under {_stdlib_root()}")
        picked.update(hits)
    return sorted(picked)


def stdlib_text(
    n_chars: int = 1_000_000,
    seed=None,
    modules=None,
    *,
    rng=None,
    ascii_only: bool = True,
) -> TextCorpus:
    """Characters of Python source code from the standard library (one-to-many generation).

    The sorted list of the stdlib's ``.py`` files (``sysconfig.get_paths()['stdlib']``, test
    suites and site-packages left out) is shuffled with the seed, and whole files are
    concatenated in that order until ``n_chars`` characters; the text is cut there. Line ends
    are ``\\n``; with ``ascii_only`` every non-ASCII character becomes ``?`` (the vocabulary
    stays under 100 characters). The same seed gives the same text on the same Python
    version; another Python version ships other sources.

    Use it for character-level language modelling: ``rnnkit.data.batchify`` then
    ``tbptt_windows``, train to predict the next character, sample text, and report bits per
    character (cross-entropy in nats / ln 2). ``info['unigram_bpc']`` is the memoryless
    baseline (character frequencies only), about 4.6 for Python source. Checked with PyTorch
    on 1M characters (seed 0): a char-LSTM (embedding 64, H = 256, 887 Adam steps on 64 x 100
    character windows, 4 CPU minutes) reached 2.33 bits/char on 100k held-out characters;
    longer training and bigger models go lower.

    Args:
        n_chars: characters to return, ``>= 1``.
        seed: int seed (or None for fresh randomness) for the file order.
        modules: None (all files) or module/package names to draw from, see ``stdlib_files``.
        rng: a ``numpy.random.Generator`` instead of ``seed``.
        ascii_only: replace non-ASCII characters with ``?``.

    Returns:
        ``TextCorpus`` with ``text``, ``ids`` ``(n_chars,)`` int64, ``vocab`` (fit on the
        text, no unknown token), ``info['files']`` the files used in order.
    """
    n_chars = check_int("n_chars", n_chars, 1)
    ascii_only = check_bool("ascii_only", ascii_only)
    gen = resolve_rng(seed, rng)
    root = _stdlib_root()
    files = stdlib_files(modules)
    order = gen.permutation(len(files))
    parts: list[str] = []
    used: list[str] = []
    total = 0
    for i in order:
        with open(os.path.join(root, files[i]), "rb") as fh:
            s = fh.read().decode("utf-8", errors="replace")
        s = s.replace("\r\n", "\n").replace("\r", "\n")
        if ascii_only:
            s = s.encode("ascii", errors="replace").decode("ascii")
        if not s:
            continue
        parts.append(s)
        used.append(files[i])
        total += len(s)
        if total >= n_chars:
            break
    if total < n_chars:
        raise ValueError(
            f"n_chars={n_chars} is more than the {total} characters in the chosen standard library files "
            f"({len(files)} files, modules={modules!r})"
        )
    text = "".join(parts)[:n_chars]
    vocab = CharVocab.fit(text)
    ids = vocab.encode(text)  # (S,)
    freq = np.bincount(ids, minlength=len(vocab)) / ids.size
    freq = freq[freq > 0]
    unigram_bpc = float(-(freq * np.log2(freq)).sum())
    desc = (
        f"stdlib_text: one-to-many generation (next-character prediction), {n_chars} characters of Python "
        f"from {len(used)} standard library files, {len(vocab)} distinct characters. Unigram baseline "
        f"{unigram_bpc:.2f} bits/char; a char-LSTM (H=256) reaches ~2.3 after a few CPU minutes, lower with more."
    )
    info = {
        "files": used, "stdlib": root, "unigram_bpc": unigram_bpc, "vocab_size": len(vocab), "ascii_only": ascii_only,
    }
    return TextCorpus(text=text, ids=ids, vocab=vocab, description=desc, info=info)
