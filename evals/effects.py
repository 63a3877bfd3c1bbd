"""The `realistic-effects` suite: the agent's effect estimate on real data with a published answer.

Every data set ships offline in the `causaldata` package (MIT; ``pip install 'causalpilot[eval]'``).
For each case the agent runs exactly as ``causalpilot analyse --treatment T --outcome Y`` (rules planner,
no background knowledge, bootstrap off by default), and its estimate, 95% interval and verdict are set
beside the published figure and beside three textbook estimators on the same rows: the naive difference
in means, OLS adjusted linearly for every other column, and inverse-probability weighting (logistic
propensity score, normalised weights; binary treatments only). The difference between each estimator
and the published figure is the score; no threshold is asserted, the table is the result.
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from causalpilot.tools.errors import InputError


@dataclass(frozen=True)
class EffectCase:
    """One real data set, the effect asked about and its published answer (outcome units per unit of the
    treatment)."""

    name: str
    treatment: str
    outcome: str
    published: float
    published_text: str  # the figure as the source gives it, with its interval where it gives one
    source: str
    design: str  # "experiment" | "observational"


CASES: dict[str, EffectCase] = {c.name: c for c in (
    EffectCase("nsw_experimental", "treat", "re78", 1794.34,
               "$1,794 (difference in means; 95% CI about $480 to $3,110)",
               "LaLonde (1986), AER 76(4); Dehejia & Wahba (1999), JASA 94(448), the 445-row NSW sample "
               "(causaldata.nsw_mixtape)", "experiment"),
    EffectCase("nsw_cps", "treat", "re78", 1794.34,
               "$1,794: the experimental benchmark the observational controls should recover",
               "NSW treated (Dehejia & Wahba 1999) against the CPS-1 comparison group (LaLonde 1986; "
               "causaldata.nsw_mixtape + cps_mixtape)", "observational"),
    EffectCase("thornton_hiv", "any", "got", 0.431,
               "0.431 (any cash incentive raised the share learning their HIV result by about 43 points)",
               "Thornton (2008), AER 98(5), Table 4 (causaldata.thornton_hiv)", "experiment"),
    EffectCase("nhefs", "qsmk", "wt82_71", 3.4,
               "3.4 kg (IP weighting, 95% CI 2.4 to 4.5); standardisation gives 3.5 kg",
               "Hernán & Robins (2020), Causal Inference: What If, ch. 12-13, NHEFS (causaldata.nhefs_complete)",
               "observational"),
    EffectCase("card_college", "educ", "lwage", 0.075,
               "0.075 log points per year of schooling (OLS with controls); IV with college proximity: 0.132",
               "Card (1995), 'Using Geographic Variation in College Proximity to Estimate the Return to "
               "Schooling', Tables 2-3 (causaldata.close_college)", "observational"),
)}

NHEFS_COLUMNS = ["qsmk", "wt82_71", "sex", "race", "age", "education", "smokeintensity", "smokeyrs", "exercise",
                 "active", "wt71"]


def load_case(name: str) -> pd.DataFrame:
    """The case's data as a DataFrame (from ``causaldata``, offline). Raises InputError when the package
    is missing."""
    try:
        import causaldata  # noqa: F401
    except ImportError:
        raise InputError("The realistic-effects suite needs the causaldata package: "
                         "pip install 'causalpilot[eval]'.") from None
    from causaldata import close_college, cps_mixtape, nhefs_complete, nsw_mixtape, thornton_hiv

    if name == "nsw_experimental":
        return nsw_mixtape.load_pandas().data.drop(columns=["data_id"])
    if name == "nsw_cps":
        nsw = nsw_mixtape.load_pandas().data
        cps = cps_mixtape.load_pandas().data
        return pd.concat([nsw[nsw["treat"] == 1], cps], ignore_index=True).drop(columns=["data_id"])
    if name == "thornton_hiv":
        # tinc (the amount) is the treatment's dose and villnum an identifier: neither is a covariate
        return thornton_hiv.load_pandas().data[["any", "got", "age", "distvct", "hiv2004"]].dropna().reset_index(drop=True)
    if name == "nhefs":
        return nhefs_complete.load_pandas().data[NHEFS_COLUMNS].reset_index(drop=True)
    if name == "card_college":
        return close_college.load_pandas().data.reset_index(drop=True)
    raise InputError(f"Unknown realistic-effects case '{name}'; choose one of: {', '.join(CASES)}.")


def textbook_estimates(df: pd.DataFrame, t: str, y: str) -> dict[str, float | None]:
    """Naive difference (slope) of ``y`` on ``t``, OLS adjusted for every other column, and IPW (Hajek,
    logistic propensity on every other column; None unless ``t`` is binary). Outcome units."""
    import statsmodels.api as sm

    data = df.dropna().astype(float)
    covs = [c for c in data.columns if c not in (t, y)]
    naive = float(sm.OLS(data[y], sm.add_constant(data[[t]])).fit().params[t])
    ols = float(sm.OLS(data[y], sm.add_constant(data[[t, *covs]])).fit().params[t])
    ipw = None
    if set(np.unique(data[t])) <= {0.0, 1.0}:
        Z = data[covs]
        Z = (Z - Z.mean()) / Z.std(ddof=0).replace(0, 1)
        ps = sm.Logit(data[t], sm.add_constant(Z)).fit(disp=0, maxiter=200).predict()
        ps = np.clip(ps, 1e-3, 1 - 1e-3)
        w1, w0 = data[t] / ps, (1 - data[t]) / (1 - ps)
        ipw = float((w1 * data[y]).sum() / w1.sum() - (w0 * data[y]).sum() / w0.sum())
    return {"naive": naive, "ols_adjusted": ols, "ipw": ipw}


def verdict(eff: dict[str, Any]) -> str:
    """What the agent concluded, in a word or two, from its estimate and interval."""
    lo, hi, est = eff.get("ci_low"), eff.get("ci_high"), eff.get("estimate")
    if lo is None or hi is None:
        return "not estimated"
    if eff.get("structural_zero"):
        return "zero (no causal path)"
    # an effect the graph leaves open (IDA: one estimate per orientation) has a range and one interval over them
    open_ = "" if est is not None else " (range over orientations)"
    if lo > 0:
        return "positive" + open_
    if hi < 0:
        return "negative" + open_
    return "not distinguishable from 0" + open_


def run_case(case: EffectCase, seed: int = 0, bootstrap: int = 0) -> dict[str, Any]:
    """Run the agent on one case; a row with the agent's estimate beside the published figure."""
    import causalpilot

    row: dict[str, Any] = {**asdict(case), "status": None, "note": None}
    t0 = time.perf_counter()
    try:
        df = load_case(case.name)
        row["n"], row["p"] = int(len(df)), int(df.shape[1])
        r = causalpilot.analyse(df, treatment=case.treatment, outcome=case.outcome, seed=seed, bootstrap=bootstrap,
                                memory=False, quiet=True)
        (eff,) = r.effects_list
        steps = {d["step"]: d for d in r.run_info["decisions"]}
        rand = steps.get("discovery.randomised_treatment")
        row.update(status="ok", estimate=eff.get("estimate"), estimate_range=eff.get("estimate_range"), ci_low=eff.get("ci_low"), ci_high=eff.get("ci_high"),
                   method=eff.get("method"), adjustment_set=eff.get("adjustment_set"), verdict=verdict(eff),
                   randomised=None if rand is None else bool(rand["choice"]),
                   experiment=eff.get("experiment"), algorithm=r.graph.algorithm)
        lo, hi = eff.get("ci_low"), eff.get("ci_high")
        row["covers_published"] = None if lo is None or hi is None else bool(lo <= case.published <= hi)
        point = eff.get("estimate")
        if point is None and eff.get("estimate_range"):  # the midpoint of the orientations' range
            point = sum(eff["estimate_range"]) / 2
        row["error"] = None if point is None else point - case.published
        row["textbook"] = textbook_estimates(df, case.treatment, case.outcome)
    except InputError:
        raise
    except Exception as exc:  # one case failing is a result to record
        row.update(status="error", note=f"{type(exc).__name__}: {exc}"[:500],
                   traceback=traceback.format_exc(limit=5)[-2000:])
    row["seconds"] = round(time.perf_counter() - t0, 2)
    return row


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:,.4g}" if abs(v) < 100 else f"{v:,.0f}"
    return str(v)


