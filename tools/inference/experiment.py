"""A randomised treatment's effect analysed as an experiment: the difference in means, and beside it
the covariate-adjusted estimate (Lin 2013, "Agnostic notes on regression adjustments to experimental
data", Ann. Appl. Stat. 7(1): OLS with heteroskedasticity-robust HC2 standard errors)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[float, float, float, float]:
    import statsmodels.api as sm

    fit = sm.OLS(y, sm.add_constant(X, has_constant="add")).fit(cov_type="HC2")
    lo, hi = fit.conf_int(0.05)[1]
    return float(fit.params[1]), float(lo), float(hi), float(fit.pvalues[1])


def experiment_estimates(frame: pd.DataFrame, treatment: str, outcome: str) -> dict[str, Any]:
    """The effect of ``treatment`` on ``outcome`` as in a randomised experiment.

    ``frame``: the analysis variables, numeric. Returns ``difference_in_means`` (for a binary treatment;
    otherwise the unadjusted slope of the outcome on the treatment) with its 95% interval and p-value,
    and ``adjusted_estimate`` with its interval: the same regression with every other column, centred,
    added linearly (Lin 2013). Outcome units per unit of the treatment. Rows with a missing value in the
    columns used are dropped."""
    covs = [c for c in frame.columns if c not in (treatment, outcome)]
    data = frame[[treatment, outcome, *covs]].dropna().astype(float)
    t, y = data[treatment].to_numpy(), data[outcome].to_numpy()
    binary = len(np.unique(t)) == 2
    est, lo, hi, p = _ols(y, t[:, None])
    out: dict[str, Any] = {"rows": int(len(data)), "binary": binary, "difference_in_means": est, "ci_low": lo,
                           "ci_high": hi, "p_value": p, "covariates": covs, "method": "OLS with HC2 standard errors"}
    if covs:
        C = data[covs].to_numpy()
        C = C[:, C.std(axis=0) > 0]
        C = C - C.mean(axis=0)
        a, alo, ahi, _ = _ols(y, np.column_stack([t, C]))
        out.update(adjusted_estimate=a, adjusted_ci_low=alo, adjusted_ci_high=ahi)
    return {k: (round(v, 6) if isinstance(v, float) else v) for k, v in out.items()}


def experiment_note(treatment: str, outcome: str, exp: dict[str, Any]) -> str:
    """One sentence for the report."""
    from causalpilot.reports.numbers import interval, number, p_text

    what = "difference in means" if exp["binary"] else "unadjusted regression slope"
    text = (f"{treatment} looks randomised, so its effect on {outcome} is analysed as an experiment: {what} "
            f"{number(exp['difference_in_means'], 4)} (95% interval {interval(exp['ci_low'], exp['ci_high'], 4)}, "
            f"{p_text(exp['p_value'])})")
    if "adjusted_estimate" in exp:
        text += (f"; adjusted linearly for the {len(exp['covariates'])} covariates "
                 f"{number(exp['adjusted_estimate'], 4)} ({interval(exp['adjusted_ci_low'], exp['adjusted_ci_high'], 4)})")
    return text + "."
