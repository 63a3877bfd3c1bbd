"""Column kinds: what each column of the table is (a measurement, a category, a date, an identifier...)
and which columns enter the analysis as variables."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from causalpilot.tools.errors import InputError
from causalpilot.tools.profile.dates import reads_as_dates
from causalpilot.tools.profile.domains import DOMAIN_NAME
from causalpilot.tools.profile.model import ColumnProfile, Finding
from causalpilot.tools.profile.parsing import numbers_with_units, ordinal_order

COLUMN_KINDS = ("continuous", "discrete", "binary", "categorical", "datetime", "id", "constant", "text", "empty")
MAX_CATEGORIES = 50  # a text column with more levels than this is treated as an identifier / free text
# integer codes with 6 to this many levels are read like the rest of the data: discrete among mostly
# discrete columns (a 6-level code read as continuous sent bnlearn's child network to PC with Fisher-z,
# held-out copilot F1 about 0.45 against 1.00 for GES with BDeu), numeric otherwise (counts of 0-9 as
# cells left GES with BDeu no edge at all on 2000 rows)
MAX_INTEGER_LEVELS = 10
# why a column of each kind cannot be a variable
_UNUSABLE = {
    "empty": "every value is missing",
    "constant": "it is constant, so it carries no information about causes",
    "id": "it looks like an identifier, not a variable",
    "text": "free text / too many categories to treat as a variable",
    "datetime": "a date/time column is a time index, not a variable",
}


def classify_column(s: pd.Series, n: int) -> tuple[str, str]:
    """(kind, evidence in words) for one column; the kind is one of :data:`COLUMN_KINDS`.

    ``n`` is the table's row count (a column of distinct consecutive integers is a row index only
    when n >= 20). Numbers: two values binary, integers with fewer than 6 values discrete, otherwise
    continuous. Text: numeric text and numbers with units are read as numbers, then dates, familiar
    ordered scales (discrete), two labels (binary), up to :data:`MAX_CATEGORIES` labels (categorical);
    more is an identifier or free text.
    """
    nonnull = s.dropna()
    if len(nonnull) == 0:
        return "empty", "every value is missing"
    nunique = int(nonnull.nunique())
    if nunique == 1:
        return "constant", f"a single value ({short(nonnull.iloc[0])})"
    if pd.api.types.is_bool_dtype(s):
        return "binary", "boolean values"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "datetime", "datetime dtype"
    if pd.api.types.is_numeric_dtype(s):
        finite = _finite_values(nonnull)
        if nunique == 2:
            return "binary", f"two values ({short(np.unique(finite)[:2].tolist())})"
        integral = _all_whole(finite)
        if integral and nunique < 6:
            return "discrete", f"integers with {nunique} distinct values (< 6)"
        if integral and nunique == len(nonnull) and n >= 20 and _is_consecutive(finite):
            return "id", "distinct consecutive integers, one per row (a row index)"
        return "continuous", f"numeric with {nunique} distinct values"
    # text-like
    as_num = pd.to_numeric(nonnull, errors="coerce")
    frac_num = float(as_num.notna().mean())
    if frac_num >= 0.95 and nunique > 2:
        return "continuous", f"numeric text ({frac_num:.0%} of values parse as numbers)"
    units = numbers_with_units(nonnull)
    if units is not None:
        kind, ev = classify_column(units, n)
        return kind, f"{ev}, written with units or thousands separators (read as numbers)"
    how = reads_as_dates(nonnull)
    if how is not None:
        return "datetime", f"values parse as dates/times ({how})"
    order = ordinal_order(nonnull)
    if order is not None and nunique >= 3:
        return "discrete", f"ordered labels ({' < '.join(order)})"
    if nunique == 2:
        return "binary", f"two labels ({short(sorted(map(str, nonnull.unique()))[:2])})"
    if nunique > MAX_CATEGORIES or nunique > 0.5 * len(nonnull):
        return "id" if nunique > 0.9 * len(nonnull) else "text", f"text with {nunique} distinct values (too many categories)"
    return "categorical", f"text with {nunique} categories"


def profile_columns(df: pd.DataFrame) -> list[ColumnProfile]:
    """One :class:`ColumnProfile` per column of ``df``, in order (see :func:`classify_column`), with
    integer codes of 6 to :data:`MAX_INTEGER_LEVELS` levels read like the rest of the data."""
    columns = []
    for c in df.columns:
        kind, ev = classify_column(df[c], len(df))
        columns.append(ColumnProfile(c, kind, int(df[c].nunique(dropna=True)), round(float(df[c].isna().mean()), 4), ev,
                                     integer=whole_numbers(df[c])))
    _read_codes_like_their_data(columns)
    return columns


def whole_numbers(s: pd.Series) -> bool:
    """Whether a numeric, non-boolean column holds only whole numbers (counts, codes); False for text."""
    numeric = pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
    return numeric and _all_whole(_finite_values(s))


def choose_variables(columns: list[ColumnProfile], roles: tuple[str | None, ...], keep: list[str],
                     date_stamp: tuple[str, str] | None = None) -> tuple[list[str], list[dict]]:
    """(the columns that enter the analysis, in order; the repairs that set the others aside).

    ``roles`` (the time and domain indices) are not variables. Empty, constant, identifier, free-text
    and date columns are set aside, and so is a column with 50% or more missing values; each such
    column is marked ``used = False`` and recorded. ``date_stamp`` is (column, why) for a date column
    whose order showed no lagged dependence, so the repair can say why it is not a time index.

    Raises:
        InputError: a column in ``keep`` (the treatment, the outcome) would be set aside.
    """
    variables: list[str] = []
    repairs: list[dict] = []
    for col in columns:
        c = col.name
        if c in roles:
            col.used = False
            continue
        drop_reason = None
        if col.kind in _UNUSABLE:
            drop_reason = _UNUSABLE[col.kind]
            if date_stamp and c == date_stamp[0]:
                drop_reason = (f"a date stamp, not a variable; ordered by it, {date_stamp[1]}, so the rows are treated "
                               f"as independent records (pass --time-index {c} to analyse them as a time series)")
        elif col.missing_fraction >= 0.5:
            drop_reason = f"{col.missing_fraction:.0%} of its values are missing (>= 50%)"
        if drop_reason and c in keep:
            raise InputError(f"Column '{c}' cannot be analysed: {drop_reason}.")
        if drop_reason:
            col.used = False
            repairs.append({"column": c, "repair": "dropped", "reason": drop_reason})
        else:
            variables.append(c)
    return variables, repairs


def data_type_finding(cols: list[ColumnProfile]) -> Finding:
    """The 'data_type' finding: 'continuous', 'discrete' or 'mixed', from the variables' kinds."""
    kinds = [c.kind for c in cols]
    n_cont = kinds.count("continuous")
    n_disc = len(kinds) - n_cont
    value = "continuous" if n_disc == 0 else "discrete" if n_cont == 0 else "mixed"
    return Finding("data_type", value, {"continuous": n_cont, "discrete_or_categorical": n_disc},
                   f"{n_cont} continuous and {n_disc} discrete/categorical variable(s): {value} data")