def _range(rng: list[float] | None) -> str:
    return "—" if not rng else f"{_fmt(rng[0])} to {_fmt(rng[1])}"


def results_markdown(rows: list[dict[str, Any]]) -> str:
    """The results table: per case the published figure, the agent's estimate, interval and verdict, and
    the distance of every estimator from the published figure."""
    lines = ["# realistic-effects", "",
             "| case | design | n | published | agent estimate | 95% interval | verdict | covers published | "
             "randomised? | seconds |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['name']} | {r['design']} | {_fmt(r.get('n'))} | {_fmt(r['published'])} | "
                         f"{r['status']}: {r.get('note') or ''} | | | | | {_fmt(r.get('seconds'))} |")
            continue
        lines.append(f"| {r['name']} | {r['design']} | {_fmt(r['n'])} | {_fmt(r['published'])} | "
                     f"{_fmt(r['estimate']) if r['estimate'] is not None else _range(r.get('estimate_range'))} | [{_fmt(r['ci_low'])}, {_fmt(r['ci_high'])}] | {r['verdict']} | "
                     f"{'yes' if r['covers_published'] else 'no'} | "
                     f"{'—' if r['randomised'] is None else 'yes' if r['randomised'] else 'no'} | {_fmt(r['seconds'])} |")
    lines += ["", "Distance from the published figure (estimate minus published):", "",
              "| case | agent | difference in means | OLS, all covariates | IPW |", "| --- | --- | --- | --- | --- |"]
    for r in rows:
        if r["status"] == "ok":
            tb, pub = r["textbook"], r["published"]
            d = {k: None if v is None else v - pub for k, v in tb.items()}
            lines.append(f"| {r['name']} | {_fmt(r['error'])} | {_fmt(d['naive'])} | {_fmt(d['ols_adjusted'])} | "
                         f"{_fmt(d['ipw'])} |")
    lines += ["", "Sources:", ""] + [f"- {r['name']}: {r['published_text']}; {r['source']}." for r in rows]
    return "\n".join(lines) + "\n"


def run_effect_suite(cases: list[str], out: str | Path, *, run_seed: int = 0, bootstrap: int = 0,
                     progress: bool = True) -> list[dict[str, Any]]:
    """Run every case in order; write ``results.json`` and ``results.md`` into ``out``; return the rows."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for name in cases:
        if progress:
            print(f"realistic-effects: {name} ...", file=sys.stderr, flush=True)
        rows.append(run_case(CASES[name], seed=run_seed, bootstrap=bootstrap))
    (out / "results.json").write_text(json.dumps(rows, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    (out / "results.md").write_text(results_markdown(rows), encoding="utf-8")
    return rows


__all__ = ["CASES", "EffectCase", "load_case", "results_markdown", "run_case", "run_effect_suite",
           "textbook_estimates", "verdict"]
