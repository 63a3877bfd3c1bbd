"""Completing and tuning a discovery plan on the data, never on a true graph.

- ``tau_max`` for time-series algorithms is read from the data (VAR BIC / partial autocorrelation).
- A local-discovery target defaults to the outcome the user named.
- alpha of a constraint-based search on continuous data is chosen among candidates by the BIC of
  the linear-Gaussian DAG fitted in each candidate's CPDAG (any DAG of the class: BIC is
  score-equivalent). Lower BIC is better; the candidates' scores are written down.

Each step returns plain decision records (step, choice, reason, evidence) for the loop to keep.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causalpilot.tools.decision import Decision
from causalpilot.tools.graph import dag_extension
from causalpilot.tools.moments import bic_from_corr
from causalpilot.tools.registry import DiscoveryInput, get_algorithm, run_algorithm, uses_moments

ALPHA_CANDIDATES = (0.01, 0.05, 0.1)
BIC_TUNABLE = ("pc", "cdnod")
TUNE_MAX_P = 60  # three extra searches are affordable up to here; beyond, the sample-size rule stands
MIN_TUNE_ROWS = 30  # complete rows (beyond one per variable) the BIC needs to compare the candidates


def gaussian_bic(X: np.ndarray, dag: np.ndarray, groups: np.ndarray | None = None) -> float:
    """BIC of a linear-Gaussian DAG (lower is better): sum over nodes of n log(RSS/n) + k log n.

    With ``groups`` (a domain index), the DAG is shared but every domain has its own coefficients,
    intercepts and noise variances: the model CD-NOD assumes (one structure, mechanisms that may
    change across domains). Each domain is then scored on its own rows and the BICs are summed;
    scoring the pooled rows instead would judge a mixture of domains as if it were one linear model.
    """
    if groups is not None:
        return float(sum(_bic_one(X[groups == g], dag, intercept=True) for g in np.unique(groups)))
    return _bic_one(X, dag, intercept=False)


def _bic_one(X: np.ndarray, dag: np.ndarray, *, intercept: bool) -> float:
    n, p = X.shape
    sd = X.std(axis=0)
    Xs = (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    total = 0.0
    for j in range(p):
        pa = np.nonzero(dag[:, j])[0]
        y = Xs[:, j]
        if len(pa):
            beta, *_ = np.linalg.lstsq(Xs[:, pa], y, rcond=None)
            r = y - Xs[:, pa] @ beta
        else:
            r = y
        rss = max(float(r @ r), 1e-12)
        total += n * np.log(rss / n) + (len(pa) + 1 + int(intercept)) * np.log(n)
    return float(total)


def tune_alpha_by_bic(name: str, data: DiscoveryInput, params: dict[str, Any],
                      candidates: tuple[float, ...] = ALPHA_CANDIDATES) -> tuple[float, dict[str, Any]]:
    scores = {}
    rows = ~np.isnan(data.X).any(axis=1)  # data with gaps (test-wise deletion): scored on the complete rows
    m = data.moments if uses_moments(name, params, data) else None  # a streamed file: scored on all its rows
    for a in candidates:
        g = run_algorithm(name, data, {**params, "alpha": a})
        bic = (bic_from_corr(m.corr(), m.n, dag_extension(g)) if m is not None else
               gaussian_bic(data.X[rows], dag_extension(g), None if data.domain is None else data.domain[rows]))
        scores[a] = (round(bic, 2), len(g.edges))
    best = min(candidates, key=lambda a: (scores[a][0], a))
    criterion = ("BIC of a DAG in the CPDAG (linear-Gaussian), lower is better" if data.domain is None else
                 "BIC of a DAG in the CPDAG, linear-Gaussian within each domain (shared structure, coefficients "
                 "and noise free per domain), summed over domains; lower is better")
    if m is not None:
        criterion += f"; from the means and covariances of all {int(round(m.n))} complete rows of the streamed file"
    elif not rows.all():
        criterion += (f"; scored on the {int(rows.sum())} rows without a missing value (unbiased when values are "
                      "missing completely at random)")
    return best, {"criterion": criterion,
                  "candidates": [{"alpha": a, "bic": s, "n_edges": k} for a, (s, k) in scores.items()]}


def complete_plan(plan, data: DiscoveryInput, *, profile, outcome: str | None, tune: bool) -> list[dict[str, Any]]:
    """Fill in what needs the data (tau_max, target) and tune alpha where a stated criterion exists."""
    out: list[dict[str, Any]] = []
    spec = get_algorithm(plan.algorithm)
    if spec.time_series and plan.params.get("tau_max") is None:
        from causalpilot.tools.discovery.time_series import choose_tau

        tau, reason, ev = choose_tau(data.X, data.time)
        plan.params["tau_max"] = tau
        out.append(Decision(step="discovery.tau_max", choice=tau, reason=reason, evidence=ev, by="data"))
    if "target" in spec.defaults and plan.params.get("target") is None and outcome:
        plan.params["target"] = outcome
        out.append(Decision(step="discovery.target", choice=outcome, reason="local discovery around the outcome you named",
                    evidence={}, by="rules"))
    complete = int((~np.isnan(data.X).any(axis=1)).sum())
    if (tune and plan.algorithm in BIC_TUNABLE
            and plan.params.get("indep_test", "fisherz") in ("fisherz", "fisherz_domain", "mv_fisherz")
            and profile.value("data_type") == "continuous" and profile.value("linearity") == "linear"
            and len(profile.variables) <= TUNE_MAX_P and complete >= MIN_TUNE_ROWS + len(profile.variables)):
        best, ev = tune_alpha_by_bic(plan.algorithm, data, plan.params)
        before = plan.params.get("alpha")
        plan.params["alpha"] = best
        out.append(Decision(step="discovery.alpha_tuned", choice=best,
                    reason=f"alpha {best} gives the lowest BIC of the fitted DAG among {list(ALPHA_CANDIDATES)} "
                              f"(the sample-size rule had proposed {before}); the truth is never consulted",
                    evidence=ev, by="tuning"))
    return out
