"""load_tagged (one label per step, long CSV and .npz) and load_pairs (seq2seq string pairs)."""

import numpy as np
import pytest

from rnnkit.datasets import load_pairs, load_tagged
from rnnkit.errors import FileFormatError


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_tagged_long_csv(tmp_path):
    text = "id,t,x1,x2,tag\nb,1,5,6,stop\na,0,1,2,go\nb,0,3,4,go\na,1,7,8,go\na,2,9,,stop\n"
    d = load_tagged(write(tmp_path, text))
    assert d.task == "tagging" and d.class_labels == ("go", "stop") and d.lengths.tolist() == [2, 3]
    np.testing.assert_array_equal(d.X[0], [[3, 4], [5, 6]])   # sequence 'b' sorted by t
    assert [y.tolist() for y in d.y] == [["go", "stop"], ["go", "go", "stop"]]
    assert [ids.tolist() for ids in d.label_ids()] == [[0, 1], [0, 0, 1]]
    np.testing.assert_array_equal(d.padded_label_ids(), [[0, 1, -100], [0, 0, 1]])
    assert np.isnan(d.X[1][2, 1]) and d.header["channels"] == ["x1", "x2"]
    assert "tags per step" in d.summary()


def test_tagged_single_sequence_and_target(tmp_path):
    d = load_tagged(write(tmp_path, "v,phone\n0.1,s\n0.2,s\n0.3,a\n"), target="phone")
    assert len(d) == 1 and d.y[0].tolist() == ["s", "s", "a"] and d.header["id_column"] is None


def test_tagged_npz(tmp_path):
    p = str(tmp_path / "t.npz")
    np.savez(p, X=np.arange(6.0).reshape(2, 3), y=np.array([[1, 0, 1], [2, 2, 9]]), lengths=np.array([3, 2]))
    d = load_tagged(p)
    assert d.class_labels == (0, 1, 2) and [y.tolist() for y in d.y] == [[1, 0, 1], [2, 2]]
    assert d.label_ids()[1].tolist() == [2, 2] and d.X[1][:, 0].tolist() == [3.0, 4.0]
    np.savez(p, X=np.ones((2, 3)), y=np.ones(2, dtype=int))
    with pytest.raises(FileFormatError, match=r"y must be \(2, 3\) integer or string tags"):
        load_tagged(p)


@pytest.mark.parametrize("text, message", [
    ("id,x\n1,2\n", r"line 1: no tag column"),
    ("id,x,tag\n1,2,\n", r"line 2: the tag cell \(column 'tag'\) is empty"),
    ("id,x,tag\n1,q,a\n", r"line 2: column 'x': 'q' is not a number"),
    ("id,x,tag\n1,2\n", r"line 2: 2 cells but the header has 3"),
])
def test_tagged_malformed(tmp_path, text, message):
    with pytest.raises(FileFormatError, match=message):
        load_tagged(write(tmp_path, text))


def test_pairs(tmp_path):
    p = load_pairs(write(tmp_path, "source,target\n3 March 2021,2021-03-03\n\"Wed, 3 March\",x\n"))
    assert p.pairs == [("3 March 2021", "2021-03-03"), ("Wed, 3 March", "x")] and p.info["lines"] == [2, 3]
    p = load_pairs(write(tmp_path, "abc\tcba\nxy\tyx\n", "r.tsv"))
    assert p.sources == ["abc", "xy"] and p.targets == ["cba", "yx"]
    p = load_pairs(write(tmp_path, "q,a,extra\nhi,ho,1\n", "named.csv"), source="a", target="q")
    assert p.pairs == [("ho", "hi")]
    with pytest.raises(FileFormatError, match=r"line 3: the target cell is empty"):
        load_pairs(write(tmp_path, "input,output\na,b\nc,\n", "e.csv"))
    with pytest.raises(FileFormatError, match="expected two columns"):
        load_pairs(write(tmp_path, "abc\ndef\n", "one.csv"))
    with pytest.raises(FileFormatError, match="a header but no pairs"):
        load_pairs(write(tmp_path, "src,tgt\n", "h.csv"))
