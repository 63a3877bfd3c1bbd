"""Effects in a time series: what a one-off unit rise of X at t-k does to Y at t, lag by lag.

A lagged graph (PCMCI+, VAR-LiNGAM...) says ``a -> b at lag l`` when a at t-l causes b at t. Unrolled
over time it is a DAG (given directed contemporaneous edges), so the total effect of X at t-k on Y
at t is identified by the back-door criterion with the parents of X at t-k: X's own lagged parents
(its past and other variables' past) and its contemporaneous parents, all shifted back by k. Each lag
with a causal path from X at t-k to Y at t is estimated by least squares on the shifted columns,
with a Newey-West (HAC) interval because the residuals of a series are autocorrelated. Undirected
contemporaneous edges at X leave its parent set open: every subset of those neighbours is tried and
the range reported, as IDA does for a CPDAG.

Assumptions (stated in the notes): stationarity, no hidden common causes, linear effects (on
nonlinear data the slope is the best linear summary), and the graph is right.
"""

from __future__ import annotations

from collections import deque
from itertools import combinations

import pandas as pd

from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference.results import LagEstimate, LagFit, LaggedEffect

MAX_OPEN = 3  # undirected contemporaneous neighbours of X tried as parents (2^3 sets at most)


def _max_lag(graph: CausalGraph) -> int:
    lags = [int(e.lag or 0) for e in graph.edges]
    return int(max([graph.parameters.get("tau_max") or 0, *lags]))


def _reaches(graph: CausalGraph, source: str, k: int, target: str) -> bool:
    """Is there a (possibly) causal path from source at t-k to target at t in the unrolled graph?

    The walk follows the rule of graph_adapter.possibly_causal_path, unrolled in time: directed and
    partially directed (o->) edges forwards, with their lag; undirected and nondirected contemporaneous
    edges either way.
    """
    start, goal = (source, k), (target, 0)
    seen, todo = {start}, deque([start])
    while todo:
        node, back = todo.popleft()
        if (node, back) == goal:
            return True
        for e in graph.edges:
            lag = int(e.lag or 0)
            if e.type in ("directed", "partially_directed") and e.source == node:
                nxt = (e.target, back - lag)
            elif lag == 0 and e.type in ("undirected", "nondirected") and node in (e.source, e.target):
                nxt = (e.target if e.source == node else e.source, back)
            else:
                continue
            if nxt[1] >= 0 and nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return False


def _parents(graph: CausalGraph, x: str) -> tuple[list[tuple[str, int]], list[str]]:
    """(parents of x as (variable, lag), contemporaneous neighbours whose edge is open at x).

    A lagged edge into x (directed, or o-> as LPCMCI writes it) comes from the past, so its source is
    a pre-treatment variable to adjust for whichever way the circle resolves. At lag 0 the open edges
    are those graph_adapter.open_neighbours counts: undirected, nondirected, and s o-> x.
    """
    known, open_ = [], []
    for e in graph.edges:
        lag = int(e.lag or 0)
        if e.target == x and (e.type == "directed" or (e.type == "partially_directed" and lag > 0)):
            if not (e.source == x and lag == 0):
                known.append((e.source, lag))
        elif lag == 0 and x in (e.source, e.target) and (
                e.type in ("undirected", "nondirected") or (e.type == "partially_directed" and e.target == x)):
            open_.append(e.target if e.source == x else e.source)
    return sorted(set(known), key=lambda v: (v[1], v[0])), sorted(set(open_))


def _label(name: str, back: int) -> str:
    return name if back == 0 else f"{name}(t-{back})"


def _fit(frame: pd.DataFrame, x: str, y: str, k: int, adjust: list[tuple[str, int]]) -> LagFit:
    """Y_t on X_{t-k} and the adjustment columns shifted by k; HAC interval."""
    import statsmodels.api as sm

    cols = {"__y": frame[y], "__x": frame[x].shift(k)}
    for name, lag in adjust:
        cols[_label(name, lag + k)] = frame[name].shift(lag + k)
    data = pd.DataFrame(cols).dropna()
    X = sm.add_constant(data.drop(columns="__y").to_numpy(dtype=float), has_constant="add")
    fit = sm.OLS(data["__y"].to_numpy(dtype=float), X).fit(cov_type="HAC", cov_kwds={"maxlags": max(1, k + 1)})
    lo, hi = fit.conf_int(0.05)[1]
    return LagFit(estimate=round(float(fit.params[1]), 6), ci_low=round(float(lo), 6), ci_high=round(float(hi), 6),
                  adjustment_set=[_label(n, lag + k) for n, lag in adjust], rows=int(len(data)))


