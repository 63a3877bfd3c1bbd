"""Estimation of an identified effect: DoWhy's second verb, taking an :class:`Identification`.

- Back-door: one of our own estimators of :mod:`causalpilot.tools.inference.estimators` on one
  adjustment set (fast, because the refuters re-run it dozens of times).
- Front-door: DoWhy's ``frontdoor.two_stage_regression`` (linear first stage X -> M, second stage
  M -> Y adjusting for X; the effect is their product). DoWhy 0.14 refuses more than one mediator
  ("Only singleton frontdoor variables are supported"), so with several the effect is summed over the
  mediators, each through DoWhy's estimator with the other mediators added to its second-stage
  adjustment: in a linear model the total effect is the sum over mediators M_j of (total effect of X
  on M_j) x (direct effect of M_j on Y given X and the other mediators), which also holds when one
  mediator causes another. With one mediator this is exactly DoWhy's estimand.
- Instrumental variable: DoWhy's ``iv.instrumental_variable`` (Wald / Cov(Y,Z)/Cov(X,Z) for one
  instrument, 2SLS for several). DoWhy 0.14 fits the several-instrument 2SLS without an intercept
  (statsmodels IV2SLS on the raw columns), which biases the slope when the means are not zero (1.45
  for a true 1.2 on simulated data), so the columns are centred first, which leaves the slope of the
  model with an intercept unchanged; a single two-valued instrument is recoded 0/1, which DoWhy's Wald
  estimator requires.
Front-door and IV intervals are our own seeded percentile bootstrap (N_BOOT resamples of the rows,
each re-fitting DoWhy's estimator), not DoWhy's bootstrap, which draws from numpy's global generator.
"""

from __future__ import annotations

import copy
import warnings
from typing import Callable

import numpy as np
import pandas as pd

from causalpilot.tools.quiet import quiet_loggers
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.inference.estimators import BACKDOOR_ESTIMATORS, N_BOOT, Estimate, bootstrap
from causalpilot.tools.inference.identify import FRONTDOOR, IV, Identification, dowhy_model

DOWHY_METHODS = {FRONTDOOR: "frontdoor.two_stage_regression", IV: "iv.instrumental_variable"}


def estimate_backdoor(df: pd.DataFrame, treatment: str, outcome: str, adjust: list[str], method: str,
                      seed: int) -> Estimate:
    """The effect adjusting for ``adjust`` (columns of ``df``) with the back-door estimator ``method`` (a
    key of estimators.BACKDOOR_ESTIMATORS), with its 95% interval; raises KeyError for another name."""
    return BACKDOOR_ESTIMATORS[method](df, treatment, outcome, adjust, seed=seed)


def _frontdoor_estimands(ident: Identification) -> list:
    """One DoWhy front-door estimand per mediator: that mediator alone, the others added to the
    second-stage adjustment (see the module docstring)."""
    out = []
    for m in ident.variables:
        est = copy.copy(ident.dowhy_estimand)  # DoWhy's __deepcopy__ drops the mediation confounders
        others = [o for o in ident.variables if o != m]
        est.frontdoor_variables = [m]
        est.mediation_second_stage_confounders = {k: [*v, *[o for o in others if o not in v]]
                                                  for k, v in est.mediation_second_stage_confounders.items()}
        out.append(est)
    return out


def _iv_frame(df: pd.DataFrame, ident: Identification) -> pd.DataFrame:
    """The columns DoWhy's IV estimator sees (see the module docstring): centred for several
    instruments, a two-valued single instrument recoded 0/1."""
    cols = [ident.treatment, ident.outcome, *ident.variables]
    data = df[cols].astype(float).reset_index(drop=True)
    if len(ident.variables) > 1:
        return data - data.mean()
    z = data[ident.variables[0]]
    if z.nunique() == 2:
        data[ident.variables[0]] = (z == z.max()).astype(float)
    return data


def _dowhy_data(df: pd.DataFrame, ident: Identification) -> pd.DataFrame:
    """The rows as DoWhy's estimator must see them: :func:`_iv_frame` for IV, as they are for front-door."""
    return _iv_frame(df, ident) if ident.kind == IV else df.reset_index(drop=True)


def _dowhy_estimators(data: pd.DataFrame, ident: Identification) -> list:
    """The fitted DoWhy estimators whose effects add up to the effect (one per front-door mediator)."""
    estimands = _frontdoor_estimands(ident) if ident.kind == FRONTDOOR else [ident.dowhy_estimand]
    # the model only carries the data and the method registry: identification is already done
    model = dowhy_model(data, CausalGraph([ident.treatment, ident.outcome], [], "DAG"), ident.treatment,
                        ident.outcome)
    with quiet_loggers("dowhy"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [model.estimate_effect(e, method_name=DOWHY_METHODS[ident.kind]).estimator for e in estimands]


def _refit_value(estimators: list, data: pd.DataFrame) -> float:
    with quiet_loggers("dowhy"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sum(e.fit(data).estimate_effect(data).value for e in estimators))


def estimate_dowhy(df: pd.DataFrame, ident: Identification, seed: int, n_boot: int = N_BOOT) -> Estimate:
    """A front-door or instrumental-variable effect (``ident.kind`` FRONTDOOR or IV, identified on a DAG)
    through DoWhy's linear estimators, with a seeded percentile bootstrap interval (``n_boot`` resamples
    of the rows, each prepared and re-fitted as the full data are).

    ``df``: the analysed data; mediators, instruments, treatment and outcome must be its columns.
    Units: the outcome's per unit of the treatment. Raises ValueError for another kind.
    """
    if ident.kind not in DOWHY_METHODS or ident.dowhy_estimand is None:
        raise ValueError(f"estimate_dowhy takes a front-door or IV identification on a DAG, not '{ident.kind}'.")
    data = _dowhy_data(df, ident)
    estimators = _dowhy_estimators(data, ident)
    value = _refit_value(estimators, data)
    resample: Callable[[np.ndarray], float] = \
        lambda idx: _refit_value(estimators, _dowhy_data(df.iloc[idx], ident))
    return bootstrap(resample, len(data), value, seed, n_boot)
