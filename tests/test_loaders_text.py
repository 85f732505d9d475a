"""load_text (files, folders, decoding rules), date_pairs (checked with datetime.strptime) and
python_token_tags / tag_python (hand-tagged lines, tokenize as the oracle)."""

import datetime
import io
import sys
import tokenize

import numpy as np
import pytest

from rnnkit.datasets import TAG_NAMES, date_pairs, format_date, load_text, python_token_tags, tag_python
from rnnkit.errors import FileFormatError


def test_load_text_file_folder_and_list(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / "a.txt").write_text("alpha\r\nbeta")
    (tmp_path / "b" / "c.py").write_text("x = 1\n")
    (tmp_path / "b" / "skip.bin").write_bytes(b"\x00\x01")
    (tmp_path / "b" / "empty.md").write_text("")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "h.txt").write_text("secret")
    assert load_text(str(tmp_path / "a.txt")) == "alpha\nbeta\n"   # CRLF normalised, a final \n added
    assert load_text(str(tmp_path)) == "alpha\nbeta\nx = 1\n"       # sorted walk, .bin and hidden skipped
    assert load_text(str(tmp_path), as_documents=True) == ["alpha\nbeta", "x = 1\n"]
    docs = load_text([tmp_path / "b" / "c.py", str(tmp_path / "a.txt")], as_documents=True)
    assert docs == ["x = 1\n", "alpha\nbeta"]
    assert load_text(str(tmp_path), suffixes=".PY") == "x = 1\n"


def test_load_text_decoding_rules(tmp_path):
    p = tmp_path / "bad.txt"
    p.write_bytes(b"\xef\xbb\xbfok \xff here\n")
    assert load_text(str(p)) == "ok \ufffd here\n"     # BOM dropped, the undecodable byte replaced
    assert load_text(str(p), encoding="latin-1") == "ok \u00ff here\n"
    b = tmp_path / "bin.txt"
    b.write_bytes(b"line one\nline\x00two\n")
    with pytest.raises(FileFormatError, match=r"bin.txt, line 2: a NUL byte: this is a binary file"):
        load_text(str(b))
    with pytest.raises(LookupError):
        load_text(str(p), encoding="no-such-codec")


def test_load_text_errors(tmp_path):
    e = tmp_path / "e.txt"
    e.write_text("")
    with pytest.raises(FileFormatError, match="e.txt: the file is empty"):
        load_text(str(e))
    w = tmp_path / "w.txt"
    w.write_text("  \n\n")
    with pytest.raises(FileFormatError, match=r"the file is empty \(only whitespace\)"):
        load_text(str(w))
    d = tmp_path / "d"
    d.mkdir()
    (d / "x.csv").write_text("1")
    with pytest.raises(ValueError, match=r"no non-empty files ending in .txt, .py, .md under the folder"):
        load_text(str(d))
    with pytest.raises(FileNotFoundError):
        load_text(str(tmp_path / "none.txt"))
    with pytest.raises(TypeError, match="suffixes must be"):
        load_text(str(d), suffixes=[""])
    with pytest.raises(ValueError, match="empty list"):
        load_text([])


PARSERS = {  # outside truth: the standard library's own parser of each written form
    "iso": "%Y-%m-%d", "long": "%d %B %Y", "us_long": "%B %d, %Y", "abbrev": "%d %b %Y",
    "weekday_long": "%A, %d %B %Y", "weekday_short": "%a %m/%d/%y", "us_short": "%m/%d/%y",
    "eu_short": "%d.%m.%Y", "compact": "%Y%m%d",
}


def test_date_pairs_are_real_dates_with_right_weekdays():
    p = date_pairs(600, seed=3)
    assert len(p) == 600 and set(p.info["source_format"]) == set(PARSERS) - {"iso"}
    for src, tgt, fmt, d in zip(p.sources, p.targets, p.info["source_format"], p.info["dates"]):
        assert datetime.datetime.strptime(tgt, "%Y-%m-%d").date() == d
        assert datetime.datetime.strptime(src, PARSERS[fmt]).date() == d
        if fmt.startswith("weekday"):
            assert src.split(",")[0].split(" ")[0] in (d.strftime("%A"), d.strftime("%a"))
        assert datetime.date(1969, 1, 1) <= d <= datetime.date(2068, 12, 31)
    assert format_date(datetime.date(2021, 3, 3), "weekday_short") == "Wed 03/03/21"
    assert format_date(datetime.date(2000, 2, 29), "long") == "29 February 2000"