def lagged_effect(frame: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str,
                  linearity: str | None = None) -> LaggedEffect:
    """Per lag k, the effect of a one-off unit rise of ``treatment`` at t-k on ``outcome`` at t (module
    docstring): ``frame`` holds the series, rows in time order, one column per node of the lagged
    ``graph``; ``linearity`` is the profile's finding ('nonlinear' adds a note). Units: the outcome's per
    unit of the treatment. No lag with a causal path gives a structural zero. A lag whose parent set
    is left open by undirected contemporaneous edges has one fit per set (``estimates``), the range of
    their estimates and no single ``adjustment_set``."""
    K = max(_max_lag(graph), 1)
    known, open_ = _parents(graph, treatment)
    notes = [f"Effects are per lag: a one-off unit rise of {treatment} at t-k and {outcome} at t, adjusting for the "
             f"parents of {treatment} at t-k in the time-unrolled graph (lags 0 to {K}); assumes stationarity, no "
             "hidden common causes and linear effects, with Newey-West intervals for autocorrelated residuals."]
    if linearity == "nonlinear":
        notes.append("The profile found nonlinear relations: each slope is the best linear summary, not a constant effect.")
    if len(open_) > MAX_OPEN:
        notes.append(f"{treatment} has {len(open_)} undirected contemporaneous edges; only the first {MAX_OPEN} were "
                     "tried as possible parents.")
        open_ = open_[:MAX_OPEN]
    sets = [known + [(n, 0) for n in sub] for r in range(len(open_) + 1) for sub in combinations(open_, r)]
    lags = []
    for k in range(0, K + 1):
        if k == 0 and treatment == outcome:
            continue
        if not _reaches(graph, treatment, k, outcome):
            continue
        fits = []
        for adjust in sets:
            if k == 0 and any(n == outcome and lag == 0 for n, lag in adjust):
                fits.append(LagFit(estimate=0.0, ci_low=0.0, ci_high=0.0, adjustment_set=[outcome], structural_zero=True))
                continue
            fits.append(_fit(frame, treatment, outcome, k, adjust))
        lags.append(LagEstimate.from_fits(k, fits))
    base = {"treatment": treatment, "outcome": outcome}
    if not lags:
        return _zero_checked(frame, graph, treatment, outcome, K)
    if _reaches(graph, treatment, K + 1, outcome):
        notes.append(f"The effect carries on beyond lag {K} (through the series' own past); later lags are not shown.")
    if open_:
        notes.append(f"The contemporaneous edges {', '.join(f'{treatment} - {n}' for n in open_)} have no established "
                     "direction: every choice of parents among them was tried and each lag gives a range.")
    return LaggedEffect(**base, estimand="lagged back-door (parents of the treatment at t-k)",
                        method="linear_regression_hac", adjustment_set=None, estimate=None, ci_low=None, ci_high=None,
                        identified=not open_, lags=lags, notes=notes)


ZERO_ALPHA = 0.05  # the level at which the data contradict a zero the lagged graph implies (as effects.ZERO_ALPHA)


def _span(name: str, K: int) -> str:
    return f"{name}(t-1)" if K == 1 else f"{name}(t-1..t-{K})"


def granger_check(frame: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str, K: int) -> dict | None:
    """The data's own test of a zero the lagged graph implies: a Granger-style regression.

    ``outcome`` at t is regressed by least squares on ``treatment`` at t-1..t-K, its own past at
    t-1..t-K and the past of every other node of ``graph`` that is a column of ``frame`` (rows in time
    order on the time grid; NaN rows drop out with the windows they touch). The joint Wald test of the
    treatment's K coefficients (Newey-West covariance, statsmodels) gives the p-value; the sum of those
    coefficients, with its interval, is the change in the outcome per unit rise of the treatment in each
    of the K previous steps, given the past of all series. When the rows cannot carry every series'
    past (fewer than twice the regressors plus 10), the other series are narrowed to the graph's lagged
    parents of the treatment and the outcome. Returns the check (``contradicted`` when p < ZERO_ALPHA),
    or None when even that regression has too few rows.
    """
    import numpy as np
    import statsmodels.api as sm

    others = [c for c in graph.nodes if c in frame.columns and c not in (treatment, outcome)]
    narrowed = False
    for attempt in range(2):
        names = [treatment, outcome, *others]
        cols = {"__y": frame[outcome]}
        for name in names:
            for k in range(1, K + 1):
                cols[f"{name}(t-{k})"] = frame[name].shift(k)
        data = pd.DataFrame(cols).dropna()
        n_reg = len(cols)  # regressors + the intercept
        if len(data) >= 2 * n_reg + 10:
            break
        if attempt == 0:
            parents = {e.source for e in graph.edges if (e.lag or 0) > 0 and e.target in (treatment, outcome)}
            others, narrowed = [c for c in others if c in parents], True
    else:
        return None
    X = data.drop(columns="__y").astype(float)
    X = X.loc[:, (X.std() > 0) | X.columns.str.startswith(f"{treatment}(t-")]
    X = sm.add_constant(X, has_constant="add")
    fit = sm.OLS(data["__y"].astype(float), X).fit(cov_type="HAC", cov_kwds={"maxlags": max(1, K)})
    tcols = [f"{treatment}(t-{k})" for k in range(1, K + 1)]
    R = np.zeros((K, X.shape[1]))
    for i, c in enumerate(tcols):
        R[i, list(X.columns).index(c)] = 1.0
    pvalue = float(np.asarray(fit.wald_test(R, scalar=True, use_f=True).pvalue))
    total = fit.t_test(R.sum(axis=0, keepdims=True))
    lo, hi = (float(v) for v in np.asarray(total.conf_int(0.05)).ravel())
    ci = fit.conf_int(0.05)
    per_lag = [{"lag": k, "estimate": round(float(fit.params[c]), 6), "ci_low": round(float(ci.loc[c, 0]), 6),
                "ci_high": round(float(ci.loc[c, 1]), 6)} for k, c in enumerate(tcols, start=1)]
    controls = [_span(n, K) for n in [outcome, *others]]
    return {"test": "granger", "lags": per_lag, "controls": controls, "adjustment_set": controls,
            "narrowed_to_graph_parents": narrowed, "rows": int(len(data)), "method": "linear_regression_hac",
            "estimate": round(float(np.asarray(total.effect).ravel()[0]), 6), "ci_low": round(lo, 6),
            "ci_high": round(hi, 6), "p_value": round(pvalue, 6), "alpha": ZERO_ALPHA,
            "contradicted": bool(pvalue < ZERO_ALPHA)}


