"""Reading cell values as numbers: numbers written with units, ordered text scales, text categories.

A column of "$1,200.50" or "12.5%" is a column of numbers; "low / medium / high" is an ordered scale
coded in its own order (not alphabetically, which would put high < low < medium); any other text
category, yes/no included, is coded 0..k-1 in sorted order. Every such coding is recorded as a repair.
"""

from __future__ import annotations

import re

import pandas as pd

# text labels of familiar ordered scales: coded 0..k-1 in this order, not alphabetically (high < low < medium)
ORDINAL_SCALES = (
    ("very low", "low", "medium", "high", "very high"),
    ("very low", "low", "moderate", "high", "very high"),
    ("low", "mid", "high"),
    ("none", "mild", "moderate", "severe"),
    ("never", "rarely", "sometimes", "often", "always"),
    ("strongly disagree", "disagree", "neutral", "agree", "strongly agree"),
    ("strongly disagree", "disagree", "neither agree nor disagree", "agree", "strongly agree"),
    ("very dissatisfied", "dissatisfied", "neutral", "satisfied", "very satisfied"),
    ("very poor", "poor", "fair", "good", "very good", "excellent"),
    ("small", "medium", "large"),
    ("xs", "s", "m", "l", "xl", "xxl"),
)
# numbers written with a currency sign, a percent sign or thousands separators: "$1,200.50", "12.5%"
_UNIT_NUMBER = re.compile(r"^\s*[-+]?\s*[$€£¥]?\s*[-+]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?\s*(%|[$€£¥])?\s*$")


def ordinal_order(values: pd.Series) -> list[str] | None:
    """The labels in their scale's order when every label belongs to one familiar ordered scale.

    ``values``: any series; labels are compared stripped and case-insensitively against
    :data:`ORDINAL_SCALES` (the first scale that holds them all wins). Returns the distinct labels as
    written (stripped), lowest first, or None when fewer than two labels or no scale holds them all.
    """
    labels = {str(v).strip(): str(v).strip().lower() for v in values.dropna().unique()}
    if len(labels) < 2:
        return None
    for scale in ORDINAL_SCALES:
        if set(labels.values()) <= set(scale):
            return sorted(labels, key=lambda k: scale.index(labels[k]))
    return None


def numbers_with_units(s: pd.Series) -> pd.Series | None:
    """The values as numbers when (almost) all are numbers written with $, EUR, GBP, %, or 1,000 separators.

    At least one value must carry such a sign and at least 95% of the non-missing values must read as
    such a number. Returns a float series on ``s``'s index (the signs dropped, so "12.5%" is 12.5 and
    unreadable values NaN), or None when the column is not of this form.
    """
    text = s.dropna().astype(str)
    if not len(text) or not text.str.contains(r"[$€£¥%,]", regex=True).any():
        return None
    if text.str.match(_UNIT_NUMBER).mean() < 0.95:
        return None
    cleaned = s.astype("string").str.replace(r"[\s$€£¥%,]", "", regex=True)
    return pd.to_numeric(cleaned, errors="coerce").astype(float)


def encode_variables(df: pd.DataFrame, kinds: dict[str, str]) -> tuple[pd.DataFrame, list[dict]]:
    """The analysis variables as float columns, with the repairs that coding made.

    ``kinds`` maps each variable to encode (in order) to its column kind. Numbers with units are read
    as numbers; text categories (binary, discrete, categorical) are coded 0..k-1, ordered scales in
    their order and other labels sorted (the levels are kept in the repair, see
    :meth:`Profile.labels_of <causalpilot.tools.profile.model.Profile.labels_of>`); booleans become
    0/1; other values are read as numbers, and those that are not become NaN (recorded).
    Returns (frame of shape (n rows, len(kinds)) on ``df``'s index, repairs).
    """
    cols: dict[str, pd.Series] = {}  # one frame built at the end (inserting column by column fragments it)
    repairs: list[dict] = []
    for c, kind in kinds.items():
        s = df[c]
        text = not pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)
        units = numbers_with_units(s) if text else None
        if units is not None:
            cols[c] = units
            repairs.append({"column": c, "repair": "numbers_with_units",
                            "reason": "currency/percent signs and thousands separators removed to read the numbers"})
        elif kind in ("categorical", "binary", "discrete") and text:
            s = s.astype("string").str.strip()
            order = ordinal_order(s)
            cats = order or sorted(s.dropna().unique())
            cols[c] = s.map({k: float(i) for i, k in enumerate(cats)}).astype(float)
            why = (f"ordered labels coded 0..{len(cats) - 1} in their order ({' < '.join(cats)})" if order else
                   f"categories coded 0..{len(cats) - 1} in sorted order")
            repairs.append({"column": c, "repair": "encoded", "reason": why, "levels": list(cats)})
        elif pd.api.types.is_bool_dtype(s):
            cols[c] = s.astype(float)
        else:
            cols[c] = pd.to_numeric(s, errors="coerce").astype(float)
            bad = int(cols[c].isna().sum() - s.isna().sum())
            if bad > 0:
                repairs.append({"column": c, "repair": "non_numeric_to_missing", "rows": bad,
                                "reason": f"{bad} value(s) that are not numbers treated as missing"})
    work = pd.DataFrame(cols, index=df.index, columns=list(kinds)) if cols else pd.DataFrame(index=df.index)
    return work, repairs
