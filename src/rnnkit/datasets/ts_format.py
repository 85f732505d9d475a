"""Reader of the UCR/UEA ``.ts`` time-series format (our own, written from the format's
specification in the sktime and aeon documentation).

A ``.ts`` file is three blocks::

    # comments (any number of lines starting with '#'; '%' lines are read as comments too)
    @problemName JapaneseVowels          header: '@key value', keys case-insensitive
    @timeStamps false                    booleans: true / false
    @missing false
    @univariate false
    @dimensions 12                       channels C per step
    @equalLength false
    @seriesLength 29                     (when equal length)
    @classLabel true 1 2 3 4 5 6 7 8 9   class labels follow 'true'; or @targetLabel true (regression)
    @data
    1.86,1.89,...:-0.20,-0.19,...:...:3  one case per line: C channels split by ':', values by ',',
                                         then the label (or target) after the last ':'

Missing values are ``?`` or ``NaN``. With ``@timeStamps true`` each value is
``(timestamp,value)``; all channels of a case must carry the same timestamps. Blank lines and
comment lines between cases are skipped. Header keys the format does not define are kept in
``header`` as strings; a repeated ``@problemName`` (or other free-text key) keeps its first
value, a repeated structural key (booleans, ``@dimensions``, ``@seriesLength``, ``@classLabel``)
is an error.
"""

from __future__ import annotations

import os
import re

import numpy as np

from rnnkit.datasets._files import check_file, file_error, parse_floats, read_lines
from rnnkit.datasets.sequence_data import SequenceData

__all__ = ["load_ts", "read_ts_header"]

_BOOL_KEYS = ("timestamps", "missing", "univariate", "equallength", "targetlabel")
_INT_KEYS = {"dimensions": 100_000, "serieslength": 100_000_000}   # key -> largest accepted value
_TS_MISSING = frozenset({"?", "nan"})
_TUPLE = re.compile(r"\(([^(),]*),([^()]*)\)")
_SPLIT_OUTSIDE_PARENS = re.compile(r":(?![^()]*\))")


def _parse_header_line(path: str, lineno: int, line: str, header: dict, class_labels: list) -> None:
    parts = line.split()
    key = parts[0][1:].lower()
    values = parts[1:]
    if not key:
        raise file_error(path, lineno, f"header line {line!r} has no key after '@'")
    if key in header:
        if key not in _BOOL_KEYS and key not in _INT_KEYS and key != "classlabel":
            return   # a repeated name or free-text key: the first one is kept
        raise file_error(path, lineno, f"header key @{parts[0][1:]} appears twice")
    if key in _BOOL_KEYS or key == "classlabel":
        if not values or values[0].lower() not in ("true", "false"):
            raise file_error(path, lineno, f"@{parts[0][1:]} must be followed by true or false, got {line!r}")
        flag = values[0].lower() == "true"
        if key != "classlabel" and len(values) != 1:
            raise file_error(path, lineno, f"@{parts[0][1:]} takes one value (true or false), got {line!r}")
        if key == "classlabel":
            labels = values[1:]
            if flag and not labels:
                raise file_error(path, lineno, "@classLabel true must be followed by the list of class labels")
            if not flag and labels:
                raise file_error(path, lineno, "@classLabel false must not be followed by labels")
            if len(set(labels)) != len(labels):
                raise file_error(path, lineno, f"@classLabel lists a label twice: {labels}")
            class_labels.extend(labels)
        header[key] = flag
    elif key in _INT_KEYS:
        if len(values) != 1 or not values[0].isdigit() or not 1 <= int(values[0]) <= _INT_KEYS[key]:
            raise file_error(
                path, lineno, f"@{parts[0][1:]} must be one integer in [1, {_INT_KEYS[key]}], got {line!r}"
            )
        header[key] = int(values[0])
    elif key == "problemname":
        if not values:
            raise file_error(path, lineno, "@problemName must be followed by a name")
        header[key] = " ".join(values)
    else:
        header[key] = " ".join(values)