def short(v: Any) -> str:
    """``v`` as text of at most 40 characters (cut with '...')."""
    t = str(v)
    return t if len(t) <= 40 else t[:37] + "..."


def _finite_values(s: pd.Series) -> np.ndarray:
    vals = s.dropna().to_numpy(dtype=float)
    return vals[np.isfinite(vals)]


def _all_whole(vals: np.ndarray) -> bool:
    return len(vals) > 0 and bool(np.all(np.equal(np.mod(vals, 1), 0)))


def _is_consecutive(vals: np.ndarray) -> bool:
    v = np.sort(vals)
    return bool(np.all(np.diff(v) == 1))


def _read_codes_like_their_data(columns: list[ColumnProfile]) -> None:
    """Integer columns with 6 to MAX_INTEGER_LEVELS levels become discrete when most of the other
    variables are discrete (a category code among categories) or when the name marks a domain index
    (site, batch, regime); otherwise they stay numeric (a count or a rating among measurements)."""
    codes = [c for c in columns if c.kind == "continuous" and c.integer and 6 <= c.n_unique <= MAX_INTEGER_LEVELS]
    others = [c for c in columns if c not in codes and c.kind in ("continuous", "discrete", "binary", "categorical")]
    mostly_discrete = bool(others) and sum(c.kind != "continuous" for c in others) > len(others) / 2
    for c in codes:
        if mostly_discrete or DOMAIN_NAME.match(c.name):
            c.kind = "discrete"
            c.evidence = (f"integers with {c.n_unique} distinct values, " + ("among mostly discrete columns"
                          if mostly_discrete else "named as a domain index") + ": read as categories")
