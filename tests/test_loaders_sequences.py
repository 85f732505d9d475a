"""load_sequences: wide and long CSV, .npz and .ts, hand-written files with hand-computed answers
and every malformed case."""

import io
import zipfile

import numpy as np
import pytest

from rnnkit.datasets import load_sequences
from rnnkit.errors import FileFormatError


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_wide_with_header_label_first_and_unequal_lengths(tmp_path):
    d = load_sequences(write(tmp_path, "label,v1,v2,v3\na,1,2,3\nb,4,5,\na,,7,8\n"))
    assert d.task == "classification" and d.class_labels == ("a", "b") and d.y.tolist() == ["a", "b", "a"]
    assert d.lengths.tolist() == [3, 2, 3] and d.n_channels == 1
    assert d.X[1][:, 0].tolist() == [4.0, 5.0]
    assert np.isnan(d.X[2][0, 0]) and d.X[2][1:, 0].tolist() == [7.0, 8.0]   # an interior gap is missing
    assert d.header["format"] == "wide"


def test_wide_without_header_ucr_convention(tmp_path):
    d = load_sequences(write(tmp_path, "2,0.5,0.6,0.7\n10,0.8,NaN,NaN\n1,1,2,3\n"))
    assert d.y.tolist() == ["2", "10", "1"] and d.class_labels == ("1", "2", "10")   # integers sort by value
    assert d.lengths.tolist() == [3, 1, 3]   # trailing NaN is padding (the UCR archive's convention)
    assert d.label_ids().tolist() == [1, 2, 0]


def test_wide_label_last_named_or_in_the_middle(tmp_path):
    d = load_sequences(write(tmp_path, "v1,v2,v3,class\n1,2,3,x\n4,5,y\n"))
    assert d.y.tolist() == ["x", "y"] and d.X[1][:, 0].tolist() == [4.0, 5.0]
    d = load_sequences(write(tmp_path, "v1,kind,v2\n1,p,2\n3,q,4\n", "mid.csv"), target="kind")
    assert d.y.tolist() == ["p", "q"] and d.X[0][:, 0].tolist() == [1.0, 2.0]
    d = load_sequences(write(tmp_path, "1,2,3\n4,5,6\n", "pos.csv"), target=2)
    assert d.y.tolist() == ["3", "6"] and d.X[1][:, 0].tolist() == [4.0, 5.0]


def test_wide_regression_rule_and_forced_task(tmp_path):
    p = write(tmp_path, "y,a,b\n0.5,1,2\n3,4,5\n")
    d = load_sequences(p)
    assert d.task == "regression" and d.y.dtype == np.float64 and d.y.tolist() == [0.5, 3.0]
    d = load_sequences(p, task="classification")
    assert d.task == "classification" and d.class_labels == ("0.5", "3")
    d = load_sequences(write(tmp_path, "y,a\n1,2\n3,4\n", "ints.csv"), task="regression")
    assert d.y.tolist() == [1.0, 3.0]


@pytest.mark.parametrize("text, kwargs, message", [
    ("label,a,b\nx,1,z\n", {}, r"line 2: value 2 'z' is not a number"),
    ("label,a,b\nx,1,2,3\n", {}, r"line 2: 4 cells but the header has 3"),
    ("label,a\nx,\n", {}, r"line 2: the row has a label but no values"),
    ("label,a\n,1\n", {}, r"line 2: the label is empty"),
    ("label,a\nx,1\n", {"target": "cls"}, r"line 1: no target column 'cls'; the columns are \['label', 'a'\]"),
    ("label,a\nx,1\n", {"task": "regression"}, r"line 2: the regression target 'x' is not a number"),
    ("id,t,f,label\n1,0,1,a\n1,1,2,b\n", {}, r"line 3: sequence '1' changes its label from 'a' to 'b'"),
    ("id,t,f\n1,0,1\n1,0,2\n", {}, r"line 3: sequence '1' has the time 0 twice"),
    ("id,t,f\n1,0,1\n1,1\n", {}, r"line 3: 2 cells but the header has 3"),
    ("id,t,f\n1,0,x\n", {}, r"line 2: column 'f': 'x' is not a number"),
    ("id,f\n,1\n", {}, r"line 2: the id cell \(column 'id'\) is empty"),
    ("", {}, "empty"),
])
def test_csv_malformed(tmp_path, text, kwargs, message):
    p = write(tmp_path, text)
    with pytest.raises(FileFormatError, match=message) as err:
        load_sequences(p, **kwargs)
    assert str(err.value).startswith(p)


