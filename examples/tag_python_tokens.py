"""Frame-wise labelling on real data: tag every character of Python source with its token type.

The labels come from the standard ``tokenize`` module: each character of a line is NAME,
KEYWORD, OP, NUMBER, STRING, COMMENT or SPACE. The same character needs context to be tagged
(``x`` is a NAME in ``x = 1``, STRING in ``"x"``, COMMENT after ``#``), which a bidirectional
recurrent tagger reads from both sides. RNNTagger (defaults, token input: each character a
token) is trained on the lines of some standard-library modules and scored on the lines of
others, against the baseline that tags each character with its most frequent training tag.

Usage::

    python examples/tag_python_tokens.py
    python examples/tag_python_tokens.py --train json csv --test textwrap --max-lines 3000
"""

from __future__ import annotations

import argparse
import io
import keyword
import os
import time
import tokenize
from collections import Counter, defaultdict

import numpy as np

from rnnkit.estimators import RNNTagger

KINDS = {tokenize.NAME: "NAME", tokenize.OP: "OP", tokenize.NUMBER: "NUMBER", tokenize.STRING: "STRING",
         tokenize.COMMENT: "COMMENT"}


def tagged_lines(module: str, max_len: int = 100) -> list[tuple[str, list[str]]]:
    """``(line, tags)`` for the non-blank lines of a standard-library module's source."""
    path = os.path.join(os.path.dirname(os.__file__), *module.split(".")) + ".py"
    with open(path, encoding="utf-8") as f:
        source = f.read()
    lines = source.splitlines()
    tags = [["SPACE"] * len(line) for line in lines]
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        kind = KINDS.get(tok.type)
        if kind is None:
            continue
        if kind == "NAME" and keyword.iskeyword(tok.string):
            kind = "KEYWORD"
        (r0, c0), (r1, c1) = tok.start, tok.end
        for r in range(r0, r1 + 1):
            row = tags[r - 1]
            for c in range(c0 if r == r0 else 0, c1 if r == r1 else len(row)):
                row[c] = kind
    return [(line, t) for line, t in zip(lines, tags) if line.strip() and len(line) <= max_len]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--train", nargs="+", default=["json.decoder", "json.encoder", "csv", "string", "textwrap"])
    ap.add_argument("--test", nargs="+", default=["shlex", "fnmatch"])
    ap.add_argument("--max-lines", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    train = [p for m in args.train for p in tagged_lines(m)][: args.max_lines]
    test = [p for m in args.test for p in tagged_lines(m)]
    X, y = [line for line, _ in train], [t for _, t in train]
    Xt, yt = [line for line, _ in test], [t for _, t in test]
    by_char = defaultdict(Counter)
    for line, tags in train:
        for ch, tag in zip(line, tags):
            by_char[ch][tag] += 1
    overall = Counter(tag for t in y for tag in t).most_common(1)[0][0]
    guess = [[by_char[ch].most_common(1)[0][0] if ch in by_char else overall for ch in line] for line in Xt]
    baseline = np.mean(np.concatenate([np.array(g) == np.array(t) for g, t in zip(guess, yt)]))
    print(f"{len(X)} training lines ({sum(map(len, X))} characters) from {args.train}; {len(Xt)} test lines "
          f"from {args.test}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    t, c = time.perf_counter(), time.process_time()
    tagger = RNNTagger(random_state=args.seed).fit(X, y)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    print(f"per-character accuracy on the test modules: RNNTagger {tagger.score(Xt, yt):.4f}, "
          f"most frequent tag per character {baseline:.4f}")
    print(f"fit {wall:.0f} s wall, {cpu:.0f} s CPU, {len(tagger.history_)} epochs (best {tagger.best_epoch_})")
    line = 'x = "x" + 1  # x'
    print(repr(line), "->", " ".join(tagger.predict([line])[0].tolist()))


if __name__ == "__main__":
    main()
