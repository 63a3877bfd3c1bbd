"""Effect of a treatment on an outcome, identified from the discovered graph, with honest uncertainty.

- A DAG: DoWhy identifies the estimand (back-door, else front-door, else instrumental variable).
- A CPDAG/PAG whose edges at the treatment are not all oriented: the effect is estimated under every
  parent set of the treatment that a consistent DAG allows (IDA) and reported as a set and a range;
  ``estimate`` is only filled when all agree.
- No (possibly) directed path from treatment to outcome: the graph implies a zero effect.
Every estimate carries a 95% interval and the refutations of :mod:`causalpilot.tools.inference.refute`; the
estimator choice is returned as a decision with its reason (it lands in run.json).
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np
import pandas as pd

from causalpilot.tools.decision import Decision
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference import estimators as est_mod
from causalpilot.tools.inference.graph_adapter import (bidirected_neighbours, candidate_parent_sets, connected, directed_digraph,
                                           is_dag, open_neighbours, possibly_causal_path)
from causalpilot.tools.inference.refute import refute
from causalpilot.tools.profile import PreparedData
from causalpilot.tools.quiet import quiet_loggers

POOR_OVERLAP_SHARE = 0.10  # above this share of rows outside the overlap band, the report says so
PARALLEL_AFTER_S = 0.3  # one estimate this slow makes the 3 x NUM_SIMULATIONS refuter runs worth other processes
NUM_SIMULATIONS = {"linear_regression": 50, "propensity_weighting": 30, "doubly_robust": 30,
                   "doubly_robust_ml": 8, "double_ml": 8}


def _r(v: float | None) -> float | None:
    return None if v is None or not np.isfinite(v) else round(float(v), 6)


def _check(prepared: PreparedData, treatment: str, outcome: str) -> None:
    cols = list(prepared.frame.columns)
    for c in (treatment, outcome):
        if c not in cols:
            raise InputError(f"Column '{c}' is not among the analysed variables ({', '.join(cols)}).")
    if treatment == outcome:
        raise InputError("The treatment and the outcome must be different columns.")


def identify_dag(df: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str) -> dict[str, Any]:
    """DoWhy's identification on a DAG: {'estimand': 'backdoor'|'frontdoor'|'iv'|None, 'variables': [...]}."""
    with quiet_loggers("dowhy"), warnings.catch_warnings():  # its INFO/WARNING notes, for this call only
        warnings.simplefilter("ignore")
        from dowhy import CausalModel

        model = CausalModel(data=df, treatment=treatment, outcome=outcome, graph=directed_digraph(graph))
        ie = model.identify_effect(proceed_when_unidentifiable=True)
    bd = ie.get_backdoor_variables()
    if bd is not None:
        return {"estimand": "backdoor", "variables": sorted(bd, key=graph.nodes.index)}
    if ie.get_frontdoor_variables():
        return {"estimand": "frontdoor", "variables": list(ie.get_frontdoor_variables())}
    if ie.get_instrumental_variables():
        return {"estimand": "iv", "variables": list(ie.get_instrumental_variables())}
    return {"estimand": None, "variables": []}


def _zero_effect(treatment: str, outcome: str, why: str) -> dict[str, Any]:
    return {"treatment": treatment, "outcome": outcome, "estimand": "none (no causal path in the graph)",
            "adjustment_set": [], "method": "graph", "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0,
            "refutations": [], "identified": True, "structural_zero": True, "notes": [why]}


def _one_estimate(df: pd.DataFrame, t: str, y: str, adjust: list[str], method: str, seed: int,
                  do_refute: bool = True, n_jobs: int | None = None) -> dict[str, Any]:
    """One estimate with its refutations. ``n_jobs`` None: the refuters' simulations run on every core
    when one estimate took PARALLEL_AFTER_S or more (boosted models: 25 s -> 11 s on 2 cores), else in
    this process; their results are the same either way."""
    fn = est_mod.BACKDOOR_ESTIMATORS[method]
    start = time.perf_counter()
    e = fn(df, t, y, adjust, seed=seed)
    if n_jobs is None:
        n_jobs = -1 if time.perf_counter() - start >= PARALLEL_AFTER_S else 1
    refs = refute(df, t, y, adjust, e, fn, seed + 1, NUM_SIMULATIONS[method], n_jobs) if do_refute else []
    out = {"adjustment_set": adjust, "estimate": _r(e.value), "ci_low": _r(e.ci_low), "ci_high": _r(e.ci_high),
           "refutations": refs}
    if e.poor_overlap is not None:
        out["poor_overlap"] = round(e.poor_overlap, 4)
    return out


