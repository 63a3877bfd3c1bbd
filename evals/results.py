"""Write the results of a suite run: ``results.json`` (one row per dataset x method) and ``results.md``.

The summary gives, per scenario and method, the mean and the spread (sd and min-max over seeds) of
each score, over the runs that finished; runs that timed out, failed or were skipped are counted
and listed, never averaged in as zeros. For the Causal-Copilot scenarios the paper's own figures
are quoted beside ours; they are Copilot-style F1 (see evals/README.md), so compare them with our
``copilot_f1`` column, not with the strict scores.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from causalpilot.evals.suites import PAPER_F1, Suite

AGENT = "agent"
MIN_FOR_INTERVAL = 5  # data sets a paired interval needs before it is shown


def _stats(vals: list[float]) -> dict[str, float] | None:
    if not vals:
        return None
    a = np.asarray(vals, dtype=float)
    return {"mean": float(a.mean()), "sd": float(a.std(ddof=1)) if len(a) > 1 else 0.0,
            "min": float(a.min()), "max": float(a.max())}


def _fmt(st: dict[str, float] | None, digits: int = 2, spread: bool = True) -> str:
    if st is None:
        return "-"
    m = f"{st['mean']:.{digits}f}"
    if not spread:
        return m
    return f"{m} ± {st['sd']:.{digits}f} [{st['min']:.{digits}f}-{st['max']:.{digits}f}]"


def summarise(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for r in rows:
        groups[(r["scenario"], r["method"])].append(r)
    out = {}
    for key, rs in groups.items():
        ok = [r for r in rs if r["status"] == "ok"]
        out[key] = {
            "runs": len(rs), "ok": len(ok), "status": Counter(r["status"] for r in rs),
            **{m: _stats([r[m] for r in ok]) for m in ("skeleton_f1", "arrow_f1", "shd", "copilot_f1", "copilot_shd",
                                                       "seconds")},
            # defined for DAG/CPDAG outputs only (evals.metrics.adjustment_distances): the mean of those that have it
            **{m: _stats([r[m] for r in ok if r.get(m) is not None]) for m in ("parent_aid", "oset_aid")},
            "choices": Counter(r["algorithm"] for r in ok),
        }
    return out


def compare(summary: dict, scenarios: list[str], metric: str) -> list[dict[str, Any]]:
    """Per scenario: the agent's mean against the best baseline's mean (baselines that finished every run)."""
    rows = []
    for sc in scenarios:
        agent = summary.get((sc, AGENT))
        best_name, best = None, None
        for (s, m), v in summary.items():
            if s != sc or m == AGENT or v[metric] is None or v["ok"] < v["runs"]:
                continue
            if best is None or v[metric]["mean"] > best:
                best_name, best = m, v[metric]["mean"]
        a = None if agent is None or agent[metric] is None else agent[metric]["mean"]
        rows.append({"scenario": sc, "agent": a, "best_baseline": best_name, "best": best,
                     "agent_at_least_best": None if a is None or best is None else a >= best - 1e-9})
    return rows


def paired_difference(rows: list[dict[str, Any]], scenario: str, baseline: str | None, metric: str,
                      resamples: int = 2000) -> dict[str, Any] | None:
    """The agent minus one baseline on the same data sets: mean, a 95% percentile-bootstrap interval
    over data sets, and wins/ties/losses, so that a gap can be read against the spread between seeds.

    Paired, because both ran on exactly the same data: the per-seed spread of either method (sd up to
    0.15-0.25) is mostly the data set's difficulty, which pairing cancels. The resampling seed is fixed:
    the same rows always give the same interval.
    """
    if baseline is None:
        return None
    by = defaultdict(dict)
    for r in rows:
        if r["scenario"] == scenario and r["status"] == "ok" and r["method"] in (AGENT, baseline):
            by[r.get("dataset", r.get("replicate"))][r["method"]] = r[metric]
    d = np.array([v[AGENT] - v[baseline] for v in by.values() if AGENT in v and baseline in v], dtype=float)
    if d.size == 0:
        return None
    rng = np.random.default_rng(0)
    means = d[rng.integers(0, d.size, size=(resamples, d.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float(d.mean()), "low": float(lo), "high": float(hi), "n": int(d.size),
            "wins": int((d > 1e-9).sum()), "ties": int((np.abs(d) <= 1e-9).sum()), "losses": int((d < -1e-9).sum())}


def write_results(out: Path, suite: Suite, rows: list[dict[str, Any]]) -> None:
    (out / "results.json").write_text(json.dumps(rows, indent=1, sort_keys=True, default=str) + "\n", encoding="utf-8")
    (out / "results.md").write_text(render_markdown(suite, rows), encoding="utf-8")


def render_markdown(suite: Suite, rows: list[dict[str, Any]]) -> str:
    summary = summarise(rows)
    scenarios = list(dict.fromkeys(r["scenario"] for r in rows))
    methods = list(dict.fromkeys([AGENT] + sorted({r["method"] for r in rows} - {AGENT})))
    status = Counter(r["status"] for r in rows)
    L = [f"# causalpilot eval: suite `{suite.name}`", "", suite.description, "",
         f"{len(rows)} runs ({', '.join(f'{k}: {v}' for k, v in sorted(status.items()))}); per-task cap "
         f"{suite.cap_s:g} s. Scores are mean ± sd [min-max] over seeds, over the runs that finished. "
         "Strict scores: skeleton F1, arrowhead F1 and SHD against the true DAG (an undirected CPDAG edge pays "
         "for its missing direction). `copilot` scores resolve every undirected or partially directed edge "
         "to the orientation closest to the truth, as the Causal-Copilot evaluator does (optimistic). "
         "See evals/README.md.", ""]

    paper = any(sc in PAPER_F1 for sc in scenarios)
    L += ["## Agent against the best baseline", "",
          "| scenario | agent copilot F1 | best baseline copilot F1 | agent >= best | agent - best, paired (95% interval; wins/ties/losses) "
          "| agent arrow F1 | best baseline arrow F1 | agent >= best |"
          + (" paper: Causal-Copilot F1 | paper: best baseline F1 |" if paper else ""),
          "| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- | --- |" if paper else "")]
    cop = {c["scenario"]: c for c in compare(summary, scenarios, "copilot_f1")}
    arr = {c["scenario"]: c for c in compare(summary, scenarios, "arrow_f1")}

    def cell(v, name=None):
        return "-" if v is None else (f"{v:.2f}" + (f" ({name})" if name else ""))

    def yes(b):
        return "-" if b is None else ("yes" if b else "**no**")

    def paired(sc, c):
        d = paired_difference(rows, sc, c["best_baseline"], "copilot_f1")
        if d is None:
            return "-"
        if d["n"] < MIN_FOR_INTERVAL:  # a percentile interval over one or two data sets says nothing
            return f"{d['mean']:+.3f} ({d['n']} data set(s), too few for an interval; {d['wins']}/{d['ties']}/{d['losses']})"
        return (f"{d['mean']:+.3f} ({d['low']:+.3f} to {d['high']:+.3f}; "
                f"{d['wins']}/{d['ties']}/{d['losses']})")

    for sc in scenarios:
        c, a = cop[sc], arr[sc]
        line = (f"| {sc} | {cell(c['agent'])} | {cell(c['best'], c['best_baseline'])} | {yes(c['agent_at_least_best'])} | "
                f"{paired(sc, c)} | {cell(a['agent'])} | {cell(a['best'], a['best_baseline'])} | "
                f"{yes(a['agent_at_least_best'])} |")
        if paper:
            pf = PAPER_F1.get(sc)
            line += f" {pf[0]:.2f} | {pf[1]} |" if pf else " - | - |"
        L.append(line)
    losses = [sc for sc in scenarios if cop[sc]["agent_at_least_best"] is False]
    unscored = [sc for sc in scenarios if cop[sc]["agent_at_least_best"] is None]
    L.append("")
    if losses:
        L.append("The agent's mean copilot F1 is below the best baseline's in: " + ", ".join(losses) + ".")
    elif len(unscored) < len(scenarios):
        L.append("The agent's mean copilot F1 is at least the best baseline's in every scenario with a baseline to compare.")
    if unscored:
        L.append("No comparison (no baseline finished every run, or the agent did not finish) in: "
                 + ", ".join(unscored) + ".")
    L.append("The paired column is the agent's copilot F1 minus the best baseline's on the same data sets, with a "
             "95% bootstrap interval over data sets: an interval that spans zero means the seeds cannot tell the two "
             "apart.")
    L.append("")

    L += ["## All scores", "",
          "| scenario | method | ok/runs | skeleton F1 | arrow F1 | SHD | copilot F1 | copilot SHD | parent AID | "
          "O-set AID | seconds | agent's choice |",
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for sc in scenarios:
        for m in methods:
            v = summary.get((sc, m))
            if v is None:
                continue
            choice = ", ".join(f"{k} x{n}" for k, n in v["choices"].most_common()) if m == AGENT else ""
            if v["ok"] < v["runs"]:
                choice = (choice + " " if choice else "") + "(" + ", ".join(
                    f"{k}: {n}" for k, n in sorted(v["status"].items()) if k != "ok") + ")"
            L.append(f"| {sc} | {m} | {v['ok']}/{v['runs']} | {_fmt(v['skeleton_f1'])} | {_fmt(v['arrow_f1'])} | "
                     f"{_fmt(v['shd'], 1)} | {_fmt(v['copilot_f1'])} | {_fmt(v['copilot_shd'], 1, False)} | "
                     f"{_fmt(v.get('parent_aid'), 2, False)} | {_fmt(v.get('oset_aid'), 2, False)} | "
                     f"{_fmt(v['seconds'], 1, False)} | {choice} |")

    notes = [r for r in rows if r["status"] != "ok"]
    if notes:
        L += ["", "## Runs that did not finish", ""]
        seen = set()
        for r in notes:
            key = (r["scenario"], r["method"], r["status"], r["note"])
            if key in seen:
                continue
            seen.add(key)
            k = sum(1 for x in notes if (x["scenario"], x["method"], x["status"], x["note"]) == key)
            L.append(f"- {r['scenario']} / {r['method']}: {r['status']} x{k} ({r['note']})")
    total = sum(r["seconds"] or 0 for r in rows)
    L += ["", f"Total compute time of the runs: {total / 60:.1f} min (sum over tasks, before parallelism).", ""]
    return "\n".join(L)
