"""Time series from a CSV (or Parquet) file with a time column, and the classic series that the
aeon and sktime wheels ship, by name: ``load_series('airline')``.

Rules (documented choices):

- **Time column**: ``date_column=`` names it (``False``: the file has none). Otherwise the
  first column whose cells are all dates (see ``rnnkit.datasets._dates`` for the formats), else
  a column named like a time (``date``, ``time``, ``year``, ``month``, ..., or unnamed) holding
  four-digit years, else one named ``time``/``timestamp``/``t``/``step`` holding integers.
- **Row numbers**: an unnamed column holding ``0..T-1`` or ``1..T`` (what pandas writes as the
  index) is not a value column and is dropped.
- **Values**: ``column=`` (a name or a list of names) or every remaining column; every cell must
  be a number or a missing value (empty, ``NA``, ``NaN``, ``null``, ``?``, ...).
- **Missing values** are kept as NaN and reported in ``issues`` with their lines
  (``missing='raise'`` refuses them instead).
- **Dates**: duplicates and dates out of order are errors naming both lines; gaps and irregular
  steps are allowed, reported in ``issues`` and leave ``freq`` None.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from rnnkit._checks import check_choice
from rnnkit.datasets._dates import DATE_FORMATS_HELP, infer_frequency, parse_dates
from rnnkit.datasets._files import parse_float
from rnnkit.datasets._packaged import INSTALL_HINT, PACKAGES, package_data_dirs
from rnnkit.datasets._table import Table, read_table

__all__ = ["TimeSeries", "load_series", "list_series", "PACKAGED_SERIES"]

_TIME_NAMES = re.compile(r"^(|date|dates|time|datetime|timestamp|ds|year|month|quarter|period|week|day|index|"
                         r".*date.*|.*time.*)$", re.I)
_STEP_NAMES = re.compile(r"^(time|timestamp|t|step|time_idx|timestep)$", re.I)

PACKAGED_SERIES = {
    # name: (folder/file, date column, value columns, description)
    "airline": ("Airline/Airline.csv", "Date", ["Passengers"],
                "monthly international airline passengers (thousands), 1949-1960 (Box & Jenkins)"),
    "lynx": ("Lynx/Lynx.csv", "", ["0"], "annual Canadian lynx trappings, 1821-1934"),
    "shampoo_sales": ("ShampooSales/ShampooSales.csv", "Time", ["Sales"], "monthly shampoo sales over three years"),
    "uschange": ("Uschange/Uschange.csv", "Quarter", ["Consumption", "Income", "Production", "Savings", "Unemployment"],
                 "quarterly % changes of US consumption, income, production, savings, unemployment, 1970-2016"),
    "solar": ("solar/solar.csv", "datetime_gmt", ["solar_gen"], "half-hourly UK solar generation, May 2021"),
    "longley": ("Longley/Longley.csv", "YEAR", ["TOTEMP", "GNPDEFL", "GNP", "UNEMP", "ARMED", "POP"],
                "Longley's annual US macroeconomic data, 1947-1962"),
    "pbs": ("PBS_dataset/PBS_dataset.csv", "Month", ["Scripts"], "monthly Australian PBS prescription counts"),
    "seatbelts": ("seatbelts/seatbelts.csv", "", ["KSI"], "monthly UK drivers killed or seriously injured, 1969-1984"),
}
_ALIASES = {"shampoo": "shampoo_sales", "shampoosales": "shampoo_sales", "pbs_dataset": "pbs", "airlines": "airline"}


@dataclass(frozen=True)
class TimeSeries:
    """One (possibly multivariate) series read from a file.

    Attributes:
        values: float64 ``(T,)`` (one column) or ``(T, C)``; missing values are NaN.
        index: ``(T,)`` datetime64 (the time column), int64 (an integer step column), or None.
        name: the series (the packaged name, or the file name without suffix).
        columns: the ``C`` value column names.
        freq: ``'monthly'``, ``'quarterly'``, ``'yearly'``, ``'weekly'``, ``'daily'``,
            ``'hourly'``, ``'30min'``, ... when the dates are regular, else None.
        seasonal_period: the calendar cycle in steps (12 monthly, 4 quarterly, 7 daily,
            24 hourly, 52 weekly, 1 yearly), or None.
        time_column: the name of the time column, or None.
        path: the file read.
        issues: what the reader noticed and kept (missing values, irregular dates, dropped
            row-number columns), one sentence each with lines.
        lines: ``(T,)`` int64, the file line of each step (row numbers for Parquet).
    """

    values: np.ndarray
    index: np.ndarray | None
    name: str
    columns: tuple
    freq: str | None
    seasonal_period: int | None
    time_column: str | None
    path: str | None
    issues: tuple = ()
    lines: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    @property
    def n_missing(self) -> int:
        """The number of missing (NaN) values."""
        return int(np.isnan(self.values).sum())

    def missing_positions(self) -> list[tuple[int, str]]:
        """``(step, column name)`` of each missing value, in time order."""
        v = self.values.reshape(len(self), -1)  # (T, C)
        return [(int(t), self.columns[int(c)]) for t, c in np.argwhere(np.isnan(v))]

    def summary(self) -> str:
        span = f", {self.index[0]} to {self.index[-1]}" if self.index is not None else ""
        freq = f", {self.freq}" if self.freq else ""
        miss = f", {self.n_missing} missing" if self.n_missing else ""
        return f"{self.name}: {len(self)} steps x {len(self.columns)} column(s){span}{freq}{miss}"


def _packaged_path(name: str) -> str | None:
    rel = PACKAGED_SERIES[name][0]
    for _, data_dir in package_data_dirs(PACKAGES):
        p = os.path.join(data_dir, *rel.split("/"))
        if os.path.isfile(p):
            return p
    return None


def list_series() -> list[str]:
    """The packaged series available here (their files are installed with aeon or sktime)."""
    return sorted(n for n in PACKAGED_SERIES if _packaged_path(n) is not None)


def _resolve(path_or_name) -> tuple[str, str | None]:
    """``(file path, packaged name or None)``."""
    if isinstance(path_or_name, os.PathLike):
        return os.fspath(path_or_name), None
    if not isinstance(path_or_name, str):
        raise TypeError(f"path_or_name must be a file path or a series name, got {type(path_or_name).__name__}")
    key = path_or_name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _ALIASES.get(key, key)
    if key in PACKAGED_SERIES and not os.path.exists(path_or_name):
        p = _packaged_path(key)
        if p is None:
            raise ModuleNotFoundError(f"the series {key!r} ships with the aeon and sktime wheels; {INSTALL_HINT}")
        return p, key
    if not os.path.exists(path_or_name) and not os.path.splitext(path_or_name)[1] and os.sep not in path_or_name:
        raise ValueError(f"path_or_name: no file and no packaged series {path_or_name!r}; "
                         f"packaged series: {sorted(PACKAGED_SERIES)}")
    return path_or_name, None


def _is_row_number(cells: list[str]) -> bool:
    if not all(re.fullmatch(r"\d+", c) for c in cells):
        return False
    v = np.array([int(c) for c in cells])
    return bool((v == np.arange(len(v))).all() or (v == np.arange(1, len(v) + 1)).all())


def _time_column(t: Table, date_column) -> tuple[int | None, np.ndarray | None, str | None]:
    """``(column position, index, kind)`` of the time column (all None: no time column)."""
    if date_column is False:
        return None, None, None
    if date_column is not None:
        if not isinstance(date_column, str):
            raise TypeError(f"date_column must be a column name, False or None, got {date_column!r}")
        j = t.column(date_column, "date column")
        cells = t.cells(j)
        idx, kind, bad = parse_dates(cells, allow_years=True)
        if idx is None and all(re.fullmatch(r"-?\d+", c) for c in cells):
            return j, np.array([int(c) for c in cells], dtype=np.int64), "step"
        if idx is None:
            shown = f"like the first ({cells[0]!r})" if kind else f"({DATE_FORMATS_HELP})"
            raise t.error(bad, f"column {date_column!r}: {cells[bad]!r} is not a date {shown}")
        return j, idx, kind
    for j in range(len(t.names)):
        cells = t.cells(j)
        idx, kind, bad = parse_dates(cells)
        if idx is not None:
            return j, idx, kind
        if kind is not None:   # the column starts with dates, then one cell is not
            raise t.error(bad, f"column {t.names[j]!r}: {cells[bad]!r} is not a date like the first ({cells[0]!r})")
    for j, n in enumerate(t.names):
        if _TIME_NAMES.match(n):
            cells = t.cells(j)
            if all(re.fullmatch(r"[12]\d{3}", c) for c in cells) and not _is_row_number(cells):
                idx, kind, _ = parse_dates(cells, allow_years=True)
                return j, idx, kind
    for j, n in enumerate(t.names):
        cells = t.cells(j)
        if _STEP_NAMES.match(n) and all(re.fullmatch(r"-?\d+", c) for c in cells):
            return j, np.array([int(c) for c in cells], dtype=np.int64), "step"
    return None, None, None


def _check_order(t: Table, index: np.ndarray) -> None:
    if index.size < 2:
        return
    steps = np.diff(index)
    zero = np.flatnonzero(steps == steps.dtype.type(0))
    back = np.flatnonzero(steps < steps.dtype.type(0))
    if zero.size:
        i = int(zero[0])
        raise t.error(i + 1, f"duplicate date {index[i]} (also at {t.where(i)}); each step must appear once")
    if back.size:
        i = int(back[0])
        raise t.error(i + 1, f"date {index[i + 1]} comes after {index[i]} ({t.where(i)}): "
                             "the dates are not in increasing order; sort the file by date")


def _values(t: Table, cols: list[int], user_chose: bool) -> np.ndarray:
    out = np.empty((len(t.rows), len(cols)), dtype=np.float64)  # (T, C)
    for c, j in enumerate(cols):
        for i, row in enumerate(t.rows):
            cell = row[j] if j < len(row) else ""
            try:
                out[i, c] = parse_float(cell)
            except ValueError:
                hint = "" if user_chose else " (pass column= to choose the value columns)"
                raise t.error(i, f"column {t.names[j]!r}: {cell!r} is not a number{hint}") from None
        if np.isnan(out[:, c]).all():
            raise t.error(None, f"column {t.names[j]!r} has no values (every cell is missing)")
    return out


def load_series(path_or_name, column=None, date_column=None, *, missing: str = "keep") -> TimeSeries:
    """A time series from a CSV or Parquet file, or a packaged series by name (case-insensitive,
    see ``list_series()``: airline, lynx, shampoo_sales, uschange, solar, longley, pbs,
    seatbelts). The rules for the time column, values and dates are in the module docstring.

    Args:
        path_or_name: a ``.csv``/``.tsv``/``.txt`` file (``,`` ``;`` or tab delimited, header
            row first), a ``.parquet`` file (needs pyarrow), or a packaged series name.
        column: a value column name, a list of names, or None for every non-time column.
        date_column: the time column's name, ``False`` for none, or None to detect it.
        missing: ``'keep'`` (NaN, reported in ``issues``) or ``'raise'``.

    Returns:
        ``TimeSeries`` with ``values`` ``(T,)`` for one column or ``(T, C)``, ``index``,
        ``freq`` and ``seasonal_period`` (when the dates are regular), ``issues``.

    Raises:
        FileFormatError: naming the file, the line and the column: ragged rows, non-numeric
            cells, an unknown column, an empty file, dates that do not parse, duplicate or
            unsorted dates, missing values with ``missing='raise'``.

    Example::

        >>> s = load_series('airline')   # with aeon or sktime installed
        >>> s.values.shape, s.freq, s.seasonal_period, str(s.index[0])
        ((144,), 'monthly', 12, '1949-01')
    """
    check_choice("missing", missing, ("keep", "raise"))
    path, packaged = _resolve(path_or_name)
    if packaged is not None and column is None and date_column is None:
        _, date_column, column, _ = PACKAGED_SERIES[packaged]
    t = read_table(path)
    tj, index, kind = _time_column(t, date_column)
    issues = []
    if isinstance(column, str):
        column = [column]
    if column is not None:
        if not column or not all(isinstance(c, str) for c in column):
            raise TypeError(f"column must be a column name or a non-empty list of names, got {column!r}")
        cols = [t.column(c) for c in column]
        if tj in cols:
            raise ValueError(f"column: {t.names[tj]!r} is the time column, not a value column")
    else:
        cols = []
        for j, n in enumerate(t.names):
            if j == tj:
                continue
            if n == "" and _is_row_number(t.cells(j)):
                issues.append(f"the unnamed column {j + 1} holds row numbers 0/1..T and was dropped")
                continue
            cols.append(j)
        if not cols:
            raise t.error(None, f"no value column besides the time column {t.names[tj]!r}")
    values = _values(t, cols, column is not None)
    lines = np.array(t.lines if t.lines is not None else range(1, len(t.rows) + 1), dtype=np.int64)
    freq = period = None
    if index is not None:
        _check_order(t, index)
        if kind != "step":
            freq, period, odd = infer_frequency(index)
            if odd is not None:
                issues.append(f"{odd[1]}, at {t.where(odd[0] + 1)}; freq is None")
    nan_t, nan_c = np.nonzero(np.isnan(values))
    if nan_t.size:
        where = ", ".join(f"{t.where(int(i))} column {t.names[cols[c]]!r}" for i, c in zip(nan_t[:5], nan_c[:5]))
        more = f" and {nan_t.size - 5} more" if nan_t.size > 5 else ""
        if missing == "raise":
            raise t.error(int(nan_t[0]), f"{nan_t.size} missing value(s): {where}{more} (missing='raise')")
        issues.append(f"{nan_t.size} missing value(s), kept as NaN: {where}{more}")
    name = packaged or os.path.splitext(os.path.basename(path))[0]
    return TimeSeries(
        values=values[:, 0] if values.shape[1] == 1 else values,
        index=index, name=name, columns=tuple(t.names[j] for j in cols), freq=freq, seasonal_period=period,
        time_column=None if tj is None else t.names[tj], path=path, issues=tuple(issues), lines=lines,
    )