def overlap_note(treatment: str, per_set: list[dict[str, Any]]) -> str | None:
    """A sentence when, under some adjustment set, many rows have a propensity near 0 or 1."""
    worst = max((p.get("poor_overlap") or 0.0 for p in per_set), default=0.0)
    if worst < POOR_OVERLAP_SHARE:
        return None
    lo, hi = est_mod.OVERLAP_BAND
    return (f"The treated and untreated barely overlap: for {worst:.0%} of rows the estimated probability of "
            f"{treatment} is below {lo:g} or above {hi:g}, so there the estimate rests on the outcome model's "
            "extrapolation more than on comparable rows. Read it with care; the interval does not include that risk.")


def _naive(df: pd.DataFrame, t: str, y: str) -> float:
    return est_mod.linear_regression(df, t, y, [], ci=False).value


def unordered_levels(prepared: PreparedData, name: str) -> list[str] | None:
    """The labels (by code 0..k-1) of an unordered text category with more than two levels, else None."""
    k = int(prepared.frame[name].nunique())
    if prepared.profile.kind_of(name) != "categorical" or k <= 2:
        return None
    labels = prepared.profile.labels_of(name) or []
    return labels if len(labels) == k else [f"code {i}" for i in range(k)]


def _reference_code(codes: pd.Series) -> int:
    """The most common code of a category (the smallest among equally common ones): the level others are
    compared with."""
    counts = codes.value_counts()
    return int(sorted(counts.index, key=lambda c: (-counts[c], c))[0])


