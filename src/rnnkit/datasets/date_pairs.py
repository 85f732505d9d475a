"""A real seq2seq source: calendar dates written in one format and rewritten in another.

Days are drawn uniformly from a real (proleptic Gregorian) calendar with ``datetime``, so every
date exists (no 30 February) and every weekday is the right one. Month and weekday names are
English, from fixed tables (not the machine's locale).

=================  ==============================
format             example (2021-03-03)
=================  ==============================
``iso``            2021-03-03
``long``           3 March 2021
``us_long``        March 3, 2021
``abbrev``         3 Mar 2021
``weekday_long``   Wednesday, 3 March 2021
``weekday_short``  Wed 03/03/21  (month/day/year)
``us_short``       03/03/21      (month/day/year)
``eu_short``       03.03.2021    (day.month.year)
``compact``        20210303
=================  ==============================
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field

from rnnkit._checks import check_int
from rnnkit.datasets._base import resolve_rng

__all__ = ["TextPairs", "date_pairs", "format_date", "DATE_FORMATS"]

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DATE_FORMATS = {
    "iso": lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}",
    "long": lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",
    "us_long": lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",
    "abbrev": lambda d: f"{d.day} {_MONTHS[d.month - 1][:3]} {d.year}",
    "weekday_long": lambda d: f"{_DAYS[d.weekday()]}, {d.day} {_MONTHS[d.month - 1]} {d.year}",
    "weekday_short": lambda d: f"{_DAYS[d.weekday()][:3]} {d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    "us_short": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",
    "eu_short": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year:04d}",
    "compact": lambda d: f"{d.year:04d}{d.month:02d}{d.day:02d}",
}


@dataclass(frozen=True)
class TextPairs:
    """Pairs of strings for sequence-to-sequence learning.

    Attributes:
        sources: the input strings.
        targets: the output strings, ``targets[i]`` the rewriting of ``sources[i]``.
        description: what the pairs are and what a good model reaches.
        info: facts (formats used, date range, the dates themselves).
    """

    sources: list
    targets: list
    description: str
    info: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.sources)

    @property
    def pairs(self) -> list[tuple[str, str]]:
        return list(zip(self.sources, self.targets))


def format_date(d: _dt.date, fmt: str) -> str:
    """``d`` written in the format ``fmt`` (a key of ``DATE_FORMATS``).

    >>> import datetime
    >>> format_date(datetime.date(2021, 3, 3), 'weekday_long')
    'Wednesday, 3 March 2021'
    """
    if fmt not in DATE_FORMATS:
        raise ValueError(f"fmt must be one of {sorted(DATE_FORMATS)}, got {fmt!r}")
    return DATE_FORMATS[fmt](d)


def _as_date(name: str, v) -> _dt.date:
    if isinstance(v, _dt.datetime) or not isinstance(v, _dt.date):
        raise TypeError(f"{name} must be a datetime.date, got {type(v).__name__} {v!r}")
    return v


def date_pairs(
    n: int = 10_000,
    seed=None,
    *,
    rng=None,
    source_formats=None,
    target_format: str = "iso",
    start: _dt.date = _dt.date(1969, 1, 1),
    end: _dt.date = _dt.date(2068, 12, 31),
) -> TextPairs:
    """``n`` dates, each written in a source format drawn at random and in ``target_format``.

    Args:
        n: number of pairs, ``>= 1``.
        seed, rng: randomness (an int seed, or a ``numpy.random.Generator``).
        source_formats: the formats to draw sources from (keys of ``DATE_FORMATS``); default
            every format but ``target_format``.
        target_format: the format of the targets.
        start, end: the range of days (inclusive). The default is the century in which the
            two-digit years of ``us_short`` and ``weekday_short`` read back as POSIX
            ``strptime('%y')`` reads them (69-99: 1969-1999, 00-68: 2000-2068); a longer range
            makes those formats ambiguous.

    Returns:
        ``TextPairs`` with ``info['dates']`` the ``datetime.date`` of each pair and
        ``info['source_format']`` the format of each source.

    Example::

        >>> p = date_pairs(3, seed=0, source_formats=['long'])
        >>> len(p), all(len(t) == 10 for t in p.targets)
        (3, True)
    """
    n = check_int("n", n, 1)
    start, end = _as_date("start", start), _as_date("end", end)
    if end < start:
        raise ValueError(f"end must be on or after start, got start={start} end={end}")
    if target_format not in DATE_FORMATS:
        raise ValueError(f"target_format must be one of {sorted(DATE_FORMATS)}, got {target_format!r}")
    if source_formats is None:
        source_formats = [f for f in DATE_FORMATS if f != target_format]
    if isinstance(source_formats, str):
        source_formats = [source_formats]
    source_formats = list(source_formats)
    if not source_formats or any(f not in DATE_FORMATS for f in source_formats):
        raise ValueError(f"source_formats must be keys of DATE_FORMATS {sorted(DATE_FORMATS)}, got {source_formats!r}")
    gen = resolve_rng(seed, rng)
    days = gen.integers(start.toordinal(), end.toordinal() + 1, size=n)  # (n,)
    which = gen.integers(0, len(source_formats), size=n)  # (n,)
    dates = [_dt.date.fromordinal(int(o)) for o in days]
    fmts = [source_formats[int(k)] for k in which]
    sources = [DATE_FORMATS[f](d) for f, d in zip(fmts, dates)]
    targets = [DATE_FORMATS[target_format](d) for d in dates]
    desc = (f"date_pairs: seq2seq, {n} real calendar dates between {start} and {end} written in "
            f"{len(source_formats)} format(s) ({', '.join(source_formats)}) -> {target_format}. "
            "The mapping is exact (100% sequence accuracy is reachable): it needs month names mapped to "
            "numbers, fields reordered and two-digit years expanded.")
    info = {"dates": dates, "source_format": fmts, "source_formats": source_formats, "target_format": target_format,
            "start": start, "end": end}
    return TextPairs(sources=sources, targets=targets, description=desc, info=info)