def test_long_format(tmp_path):
    text = "id,time,x1,x2,label\nb,1,10,11,up\na,0,1,2,down\nb,0,20,21,up\na,1,3,4,down\na,2,5,,down\n"
    d = load_sequences(write(tmp_path, text))
    assert d.header == {"format": "long", "channels": ["x1", "x2"], "id_column": "id"}
    assert d.y.tolist() == ["up", "down"]   # sequences in the order of their first row
    np.testing.assert_array_equal(d.X[0], [[20, 21], [10, 11]])   # sorted by time
    assert d.X[1].shape == (3, 2) and np.isnan(d.X[1][2, 1]) and d.X[1][2, 0] == 5
    u = load_sequences(write(tmp_path, "series_id,v\n1,0.5\n1,0.7\n2,1\n", "u.csv"))
    assert u.task is None and u.y is None and u.lengths.tolist() == [2, 1]


def test_npz(tmp_path):
    X = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    p = str(tmp_path / "a.npz")
    np.savez(p, X=X, y=np.array([3, 1]), lengths=np.array([4, 2]))
    d = load_sequences(p)
    assert d.task == "classification" and d.class_labels == (1, 3) and d.label_ids().tolist() == [1, 0]
    assert d.lengths.tolist() == [4, 2] and np.array_equal(d.X[1], X[1, :2]) and d.X[0].dtype == np.float64
    p2 = str(tmp_path / "b.npz")
    np.savez(p2, X=np.ones((3, 5)), y=np.array([0.5, 1.5, 2.0]))
    d = load_sequences(p2)
    assert d.task == "regression" and d.n_channels == 1 and d.lengths.tolist() == [5, 5, 5]
    p3 = str(tmp_path / "c.npz")
    np.savez(p3, X=np.ones((2, 2, 1)), y=np.array(["cat", "dog"]))
    assert load_sequences(p3).class_labels == ("cat", "dog")


def _npz_with(tmp_path, name, arrays=None, raw=None):
    p = str(tmp_path / name)
    with zipfile.ZipFile(p, "w") as z:
        for k, a in (arrays or {}).items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, a, allow_pickle=True)
            z.writestr(f"{k}.npy", buf.getvalue())
        for k, b in (raw or {}).items():
            z.writestr(f"{k}.npy", b)
    return p


def test_npz_malformed(tmp_path):
    with pytest.raises(FileFormatError, match=r"no array 'X' \(the arrays are \['Z'\]"):
        load_sequences(_npz_with(tmp_path, "a.npz", {"Z": np.ones(2)}))
    with pytest.raises(FileFormatError, match="holds Python objects"):
        load_sequences(_npz_with(tmp_path, "b.npz", {"X": np.array([[1], "a"], dtype=object)}))
    huge = io.BytesIO()
    np.lib.format.write_array_header_1_0(huge, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**6, 1)})
    with pytest.raises(FileFormatError, match=r"shape \(1000000, 1000000, 1\): more than"):
        load_sequences(_npz_with(tmp_path, "c.npz", raw={"X": huge.getvalue()}))   # refused before allocating
    with pytest.raises(FileFormatError, match=r"lengths must be 2 integers in \[1, 3\]"):
        load_sequences(_npz_with(tmp_path, "d.npz", {"X": np.ones((2, 3)), "lengths": np.array([3, 4])}))
    with pytest.raises(FileFormatError, match=r"y must be \(2,\)"):
        load_sequences(_npz_with(tmp_path, "e.npz", {"X": np.ones((2, 3)), "y": np.ones(3)}))
    with pytest.raises(FileFormatError, match="infinite values, the first at index"):
        load_sequences(_npz_with(tmp_path, "f.npz", {"X": np.array([[1.0, np.inf]])}))
    with pytest.raises(FileFormatError, match="not an .npz file"):
        load_sequences(write(tmp_path, "hello", "g.npz"))


def test_ts_and_suffix_rules(tmp_path):
    p = write(tmp_path, "@problemName X\n@univariate true\n@classLabel true a\n@data\n1,2:a\n", "x.ts")
    d = load_sequences(p)
    assert d.name == "X" and d.y.tolist() == ["a"]
    with pytest.raises(ValueError, match="target, id_column and time_column are for CSV files"):
        load_sequences(p, target="label")
    with pytest.raises(ValueError, match="task='regression' but"):
        load_sequences(p, task="regression")
    with pytest.raises(ValueError, match=r"expected a .ts, .csv, .tsv, .txt or .npz file"):
        load_sequences(write(tmp_path, "x", "x.json"))
    with pytest.raises(FileNotFoundError):
        load_sequences(str(tmp_path / "none.csv"))