def with_indicators(prepared: PreparedData, df: pd.DataFrame, names: list[str]
                    ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """The data with indicators of the levels of each unordered category among ``names`` (the most common
    level is the reference), and the columns that stand for each name (itself, or its indicators). A
    confounder coded 0..k-1 in alphabetical order has no linear effect to adjust for: a site that raises
    both treatment and outcome only at the middle code would be left confounding the estimate."""
    extra: dict[str, pd.Series] = {}
    columns: dict[str, list[str]] = {}
    for name in names:
        levels = unordered_levels(prepared, name)
        if levels is None:
            columns[name] = [name]
            continue
        codes = df[name].round().astype(int)
        ref = _reference_code(codes)
        columns[name] = []
        for code in sorted(codes.unique()):
            if code != ref:
                col = f"{name}[{levels[int(code)]}]"
                while col in df.columns or col in extra:
                    col += "_"
                extra[col] = (codes == code).astype(float)
                columns[name].append(col)
    return (df.assign(**extra) if extra else df), columns


def _per_level(prepared: PreparedData, graph: CausalGraph, treatment: str, outcome: str, seed: int,
               levels: list[str], n_jobs: int | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """An unordered category has no 'one unit more': each level is compared with the most common one.

    Each contrast is the effect of a binary treatment (this level vs the reference) on the rows at
    those two levels, identified and estimated exactly as any binary treatment on the same graph.
    """
    df = prepared.frame
    codes = df[treatment].round().astype(int)
    counts = codes.value_counts()
    ref = _reference_code(codes)
    contrasts, refutations, decisions, notes = [], [], [], []
    first: dict[str, Any] | None = None  # the first contrast's effect: its estimand, method and notes stand for all
    for code in sorted(counts.index):
        if code == ref:
            continue
        rows = codes.isin([ref, code]).to_numpy()
        sub = df.loc[rows].reset_index(drop=True)
        sub[treatment] = (codes[rows].to_numpy() == code).astype(float)
        if min(int(sub[treatment].sum()), int(len(sub) - sub[treatment].sum())) < 10:
            notes.append(f"level {levels[code]} has fewer than 10 rows: no contrast estimated")
            continue
        effs, decs = infer(PreparedData(sub, prepared.profile, None, None), graph, treatment, outcome,
                           seed + 101 * int(code), n_jobs=n_jobs)
        e = effs[0]
        label = f"{levels[code]} vs {levels[ref]}"
        contrasts.append({"level": levels[code], "reference": levels[ref], "rows": int(len(sub)),
                          **{k: e.get(k) for k in ("estimate", "ci_low", "ci_high", "estimate_range", "adjustment_set",
                                                   "identified", "structural_zero") if k in e}})
        refutations += [{**r, "name": f"{r['name']} [{label}]"} for r in e.get("refutations", [])]
        if first is None:
            first, decisions = e, decs
    if first is None:
        return [{"treatment": treatment, "outcome": outcome, "estimand": "not estimated", "adjustment_set": [],
                 "method": "none", "estimate": None, "ci_low": None, "ci_high": None, "refutations": [],
                 "identified": False, "notes": notes or ["no level had enough rows"]}], []
    notes.insert(0, f"{treatment} is an unordered category ({len(levels)} levels), so 'one unit more' means nothing: "
                    f"each level is compared with the most common one, {levels[ref]}, on the rows at those two levels.")
    return [{"treatment": treatment, "outcome": outcome, "estimand": first.get("estimand"),
             "method": first.get("method"), "identified": all(c.get("identified") for c in contrasts),
             "adjustment_set": first.get("adjustment_set"), "estimate": None, "ci_low": None, "ci_high": None,
             "reference_level": levels[ref], "contrasts": contrasts, "refutations": refutations,
             "notes": notes + [n for n in first.get("notes", []) if n not in notes]}], decisions


def infer(prepared: PreparedData, graph: CausalGraph, treatment: str, outcome: str, seed: int = 0,
          cate_by: list[str] | None = None, n_jobs: int | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(effects, decisions) for one treatment/outcome pair; ``n_jobs`` as for _one_estimate."""
    _check(prepared, treatment, outcome)
    if graph.graph_type == "lagged":
        from causalpilot.tools.inference.lagged import lagged_effect

        eff = lagged_effect(prepared.frame, graph, treatment, outcome, prepared.profile.value("linearity"))
        return [eff], [] if eff.get("structural_zero") else [Decision(
            step="inference.estimator", choice=eff["method"],
            reason="time series: for each lag k with a causal path in the time-unrolled graph, least squares of "
                   f"{outcome} at t on {treatment} at t-k and its parents at t-k (back-door), Newey-West intervals",
            evidence={"lags": [x["lag"] for x in eff["lags"]]})]
    levels = unordered_levels(prepared, treatment)
    if levels is not None and connected(graph, treatment, outcome) and possibly_causal_path(graph, treatment, outcome):
        return _per_level(prepared, graph, treatment, outcome, seed, levels, n_jobs)
    df = prepared.frame
    linearity = prepared.profile.value("linearity")
    decisions: list[Decision] = []

    if not connected(graph, treatment, outcome):
        eff = _zero_effect(treatment, outcome, f"{treatment} and {outcome} lie in separate parts of the graph: the data "
                                               "show no dependence between them that the graph explains, so the "
                                               "estimated causal effect is zero.")
        return [eff], decisions
    if not possibly_causal_path(graph, treatment, outcome):
        eff = _zero_effect(treatment, outcome, f"No directed path leads from {treatment} to {outcome} in any DAG "
                                               f"consistent with the graph ({outcome} is not downstream of "
                                               f"{treatment}), so the effect is zero if the graph is right.")
        return [eff], decisions

    notes: list[str] = []
    if is_dag(graph):
        ident = identify_dag(df, graph, treatment, outcome)
        if ident["estimand"] in ("frontdoor", "iv"):
            fn = est_mod.frontdoor_two_stage if ident["estimand"] == "frontdoor" else est_mod.iv_2sls
            e = fn(df, treatment, outcome, ident["variables"], seed=seed)
            method = "frontdoor_two_stage" if ident["estimand"] == "frontdoor" else "iv_2sls"
            decisions.append(Decision(step="inference.estimator", choice=method,
                              reason=f"no valid back-door set; DoWhy identified the effect by {ident['estimand']} "
                                        f"through {', '.join(ident['variables'])}", evidence=ident))
            return [{"treatment": treatment, "outcome": outcome, "estimand": ident["estimand"],
                     "adjustment_set": ident["variables"], "method": method, "estimate": _r(e.value),
                     "ci_low": _r(e.ci_low), "ci_high": _r(e.ci_high), "refutations": [], "identified": True,
                     "notes": ["refutations are run for back-door estimates only"]}], decisions
        if ident["estimand"] is None:
            return [{"treatment": treatment, "outcome": outcome, "estimand": "not identified", "adjustment_set": [],
                     "method": "none", "estimate": None, "ci_low": None, "ci_high": None, "refutations": [],
                     "identified": False, "notes": ["DoWhy found no back-door, front-door or instrument"]}], decisions
        candidates = [ident["variables"]]
        estimand = "backdoor (DoWhy, from the DAG)"
    else:
        hidden = bidirected_neighbours(graph, treatment)
        if hidden:
            notes.append(f"{treatment} shares a hidden common cause with {', '.join(hidden)} (<-> edge): "
                         "adjustment cannot remove that confounding, so the estimates below may be biased.")
        candidates = candidate_parent_sets(graph, treatment)
        estimand = "backdoor (parents of the treatment)" if len(candidates) == 1 else \
            "backdoor over the parent sets allowed by the graph (IDA)"
        if graph.graph_type == "PAG":
            notes.append("The graph is a PAG (hidden confounders allowed); parent-set adjustment assumes none act "
                         "on the treatment.")

    all_adjust = sorted({c for s in candidates for c in s if c != outcome}, key=graph.nodes.index)
    method, reason, evidence = est_mod.choose_backdoor_estimator(df, treatment, all_adjust, linearity)
    decisions.append(Decision(step="inference.estimator", choice=method, reason=reason, evidence=evidence))
    decisions.append(Decision(step="inference.refutations", choice={"num_simulations": NUM_SIMULATIONS[method]},
                      reason="placebo (permuted treatment), random common cause and 80% subsets re-run the "
                                "estimator this many times each; chosen so the three refuters take seconds, "
                                "plus a partial-R2 sensitivity analysis for hidden confounding", evidence={}))

    dfx, columns = with_indicators(prepared, df, all_adjust)  # once for every candidate set
    per_set = []
    for k, adjust in enumerate(candidates):
        if outcome in adjust:
            per_set.append({"adjustment_set": adjust, "estimate": 0.0, "ci_low": 0.0, "ci_high": 0.0,
                            "refutations": [], "structural_zero": True,
                            "reading": f"in this orientation {outcome} is a cause of {treatment}, so the effect is 0"})
            continue
        expanded = [c for name in adjust for c in columns[name]]
        per_set.append({**_one_estimate(dfx, treatment, outcome, expanded, method, seed + 7919 * k, n_jobs=n_jobs),
                        "adjustment_set": adjust})

    eff: dict[str, Any] = {"treatment": treatment, "outcome": outcome, "estimand": estimand,
                           "method": method, "identified": len(per_set) == 1,
                           "naive_estimate": _r(_naive(df, treatment, outcome))}
    if len(per_set) == 1:
        p = per_set[0]
        eff.update({"adjustment_set": p["adjustment_set"], "estimate": p["estimate"], "ci_low": p["ci_low"],
                    "ci_high": p["ci_high"], "refutations": p["refutations"]})
        if p.get("structural_zero"):
            eff["structural_zero"] = True
        if "poor_overlap" in p:
            eff["poor_overlap"] = p["poor_overlap"]
    else:
        vals = [p["estimate"] for p in per_set]
        agree = max(vals) - min(vals) <= 1e-9
        open_ = open_neighbours(graph, treatment)
        eff.update({
            "adjustment_set": None, "estimate": vals[0] if agree else None,
            "estimate_range": [min(vals), max(vals)],
            "ci_low": min(p["ci_low"] for p in per_set), "ci_high": max(p["ci_high"] for p in per_set),
            "estimates": per_set,
            "refutations": [{**r, "name": f"{r['name']} [adjusting for {', '.join(p['adjustment_set']) or 'nothing'}]"}
                            for p in per_set for r in p["refutations"]],
        })
        notes.append(f"The effect is not identified from the graph alone: the edges {', '.join(f'{treatment} - {n}' for n in open_)} "
                     f"have no established direction, and the {len(per_set)} orientations the data allow give "
                     f"effects from {min(vals):.3g} to {max(vals):.3g}. Knowing which of {', '.join(open_)} "
                     f"come before {treatment} (e.g. temporal tiers in --background) would settle it.")
    note = overlap_note(treatment, per_set)
    if note:
        notes.append(note)
    eff["notes"] = notes
    if cate_by and eff.get("identified") and not eff.get("structural_zero"):
        from causalpilot.tools.inference.cate import cate_by_groups

        eff["cate"] = cate_by_groups(df, treatment, outcome, eff["adjustment_set"], method, cate_by, seed + 31)
    return [eff], decisions
