"""What the model is shown of the data, and the record of it.

Privacy by default: the model sees the profile (column names, kinds, counts, test results) and a
seeded random sample of ``--share-data N`` rows (default 5; 0 sends none), never the first rows.
Category labels (the text behind coded columns) go out only together with rows: with no rows the
profile's repairs are stripped of them. What was sent is recorded as ``data_sent`` (row positions
and columns) for run.json. With no rows, :func:`model_view` also takes the labels (and the time
index's values) out of what the agent tools return and of the narrative's facts. :func:`compact_analyse_context` shortens the analysing prompt for a model whose
context is too small.
"""

from __future__ import annotations

import copy
import re
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


WIDE = 30  # beyond this many variables the prompt counts the column kinds instead of listing them
SHORT_LABEL = 3  # labels shorter than this are hidden only where they stand alone as a value


def compact_profile(profile: Profile, with_labels: bool) -> dict[str, Any]:
    """The profile as the analysing agent first sees it: size, each finding's one-sentence summary,
    the kind of each variable (for more than WIDE variables only how many of each kind), the columns
    not used, and the repairs, whose category labels are dropped unless ``with_labels``
    (``get_profile_finding`` gives a finding's evidence)."""
    used = [c for c in profile.columns if c.name in profile.variables]
    out: dict[str, Any] = {"rows": profile.n_rows, "variables": len(profile.variables),
                           "findings": {k: f.summary for k, f in profile.findings.items()}}
    if len(used) <= WIDE:
        out["kinds"] = {c.name: c.kind for c in used}
    else:
        kinds: dict[str, int] = {}
        for c in used:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        out["kinds_count"] = kinds
    if not with_labels:  # no rows shared: no values of the time index either
        out["findings"] = {k: without_times(k, f.summary, f.evidence)[0] for k, f in profile.findings.items()}
    dropped = [c.name for c in profile.columns if not c.used]
    if dropped:
        out["columns_not_used"] = dropped
    repairs = [r if with_labels else _without_labels(r) for r in profile.to_dict()["repairs"]]
    if repairs:
        out["repairs"] = repairs
    return out


def category_labels(profile: Profile) -> dict[str, str]:
    """Each category label of the coded columns, with what is shown instead of it when no rows are
    shared: ``code k`` (its code), or ``a category`` for a label that has several codes."""
    out: dict[str, str] = {}
    for r in profile.repairs:
        if r.get("repair") != "encoded":
            continue
        for k, label in enumerate(r.get("levels") or []):
            label = str(label)
            out[label] = f"code {k}" if out.get(label, f"code {k}") == f"code {k}" else "a category"
    return out


def without_times(name: str, summary: str, evidence: Any) -> tuple[str, Any]:
    """A finding without the time index's values: the ``time_grid`` finding of an index with gaps names
    the times around its largest gaps and its longest regular stretch; without them it keeps the step
    and the counts. Any other finding is returned as it is."""
    if name != "time_grid" or not isinstance(evidence, dict) or "largest_gaps" not in evidence:
        return summary, evidence
    ev = {k: v for k, v in evidence.items() if k not in ("largest_gaps", "longest_regular_stretch")}
    ev["largest_gaps_in_steps"] = [g.get("missing") for g in evidence["largest_gaps"]]
    ev["longest_regular_stretch_rows"] = (evidence.get("longest_regular_stretch") or {}).get("rows")
    text = (f"the time index '{ev.get('time_index')}' has steps of {ev.get('step')} with {ev.get('missing_steps')} of "
            f"its {ev.get('grid_steps')} steps missing in {ev.get('gaps')} gap(s) (largest: "
            f"{', '.join(str(m) for m in ev['largest_gaps_in_steps'])} steps; the times are not shared); lags count "
            f"grid steps, and the longest stretch without a gap has {ev['longest_regular_stretch_rows']} of "
            f"{ev.get('rows')} rows")
    return text, ev


def model_view(profile: Profile, private: bool):
    """What the model may see of a tool's result or a narrative's facts: everything when rows are
    shared; without rows (``private``) the same with every category label written as its code
    (:func:`without_labels`) and a profile finding without the time index's values
    (:func:`without_times`). Returns a function of the value."""
    if not private:
        return lambda value: value
    labels = category_labels(profile)

    def view(value: Any) -> Any:
        if isinstance(value, dict) and isinstance(value.get("name"), str) and "evidence" in value:  # a finding
            summary, evidence = without_times(value["name"], value.get("summary", ""), value["evidence"])
            value = {**value, "summary": summary, "evidence": evidence}
        return without_labels(value, labels)

    return view


def without_labels(value: Any, labels: dict[str, str]) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every category label replaced as
    :func:`category_labels` says: a string or key that is a label, and a label inside a longer text
    where it stands as a word of its own (labels shorter than SHORT_LABEL only when quoted)."""
    if not labels:
        return value
    if isinstance(value, dict):
        return {without_labels(k, labels): without_labels(v, labels) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_labels(v, labels) for v in value]
    if not isinstance(value, str):
        return value
    if value in labels:
        return labels[value]
    names = sorted(labels, key=len, reverse=True)
    words = [re.escape(x) for x in names if len(x) >= SHORT_LABEL]
    quoted = [re.escape(x) for x in names if len(x) < SHORT_LABEL]
    text = value
    if words:
        text = re.sub(r"(?<![\w.-])(" + "|".join(words) + r")(?![\w-]|\.\w)", lambda m: labels[m.group(1)], text)
    if quoted:
        text = re.sub(r"(['\"])(" + "|".join(quoted) + r")\1", lambda m: m.group(1) + labels[m.group(2)] + m.group(1),
                      text)
    return text


def compact_analyse_context(context: dict[str, Any]) -> dict[str, Any]:
    """The analysing prompt's context shortened for a small context window: at most COMPACT_ROWS of
    the rows already chosen, with at most COMPACT_COLUMNS columns; the profile's size and findings
    without the per-column kinds; each algorithm by its name, family, output and parameters, with its
    warning where it has one."""
    ctx = copy.deepcopy(context)
    ctx["rows"] = [dict(list(r.items())[:COMPACT_COLUMNS]) for r in (ctx.get("rows") or [])[:COMPACT_ROWS]]
    prof = ctx.get("profile") or {}
    ctx["profile"] = {k: prof[k] for k in ("rows", "variables", "findings", "columns_not_used") if k in prof}
    ctx["profile"]["findings"] = {k: str(v)[:COMPACT_PROFILE_CHARS] for k, v in prof.get("findings", {}).items()}
    ctx["algorithms"] = [_compact_line(str(line)) for line in ctx.get("algorithms") or []]
    return ctx


def _compact_line(line: str) -> str:
    """An algorithm's catalogue line (agent_tools.algorithm_line) without its description."""
    head = line.split("]", 1)[0] + "]" if "]" in line else line
    warning = line.find(" Warning: ")
    return head + (line[warning:] if warning >= 0 else "")
