"""Dates in a time column, and the frequency (and seasonal period) of a regular index.

Accepted cell formats (one format for the whole column):

============  ==========================================  ==================
kind          examples                                    index dtype
============  ==========================================  ==================
year          ``1821`` (only when years are allowed)      ``datetime64[Y]``
quarter       ``1970 Q1``, ``1970Q1``, ``1970-Q1``        ``datetime64[M]``
month         ``1949-01``, ``1949/01``, ``1991 Jul``,     ``datetime64[M]``
              ``Jul 1991``, ``1990M01``
date          ``1969-01-31``, ``1969/01/31``              ``datetime64[D]``
datetime      ``2021-05-01 00:30:00``, ``...T00:30``,     ``datetime64[s]``
              with a UTC offset (converted to UTC)        (``[ms]``/``[us]``)
============  ==========================================  ==================
"""

from __future__ import annotations

import datetime as _dt
import re
from collections import Counter

import numpy as np

__all__ = ["parse_dates", "infer_frequency", "DATE_FORMATS_HELP"]

DATE_FORMATS_HELP = "years (1821), quarters (1970 Q1), months (1949-01, 1991 Jul), ISO dates or date-times"

_FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september",
                "october", "november", "december")
_MONTH_NAMES = {**{m: i + 1 for i, m in enumerate(_FULL_MONTHS)}, **{m[:3]: i + 1 for i, m in enumerate(_FULL_MONTHS)},
                "sept": 9}
_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = [re.compile(r"^(?P<y>\d{4})[ -]?Q(?P<q>[1-4])$", re.I), re.compile(r"^Q(?P<q>[1-4])[ -](?P<y>\d{4})$", re.I)]
_MONTH = [
    re.compile(r"^(?P<y>\d{4})[-/](?P<m>\d{1,2})$"),
    re.compile(r"^(?P<y>\d{4})M(?P<m>\d{1,2})$", re.I),
    re.compile(r"^(?P<y>\d{4})[ -](?P<name>[A-Za-z]{3,9})$"),
    re.compile(r"^(?P<name>[A-Za-z]{3,9})[ -](?P<y>\d{4})$"),
]
_SLASH_DATE = re.compile(r"^(\d{4})/(\d{1,2})/(\d{1,2})(.*)$")


def _month_number(y: int, m: int) -> int | None:
    return (y - 1970) * 12 + (m - 1) if 1 <= m <= 12 else None


def _parse_month(s: str) -> int | None:
    for pat in _MONTH:
        g = pat.match(s)
        if g:
            m = _MONTH_NAMES.get(g["name"].lower()) if "name" in g.groupdict() else int(g["m"])
            return None if m is None else _month_number(int(g["y"]), m)
    return None


def _parse_quarter(s: str) -> int | None:
    for pat in _QUARTER:
        g = pat.match(s)
        if g:
            return _month_number(int(g["y"]), 3 * int(g["q"]) - 2)
    return None


def _parse_datetime(s: str) -> _dt.datetime | None:
    g = _SLASH_DATE.match(s)
    if g:
        s = f"{int(g[1]):04d}-{int(g[2]):02d}-{int(g[3]):02d}{g[4]}"
    if not re.match(r"^\d{4}-\d{2}-\d{2}", s):
        return None
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    try:
        t = _dt.datetime.fromisoformat(s)
    except ValueError:
        return None
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc).replace(tzinfo=None)
    return t


def _kind_of(s: str, allow_years: bool) -> str | None:
    if allow_years and _YEAR.match(s):
        return "year"
    if _parse_quarter(s) is not None:
        return "quarter"
    if _parse_month(s) is not None:
        return "month"
    t = _parse_datetime(s)
    if t is None:
        return None
    return "date" if len(s) <= 10 else "datetime"


