"""A real labelled-per-step source that runs offline: Python source code with each character
labelled by the kind of token it belongs to, as the standard ``tokenize`` module reads it.

Tags (``TAG_NAMES``): ``space`` (whitespace, line ends, indentation), ``name`` (identifiers,
soft keywords such as ``match`` included), ``keyword`` (``keyword.iskeyword``: ``def``,
``return``, ``True``, ...), ``op`` (operators and delimiters), ``number``, ``string`` (the whole
literal, prefix and quotes included; f-strings as a whole on every Python version), ``comment``.

Telling a name from a keyword, a digit in a name from one in a number, or a ``#`` in a string
from a comment needs context: a character-level tagger has to carry state across the line
(and across lines, inside triple-quoted strings).
"""

from __future__ import annotations

import io
import keyword
import os
import tokenize
from dataclasses import dataclass, field

import numpy as np

from rnnkit._checks import check_bool, check_int
from rnnkit.datasets._base import resolve_rng
from rnnkit.datasets.text import _stdlib_root, stdlib_files
from rnnkit.datasets.text_files import _read, load_text

__all__ = ["TaggedText", "python_token_tags", "tag_python", "TAG_NAMES"]

TAG_NAMES = ("space", "name", "keyword", "op", "number", "string", "comment")
_TAG = {n: i for i, n in enumerate(TAG_NAMES)}
_BY_TOKEN = {tokenize.NUMBER: _TAG["number"], tokenize.STRING: _TAG["string"], tokenize.OP: _TAG["op"],
             tokenize.COMMENT: _TAG["comment"]}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)   # Python >= 3.12
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass(frozen=True)
class TaggedText:
    """Strings with one tag per character (many-to-many, synchronous).

    Attributes:
        sequences: the strings.
        tags: one int64 array ``(len(sequences[i]),)`` per string, positions in ``tag_names``.
        tag_names: the tag of each id.
        description: what the data is and its baselines.
        info: facts: files, tag counts, ``majority_accuracy`` (always the most common tag) and
            ``char_accuracy`` (the best context-free map from a character to a tag, fitted on
            this data: what a model without memory can reach).
    """

    sequences: list
    tags: list
    tag_names: tuple
    description: str
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sequences)


def tag_python(source: str) -> np.ndarray:
    """``(len(source),)`` int64 tags of every character of ``source`` (see ``TAG_NAMES``).

    Raises ``SyntaxError`` (or ``tokenize.TokenError``) when ``tokenize`` cannot read it.

    >>> [TAG_NAMES[t] for t in tag_python('x = 1')]
    ['name', 'space', 'op', 'space', 'number']
    """
    starts = [0]   # offset of each line (tokenize's rows count from 1; lines end at '\n')
    for i, ch in enumerate(source):
        if ch == "\n":
            starts.append(i + 1)

    def offset(pos: tuple[int, int]) -> int:
        row, col = pos
        return starts[row - 1] + col if row - 1 < len(starts) else len(source)

    tags = np.zeros(len(source), dtype=np.int64)  # 'space' unless a token says otherwise
    fstring_stack: list[int] = []
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.ERRORTOKEN and tok.string.strip():
            raise SyntaxError(f"tokenize cannot read {tok.string!r} at line {tok.start[0]}")
        if _FSTRING_START is not None and tok.type == _FSTRING_START:
            fstring_stack.append(offset(tok.start))
            continue
        if _FSTRING_END is not None and tok.type == _FSTRING_END:
            begin = fstring_stack.pop()
            if not fstring_stack:
                tags[begin:offset(tok.end)] = _TAG["string"]
            continue
        if fstring_stack:
            continue   # inside an f-string: the whole literal is tagged at its end
        if tok.type == tokenize.NAME:
            tag = _TAG["keyword"] if keyword.iskeyword(tok.string) else _TAG["name"]
        else:
            tag = _BY_TOKEN.get(tok.type)
        if tag is not None:
            tags[offset(tok.start):offset(tok.end)] = tag
    return tags


def _baselines(tags: np.ndarray, chars: np.ndarray) -> tuple[float, float]:
    """Accuracy of the majority tag, and of the best map from a character to one tag."""
    majority = np.bincount(tags, minlength=len(TAG_NAMES)).max() / tags.size
    keys, counts = np.unique(chars.astype(np.int64) * len(TAG_NAMES) + tags, return_counts=True)  # (K,) sorted
    char_of = keys // len(TAG_NAMES)
    firsts = np.flatnonzero(np.r_[True, char_of[1:] != char_of[:-1]])   # where each character's run starts
    best = np.maximum.reduceat(counts, firsts).sum()
    return float(majority), float(best / tags.size)


