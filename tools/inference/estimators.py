"""Effect estimators, each returning a point estimate with a 95% interval, and the rule that picks one.

They are small and fast on purpose: the refutations re-run an estimator dozens of times, and DoWhy's
own estimator objects cost about a second each on a loaded machine (measured), so identification is
done with DoWhy (see :mod:`causalpilot.tools.inference.identify`) and back-door estimation here, with the
same estimands (front-door and instrumental-variable estimation go through DoWhy's own estimators, in
:mod:`causalpilot.tools.inference.estimate`):
- ``linear_regression``: OLS of Y on T and the adjustment set; exact t interval.
- ``doubly_robust``: binary T; augmented inverse-probability weighting (AIPW, Robins et al. 1994):
  a logistic propensity and a linear outcome model per arm; consistent when either model is right,
  and the outcome model carries the estimate where the arms barely overlap (weighting alone does
  not: clipped weights were biased by the whole effect size on such data). Interval from the
  efficient influence function. ``doubly_robust_ml`` is the same with cross-fitted gradient-boosted
  outcome models, for nonlinear data.
- ``propensity_weighting``: binary T; logistic propensity, normalised (Hajek) inverse-probability
  weights, propensities clipped to [0.01, 0.99]; seeded bootstrap interval. Kept for comparison
  and for a planner that asks for it; the rules planner uses the doubly robust estimator.
- ``double_ml``: cross-fitted partialling-out (Chernozhukov et al. 2018) with gradient-boosted
  nuisance models; interval from the orthogonal score's standard error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy import stats

from causalpilot.tools.threads import limited

N_BOOT = 200
Z975 = float(stats.norm.ppf(0.975))


@dataclass
class Estimate:
    """A point estimate of an effect (the outcome's units per unit of the treatment) with its 95% interval.
    ``ci_low``/``ci_high`` are NaN for a point-only re-run (``ci=False``); ``se`` and ``dof`` when the
    estimator has them."""

    value: float
    ci_low: float
    ci_high: float
    se: float | None = None
    dof: int | None = None
    poor_overlap: float | None = None  # share of rows with a propensity outside OVERLAP_BAND (binary T)


PS_CLIP = 0.01  # propensities are clipped to [PS_CLIP, 1 - PS_CLIP] before they are inverted
OVERLAP_BAND = (0.05, 0.95)  # rows outside it are where the arms barely overlap


def _design(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    return np.column_stack([np.ones(len(df))] + [df[c].to_numpy(dtype=float) for c in cols])


def _ols(y: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ beta
    dof = max(len(y) - A.shape[1], 1)
    cov = float(resid @ resid) / dof * np.linalg.pinv(A.T @ A)
    return beta, cov, dof


def linear_regression(df: pd.DataFrame, t: str, y: str, adjust: list[str], seed: int = 0,
                      ci: bool = True) -> Estimate:
    """OLS of ``y`` on ``t`` and the columns ``adjust`` of ``df``: the slope of ``t`` with its exact t
    interval (homoskedastic errors). ``seed`` and ``ci`` are accepted for the common signature."""
    beta, cov, dof = _ols(df[y].to_numpy(dtype=float), _design(df, [t, *adjust]))
    se = float(np.sqrt(cov[1, 1]))
    q = float(stats.t.ppf(0.975, dof))
    return Estimate(float(beta[1]), float(beta[1] - q * se), float(beta[1] + q * se), se, dof)


def _propensity(T: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Unpenalised logistic propensity of T given Z (standardised), before clipping."""
    if Z.shape[1] == 0:
        return np.full(len(T), T.mean())
    from sklearn.linear_model import LogisticRegression

    Zs = (Z - Z.mean(0)) / (Z.std(0) + 1e-12)
    return LogisticRegression(C=1e6, max_iter=1000).fit(Zs, T).predict_proba(Zs)[:, 1]


def _ipw_point(T: np.ndarray, Y: np.ndarray, Z: np.ndarray) -> float:
    ps = np.clip(_propensity(T, Z), PS_CLIP, 1 - PS_CLIP)
    w1, w0 = T / ps, (1 - T) / (1 - ps)
    return float((w1 @ Y) / w1.sum() - (w0 @ Y) / w0.sum())


def _binary(df: pd.DataFrame, t: str) -> np.ndarray:
    vals = np.sort(pd.unique(df[t].to_numpy(dtype=float)))
    return (df[t].to_numpy(dtype=float) == vals[-1]).astype(float)


def propensity_weighting(df: pd.DataFrame, t: str, y: str, adjust: list[str], seed: int = 0,
                         ci: bool = True) -> Estimate:
    """Average effect of a binary ``t`` (its larger value is 'treated') by normalised inverse-propensity
    weights (logistic propensity on ``adjust``, clipped to [PS_CLIP, 1 - PS_CLIP]); seeded bootstrap
    interval unless ``ci`` is False."""
    T, Y = _binary(df, t), df[y].to_numpy(dtype=float)
    Z = _design(df, adjust)[:, 1:]
    est = _ipw_point(T, Y, Z)
    if not ci:  # point only, for refutation re-runs
        return Estimate(est, float("nan"), float("nan"))
    return bootstrap(lambda idx: _ipw_point(T[idx], Y[idx], Z[idx]), len(Y), est, seed)


def _arm_predictions(T: np.ndarray, Y: np.ndarray, Z: np.ndarray, flexible: bool,
                     seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Predicted outcomes of every row under T=1 and T=0, from a model fitted on each arm.

    Linear: OLS per arm (an arm with too few rows for its own fit falls back to one OLS with T as a
    column). Flexible: gradient boosting per arm, cross-fitted over 5 folds so no row is predicted by
    a model that saw it.
    """
    A = np.column_stack([np.ones(len(Y)), Z])
    if not flexible:
        if min(int(T.sum()), int(len(T) - T.sum())) <= A.shape[1] + 1:
            beta = np.linalg.lstsq(np.column_stack([A, T]), Y, rcond=None)[0]
            base = A @ beta[:-1]
            return base + beta[-1], base
        return tuple(A @ np.linalg.lstsq(A[T == arm], Y[T == arm], rcond=None)[0] for arm in (1, 0))
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import StratifiedKFold

    m1, m0 = np.zeros_like(Y), np.zeros_like(Y)
    for tr, te in StratifiedKFold(5, shuffle=True, random_state=seed % (2**31)).split(Z, T):
        for arm, out in ((1, m1), (0, m0)):
            rows = tr[T[tr] == arm]
            model = HistGradientBoostingRegressor(max_iter=100, random_state=seed % (2**31))
            out[te] = model.fit(Z[rows], Y[rows]).predict(Z[te])
    return m1, m0


def _aipw(df: pd.DataFrame, t: str, y: str, adjust: list[str], seed: int, ci: bool, flexible: bool) -> Estimate:
    T, Y = _binary(df, t), df[y].to_numpy(dtype=float)
    Z = _design(df, adjust)[:, 1:]
    raw = _propensity(T, Z)
    ps = np.clip(raw, PS_CLIP, 1 - PS_CLIP)
    m1, m0 = _arm_predictions(T, Y, Z, flexible and Z.shape[1] > 0, seed)
    psi = m1 - m0 + T * (Y - m1) / ps - (1 - T) * (Y - m0) / (1 - ps)
    est = float(psi.mean())
    poor = float(np.mean((raw < OVERLAP_BAND[0]) | (raw > OVERLAP_BAND[1])))
    if not ci:
        return Estimate(est, float("nan"), float("nan"), poor_overlap=poor)
    se = float(psi.std(ddof=1) / np.sqrt(len(Y)))
    return Estimate(est, est - Z975 * se, est + Z975 * se, se, len(Y) - 1, poor_overlap=poor)


def doubly_robust(df: pd.DataFrame, t: str, y: str, adjust: list[str], seed: int = 0, ci: bool = True) -> Estimate:
    """AIPW with a logistic propensity and a linear outcome model per arm."""
    return _aipw(df, t, y, adjust, seed, ci, flexible=False)


@limited(1)  # cross-fitted gradient boosting: OpenMP threads on small fits only contend
def doubly_robust_ml(df: pd.DataFrame, t: str, y: str, adjust: list[str], seed: int = 0,
                     ci: bool = True) -> Estimate:
    """AIPW with a logistic propensity and cross-fitted gradient-boosted outcome models per arm."""
    return _aipw(df, t, y, adjust, seed, ci, flexible=True)


def bootstrap(fn: Callable[[np.ndarray], float], n: int, est: float, seed: int, n_boot: int = N_BOOT) -> Estimate:
    """``est`` with the 95% percentile interval of ``fn`` over ``n_boot`` resamples (with replacement)
    of the ``n`` row indices, drawn from numpy's generator seeded with ``seed``; ``fn`` takes the index
    array. Non-finite draws are dropped (NaN bounds when none is left); ``se`` is the draws' spread."""
    rng = np.random.default_rng(seed)
    draws = np.array([fn(rng.integers(0, n, n)) for _ in range(n_boot)])
    draws = draws[np.isfinite(draws)]
    lo, hi = np.percentile(draws, [2.5, 97.5]) if len(draws) else (np.nan, np.nan)
    return Estimate(est, float(lo), float(hi), float(draws.std(ddof=1)) if len(draws) > 1 else None)


@limited(1)  # cross-fitted gradient boosting: OpenMP threads on small fits only contend
def double_ml(df: pd.DataFrame, t: str, y: str, adjust: list[str], seed: int = 0, ci: bool = True,
              folds: int = 5) -> Estimate:
    """Partialling-out DML: residualise Y and T on the adjustment set out of fold, regress residuals."""
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold

    T, Y = df[t].to_numpy(dtype=float), df[y].to_numpy(dtype=float)
    Z = _design(df, adjust)[:, 1:]
    if Z.shape[1] == 0:
        return linear_regression(df, t, y, adjust, seed)
    rt, ry = np.zeros_like(T), np.zeros_like(Y)
    for tr, te in KFold(folds, shuffle=True, random_state=seed % (2**31)).split(Z):
        for target, res in ((T, rt), (Y, ry)):
            m = HistGradientBoostingRegressor(max_iter=100, random_state=seed % (2**31)).fit(Z[tr], target[tr])
            res[te] = target[te] - m.predict(Z[te])
    theta = float(rt @ ry / (rt @ rt))
    psi = (ry - theta * rt) * rt
    se = float(np.sqrt(np.mean(psi ** 2) / np.mean(rt ** 2) ** 2 / len(Y)))
    return Estimate(theta, theta - Z975 * se, theta + Z975 * se, se, len(Y) - 1)


BACKDOOR_ESTIMATORS: dict[str, Callable[..., Estimate]] = {
    "linear_regression": linear_regression,
    "propensity_weighting": propensity_weighting,
    "doubly_robust": doubly_robust,
    "doubly_robust_ml": doubly_robust_ml,
    "double_ml": double_ml,
}

DML_MIN_ADJUST = 15  # at or above this many adjustment variables, flexible nuisance models pay off


def choose_backdoor_estimator(df: pd.DataFrame, t: str, adjust: list[str],
                              linearity: str | None) -> tuple[str, str, dict]:
    """(name, reason, evidence): binary treatment -> doubly robust (AIPW; boosted outcome models when
    the data are nonlinear or the confounders many); continuous treatment with nonlinear relations or
    many confounders -> double ML; otherwise linear regression."""
    n_t = int(df[t].nunique())
    ev = {"treatment_distinct_values": n_t, "n_adjust": len(adjust), "linearity": linearity, "n": len(df)}
    if n_t == 2:
        flexible = bool(adjust) and (linearity == "nonlinear" or len(adjust) >= DML_MIN_ADJUST)
        models = "cross-fitted gradient-boosted outcome models" if flexible else "a linear outcome model per arm"
        return ("doubly_robust_ml" if flexible else "doubly_robust",
                f"'{t}' is binary: augmented inverse-propensity weighting (doubly robust) with a logistic "
                f"propensity and {models} estimates the average treatment effect, and stays consistent if "
                "either model is right", ev)
    if adjust and (linearity == "nonlinear" or len(adjust) >= DML_MIN_ADJUST):
        why = "the profile found nonlinear relations" if linearity == "nonlinear" else \
            f"{len(adjust)} adjustment variables is high-dimensional"
        return ("double_ml", f"{why}: cross-fitted double ML with gradient-boosted nuisance models adjusts "
                             "flexibly and keeps a valid interval", ev)
    return ("linear_regression", f"'{t}' is continuous and the profile found relations "
                                 f"{linearity or 'not tested'}: linear regression on the adjustment set is "
                                 "unbiased and efficient", ev)
