"""load_series: hand-written CSV files (hand-computed answers, every malformed case), frequency
inference, and the packaged series (facts from their published descriptions)."""

import importlib.util

import numpy as np
import pytest

from rnnkit.datasets import list_series, load_series
from rnnkit.errors import FileFormatError

HAVE_ARCHIVES = importlib.util.find_spec("aeon") is not None or importlib.util.find_spec("sktime") is not None
needs_archives = pytest.mark.skipif(
    not HAVE_ARCHIVES, reason="packaged series need aeon or sktime (pip install --no-deps aeon)"
)


def write(tmp_path, text, name="s.csv"):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_monthly_univariate(tmp_path):
    s = load_series(write(tmp_path, "month,sales\n2020-01,1.5\n2020-02,2\n2020-03,-3e0\n"))
    assert s.values.tolist() == [1.5, 2.0, -3.0] and s.values.dtype == np.float64
    assert s.index.dtype == np.dtype("datetime64[M]") and str(s.index[2]) == "2020-03"
    assert (s.freq, s.seasonal_period, s.time_column, s.columns) == ("monthly", 12, "month", ("sales",))
    assert s.lines.tolist() == [2, 3, 4] and s.issues == () and s.name == "s"


@pytest.mark.parametrize("cells, freq, period", [
    (["2021-01-04", "2021-01-05", "2021-01-06"], "daily", 7),
    (["2021-01-04", "2021-01-11", "2021-01-18"], "weekly", 52),
    (["2021-01-01 00:00", "2021-01-01 01:00", "2021-01-01 02:00"], "hourly", 24),
    (["2021-01-01T00:00:00Z", "2021-01-01T00:15:00Z", "2021-01-01T00:30:00Z"], "15min", 96),
    (["2019 Q3", "2019 Q4", "2020 Q1"], "quarterly", 4),
    (["1999 Nov", "1999 Dec", "2000 Jan"], "monthly", 12),
    (["2000-01-01", "2000-02-01", "2000-03-01"], "monthly", 12),
    (["2000-01", "2001-01", "2002-01"], "yearly", 1),
])
def test_frequency_inference(tmp_path, cells, freq, period):
    text = "date,v\n" + "".join(f"{c},{i}\n" for i, c in enumerate(cells))
    s = load_series(write(tmp_path, text))
    assert (s.freq, s.seasonal_period) == (freq, period)


def test_timezone_converted_to_utc(tmp_path):
    s = load_series(write(tmp_path, "t,v\n2021-01-01T01:00:00+01:00,1\n2021-01-01T02:00:00+01:00,2\n"))
    assert str(s.index[0]) == "2021-01-01T00:00:00"


def test_years_multivariate_and_row_number_column(tmp_path):
    s = load_series(write(tmp_path, ",year,a,b\n0,1990,1,2\n1,1991,3,\n2,1992,5,6\n"))
    assert s.time_column == "year" and s.freq == "yearly" and s.columns == ("a", "b")
    assert s.values.shape == (3, 2) and s.values[0].tolist() == [1.0, 2.0]
    assert np.isnan(s.values[1, 1]) and s.n_missing == 1 and s.missing_positions() == [(1, "b")]
    assert any("row numbers" in m for m in s.issues)
    assert any("1 missing value(s), kept as NaN: line 3 column 'b'" in m for m in s.issues)
    with pytest.raises(FileFormatError, match=r"line 3: 1 missing value\(s\): line 3 column 'b'"):
        load_series(write(tmp_path, ",year,a,b\n0,1990,1,2\n1,1991,3,\n2,1992,5,6\n", "m.csv"), missing="raise")
    one = load_series(write(tmp_path, "year;a;b\n1990;1;2\n1991;3;4\n", "semi.csv"), column="b")
    assert one.values.tolist() == [2.0, 4.0] and one.columns == ("b",)


def test_gaps_reported_not_fatal(tmp_path):
    s = load_series(write(tmp_path, "date,v\n2020-01,1\n2020-02,2\n2020-04,3\n2020-05,4\n"))
    assert s.freq is None and s.seasonal_period is None
    assert len(s.issues) == 1 and "2020-02 to 2020-04 is 2 month(s) where the usual step is 1 month(s)" in s.issues[0]
    assert "line 4" in s.issues[0]


def test_no_time_column_and_integer_steps(tmp_path):
    s = load_series(write(tmp_path, "x\n1\n2\n"))
    assert s.index is None and s.freq is None and s.values.tolist() == [1.0, 2.0]
    s = load_series(write(tmp_path, "timestamp,value\n0,5\n1,6\n", "i.csv"))
    assert s.index.dtype == np.int64 and s.index.tolist() == [0, 1] and s.columns == ("value",)
    s = load_series(write(tmp_path, "5.0,1\n6.0,2\n", "noheader.csv"), date_column=False)
    assert s.columns == ("column 1", "column 2") and s.values.shape == (2, 2)


