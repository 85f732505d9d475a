"""``--task generate`` (CharLM on a text file or folder) and ``--task seq2seq`` (RNNSeq2Seq on
a CSV of pairs).

generate: the report shows a sample and the bits per character of the validation text at the
best epoch, beside the unigram entropy of the training text; ``evaluate --data FILE`` scores a
text, beside gzip's bits per character of the same text (compression at level 9) and the
training text's unigram entropy.

seq2seq: the report's evaluation is on ``--test FILE``, else on the validation pairs: exact
sequence accuracy, token accuracy and example translations, beside the "copy the source"
baseline (the share of pairs whose target equals its source).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

import numpy as np

__all__ = ["load_text_source", "fit_charlm", "held_out_charlm", "probe_charlm", "evaluate_charlm", "sample_charlm",
           "Pairs", "load_pairs", "fit_seq2seq", "held_out_seq2seq", "probe_seq2seq", "evaluate_seq2seq",
           "predict_seq2seq", "check_test_pairs", "gzip_bpc"]

_SAMPLE_LENGTH = 400
_SAMPLE_TEMPERATURE = 0.8
_EXAMPLES = 20
_SMALL = 1 << 16             # a text file this small is checked for being blank before training


# -- generate -------------------------------------------------------------------------------
@dataclass(frozen=True)
class TextSource:
    """A text file or folder (read by the estimator itself) and the file endings to read."""

    path: str
    suffixes: tuple | None


def load_text_source(path, opts, role: str) -> TextSource:
    p = os.fspath(path)
    if not os.path.exists(p):
        raise FileNotFoundError(f"{p}: no such file or folder")
    if not os.access(p, os.R_OK):
        raise PermissionError(f"{p}: not readable (permission denied)")
    if os.path.isfile(p) and os.path.getsize(p) <= _SMALL:
        with open(p, "rb") as f:
            raw = f.read()
        if not raw.strip():
            raise ValueError(f"{p}: the file is empty" + (" (only whitespace)" if raw else ""))
    return TextSource(p, opts.suffixes)


def _documents(src: TextSource) -> list[str]:
    from rnnkit.datasets import load_text

    return load_text(src.path, suffixes=src.suffixes, as_documents=True)


def fit_charlm(est, src: TextSource, opts, fit_kw: dict) -> None:
    import pathlib

    est.fit(pathlib.Path(src.path), suffixes=src.suffixes, **fit_kw)


def held_out_charlm(est, src, test, opts) -> dict:
    sample = est.generate(opts.prime, length=_SAMPLE_LENGTH, temperature=_SAMPLE_TEMPERATURE,
                          random_state=est.random_state)
    metrics = {"val_bpc": est.val_bpc_, "unigram_bpc": est.unigram_bpc_, "train_chars": est.n_train_chars_,
               "val_chars": est.n_val_chars_}
    title = f"a sample (temperature {_SAMPLE_TEMPERATURE}, prime {opts.prime!r})"
    on = f"the validation text ({est.n_val_chars_} characters held out)" if est.n_val_chars_ else \
        "no validation text (validation_fraction=0)"
    return {"on": on, "metrics": metrics, "entries": [{"kind": "text", "title": title, "text": sample}]}


def probe_charlm(est, src, opts) -> None:
    text = "".join(c for c in _documents(src)[0][:4 * est.bptt] if c in est.vocab_.stoi)
    if len(text) >= 2:
        est.score(text)


def gzip_bpc(text: str) -> float:
    """Bits per character of ``text`` compressed by gzip (level 9): a baseline to beat."""
    return 8.0 * len(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)) / max(1, len(text))


def evaluate_charlm(est, src, opts, args) -> dict:
    text = "".join(_documents(src))
    return {"task": "generate", "data": src.path, "chars": len(text), "bpc": est.score(text),
            "baselines": {"gzip_bpc": gzip_bpc(text), "training_unigram_bpc": est.unigram_bpc_}}


def sample_charlm(est, args: dict) -> str:
    prime = args.get("prime") or ""
    return est.generate(prime, length=args["length"], temperature=args["temperature"], random_state=args["seed"])


# -- seq2seq --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pairs:
    sources: list
    targets: list | None
    path: str
    lines: list | None = None


def load_pairs(path, opts, role: str) -> Pairs:
    """Pairs from a CSV/TSV; for ``predict`` a ``.txt`` with one source per line works too."""
    from rnnkit.datasets import load_pairs as read_pairs
    from rnnkit.datasets._files import check_file

    p = check_file(path)
    if role == "predict" and p.endswith(".txt"):
        with open(p, encoding="utf-8") as f:
            lines = [ln.rstrip("\n") for ln in f]
        sources = [s for s in lines if s.strip()]
        if not sources:
            raise ValueError(f"{p}: no source line (the file is empty)")
        return Pairs(sources, None, p)
    tp = read_pairs(p, source=opts.source, target=opts.target)
    return Pairs(list(tp.sources), list(tp.targets), p, tp.info.get("lines"))


def check_test_pairs(train: Pairs, test: Pairs) -> None:
    """Refuse test sources with characters the training sources never have (before training)."""
    known = set("".join(train.sources))
    for i, s in enumerate(test.sources):
        bad = sorted(set(s) - known)
        if bad:
            line = f"line {test.lines[i]}" if test.lines else f"pair {i}"
            raise ValueError(f"{test.path}, {line}: source characters never seen in the training pairs: {bad[:10]}")


def fit_seq2seq(est, pairs: Pairs, opts, fit_kw: dict) -> None:
    est.fit(pairs.sources, pairs.targets, **fit_kw)


def _validation_pairs(est, n: int) -> np.ndarray:
    idx = getattr(est, "validation_indices_", None)
    if idx is not None:
        return np.asarray(idx, np.int64)
    if est.validation_fraction <= 0:
        return np.arange(0)
    from rnnkit._checks import as_rng

    n_val = int(round(est.validation_fraction * n))
    return np.sort(as_rng(est.random_state).permutation(n)[:n_val])


def _pairs_report(est, sources, targets, on: str) -> dict:
    pred = est.predict(sources)
    exact = float(np.mean([p == t for p, t in zip(pred, targets)]))
    copy = float(np.mean([s == t for s, t in zip(sources, targets)]))
    metrics = {"sequence_accuracy": exact, "token_accuracy": est.token_accuracy(sources, targets),
               "copy_source_accuracy": copy, "n": len(sources)}
    rows = [[s, t, p] for s, t, p in list(zip(sources, targets, pred))[:_EXAMPLES]]
    return {"on": on, "metrics": metrics, "entries": [{"kind": "pairs", "rows": rows}]}


def held_out_seq2seq(est, pairs: Pairs, test: Pairs | None, opts) -> dict:
    if test is not None:
        return _pairs_report(est, test.sources, test.targets, f"--test {test.path} ({len(test.sources)} pairs)")
    idx = _validation_pairs(est, len(pairs.sources))
    if idx.size == 0:
        return _pairs_report(est, pairs.sources, pairs.targets,
                             f"the training pairs ({len(pairs.sources)}: there is no validation part)")
    return _pairs_report(est, [pairs.sources[i] for i in idx], [pairs.targets[i] for i in idx],
                         f"the validation part ({idx.size} of {len(pairs.sources)} pairs, not trained on)")


def probe_seq2seq(est, pairs: Pairs, opts) -> None:
    est.predict(pairs.sources[:min(len(pairs.sources), est.batch_size)])


def evaluate_seq2seq(est, pairs: Pairs, opts, args) -> dict:
    if pairs.targets is None:
        raise ValueError(f"{pairs.path}: no targets to evaluate against (a CSV of source,target pairs)")
    rep = _pairs_report(est, pairs.sources, pairs.targets, pairs.path)
    return {"task": "seq2seq", "data": pairs.path, **rep["metrics"], "examples": rep["entries"][0]["rows"][:5]}


def predict_seq2seq(est, pairs: Pairs, opts, args):
    pred = est.predict(pairs.sources, beam_size=args.get("beam_size"))
    return ["source", "prediction"], [[s, p if isinstance(p, str) else " ".join(map(str, p))]
                                      for s, p in zip(pairs.sources, pred)]
