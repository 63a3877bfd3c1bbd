"""Reading a column of dates and times one consistent way."""

from __future__ import annotations

import warnings

import pandas as pd

ISO_READING = "year-month-day, ISO 8601"


def reads_as_dates(s: pd.Series) -> str | None:
    """How the column's values read as dates/times (see :func:`parse_times`), or None if they do not.

    Judged on the first 200 values: every one must contain a date-like group (digits, a separator
    among - / : ., digits) and more than 95% must parse.
    """
    sample = s.astype(str).head(200)
    if not sample.str.contains(r"\d{1,4}[-/:.]\d{1,2}", regex=True).all():
        return None
    parsed, how = parse_times(sample)
    return how if parsed.notna().mean() > 0.95 else None


def parse_times(s: pd.Series) -> tuple[pd.Series, str]:
    """Dates and times read one consistent way: (timestamps, which reading).

    Element-by-element parsing reads 01/02/2023 month-first and 13/02/2023 day-first, which scrambles
    the time order of a day-first column. So whole-column readings are tried (one inferred format,
    month-first or day-first; year-first strings such as ISO 8601's 2023-01-31 are read year-month-day
    only) and the one that parses the most values wins; on a tie, the one whose sorted steps are the
    most regular (daily data read the wrong way round has gaps of a month). Mixed formats fall back to
    per-value parsing.

    Returns a datetime series on ``s``'s index (NaT where a value does not parse) and the reading's
    name ('month-first', 'day-first', :data:`ISO_READING` for year-first strings, 'per value',
    'datetime values' for a datetime column, or 'unparsed' when no reading works). Parsing is
    pandas' ``to_datetime``.
    """
    if pd.api.types.is_datetime64_any_dtype(s):
        return s, "datetime values"
    text = s.astype("string")
    readings = [("month-first", {}), ("day-first", {"dayfirst": True}), ("per value", {"format": "mixed"})]
    if text.dropna().str.match(r"^\s*\d{4}[-/.]").mean() > 0.5:  # year first: neither month- nor day-first
        readings = [(ISO_READING, {}), ("per value", {"format": "mixed"})]
    best: tuple | None = None
    for rank, (name, kw) in enumerate(readings):
        try:
            with warnings.catch_warnings():  # "could not infer format": the next reading is tried
                warnings.simplefilter("ignore")
                parsed = pd.to_datetime(text, errors="coerce", **kw)
        except (ValueError, TypeError, OverflowError):
            continue
        ok = parsed.dropna().sort_values()
        steps = int(ok.diff().dropna().nunique()) if len(ok) > 1 else 0
        key = (-int(parsed.notna().sum()), steps, rank)
        if best is None or key < best[0]:
            best = (key, parsed, name)
    if best is None:
        return pd.Series(pd.NaT, index=s.index), "unparsed"
    return best[1], best[2]