def _check_header(path: str, header: dict, lineno: int) -> None:
    if header.get("classlabel") and header.get("targetlabel"):
        raise file_error(path, lineno, "the header says both @classLabel true and @targetLabel true")
    if header.get("univariate") and header.get("dimensions", 1) != 1:
        raise file_error(path, lineno, f"the header says @univariate true but @dimensions {header['dimensions']}")


def read_ts_header(path) -> tuple[dict, tuple | None, int]:
    """The header of a ``.ts`` file: ``(header, class_labels, line of @data)``.

    ``header`` maps the lower-case keys to their values (bool, int or str); ``class_labels``
    is the ``@classLabel`` list (str) or None. Only the lines up to ``@data`` are read.
    """
    p = check_file(path)
    header: dict = {}
    labels: list = []
    seen_text = False
    for lineno, line in read_lines(p):
        s = line.strip()
        seen_text = seen_text or bool(s)
        if not s or s[0] in "#%":
            continue
        if not s.startswith("@"):
            raise file_error(
                p, lineno, f"expected a header line '@key value' or a '#' comment before @data, got {s[:60]!r}"
            )
        if s.split()[0].lower() == "@data":
            if len(s.split()) != 1:
                raise file_error(p, lineno, f"@data must be alone on its line, got {s[:60]!r}")
            _check_header(p, header, lineno)
            return header, (tuple(labels) if header.get("classlabel") else None), lineno
        _parse_header_line(p, lineno, s, header, labels)
    if not seen_text:
        raise file_error(p, None, "the file is empty (only blank lines)")
    raise file_error(p, None, "no @data line: the header never ends (is this a .ts file?)")


def _parse_channel(path: str, lineno: int, c: int, text: str, timestamps: bool):
    """One channel's values (and timestamps) from its text."""
    if timestamps:
        pairs = _TUPLE.findall(text)
        rebuilt = re.sub(r"\s", "", ",".join(f"({t},{v})" for t, v in pairs))
        if not pairs or rebuilt != re.sub(r"\s", "", text):
            raise file_error(
                path, lineno, f"channel {c + 1}: expected '(timestamp,value)' pairs separated by ',', got {text[:60]!r}"
            )
        stamps = [t.strip() for t, _ in pairs]
        tokens = [v for _, v in pairs]
    else:
        stamps = None
        tokens = text.split(",")
        if any(not t.strip() for t in tokens):
            raise file_error(path, lineno, f"channel {c + 1}: an empty value (two commas in a row or a trailing comma)")
    try:
        values = parse_floats(tokens, _TS_MISSING)
    except ValueError as err:
        raise file_error(path, lineno, f"channel {c + 1}: {err}") from None
    return values, stamps


def _stamps_array(path: str, lineno: int, stamps: list[str]) -> np.ndarray:
    try:
        return np.array([float(s) for s in stamps], dtype=np.float64)
    except ValueError:
        pass
    try:
        return np.array([np.datetime64(s) for s in stamps])
    except ValueError:
        raise file_error(path, lineno, f"timestamps must be numbers or ISO dates/times, got {stamps[:3]}") from None