def test_date_pairs_seeded_and_options():
    a, b = date_pairs(50, seed=1), date_pairs(50, seed=1)
    assert a.pairs == b.pairs and a.pairs != date_pairs(50, seed=2).pairs
    q = date_pairs(20, rng=np.random.default_rng(0), source_formats="us_long", target_format="eu_short",
                   start=datetime.date(2024, 2, 28), end=datetime.date(2024, 3, 1))
    assert set(q.targets) <= {"28.02.2024", "29.02.2024", "01.03.2024"} and all("," in s for s in q.sources)
    with pytest.raises(ValueError, match="source_formats must be keys"):
        date_pairs(5, source_formats=["roman"])
    with pytest.raises(ValueError, match="end must be on or after start"):
        date_pairs(5, start=datetime.date(2000, 1, 2), end=datetime.date(2000, 1, 1))
    with pytest.raises(TypeError, match="start must be a datetime.date"):
        date_pairs(5, start="2000-01-01")


def tags_str(src):
    return "".join("_nkoNsc"[t] for t in tag_python(src))


def test_tag_python_hand_tagged():
    src = 'def f(a):  # c\n    return "s#" + 0x1F if True else None\n'
    assert tags_str(src) == ("kkk_nonoo__ccc_"
                             "____kkkkkk_ssss_o_NNNN_kk_kkkk_kkkk_kkkk_")
    assert tags_str("x2 = 2\n") == "nn_o_N_"
    assert tags_str('y = f"{x}!"\n') == "n_o_sssssss_"   # an f-string is one literal
    assert tags_str('"""a\nb"""\n') == "sssssssss_"        # across lines
    assert tags_str("match = 1\n") == "nnnnn_o_N_"          # a soft keyword used as a name


def test_tag_python_agrees_with_tokenize_on_stdlib_source():
    import inspect
    import json.decoder as mod

    src = inspect.getsource(mod)
    tags = tag_python(src)
    lines = src.split("\n")
    starts = np.cumsum([0] + [len(line) + 1 for line in lines])
    for tok in tokenize.generate_tokens(io.StringIO(src).readline):
        if tok.type in (tokenize.NAME, tokenize.NUMBER, tokenize.OP, tokenize.COMMENT):
            a = starts[tok.start[0] - 1] + tok.start[1]
            kinds = {TAG_NAMES[t] for t in tags[a:a + len(tok.string)]}
            if sys.version_info >= (3, 12) and kinds == {"string"}:
                continue   # a token inside an f-string: the whole literal is tagged 'string' by design
            assert len(kinds) == 1 and kinds <= {"name", "keyword", "number", "op", "comment"}, tok


def test_tag_python_refuses_unreadable():
    with pytest.raises(tokenize.TokenError):
        tag_python('s = """never closed\n')
    with pytest.raises(SyntaxError):
        tag_python("x = $\n")


def test_python_token_tags_stdlib_lines_and_chunks(tmp_path):
    d = python_token_tags(20_000, seed=0)
    assert d.tag_names == TAG_NAMES and len(d.sequences) == len(d.tags)
    assert all(len(s) == len(t) and s.strip() and "\n" not in s for s, t in zip(d.sequences, d.tags))
    assert 17_000 <= sum(map(len, d.sequences)) <= 20_000   # 20k characters less line ends and blank lines
    assert set(np.concatenate(d.tags).tolist()) <= set(range(len(TAG_NAMES)))
    assert 0 < d.info["majority_accuracy"] <= d.info["char_accuracy"] < 1
    again = python_token_tags(20_000, seed=0)
    assert again.sequences == d.sequences and all(np.array_equal(a, b) for a, b in zip(again.tags, d.tags))
    c = python_token_tags(5_000, seed=0, seq_len=50)
    assert len(c) == 100 and {len(s) for s in c.sequences} == {50}
    (tmp_path / "ok.py").write_text("import os\nx = 1  # one\n")
    (tmp_path / "bad.py").write_text('s = """open\n')
    u = python_token_tags(1_000, paths=str(tmp_path))
    assert u.sequences == ["import os", "x = 1  # one"] and u.info["skipped"] == ["document 1"]
    assert "".join("_nkoNsc"[t] for t in u.tags[0]) == "kkkkkk_nn"