@pytest.mark.parametrize("text, kwargs, message", [
    ("date,v\n2020-01,1\n2020-01,2\n", {}, r"line 3: duplicate date 2020-01 \(also at line 2\)"),
    ("date,v\n2020-02,1\n2020-01,2\n", {}, r"line 3: date 2020-01 comes after 2020-02 \(line 2\).*sort the file"),
    ("date,v\n2020-01,1\n2020-02,2,7\n", {}, r"line 3: 3 cells but the header has 2.*ragged"),
    ("date,v\n2020-01,1\n2020-02\n", {}, r"line 3: 1 cells but the header has 2"),
    ("date,v\n2020-01,1\n2020-02,abc\n", {}, r"line 3: column 'v': 'abc' is not a number \(pass column="),
    ("date,v\n2020-01,1\n", {"column": "w"}, r"line 1: no column 'w'; the columns are \['date', 'v'\]"),
    ("date,v\n2020-01,1\n", {"date_column": "when"}, r"line 1: no date column 'when'"),
    ("d,v\n2020-01,1\nsoon,2\n", {"date_column": "d"}, r"line 3: column 'd': 'soon' is not a date like the first"),
    ("date,v\n2020-01,\n2020-02,\n", {}, r"column 'v' has no values"),
    ("date,v\n2020-01,1\n,2\n", {}, r"line 3: column 'date': '' is not a date like the first \('2020-01'\)"),
    ("date,v\n", {}, r"line 1: the file has a header but no data rows"),
    ("\n\n", {}, r"empty"),
    ("", {}, r"empty \(0 bytes\)"),
    ("a,a\n1,2\n", {}, r"columns 1 and 2 have the same name 'a'"),
    ("date,v\n2020-01,1\n", {"date_column": "date", "column": "date"}, "is the time column"),
])
def test_malformed(tmp_path, text, kwargs, message):
    p = write(tmp_path, text)
    with pytest.raises((FileFormatError, ValueError), match=message) as err:
        load_series(p, **kwargs)
    if isinstance(err.value, FileFormatError):
        assert str(err.value).startswith(p)


def test_path_and_name_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_series(str(tmp_path / "none.csv"))
    with pytest.raises(ValueError, match=r"no file and no packaged series 'nosuchseries'.*'airline'"):
        load_series("nosuchseries")
    with pytest.raises(ValueError, match="missing must be one of"):
        load_series("airline", missing="drop")
    with pytest.raises(TypeError, match="column must be"):
        load_series(write(tmp_path, "a,b\n1,2\n"), column=[1])


def test_parquet(tmp_path):
    if importlib.util.find_spec("pyarrow") is None:
        pytest.skip("Parquet needs pyarrow (pip install pyarrow)")
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    p = str(tmp_path / "s.parquet")
    dates = [datetime.date(2020, 1, 1), datetime.date(2020, 1, 2), datetime.date(2020, 1, 3)]
    pq.write_table(pa.table({"day": dates, "v": [1.0, None, 3.5]}), p)
    s = load_series(p)
    assert s.freq == "daily" and s.values[0] == 1.0 and np.isnan(s.values[1]) and s.values[2] == 3.5
    assert any("row 2 column 'v'" in m for m in s.issues)


@needs_archives
def test_packaged_airline_lynx_shampoo():
    assert {"airline", "lynx", "shampoo_sales", "uschange", "solar"} <= set(list_series())
    a = load_series("Airline")
    # Box & Jenkins series G: 144 months 1949-01..1960-12, 112 first, 432 last, total 40363
    assert a.values.shape == (144,) and (a.values[0], a.values[-1], a.values.sum()) == (112, 432, 40363)
    assert (str(a.index[0]), str(a.index[-1]), a.freq, a.seasonal_period) == ("1949-01", "1960-12", "monthly", 12)
    lynx = load_series("lynx")   # R's lynx: 1821-1934, maximum 6991 in 1904
    assert len(lynx) == 114 and lynx.values.max() == 6991 and str(lynx.index[np.argmax(lynx.values)]) == "1904"
    assert lynx.freq == "yearly"
    sh = load_series("shampoo")
    assert len(sh) == 36 and sh.values[0] == 266.0 and sh.freq == "monthly"


@needs_archives
def test_packaged_multivariate_and_subdaily():
    u = load_series("uschange")
    assert u.values.shape == (187, 5) and u.freq == "quarterly" and u.seasonal_period == 4
    assert str(u.index[0]) == "1970-01" and u.columns[0] == "Consumption"
    assert load_series("uschange", column="Income").values.shape == (187,)
    s = load_series("solar")
    assert s.freq == "30min" and s.seasonal_period == 48 and len(s) == 289
