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
  left after a confounder as strong as the strongest observed one. Passes when that benchmark
  confounder would leave the interval on the same side of zero (neither covering zero nor flipping
  the sign). No p-value: it is a what-if, not a test.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Callable

import numpy as np
import pandas as pd

from causalpilot.tools.inference.estimators import Estimate
from causalpilot.tools.inference.results import Refutation

ALPHA = 0.05


def _significance(value: float, sims: list[float]) -> float:
    from dowhy.causal_refuter import test_significance

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


def refute(df: pd.DataFrame, t: str, y: str, adjust: list[str], estimate: Estimate,
           fn: Callable[..., Estimate], seed: int, num_simulations: int = 50, n_jobs: int = 1) -> list[Refutation]:
    """The four refutations of the back-door ``estimate`` of the effect of ``t`` on ``y`` adjusting for
    ``adjust`` (columns of ``df``), in the order placebo, random common cause, data subset, unobserved
    confounder. ``fn``: the estimator that gave it (a back-door estimator's signature), re-run
    ``num_simulations`` times per simulated refuter with seeds drawn from ``seed``. The simulations run
    in ``n_jobs`` processes (-1: every core); the draws are taken in one process first, so the result
    is the same for any ``n_jobs``."""
    rng = np.random.default_rng(seed)
    sims: dict[str, list[float]] = {}
    for kind in ("placebo", "random_cause", "subset"):
        draws = _draws(kind, len(df), rng, num_simulations)
        if n_jobs == 1:
            sims[kind] = [_simulate(df, t, y, adjust, fn, kind, d, s) for d, s in draws]
        else:
            from joblib import Parallel, delayed

            sims[kind] = Parallel(n_jobs=n_jobs)(delayed(_simulate)(df, t, y, adjust, fn, kind, d, s) for d, s in draws)
    out = []
    p = _significance(0.0, sims["placebo"])
    out.append(_entry("placebo_treatment (permute)", float(np.mean(sims["placebo"])), p, p >= ALPHA,
                      num_simulations=num_simulations))
    p = _significance(estimate.value, sims["random_cause"])
    out.append(_entry("random_common_cause", float(np.mean(sims["random_cause"])), p, p >= ALPHA,
                      num_simulations=num_simulations))
    p = _significance(estimate.value, sims["subset"])
    out.append(_entry("data_subset (80%)", float(np.mean(sims["subset"])), p, p >= ALPHA,
                      num_simulations=num_simulations))
    out.append(unobserved_confounder_sensitivity(df, t, y, adjust, estimate))
    return out


def _partial_r2(y: np.ndarray, x: np.ndarray, others: np.ndarray) -> float:
    """Partial R2 of x in the regression of y on x and others."""
    A = np.column_stack([np.ones(len(y)), others])
    ry = y - A @ np.linalg.lstsq(A, y, rcond=None)[0]
    rx = x - A @ np.linalg.lstsq(A, x, rcond=None)[0]
    denom = float((rx @ rx) * (ry @ ry))
    return float((rx @ ry) ** 2 / denom) if denom > 0 else 0.0


def unobserved_confounder_sensitivity(df: pd.DataFrame, t: str, y: str, adjust: list[str],
                                      estimate: Estimate) -> Refutation:
    T, Y = df[t].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    Z = df[adjust].to_numpy(dtype=float) if adjust else np.zeros((len(df), 0))
    # the linear partialled-out model: t statistic of T in Y ~ T + Z
    A = np.column_stack([np.ones(len(Y)), T, Z])
    beta, *_ = np.linalg.lstsq(A, Y, rcond=None)
    resid = Y - A @ beta
    dof = max(len(Y) - A.shape[1], 1)
    se = float(np.sqrt(float(resid @ resid) / dof * np.linalg.pinv(A.T @ A)[1, 1]))
    tstat = float(beta[1]) / se if se > 0 else np.inf
    f = abs(tstat) / np.sqrt(dof)
    fcrit = float(__import__("scipy").stats.t.ppf(0.975, dof - 1)) / np.sqrt(dof - 1)
    fq = max(f - fcrit, 0.0)
    rv = 0.5 * (np.sqrt(fq ** 4 + 4 * fq ** 2) - fq ** 2)  # robustness value for the 95% interval
    # benchmark: a hidden confounder as strong as the strongest observed adjustment variable
    bench, r2d, r2y = None, 0.0, 0.0
    for j, c in enumerate(adjust):
        others = np.delete(Z, j, axis=1)
        rd = _partial_r2(T, Z[:, j], others)
        ry = _partial_r2(Y, Z[:, j], np.column_stack([T, others]))
        if rd * ry >= r2d * r2y:
            bench, r2d, r2y = c, rd, ry
    if bench is None:
        return _entry("unobserved_common_cause (partial R2)", float(beta[1]), None, None,
                      robustness_value=round(float(rv), 4),
                      reading="no observed confounder to benchmark a hidden one against")
    r2d = min(r2d, 0.999)
    bias = se * np.sqrt(dof) * np.sqrt(r2y * r2d / (1 - r2d))
    se_adj = se * np.sqrt((1 - r2y) / (1 - r2d) * dof / max(dof - 1, 1))
    b = float(beta[1])
    adj = b - np.sign(b) * bias
    q = float(__import__("scipy").stats.t.ppf(0.975, dof - 1))
    covers_zero = (adj - q * se_adj) <= 0 <= (adj + q * se_adj)
    # passes only if the benchmark confounder leaves an interval on the same side of zero: a bias larger
    # than the effect flips its sign, which is no robustness at all
    same_side = not covers_zero and np.sign(adj) == np.sign(b)
    still_same = bool(same_side) if not (estimate.ci_low <= 0 <= estimate.ci_high) else None
    return _entry("unobserved_common_cause (partial R2)", adj, None, still_same,
                  robustness_value=round(float(rv), 4), benchmark=bench,
                  benchmark_r2_treatment=round(r2d, 4), benchmark_r2_outcome=round(r2y, 4))
