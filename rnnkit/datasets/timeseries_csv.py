"""Read a user's own time series from a CSV file (pure stdlib + NumPy).

    times, values = read_csv_series("meter.csv", value_column="load_kw",
                                    time_column="timestamp", missing="interpolate")

- Columns are chosen by their header name; the first line must be the header.
- Timestamps are parsed with `datetime.fromisoformat` (ISO 8601: "2024-03-01",
  "2024-03-01 13:00", "2024-03-01T13:00:00+01:00", "...Z"), or with `time_format` (a
  `strptime` format such as "%d/%m/%Y %H:%M") when given. Times with a UTC offset are
  converted to UTC. Rows are then sorted by time; two rows with the same time are an error.
- Missing values (an empty cell or NA, N/A, NaN, null, ?) are handled as `missing` says:
  "refuse" (the default: a silent gap would shift every later window) raises naming the
  line; "drop" removes those rows; "interpolate" fills them linearly in time from the
  nearest values before and after (a gap at either end cannot be interpolated and raises).
- Every problem raises `rnnkit.datasets.DataError` with one line naming the file and, where
  there is one, the line number in the file (the header is line 1).
"""
from __future__ import annotations

import csv
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from rnnkit.datasets import DataError

MISSING_MARKS = frozenset({"", "na", "n/a", "nan", "null", "none", "?"})
MISSING_MODES = ("refuse", "drop", "interpolate")


def read_csv_series(path, value_column, time_column=None, *, missing="refuse",
                    time_format=None, delimiter=","):
    """Read one numeric column (and optionally a time column) of a CSV file.

    Inputs:
    - path: the CSV file, UTF-8 (a byte-order mark is fine), header on the first line.
    - value_column: header name of the numeric column to read.
    - time_column: header name of the time column, or None to keep the file's row order.
    - missing: "refuse" (default), "drop" or "interpolate" (module docstring).
    - time_format: a `strptime` format, or None for ISO 8601.

    Returns (times, values): times (L,) datetime64[s] sorted ascending (None when
    time_column is None), values (L,) float64 with no missing values.
    """
    if missing not in MISSING_MODES:
        raise DataError(f"missing must be one of {', '.join(MISSING_MODES)}; "
                        f"received missing={missing!r}")
    path = Path(path)
    rows, lines = _read_rows(path, value_column, time_column, delimiter)
    values = np.array([_number(path, line, value_column, cell)
                       for (cell, _), line in zip(rows, lines)], dtype="float64")
    times = None
    if time_column is not None:
        times = np.array([_timestamp(path, line, time_column, stamp, time_format)
                          for (_, stamp), line in zip(rows, lines)], dtype="datetime64[s]")
        order = np.argsort(times, kind="stable")
        times, values, lines = times[order], values[order], np.asarray(lines)[order]
        repeated = np.flatnonzero(times[1:] == times[:-1])
        if repeated.size:
            k = repeated[0]
            raise DataError(f"{path}: lines {lines[k]} and {lines[k + 1]} have the same time "
                            f"{times[k]} in column {time_column!r}")
    return _fill_missing(path, times, values, list(lines), value_column, missing)


def _read_rows(path, value_column, time_column, delimiter):
    """[(value cell, time cell or None)] and their line numbers, checked for shape."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as error:
        raise DataError(f"{path}: cannot open ({error.strerror or error})") from None
    with handle:
        reader = csv.reader(handle, delimiter=delimiter)
        try:
            header = next(reader, None)
            if header is None:
                raise DataError(f"{path}: the file is empty; expected a header line naming "
                                "the columns")
            header = [name.strip() for name in header]
            wanted = [value_column] + ([time_column] if time_column is not None else [])
            for name in wanted:
                if name not in header:
                    raise DataError(f"{path}: line 1: no column {name!r}; the header has "
                                    f"{', '.join(repr(h) for h in header)}")
            value_at = header.index(value_column)
            time_at = header.index(time_column) if time_column is not None else None
            rows, lines = [], []
            for row in reader:
                line = reader.line_num
                if not any(cell.strip() for cell in row):
                    continue                                   # blank line
                if len(row) != len(header):
                    raise DataError(f"{path}: line {line}: {len(row)} cells, the header has "
                                    f"{len(header)}")
                rows.append((row[value_at].strip(),
                             row[time_at].strip() if time_at is not None else None))
                lines.append(line)
        except UnicodeDecodeError as error:
            raise DataError(f"{path}: not UTF-8 text (byte {error.start} of a line could "
                            "not be decoded)") from None
        except csv.Error as error:
            raise DataError(f"{path}: line {reader.line_num}: malformed CSV ({error})") from None
    if not rows:
        raise DataError(f"{path}: no data rows after the header line")
    return rows, lines


def _number(path, line, column, cell):
    if cell.lower() in MISSING_MARKS:
        return np.nan
    try:
        value = float(cell)
    except ValueError:
        raise DataError(f"{path}: line {line}: column {column!r} holds {cell!r}, which is "
                        "not a number") from None
    if not np.isfinite(value):
        raise DataError(f"{path}: line {line}: column {column!r} holds {cell!r}; values "
                        "must be finite")
    return value


def _timestamp(path, line, column, cell, time_format):
    if cell.lower() in MISSING_MARKS:
        raise DataError(f"{path}: line {line}: column {column!r} has no time")
    try:
        stamp = (datetime.strptime(cell, time_format) if time_format
                 else datetime.fromisoformat(cell))
    except ValueError:
        expected = f"the format {time_format!r}" if time_format else "ISO 8601 (pass time_format=)"
        raise DataError(f"{path}: line {line}: column {column!r} holds {cell!r}, which is "
                        f"not a time in {expected}") from None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(stamp, "s")


def _fill_missing(path, times, values, lines, column, missing):
    """(times, values) with the gaps refused, dropped or interpolated."""
    gaps = np.isnan(values)
    if not gaps.any():
        return times, values
    first = lines[int(np.flatnonzero(gaps)[0])]
    if missing == "refuse":
        raise DataError(f"{path}: line {first}: column {column!r} has a missing value; pass "
                        "missing='drop' or missing='interpolate' to accept gaps")
    if missing == "drop":
        if gaps.all():
            raise DataError(f"{path}: column {column!r} has no values, only missing ones")
        return (None if times is None else times[~gaps]), values[~gaps]
    position = (times.astype("int64").astype("float64") if times is not None
                else np.arange(len(values), dtype="float64"))
    if gaps[0] or gaps[-1]:
        edge = lines[0] if gaps[0] else lines[-1]
        raise DataError(f"{path}: line {edge}: a missing value at the "
                        f"{'start' if gaps[0] else 'end'} of the series cannot be interpolated; "
                        "pass missing='drop'")
    filled = values.copy()
    filled[gaps] = np.interp(position[gaps], position[~gaps], values[~gaps])
    return times, filled