def _parse_case(path, lineno, line, header, class_labels, n_channels):
    """``(values (T, C), label or None, timestamps or None)`` of one data line."""
    stamped = bool(header.get("timestamps"))
    parts = _SPLIT_OUTSIDE_PARENS.split(line) if stamped else line.split(":")
    labelled = bool(header.get("classlabel") or header.get("targetlabel"))
    label = None
    if labelled:
        if len(parts) < 2:
            raise file_error(path, lineno, "expected the channels then ':' and the label, found no ':'")
        label = parts.pop().strip()
        if not label:
            raise file_error(path, lineno, "the label after the last ':' is empty")
        if header.get("classlabel") and label not in class_labels:
            raise file_error(path, lineno, f"label {label!r} is not one of the @classLabel labels {list(class_labels)}")
        if header.get("targetlabel"):
            try:
                target = float(label)
            except ValueError:
                raise file_error(path, lineno, f"the regression target {label!r} is not a number") from None
            if not np.isfinite(target):
                raise file_error(path, lineno, f"the regression target {label!r} is not finite")
            label = target
    if n_channels is not None and len(parts) != n_channels:
        want = "label" if labelled else "no label"
        raise file_error(path, lineno, f"expected {n_channels} channel(s) ({want}), found {len(parts)} (split by ':')")
    channels, stamps = [], None
    for c, text in enumerate(parts):
        values, st = _parse_channel(path, lineno, c, text, stamped)
        if channels and values.shape[0] != channels[0].shape[0]:
            raise file_error(
                path, lineno, f"channel {c + 1} has {values.shape[0]} values but channel 1 has {channels[0].shape[0]}: "
                "all channels of a case must have the same length",
            )
        if stamped:
            if stamps is not None and st != stamps:
                raise file_error(path, lineno, f"channel {c + 1} has other timestamps than channel 1")
            stamps = st
        channels.append(values)
    X = np.stack(channels, axis=1)  # (T, C)
    return X, label, (_stamps_array(path, lineno, stamps) if stamped else None)


def load_ts(path) -> SequenceData:
    """Read a UCR/UEA ``.ts`` file (see the module docstring for the format).

    Args:
        path: the ``.ts`` file.

    Returns:
        ``SequenceData``: ``X`` a list of ``(T_i, C)`` float64 arrays (missing values NaN);
        ``y`` the labels as str (classification, each checked against ``@classLabel``) or the
        float64 targets (``@targetLabel true``), None when the file has neither;
        ``class_labels`` the ``@classLabel`` list in the file's order; ``header`` the header
        keys in lower case (``'problemname'``, ``'univariate'``, ``'dimensions'``, ...).

    Raises:
        FileFormatError: naming the file and the line: an empty file, no ``@data``, a bad
            header value, a case with the wrong number of channels, channels of different
            lengths in one case, an empty or non-numeric value, a label not declared in
            ``@classLabel``, a non-numeric target, a length other than ``@seriesLength`` or
            unequal lengths under ``@equalLength true``, no cases after ``@data``.
        FileNotFoundError, IsADirectoryError, PermissionError: the path is not a readable file.
    """
    p = check_file(path)
    header, class_labels, data_line = read_ts_header(p)
    n_channels = 1 if header.get("univariate") else header.get("dimensions")
    X, y, stamps = [], [], []
    first_line = None
    for lineno, line in read_lines(p):
        if lineno <= data_line:
            continue
        s = line.strip()
        if not s or s[0] in "#%":
            continue
        x, label, st = _parse_case(p, lineno, s, header, class_labels, n_channels)
        if n_channels is None:
            n_channels, first_line = x.shape[1], lineno
        if "serieslength" in header and header.get("equallength", True) and x.shape[0] != header["serieslength"]:
            raise file_error(p, lineno, f"@seriesLength {header['serieslength']} but this case has {x.shape[0]} steps")
        if header.get("equallength") and X and x.shape[0] != X[0].shape[0]:
            raise file_error(
                p, lineno, f"@equalLength true but this case has {x.shape[0]} steps and the first {X[0].shape[0]}"
            )
        X.append(x)
        y.append(label)
        stamps.append(st)
    if not X:
        raise file_error(p, data_line, "@data is followed by no cases")
    if header.get("dimensions") is None and first_line is not None:
        header = {**header, "dimensions": n_channels}
    if header.get("classlabel"):
        task, y_arr = "classification", np.array(y, dtype=str)
    elif header.get("targetlabel"):
        task, y_arr, class_labels = "regression", np.array(y, dtype=np.float64), None
    else:
        task, y_arr = None, None
    name = header.get("problemname") or os.path.splitext(os.path.basename(p))[0]
    return SequenceData(
        X=X, y=y_arr, task=task, class_labels=class_labels, name=name, path=p, header=header,
        timestamps=stamps if header.get("timestamps") else None,
    )
