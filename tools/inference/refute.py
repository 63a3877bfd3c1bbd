"""Refutations of an estimate, with DoWhy's definitions and DoWhy's significance test.

Each refuter re-runs the same estimator on altered data, seeded from the run's seed:
- placebo treatment: the treatment is randomly permuted (not DoWhy's constant default); the effect
  should vanish. p-value: how plausible a zero effect is among the placebo estimates (DoWhy's test).
- random common cause: an independent random column is added to the adjustment set; the estimate
  should not move. p-value: how plausible the original estimate is among the new ones.
- data subset: re-estimate on random 80% subsets; the estimate should be stable.
In all three a refutation *passes* when p >= 0.05 (DoWhy's reading: no significant discrepancy).
- unobserved confounder: Cinelli & Hazlett's (2020) partial-R2 sensitivity on the linear
  partialled-out model: the robustness value (how strong a hidden confounder must be, as a share of
  the residual variance of treatment and outcome, to make the interval include zero) and the effect
  left after a confounder as strong as the strongest observed adjuster. "As strong as" is their
  formal bound (their section 6, kd = ky = 1), the one DoWhy's ``LinearSensitivityAnalyzer`` computes
  (``add_unobserved_common_cause`` with ``simulation_method="linear-partial-R2"``); tests check that
  the two agree. Passes when that benchmark confounder would leave the interval on the same side of
  zero (neither covering zero nor flipping the sign). No p-value: it is a what-if, not a test.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from causalpilot.tools.cluster import task_map
from causalpilot.tools.inference.estimators import Estimate
from causalpilot.tools.quiet import quiet_loggers
from causalpilot.tools.inference.results import Refutation

ALPHA = 0.05


def _significance(value: float, sims: list[float]) -> float:
    from dowhy.causal_refuter import test_significance

    with quiet_loggers("dowhy"):  # "We assume a Normal Distribution ...": a WARNING on every call under 100 draws
        res = test_significance(SimpleNamespace(value=value), list(sims))
    return float(res["p_value"])


def _entry(name: str, new_effect: float, p: float | None, passed: bool | None, **extra) -> Refutation:
    return Refutation(name=name, new_effect=None if new_effect is None or not np.isfinite(new_effect)
                      else round(float(new_effect), 6), p_value=None if p is None else round(float(p), 4),
                      passed=passed, **extra)


def _altered(df: pd.DataFrame, t: str, adjust: list[str], kind: str, draw: np.ndarray):
    """The data and adjustment set of one refuter simulation, from its random draw."""
    if kind == "placebo":
        d = df.copy()
        d[t] = d[t].to_numpy()[draw]
        return d, adjust
    if kind == "random_cause":
        d = df.copy()
        d["__random_cause__"] = draw
        return d, [*adjust, "__random_cause__"]
    return df.iloc[draw], adjust


def _simulate(df: pd.DataFrame, t: str, y: str, adjust: list[str], fn: Callable[..., Estimate], kind: str,
              draw: np.ndarray, seed: int) -> float:
    """One refuter simulation: ``fn`` re-run on the data altered by ``draw`` (a task of task_map)."""
    d, adj = _altered(df, t, adjust, kind, draw)
    return fn(d, t, y, adj, seed=seed, ci=False).value


def _draws(kind: str, n: int, rng: np.random.Generator, num: int) -> list[tuple[np.ndarray, int]]:
    """Each simulation's random draw and estimator seed, taken in order from the one generator."""
    m = int(0.8 * n)
    out = []
    for _ in range(num):
        if kind == "placebo":
            draw = rng.permutation(n)
        elif kind == "random_cause":
            draw = rng.normal(size=n)
        else:
            draw = np.sort(rng.choice(n, m, replace=False))
        out.append((draw, int(rng.integers(2**31))))
    return out


SIMULATED = (("placebo", "placebo_treatment (permute)"), ("random_cause", "random_common_cause"),
             ("subset", "data_subset (80%)"))


