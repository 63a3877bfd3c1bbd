"""What the model is shown of the data, and the record of it.

Privacy by default: the model sees the profile (column names, kinds, counts, test results) and a
seeded random sample of ``--share-data N`` rows (default 5; 0 sends none), never the first rows.
Category labels (the text behind coded columns) go out only together with rows: with no rows the
profile's repairs are stripped of them. What was sent is recorded as ``data_sent`` (row positions
and columns) for run.json. :func:`compact_plan_context` shortens a planning prompt for a model
whose context is too small.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from causalpilot.prompts import quote_data
from causalpilot.tools.profile import PreparedData, Profile

ROWS_MAX_CHARS = 20_000  # the rows block must fit quote_data's limit, or it would be truncated mid-row
COMPACT_ROWS = 2
COMPACT_COLUMNS = 12
COMPACT_PROFILE_CHARS = 160


def sample_rows(prepared: PreparedData | None, n: int, seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Up to ``n`` rows drawn without replacement (numpy ``default_rng(seed)``), shown in data order.

    Returns (rows as column -> value, rounded to 4 decimals; the record
    ``{"rows": [positions], "columns": [names], "labels": []}``). Positions are 0-based rows of the
    analysed table (after listwise deletion or time ordering, which are recorded in the profile);
    values are as analysed (categories as their codes, missing values imputed). Fewer rows are sent
    when ``n`` of them would not fit ROWS_MAX_CHARS of prompt.
    """
    record: dict[str, Any] = {"rows": [], "columns": [], "labels": []}
    if prepared is None or n <= 0 or prepared.frame.empty:
        return [], record
    frame = prepared.frame
    k = min(int(n), len(frame))
    pos = np.sort(np.random.default_rng(seed).choice(len(frame), size=k, replace=False))
    rows = [{c: (round(float(v), 4) if isinstance(v, (int, float, np.floating, np.integer)) else str(v))
             for c, v in row.items()} for row in frame.iloc[pos].to_dict(orient="records")]
    while len(rows) > 1 and len(quote_data(rows, max_chars=10 * ROWS_MAX_CHARS)) > ROWS_MAX_CHARS:
        rows, pos = rows[: len(rows) // 2], pos[: len(rows) // 2]
    record["rows"] = [int(p) for p in pos]
    record["columns"] = [str(c) for c in frame.columns]
    return rows, record


def profile_for_prompt(profile: Profile, with_labels: bool) -> dict[str, Any]:
    """The profile as the planning prompt shows it: per column only name, kind, distinct values,
    missing fraction and use; each finding's value and summary; the repairs, whose category labels
    (``levels`` and the labels quoted in reasons) are dropped unless ``with_labels``."""
    prof = profile.to_dict()
    prof["columns"] = [{k: c[k] for k in ("name", "kind", "n_unique", "missing_fraction", "used")}
                       for c in prof["columns"]]
    prof["findings"] = {k: {"value": v.get("value"), "summary": v.get("summary")} for k, v in prof["findings"].items()}
    if not with_labels:
        prof["repairs"] = [_without_labels(r) for r in prof["repairs"]]
    return prof


def _without_labels(repair: dict[str, Any]) -> dict[str, Any]:
    if repair.get("repair") != "encoded":
        return repair
    k = len(repair.get("levels") or [])
    ordered = str(repair.get("reason", "")).startswith("ordered")
    return {"column": repair.get("column"), "repair": "encoded",
            "reason": (f"{k} ordered labels coded 0..{k - 1} in their order" if ordered else
                       f"{k} categories coded 0..{k - 1}") + " (labels not shared)"}


def labelled_columns(profile: Profile) -> list[str]:
    """The columns whose category labels a profile with labels carries."""
    return [str(r["column"]) for r in profile.repairs if r.get("repair") == "encoded" and r.get("levels")]


def compact_plan_context(context: dict[str, Any]) -> dict[str, Any]:
    """The planning prompt's context shortened for a small context window: at most COMPACT_ROWS of
    the rows already chosen, with at most COMPACT_COLUMNS columns; the profile's findings without the
    per-column table; each algorithm by name, output, data types and the first sentence of its profile."""
    ctx = copy.deepcopy(context)
    ctx["rows"] = [dict(list(r.items())[:COMPACT_COLUMNS]) for r in (ctx.get("rows") or [])[:COMPACT_ROWS]]
    prof = ctx.get("profile") or {}
    ctx["profile"] = {k: prof[k] for k in ("n_rows", "variables", "findings") if k in prof}
    ctx["algorithms"] = [{"name": a.get("name"), "output": a.get("output"), "data_types": a.get("data_types"),
                          "profile": str(a.get("profile", "")).split(". ")[0][:COMPACT_PROFILE_CHARS]}
                         for a in ctx.get("algorithms") or []]
    return ctx
