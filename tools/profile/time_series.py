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


BLOCK_PERSISTENCE = 0.8  # lag-5 over lag-1 autocorrelation at or above this: the level persists (blocks of rows)
BLOCK_DIFF_AC = -0.4  # lag-1 autocorrelation of first differences at or below this: white noise around that level


def _autocorr(x: np.ndarray, lag: int) -> float:
    """The lag-``lag`` sample autocorrelation of a 1-D array (0 for a constant)."""
    x = x - x.mean()
    d = float(np.dot(x, x))
    return float(np.dot(x[lag:], x[:-lag]) / d) if d > 0 and len(x) > lag else 0.0


def time_series_check(work: pd.DataFrame, declared: bool, time_index: str | None,
                      continuous: list[str] | None = None) -> Finding:
    """The 'time_series' finding: declared, or detected from the dependence between neighbouring rows.

    ``work``: the numeric analysis variables (n rows in the order given, p columns); ``continuous``:
    the names of its continuous columns (None: all). ``declared`` (--time-series or a time index, named
    by ``time_index``) makes the value True whatever the data say.

    Independent rows have lag-1 autocorrelations near 0. A column is *serially dependent* when its
    lag-1 autocorrelation exceeds both the ~95% white-noise band 2/sqrt(n) and 0.3, unless the
    dependence is that of *blocks of rows*: a level that persists (lag-5 autocorrelation at least 0.8
    of lag-1) with white noise around it (first differences with lag-1 autocorrelation <= -0.4, the
    -0.5 of differenced white noise), which is what grouped or sorted records look like (experimental
    conditions one after another, people sorted by region), not dynamics. Binary and discrete columns
    form runs whenever records are sorted, so the decision reads the continuous columns when there
    are any. The rows are called a time series only when *more than half* of those columns are
    serially dependent: at a tie, or when blocks explain the dependence, the reading that needs no
    time order (i.i.d. rows) is taken, and the finding says the evidence and how to override it
    (Box & Jenkins, *Time Series Analysis*, ch. 2, for the white-noise band).
    """
    n = len(work)
    cols = [c for c in work.columns if continuous is None or c in continuous] or list(work.columns)
    bound = max(2.0 / np.sqrt(max(n, 1)), 0.3)
    ac, serial, blocks = {}, [], []
    for c in cols:
        x = work[c].to_numpy(dtype=float)
        ac[c] = _autocorr(x, 1)
        if abs(ac[c]) <= bound:
            continue
        persists = abs(_autocorr(x, 5)) >= BLOCK_PERSISTENCE * abs(ac[c])
        (blocks if persists and n > 12 and _autocorr(np.diff(x), 1) <= BLOCK_DIFF_AC else serial).append(c)
    frac = len(serial) / len(cols) if cols else 0.0
    detected = frac > 0.5
    value = bool(declared or detected)
    which = "continuous " if continuous is not None and len(cols) < work.shape[1] else ""
    share = f"{len(serial)} of {len(cols)} {which}variables"
    if declared:
        why = f"declared ({'time index ' + repr(time_index) if time_index else '--time-series'})"
    elif detected:
        why = (f"{share} have lag-1 autocorrelation above {bound:.2f} that fades with the lag: rows are ordered "
               "in time, not independent")
    else:
        why = "rows look exchangeable (little lag-1 autocorrelation): treated as i.i.d. samples"
        if blocks:
            why = (f"rows come in blocks: {len(blocks)} of {len(cols)} {which}variables keep a shifted level over many "
                   "rows with independent noise around it (grouped or sorted records, e.g. conditions or sites one "
                   "after another), not dynamics; treated as i.i.d. samples (give --domain-index if a column names "
                   "the blocks, --time-series if the rows are in time order)")
        elif serial:
            why = (f"only {share} have lag-1 autocorrelation above {bound:.2f} (a time series needs more than half): "
                   "treated as i.i.d. samples, the reading that needs no time order (--time-series if the rows are "
                   "in time order)")
    med = float(np.median(np.abs(list(ac.values())))) if ac else 0.0
    return Finding("time_series", value,
                   {"declared": declared, "median_abs_lag1_autocorrelation": round(med, 4),
                    "fraction_significant": round(frac, 4), "columns_read": len(cols),
                    "serially_dependent": serial, "blocks_of_rows": blocks}, why)
