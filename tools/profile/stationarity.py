"""What a time series needs before PCMCI and its kin: no calendar columns among the variables, stationary series.

Two readings of a time series' columns, each recorded with its evidence:

* **calendar columns** (:func:`calendar_columns`): a year, quarter, month or row counter is a
  deterministic function of the row's place in time (a counter that steps by a constant after runs of
  equal length, or a cycle that repeats exactly). It has no causes among the variables and is not a
  cause of them in any sense a graph can show ("quarter is a direct cause of quarter (lag 1)"), so it
  is set aside as a variable with that reason.
* **stationarity** (:func:`stationarity_check`): per continuous column, the augmented Dickey-Fuller
  test (null: a unit root) and the KPSS test (null: level-stationary), both from statsmodels. A
  column is called nonstationary when the two agree (ADF does not reject at 0.05 and KPSS rejects at
  0.05); where they disagree the reading is inconclusive and the column is left as it is. PCMCI,
  PCMCI+, LPCMCI, Granger and VAR-LiNGAM assume stationarity: a trend makes every trending pair look
  dependent and the block bootstrap unstable, so the nonstationary columns are analysed as their
  first differences (:func:`difference`), and everything read on them (graph, effects) is about the
  change per step.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from causalpilot.tools.profile.model import Finding

STATIONARITY_ALPHA = 0.05
PERIOD_CAP = 60  # longest cycle looked for (months of 5 years, minutes of an hour)


def _integers(x: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(x)) and np.all(x == np.round(x)))


def _counter(x: np.ndarray) -> str | None:
    """Why ``x`` is a calendar counter (steps of one constant size after runs of equal length, the first
    and last run may be cut), or None."""
    d = np.diff(x)
    steps = d[d != 0]
    if len(steps) < 2 or not np.all(steps == steps[0]):
        return None
    where = np.flatnonzero(d != 0)
    runs = np.diff(where)
    if len(runs) and not np.all(runs == runs[0]):
        return None
    run = int(runs[0]) if len(runs) else 1
    way = "rises" if steps[0] > 0 else "falls"
    every = "every row" if run == 1 else f"every {run} rows"
    return f"{way} by {abs(steps[0]):g} {every} (a counter of time, like a year or a row number)"


def _cycle(x: np.ndarray) -> str | None:
    """Why ``x`` is a calendar cycle (it repeats exactly with a period of 2 to PERIOD_CAP rows), or None."""
    n = len(x)
    for period in range(2, min(PERIOD_CAP, n // 3) + 1):
        if np.array_equal(x[period:], x[:-period]):
            return (f"repeats exactly every {period} rows ({len(np.unique(x))} values in a fixed cycle, like a "
                    "quarter or a month)")
    return None


def calendar_columns(work: pd.DataFrame, keep: list[str] | tuple[str, ...] = ()) -> dict[str, str]:
    """The columns of a time series ``work`` (rows in time order) that are calendar columns, each with the
    reason: integer-valued, not constant, and a counter (:func:`_counter`) or an exact cycle
    (:func:`_cycle`). Columns in ``keep`` (the named treatment and outcome) are never returned."""
    out = {}
    for c in work.columns:
        if c in keep:
            continue
        x = work[c].to_numpy(dtype=float)
        if len(x) < 6 or not _integers(x) or len(np.unique(x)) < 2:
            continue
        why = _counter(x) or _cycle(x)
        if why:
            out[c] = why
    return out


def _pvalues(x: np.ndarray) -> tuple[float, float]:
    """(ADF p-value, KPSS p-value) of one series (statsmodels; KPSS's p is clipped to 0.01-0.10 by its table)."""
    from statsmodels.tsa.stattools import adfuller, kpss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # KPSS warns when its p-value lies outside its table
        adf = float(adfuller(x, autolag="AIC")[1])
        kp = float(kpss(x, regression="c", nlags="auto")[1])
    return adf, kp


def adf_pvalue(x: pd.Series) -> float:
    """The augmented Dickey-Fuller p-value of a series (NaN values left out; NaN when under 20 remain)."""
    from statsmodels.tsa.stattools import adfuller

    v = x.dropna().to_numpy(dtype=float)
    if len(v) < 20 or np.std(v) == 0:
        return float("nan")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(adfuller(v, autolag="AIC")[1])


def stationarity_check(work: pd.DataFrame, continuous: list[str]) -> Finding:
    """The 'stationarity' finding of a time series: per continuous column of ``work`` (rows in time
    order, no missing values), the ADF and KPSS p-values and the reading (module docstring). The value
    is the list of nonstationary columns (empty: all stationary or inconclusive)."""
    per, nonstat, unclear = {}, [], []
    for c in continuous:
        x = work[c].to_numpy(dtype=float)
        if len(x) < 20 or np.std(x) == 0:
            continue
        adf, kp = _pvalues(x)
        if adf > STATIONARITY_ALPHA and kp < STATIONARITY_ALPHA:
            reading = "nonstationary"
            nonstat.append(c)
        elif adf <= STATIONARITY_ALPHA and kp >= STATIONARITY_ALPHA:
            reading = "stationary"
        else:
            reading = "inconclusive"
            unclear.append(c)
        per[c] = {"adf_p": round(adf, 4), "kpss_p": round(kp, 4), "reading": reading}
    if nonstat:
        shown = ", ".join(f"{c} (ADF p = {per[c]['adf_p']:.2g}, KPSS p = {per[c]['kpss_p']:.2g})" for c in nonstat)
        summary = (f"{len(nonstat)} of {len(per)} continuous series are not stationary (ADF does not reject a unit root "
                   f"and KPSS rejects stationarity, at 0.05): {shown}")
    else:
        summary = f"no continuous series is clearly nonstationary (ADF and KPSS at 0.05, {len(per)} tested)"
    if unclear:
        summary += f"; inconclusive (the two tests disagree), kept as they are: {', '.join(unclear)}"
    return Finding("stationarity", nonstat,
                   {"tests": "augmented Dickey-Fuller (null: unit root) and KPSS (null: level-stationary), statsmodels",
                    "alpha": STATIONARITY_ALPHA, "columns": per}, summary)


def difference(work: pd.DataFrame, columns: list[str], grid: np.ndarray | None) -> tuple[pd.DataFrame, np.ndarray]:
    """``work`` with ``columns`` replaced by their first differences, and the boolean mask (shape (n,)) of the
    rows kept: the first row, and with a time grid (``grid``: each row's position) every row whose
    previous step has no row, have no difference and are dropped."""
    n = len(work)
    keep = np.zeros(n, dtype=bool)
    keep[1:] = True if grid is None else (np.diff(np.asarray(grid)) == 1)
    out = work.copy()
    for c in columns:
        out[c] = work[c].diff()
    return out.loc[keep].reset_index(drop=True), keep