def parse_dates(cells: list[str], allow_years: bool = False) -> tuple[np.ndarray | None, str | None, int | None]:
    """``(index, kind, None)`` when every cell is a date of the first cell's kind, else
    ``(None, kind, i)`` with ``i`` the first cell that is not (``kind`` None: the first cell
    itself is not a date)."""
    if not cells:
        return None, None, 0
    kind = _kind_of(cells[0], allow_years)
    if kind is None:
        return None, None, 0
    if kind in ("year", "month", "quarter"):
        out = np.empty(len(cells), dtype=np.int64)
        for i, s in enumerate(cells):
            if kind == "year":
                v = int(s) - 1970 if _YEAR.match(s) else None
            else:
                v = _parse_quarter(s) if kind == "quarter" else _parse_month(s)
            if v is None:
                return None, kind, i
            out[i] = v
        return out.astype("datetime64[Y]" if kind == "year" else "datetime64[M]"), kind, None
    stamps = []
    for i, s in enumerate(cells):
        t = _parse_datetime(s)
        if t is None or (kind == "date") != (len(s) <= 10):
            return None, kind, i
        stamps.append(t)
    if kind == "date":
        return np.array([t.date() for t in stamps], dtype="datetime64[D]"), kind, None
    micro = [t.microsecond for t in stamps]
    unit = "s" if not any(micro) else ("ms" if all(m % 1000 == 0 for m in micro) else "us")
    return np.array(stamps, dtype=f"datetime64[{unit}]"), kind, None


def _step_name(seconds: int) -> tuple[str, int | None]:
    """Name and daily seasonal period of a sub-daily step."""
    period = 86400 // seconds if 86400 % seconds == 0 and 86400 // seconds <= 1440 else None
    if seconds == 3600:
        return "hourly", 24
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h", period
    if seconds % 60 == 0:
        return ("minutely" if seconds == 60 else f"{seconds // 60}min"), period
    return f"{seconds}s", period


_NAMED = {  # (unit, step) -> (freq, seasonal period)
    ("M", 1): ("monthly", 12), ("M", 3): ("quarterly", 4), ("M", 12): ("yearly", 1), ("Y", 1): ("yearly", 1),
    ("D", 1): ("daily", 7), ("D", 7): ("weekly", 52),
}
_UNIT_WORDS = {"Y": "year", "M": "month", "D": "day", "s": "second", "us": "microsecond"}


def infer_frequency(index: np.ndarray) -> tuple[str | None, int | None, tuple[int, str] | None]:
    """``(freq, seasonal_period, irregularity)`` of a sorted datetime64 ``index`` without duplicates.

    A regular index gets a name (``'monthly'``, ``'quarterly'``, ``'yearly'``, ``'weekly'``,
    ``'daily'``, ``'hourly'``, ``'30min'``, ...) and the period of its calendar cycle (12, 4, 1,
    52, 7, 24, 48, ...; None for cycles longer than 1440 steps). Dates on the first of each
    month count as months, midnight date-times as days. An irregular index gives
    ``(None, None, (i, message))``: the first step ``index[i] -> index[i + 1]`` that differs from
    the most common step, and what it is.
    """
    if index.size < 2:
        return None, None, None
    unit = np.datetime_data(index.dtype)[0]
    idx = index
    if unit not in ("Y", "M"):
        us = index.astype("datetime64[us]")
        secs, days = us.astype("datetime64[s]"), us.astype("datetime64[D]")
        months = days.astype("datetime64[M]")
        if (us == months).all():
            idx, unit = months, "M"
        elif (us == days).all():
            idx, unit = days, "D"
        elif (us == secs).all():
            idx, unit = secs, "s"
        else:
            idx, unit = us, "us"
    steps = np.diff(idx.astype(np.int64))  # (T - 1,) in units of `unit`
    common, _ = Counter(steps.tolist()).most_common(1)[0]
    odd = np.flatnonzero(steps != common)
    if odd.size:
        i = int(odd[0])
        word = _UNIT_WORDS[unit]
        msg = (f"irregular dates: the step from {index[i]} to {index[i + 1]} is {int(steps[i])} {word}(s) where the "
               f"usual step is {common} {word}(s) ({odd.size} irregular step(s) in all)")
        return None, None, (i, msg)
    if (unit, common) in _NAMED:
        freq, period = _NAMED[(unit, common)]
    elif unit == "s":
        freq, period = _step_name(int(common))
    elif unit == "us":
        freq, period = f"{common / 1000:g}ms", None
    else:
        freq, period = f"{common}{unit}", None
    return freq, period, None
