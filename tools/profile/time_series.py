"""Time order: whether a date column makes the rows a time series, and the time-series finding."""

from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causalpilot.tools.profile.dates import parse_times
from causalpilot.tools.profile.model import ColumnProfile, Finding

log = logging.getLogger(__name__)


@dataclass
class DateReading:
    """What the only date column of a table turned out to be."""

    column: str
    order: np.ndarray  # row positions sorted by the column's dates (stable), shape (n rows,)
    ordered: bool  # rows in that order show lagged dependence: the column is the time index
    why: str  # the reading in words


def read_date_column(df: pd.DataFrame, columns: list[ColumnProfile]) -> DateReading | None:
    """The reading of the table's only datetime column, or None unless exactly one column is a date.

    A date column alone does not make a time series: a customer table has sign-up dates. Rows ordered
    by it are analysed as a series only if that order carries lagged dependence (:func:`ordered_by_time`
    on the other columns).
    """
    dt = [c.name for c in columns if c.kind == "datetime"]
    if len(dt) != 1:
        return None
    order = np.argsort(parse_times(df[dt[0]])[0].to_numpy(), kind="stable")
    ordered, why = ordered_by_time(df.iloc[order], [c for c in columns if c.name not in dt])
    return DateReading(dt[0], order, ordered, why)


def ordered_by_time(df: pd.DataFrame, columns: list[ColumnProfile]) -> tuple[bool, str]:
    """Do the rows, in the time order they are given in, show lagged dependence? (answer, the reading in words)

    The numeric analysis columns, ordered by time, are fitted by vector autoregressions of order 0 to 5
    and the order is chosen by BIC (statsmodels' ``VAR.select_order``): order 0 says past rows do not
    help predict the next one, as for independent records that merely carry a date. If the VAR cannot
    be fitted (too few complete rows for the columns), lag-1 autocorrelations are read instead:
    dependence when at least half the columns leave the 95% white-noise band.
    """
    from statsmodels.tsa.api import VAR

    usable = [c.name for c in columns if c.kind in ("continuous", "discrete", "binary")
              and pd.api.types.is_numeric_dtype(df[c.name]) and not pd.api.types.is_bool_dtype(df[c.name])]
    if not usable:
        return True, "no numeric column to check for lagged dependence"
    frame = df[usable].astype(float)
    frame = frame.loc[:, frame.std() > 0].dropna()
    n, p = frame.shape
    lags = int(min(5, (n - 1) // max(4 * p, 1)))
    if p and lags >= 1:
        try:
            X = ((frame - frame.mean()) / frame.std()).to_numpy()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                order = int(VAR(X).select_order(maxlags=lags).selected_orders["bic"])
            return order >= 1, (f"a vector autoregression chooses lag order {order} by BIC (of 0-{lags})"
                                + ("" if order else ", so past rows do not help predict the next"))
        except Exception as exc:  # a singular fit: fall back to the univariate reading
            log.debug("VAR order selection failed (%s: %s); reading lag-1 autocorrelations", type(exc).__name__, exc)
    ac = np.array([frame[c].autocorr(1) for c in frame.columns]) if len(frame) > 2 else np.array([])
    ac = ac[np.isfinite(ac)]
    if not len(ac):
        return True, "lagged dependence could not be checked"
    frac = float(np.mean(np.abs(ac) > 1.96 / np.sqrt(len(frame))))
    return frac >= 0.5, f"{frac:.0%} of the numeric columns have a significant lag-1 autocorrelation"


def time_series_check(work: pd.DataFrame, declared: bool, time_index: str | None) -> Finding:
    """The 'time_series' finding: declared, or detected by lag-1 autocorrelation.

    ``work``: the numeric analysis variables (n rows in the order given, p columns). i.i.d. rows have
    lag-1 autocorrelations near 0; the rows are called ordered in time when at least half the variables
    exceed both the ~95% white-noise band 2/sqrt(n) and 0.3. ``declared`` (--time-series or a time
    index, named by ``time_index``) makes the value True whatever the data say.
    """
    X = work.to_numpy(dtype=float)
    n = X.shape[0]
    ac = []
    for j in range(X.shape[1]):
        x = X[:, j] - X[:, j].mean()
        d = float(np.dot(x, x))
        ac.append(float(np.dot(x[1:], x[:-1]) / d) if d > 0 else 0.0)
    ac = np.array(ac)
    bound = 2.0 / np.sqrt(max(n, 1))  # ~95% band for white noise
    frac_sig = float(np.mean(np.abs(ac) > max(bound, 0.3)))
    detected = bool(frac_sig >= 0.5)
    value = bool(declared or detected)
    if declared:
        why = f"declared ({'time index ' + repr(time_index) if time_index else '--time-series'})"
    elif detected:
        why = (f"{frac_sig:.0%} of variables have lag-1 autocorrelation above {max(bound, 0.3):.2f}: "
               "rows are ordered in time, not independent")
    else:
        why = "rows look exchangeable (little lag-1 autocorrelation): treated as i.i.d. samples"
    return Finding("time_series", value,
                   {"declared": declared, "median_abs_lag1_autocorrelation": round(float(np.median(np.abs(ac))), 4),
                    "fraction_significant": round(frac_sig, 4)}, why)