def refute(df: pd.DataFrame, t: str, y: str, adjust: list[str], estimate: Estimate,
           fn: Callable[..., Estimate], seed: int, num_simulations: int = 50, n_jobs: int = 1,
           not_run: str | None = None) -> list[Refutation]:
    """The four refutations of the back-door ``estimate`` of the effect of ``t`` on ``y`` adjusting for
    ``adjust`` (columns of ``df``), in the order placebo, random common cause, data subset, unobserved
    confounder. ``fn``: the estimator that gave it (a back-door estimator's signature), re-run
    ``num_simulations`` times per simulated refuter with seeds drawn from ``seed``. The simulations run
    as tasks (:func:`causalpilot.tools.cluster.task_map`: on the active Dask cluster, else in ``n_jobs``
    processes, -1: every core, each under a thread limit); the draws are taken in this process first, so
    the result is the same wherever they run. ``not_run``: why fewer simulations than planned were run
    (the time budget), kept as the simulated refuters' reading; with ``num_simulations`` 0 they are
    listed as not run. The sensitivity analysis needs no re-fit and always runs."""
    if num_simulations <= 0:
        return [*(_entry(name, None, None, None, num_simulations=0, reading=f"not run: {not_run or 'none asked'}")
                  for _, name in SIMULATED), unobserved_confounder_sensitivity(df, t, y, adjust, estimate)]
    rng = np.random.default_rng(seed)
    sims: dict[str, list[float]] = {}
    for kind in ("placebo", "random_cause", "subset"):
        draws = _draws(kind, len(df), rng, num_simulations)
        sims[kind] = list(task_map(_simulate, df, [(t, y, adjust, fn, kind, d, s) for d, s in draws], n_jobs))
    out = []
    p = _significance(0.0, sims["placebo"])
    out.append(_entry("placebo_treatment (permute)", float(np.mean(sims["placebo"])), p, p >= ALPHA,
                      num_simulations=num_simulations, reading=not_run))
    p = _significance(estimate.value, sims["random_cause"])
    out.append(_entry("random_common_cause", float(np.mean(sims["random_cause"])), p, p >= ALPHA,
                      num_simulations=num_simulations, reading=not_run))
    p = _significance(estimate.value, sims["subset"])
    out.append(_entry("data_subset (80%)", float(np.mean(sims["subset"])), p, p >= ALPHA,
                      num_simulations=num_simulations, reading=not_run))
    out.append(unobserved_confounder_sensitivity(df, t, y, adjust, estimate))
    return out


def _partial_r2(y: np.ndarray, x: np.ndarray, others: np.ndarray) -> float:
    """Partial R2 of x in the regression of y on x and others (with an intercept)."""
    A = np.column_stack([np.ones(len(y)), others])
    ry = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    rx = x - A @ np.linalg.lstsq(A, x, rcond=None)[0]
    denom = float((rx @ rx) * (ry @ ry))
    return float((rx @ ry) ** 2 / denom) if denom > 0 else 0.0


def robustness_value(t_stat: float, dof: int, alpha: float = ALPHA) -> float:
    """Cinelli & Hazlett's (2020) robustness value RV_{q=1,alpha}: the partial R2 that a hidden confounder
    must have with both treatment and outcome to bring the (1 - alpha) interval of the effect to zero,
    from the effect's t statistic and the regression's residual degrees of freedom. Includes their
    extreme-scenario case (a confounder explaining all the outcome's residual variance), as sensemakr
    and DoWhy's LinearSensitivityAnalyzer do. A share in [0, 1)."""
    f = abs(t_stat) / np.sqrt(dof)
    f_crit = abs(float(stats.t.ppf(alpha / 2, dof - 1))) / np.sqrt(dof - 1)
    fq = f - f_crit
    if fq <= 0:
        return 0.0
    if f > 1 / f_crit:
        return float((f ** 2 - f_crit ** 2) / (1 + f ** 2))
    return float(0.5 * (np.sqrt(fq ** 4 + 4 * fq ** 2) - fq ** 2))


