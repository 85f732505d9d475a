"""load_ts: hand-written .ts files with hand-computed answers, every malformed case, and the real
archive files the aeon/sktime wheels ship (facts from the UCI/UEA descriptions)."""

import importlib.util
import os

import numpy as np
import pytest

from rnnkit.datasets import load_ts
from rnnkit.errors import FileFormatError


def write(tmp_path, text, name="x.ts"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


HEADER = "@problemName Toy\n@timeStamps false\n@univariate false\n@dimensions 2\n@classLabel true a b\n@data\n"


def test_multivariate_unequal_length_with_labels(tmp_path):
    p = write(tmp_path, "# a comment\n#\n" + HEADER + "1,2,3:4,5,6:a\n\n7.5,8:-1e-1,0:b\n")
    d = load_ts(p)
    assert d.name == "Toy" and d.task == "classification" and d.class_labels == ("a", "b")
    assert len(d) == 2 and d.n_channels == 2
    np.testing.assert_array_equal(d.X[0], [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(d.X[1], [[7.5, -0.1], [8, 0]])
    assert d.y.tolist() == ["a", "b"] and d.label_ids().tolist() == [0, 1]
    assert d.lengths.tolist() == [3, 2] and not d.equal_length and not d.has_missing
    X, lengths = d.padded()
    assert X.shape == (2, 3, 2) and lengths.tolist() == [3, 2]
    np.testing.assert_array_equal(X[1], [[7.5, -0.1], [8, 0], [0, 0]])
    Xt, _ = d.padded(batch_first=False, padding_value=-1.0)
    assert Xt.shape == (3, 2, 2) and Xt[2, 1, 0] == -1.0
    assert d.header["dimensions"] == 2 and d.header["univariate"] is False and d.header["problemname"] == "Toy"


def test_missing_values_question_mark_and_nan(tmp_path):
    head = "@problemName M\n@missing true\n@univariate true\n@classLabel true 1 2\n@data\n"
    p = write(tmp_path, head + "1,?,3:1\nNaN,2,nan:2\n")
    d = load_ts(p)
    assert d.has_missing
    np.testing.assert_array_equal(np.isnan(d.X[0][:, 0]), [False, True, False])
    np.testing.assert_array_equal(np.isnan(d.X[1][:, 0]), [True, False, True])
    assert d.X[1][1, 0] == 2.0


def test_regression_targets_and_unlabelled(tmp_path):
    p = write(tmp_path, "@problemName R\n@univariate true\n@targetLabel true\n@data\n1,2:0.5\n3,4:-2e1\n")
    d = load_ts(p)
    assert d.task == "regression" and d.class_labels is None
    assert d.y.dtype == np.float64 and d.y.tolist() == [0.5, -20.0]
    p = write(tmp_path, "@problemName U\n@univariate true\n@classLabel false\n@data\n1,2\n3,4,5\n", "u.ts")
    d = load_ts(p)
    assert d.task is None and d.y is None and d.lengths.tolist() == [2, 3]


def test_header_keys_case_insensitive_and_dimensions_inferred(tmp_path):
    p = write(tmp_path, "@PROBLEMNAME Up\n@UniVariate FALSE\n@classlabel TRUE x\n@DATA\n1:2:3:x\n")
    d = load_ts(p)
    assert d.n_channels == 3 and d.header["dimensions"] == 3 and d.X[0].tolist() == [[1, 2, 3]]


def test_timestamps(tmp_path):
    text = ("@problemName T\n@timeStamps true\n@univariate false\n@dimensions 2\n@classLabel true 1\n@data\n"
            "(2020-01-01 00:00:00,1.5),(2020-01-01 00:01:00,?):(2020-01-01 00:00:00,3),(2020-01-01 00:01:00,4):1\n")
    d = load_ts(write(tmp_path, text))
    stamps = np.array(["2020-01-01T00:00", "2020-01-01T00:01"], dtype="datetime64[s]")
    np.testing.assert_array_equal(d.timestamps[0], stamps)
    assert d.X[0][0].tolist() == [1.5, 3.0] and np.isnan(d.X[0][1, 0]) and d.X[0][1, 1] == 4.0
    head = "@problemName T\n@timeStamps true\n@univariate true\n@classLabel false\n@data\n"
    d = load_ts(write(tmp_path, head + "(0,1),(2,5)\n", "n.ts"))
    assert d.timestamps[0].tolist() == [0.0, 2.0] and d.X[0][:, 0].tolist() == [1.0, 5.0]


def test_repeated_problem_name_keeps_first(tmp_path):
    d = load_ts(write(tmp_path, "@problemName A\n@problemName B\n@univariate true\n@classLabel false\n@data\n1\n"))
    assert d.name == "A"


BAD = [
    ("", "empty"),
    ("\n  \n\n", "empty"),
    ("@problemName X\n@univariate true\n", "no @data"),
    ("@problemName X\n1,2,3\n@data\n", "expected a header line"),
    ("@problemName X\n@univariate maybe\n@data\n1\n", "true or false"),
    ("@problemName X\n@classLabel true\n@data\n1:a\n", "list of class labels"),
    ("@problemName X\n@classLabel true a a\n@data\n1:a\n", "twice"),
    ("@problemName X\n@univariate true\n@univariate false\n@data\n1\n", "appears twice"),
    ("@problemName X\n@dimensions two\n@data\n1\n", "@dimensions must be one integer"),
    ("@problemName X\n@dimensions 0\n@data\n1\n", "@dimensions must be one integer"),
    ("@problemName X\n@seriesLength 1000000000000\n@data\n1\n", "@seriesLength must be one integer"),
    ("@problemName X\n@univariate true\n@dimensions 3\n@data\n1\n", "@univariate true but @dimensions 3"),
    ("@problemName X\n@classLabel true a\n@targetLabel true\n@data\n1:a\n", "both"),
    ("@problemName X\n@data extra\n1\n", "alone on its line"),
    ("@problemName X\n@univariate true\n@classLabel false\n@data\n", "no cases"),
    ("@problemName X\n@univariate true\n@classLabel false\n@data\n# only a comment\n", "no cases"),
]


@pytest.mark.parametrize("text, message", BAD)
def test_malformed_header(tmp_path, text, message):
    p = write(tmp_path, text)
    with pytest.raises(FileFormatError, match=message) as err:
        load_ts(p)
    assert p in str(err.value)


BAD_DATA = [
    # (data lines after HEADER (2 channels, labels a b), line number of the error, message)
    ("1,2:3,4:a\n1,2:b\n", 8, "expected 2 channel"),
    ("1,2:3,4:a\n1,2:3,4:5,6:b\n", 8, "expected 2 channel"),
    ("1,2,3:4,5:a\n", 7, "channel 2 has 2 values but channel 1 has 3"),
    ("1,x:3,4:a\n", 7, "channel 1: value 2 'x' is not a number"),
    ("1,2:3,inf:a\n", 7, "channel 2: value 2 'inf' is not a number"),
    ("1,,2:3,4,5:a\n", 7, "empty value"),
    ("1,2:3,4,:a\n", 7, "empty value"),
    ("1,2:3,4:c\n", 7, "label 'c' is not one of the @classLabel labels"),
    ("1,2:3,4:\n", 7, "label after the last ':' is empty"),
    ("1,2,3,4\n", 7, "found no ':'"),
    ("1,2:3,4:a\n\n\n1_0,2:3,4:a\n", 10, "not a number"),
]


@pytest.mark.parametrize("data, line, message", BAD_DATA)
def test_malformed_data(tmp_path, data, line, message):
    p = write(tmp_path, HEADER + data)
    with pytest.raises(FileFormatError, match=message) as err:
        load_ts(p)
    assert str(err.value).startswith(f"{p}, line {line}: ")


def test_length_rules_and_targets(tmp_path):
    head = "@problemName X\n@univariate true\n@equalLength true\n@seriesLength 3\n@classLabel false\n@data\n"
    with pytest.raises(FileFormatError, match="line 8: @seriesLength 3 but this case has 2 steps"):
        load_ts(write(tmp_path, head + "1,2,3\n1,2\n"))
    head = "@problemName X\n@univariate true\n@equalLength true\n@classLabel false\n@data\n"
    with pytest.raises(FileFormatError, match="line 7: @equalLength true but this case has 2 steps and the first 3"):
        load_ts(write(tmp_path, head + "1,2,3\n1,2\n"))
    with pytest.raises(FileFormatError, match="line 5: the regression target 'abc' is not a number"):
        load_ts(write(tmp_path, "@problemName X\n@univariate true\n@targetLabel true\n@data\n1,2:abc\n"))
    head = "@problemName X\n@timeStamps true\n@classLabel false\n@data\n"
    with pytest.raises(FileFormatError, match="channel 2 has other timestamps than channel 1"):
        load_ts(write(tmp_path, head + "(1,2),(2,3):(1,2),(3,3)\n"))
    with pytest.raises(FileFormatError, match=r"'\(timestamp,value\)' pairs"):
        load_ts(write(tmp_path, head + "1,2,3\n"))


def test_undecodable_bytes_named_with_line(tmp_path):
    p = tmp_path / "bin.ts"
    p.write_bytes(b"@problemName X\n@univariate true\n@classLabel false\n@data\n1,2\n\xff\xfe3\n")
    with pytest.raises(FileFormatError, match=r"line 6: bytes that are not valid utf-8"):
        load_ts(str(p))


def test_path_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_ts(str(tmp_path / "absent.ts"))
    with pytest.raises(IsADirectoryError):
        load_ts(str(tmp_path))
    with pytest.raises(TypeError, match="path must be a str"):
        load_ts(3)


def test_padded_refuses_absurd_size():
    from rnnkit.datasets import SequenceData
    from rnnkit.datasets._files import MAX_ELEMENTS

    long = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(MAX_ELEMENTS, 1), strides=(0, 0))   # no memory
    d = SequenceData(X=[long, long], y=None, task=None, class_labels=None, name="big")
    with pytest.raises(ValueError, match="more than the limit"):
        d.padded()


def _archive_file(name, split):
    for pkg in ("aeon", "sktime"):
        spec = importlib.util.find_spec(pkg)
        if spec is not None:
            f = os.path.join(spec.submodule_search_locations[0], "datasets", "data", name, f"{name}_{split}.ts")
            if os.path.isfile(f):
                return f
    pytest.skip(f"{name}_{split}.ts needs aeon or sktime installed (pip install --no-deps aeon)")


def test_japanese_vowels_real_file():
    """UCI Japanese Vowels: 270 train (30 per speaker) / 370 test, 12 LPC cepstra, lengths 7-29,
    test counts per speaker 31 35 88 44 29 24 40 50 29 (the UCI description)."""
    train, test = load_ts(_archive_file("JapaneseVowels", "TRAIN")), load_ts(_archive_file("JapaneseVowels", "TEST"))
    assert (len(train), len(test)) == (270, 370)
    assert train.n_channels == test.n_channels == 12
    lengths = np.concatenate([train.lengths, test.lengths])
    assert (lengths.min(), lengths.max()) == (7, 29)
    assert train.class_labels == tuple(str(i) for i in range(1, 10))
    assert np.bincount(train.label_ids()).tolist() == [30] * 9
    assert np.bincount(test.label_ids()).tolist() == [31, 35, 88, 44, 29, 24, 40, 50, 29]
    # the first case against the raw text of its line, split by hand
    with open(train.path) as fh:
        first = next(line for line in fh if line[0] not in "#@")
    channels = first.strip().split(":")
    assert channels[-1] == train.y[0]
    np.testing.assert_array_equal(train.X[0][:, 3], [float(v) for v in channels[3].split(",")])


def test_basic_motions_and_covid_real_files():
    d = load_ts(_archive_file("BasicMotions", "TRAIN"))
    assert len(d) == 40 and d.n_channels == 6 and d.equal_length and d.lengths[0] == 100
    assert d.class_labels == ("Standing", "Running", "Walking", "Badminton")
    assert sorted(np.unique(d.y, return_counts=True)[1].tolist()) == [10, 10, 10, 10]
    r = load_ts(_archive_file("Covid3Month", "TRAIN"))
    assert r.task == "regression" and len(r) == 140 and r.n_channels == 1 and r.lengths[0] == 84
    assert r.y.dtype == np.float64 and np.isfinite(r.y).all()