def _zero_checked(frame: pd.DataFrame, graph: CausalGraph, treatment: str, outcome: str, K: int) -> LaggedEffect:
    """A zero the lagged graph implies (no path from the treatment at any lag to the outcome), checked
    against the data by :func:`granger_check`, as effects._zero_checked does for a cross-section: a
    link the search did not find is no evidence of no effect. Where the data show the dependence the
    graph most likely misses the link, and the per-lag coefficients of the check are the answer;
    otherwise the zero stands with the data's interval around it, never [0, 0]."""
    base = {"treatment": treatment, "outcome": outcome}
    graph_note = (f"No directed path leads from {treatment} at any lag 0-{K} to {outcome} in the time-unrolled "
                  "graph, so the effect is zero if the graph is right.")
    check = granger_check(frame, graph, treatment, outcome, K)
    if check is None:
        return LaggedEffect(**base, estimand="none (no causal path in the time-unrolled graph)", method="graph",
                            estimate=0.0, ci_low=None, ci_high=None, adjustment_set=[], identified=True,
                            structural_zero=True,
                            notes=[graph_note, f"The zero could not be checked against the data: too few rows for "
                                               f"the regression of {outcome} on the past of the series, so no "
                                               "interval is given."])
    span = _span(treatment, K)
    given = ", ".join(check["controls"]) or "nothing else"
    narrowed = (" (the other series narrowed to the graph's lagged parents of both: too few rows for all of them)"
                if check["narrowed_to_graph_parents"] else "")
    summed = "its coefficient is" if K == 1 else f"its {K} coefficients sum to"
    data_words = (f"regressing {outcome} at t on {span} given {given}{narrowed} (a Granger-style test), {summed} "
                  f"{check['estimate']:.3g} with 95% interval [{check['ci_low']:.3g}, {check['ci_high']:.3g}] "
                  f"(joint p = {check['p_value']:.2g}, Newey-West)")
    if check["contradicted"]:
        lags = [LagEstimate(lag=x["lag"], estimate=x["estimate"], ci_low=x["ci_low"], ci_high=x["ci_high"],
                            adjustment_set=check["controls"],
                            rows=check["rows"]) for x in check["lags"]]
        note = (f"The graph has no causal path from {treatment} to {outcome}, but the data disagree: {data_words}. "
                "The search most likely missed a weak link, so these per-lag coefficients, not zero, are the answer; "
                f"each is the change in {outcome} at t per unit of {treatment} at t-k holding the past of the series "
                "fixed (a direct, one-step reading, not the total effect through later steps). Background knowledge "
                "(a required edge) would let the graph show the link.")
        return LaggedEffect(**base, estimand=f"Granger-style regression on the past of the series (the graph shows "
                                             "no path; the data show a dependence)",
                            method="linear_regression_hac", adjustment_set=None, estimate=None, ci_low=None,
                            ci_high=None, identified=True, lags=lags, zero_check=check, notes=[note])
    note = (f"The data agree: {data_words}, so the interval given is the data's, around the graph's zero.")
    return LaggedEffect(**base, estimand="none (no causal path in the time-unrolled graph)", method="graph",
                        estimate=0.0, ci_low=check["ci_low"], ci_high=check["ci_high"],
                        adjustment_set=check["controls"], identified=True, structural_zero=True, zero_check=check,
                        notes=[graph_note, note])