def confounder_bounds(r2_treatment: float, r2_outcome: float) -> tuple[float, float] | None:
    """Partial R2 (with the treatment given the adjusters, with the outcome given the treatment and the
    adjusters) of a hidden confounder as strong as an observed adjuster whose own partial R2 are
    ``r2_treatment`` (with the treatment, given the other adjusters) and ``r2_outcome`` (with the
    outcome, given the treatment and the other adjusters): Cinelli & Hazlett's (2020) bounds with
    kd = ky = 1 (sensemakr's ``ovb_partial_r2_bound``; DoWhy's LinearSensitivityAnalyzer). The outcome
    bound is capped at 1, as both do. None when no such confounder can exist beside the adjuster (it
    explains half or more of the treatment's remaining variance)."""
    if r2_treatment >= 0.5:
        return None
    r2dz = r2_treatment / (1 - r2_treatment)
    r2zx = r2_treatment ** 2 / (1 - r2_treatment) ** 2  # the confounder's share of the adjuster, given the rest
    r2yz = ((1 + np.sqrt(r2zx)) / np.sqrt(1 - r2zx)) ** 2 * (r2_outcome / (1 - r2_outcome))
    return float(r2dz), float(min(r2yz, 1.0))


def unobserved_confounder_sensitivity(df: pd.DataFrame, t: str, y: str, adjust: list[str],
                                      estimate: Estimate) -> Refutation:
    """Sensitivity of the effect of ``t`` on ``y`` (adjusting for the columns ``adjust`` of ``df``) to a
    hidden confounder, on the linear model y ~ t + adjust (Cinelli & Hazlett 2020, see the module
    docstring). ``estimate``: the estimate being refuted; its interval decides whether there is a
    verdict (none when it already includes zero).

    ``new_effect``: the OLS effect left after the strongest benchmark confounder (the adjuster whose
    bounded confounder moves the estimate most; adjusters with no bound are skipped and named in
    ``reading``); ``robustness_value``: :func:`robustness_value` at 5%; ``benchmark_r2_treatment`` /
    ``benchmark_r2_outcome``: that confounder's partial R2 from :func:`confounder_bounds`.
    """
    T, Y = df[t].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    Z = df[adjust].to_numpy(dtype=float) if adjust else np.zeros((len(df), 0))
    # the linear partialled-out model: t statistic of T in Y ~ T + Z
    A = np.column_stack([np.ones(len(Y)), T, Z])
    beta, *_ = np.linalg.lstsq(A, Y, rcond=None)
    resid = Y - A @ beta
    dof = max(len(Y) - A.shape[1], 2)
    se = float(np.sqrt(float(resid @ resid) / dof * np.linalg.pinv(A.T @ A)[1, 1]))
    b = float(beta[1])
    rv = round(robustness_value(b / se if se > 0 else np.inf, dof), 4)
    name = "unobserved_common_cause (partial R2)"
    # benchmark: a hidden confounder as strong as the observed adjuster that would move the estimate most
    bench, r2dz, r2yz, bias, unbounded = None, 0.0, 0.0, -1.0, []
    for j, c in enumerate(adjust):
        others = np.delete(Z, j, axis=1)
        bounds = confounder_bounds(_partial_r2(T, Z[:, j], others), _partial_r2(Y, Z[:, j], np.column_stack([T, others])))
        if bounds is None:
            unbounded.append(c)
            continue
        b_j = se * np.sqrt(dof) * np.sqrt(bounds[1] * bounds[0] / (1 - bounds[0]))
        if b_j > bias:
            bench, (r2dz, r2yz), bias = c, bounds, b_j
    skipped = (f"no confounder as strong as {', '.join(unbounded)} can exist beside {'it' if len(unbounded) == 1 else 'them'} "
               f"(half or more of {t}'s remaining variance)") if unbounded else None
    if bench is None:
        return _entry(name, b, None, None, robustness_value=rv,
                      reading=skipped or "no observed confounder to benchmark a hidden one against")
    se_adj = se * np.sqrt((1 - r2yz) / (1 - r2dz) * dof / (dof - 1))
    adj = b - np.sign(b) * bias
    q = float(stats.t.ppf(0.975, dof - 1))
    covers_zero = (adj - q * se_adj) <= 0 <= (adj + q * se_adj)
    # passes only if the benchmark confounder leaves an interval on the same side of zero: a bias larger
    # than the effect flips its sign, which is no robustness at all
    same_side = not covers_zero and np.sign(adj) == np.sign(b)
    still_same = bool(same_side) if not (estimate.ci_low <= 0 <= estimate.ci_high) else None
    return _entry(name, adj, None, still_same, robustness_value=rv, reading=skipped, benchmark=bench,
                  benchmark_r2_treatment=round(r2dz, 4), benchmark_r2_outcome=round(r2yz, 4))