def python_token_tags(
    n_chars: int = 200_000,
    seed=None,
    *,
    rng=None,
    modules=None,
    paths=None,
    seq_len: int | None = None,
    ascii_only: bool = True,
) -> TaggedText:
    """Characters of Python source, each tagged with its token kind (see the module docstring).

    Files come from the standard library (``modules`` as in ``stdlib_files``; test suites left
    out) in an order shuffled with the seed, or from ``paths`` (``.py`` files and folders, in
    their order). Files ``tokenize`` cannot read are skipped (``info['skipped']``).

    Args:
        n_chars: about how many characters to return (at least 1).
        seed, rng: randomness for the file order.
        modules: standard library modules/packages to draw from (None: all).
        paths: the user's own Python files or folders instead of the standard library.
        seq_len: None: one sequence per non-blank source line (without its ``\\n``); an int:
            the stream (line ends included) cut into pieces of ``seq_len`` characters (the last,
            shorter piece is dropped).
        ascii_only: replace non-ASCII characters with ``?`` after tagging (the tag is kept).

    Returns:
        ``TaggedText`` with ``tag_names == TAG_NAMES``.
    """
    n_chars = check_int("n_chars", n_chars, 1)
    ascii_only = check_bool("ascii_only", ascii_only)
    if seq_len is not None:
        seq_len = check_int("seq_len", seq_len, 1)
    if paths is not None:
        if modules is not None:
            raise ValueError("pass modules (standard library) or paths (your files), not both")
        docs = load_text(paths, suffixes=(".py",), as_documents=True)
        names = [f"document {i + 1}" for i in range(len(docs))]
        sources = list(zip(names, docs))
    else:
        gen = resolve_rng(seed, rng)
        files = stdlib_files(modules)
        sources = ((files[i], None) for i in gen.permutation(len(files)))
    used, skipped, texts, tag_arrays, total = [], [], [], [], 0
    for name, text in sources:
        if text is None:
            text = _read(os.path.join(_stdlib_root(), name), "utf-8")
        try:
            tags = tag_python(text)
        except (SyntaxError, tokenize.TokenError):
            skipped.append(name)
            continue
        if ascii_only:
            text = text.encode("ascii", errors="replace").decode("ascii")
        used.append(name)
        texts.append(text)
        tag_arrays.append(tags)
        total += len(text)
        if total >= n_chars:
            break
    if not texts:
        raise ValueError(f"no readable Python source (skipped: {skipped})")
    stream = "".join(texts)[:n_chars]
    stream_tags = np.concatenate(tag_arrays)[:n_chars]  # (S,)
    sequences, tags = [], []
    if seq_len is None:
        begin = 0
        for line in stream.split("\n"):
            end = begin + len(line)
            if line.strip():
                sequences.append(line)
                tags.append(stream_tags[begin:end].copy())
            begin = end + 1
    else:
        for begin in range(0, len(stream) - seq_len + 1, seq_len):
            sequences.append(stream[begin:begin + seq_len])
            tags.append(stream_tags[begin:begin + seq_len].copy())
    if not sequences:
        raise ValueError(f"n_chars={n_chars} gives no sequence (seq_len={seq_len})")
    all_tags = np.concatenate(tags)
    chars = np.frombuffer("".join(sequences).encode("utf-32-le"), dtype=np.uint32)
    majority, char_acc = _baselines(all_tags, chars)
    counts = dict(zip(TAG_NAMES, np.bincount(all_tags, minlength=len(TAG_NAMES)).tolist()))
    desc = (f"python_token_tags: many-to-many tagging, {len(sequences)} sequences ({all_tags.size} characters) "
            f"of Python source from {len(used)} file(s), {len(TAG_NAMES)} tags {TAG_NAMES}. Baselines: the "
            f"majority tag {majority:.3f}, a context-free character-to-tag map {char_acc:.3f}; a tagger with "
            "memory of the line goes beyond.")
    info = {"files": used, "skipped": skipped, "tag_counts": counts, "majority_accuracy": majority,
            "char_accuracy": char_acc, "seq_len": seq_len}
    return TaggedText(sequences=sequences, tags=tags, tag_names=TAG_NAMES, description=desc, info=info)
