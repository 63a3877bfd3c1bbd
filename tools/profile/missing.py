"""Missing values: infinite values marked missing, then listwise deletion or imputation, recorded."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd


def infinite_to_missing(df: pd.DataFrame) -> list[dict]:
    """Mark the infinite values of the numeric (non-boolean) columns as missing, in place; one repair
    per column that had any. Infinite values are not data: no analysis step can use them."""
    repairs: list[dict] = []
    num_cols = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    for c in num_cols:
        inf = np.isinf(df[c].to_numpy(dtype=float, na_value=np.nan))
        if inf.any():
            df.loc[inf, c] = np.nan
            repairs.append({"column": c, "repair": "inf_to_missing", "rows": int(inf.sum()),
                            "reason": f"{int(inf.sum())} infinite value(s) treated as missing"})
    return repairs


def handle_missing(work: pd.DataFrame, kinds: dict[str, str], time_series: bool,
                   seed: int = 0) -> tuple[pd.DataFrame, dict | None]:
    """Listwise deletion when it loses little (< 5% of rows); otherwise impute and say how.

    ``work``: the numeric analysis variables (n rows, p columns), NaN where missing; ``kinds`` maps each
    column to its kind. Continuous columns are imputed by iterative regression on the other columns
    (scikit-learn's IterativeImputer, 10 rounds, seeded with ``seed``): unlike a median fill it keeps
    the linear dependencies that discovery looks for. Discrete columns take their mode; time series
    (``time_series`` True) are interpolated linearly along time.

    Returns (the frame without missing values, keeping the original row labels of the rows kept; the
    repair as a dict, or None when nothing was missing).
    """
    rows_missing = work.isna().any(axis=1)
    k = int(rows_missing.sum())
    if k == 0:
        return work, None
    frac = k / len(work)
    if frac < 0.05:
        return work.loc[~rows_missing], {"repair": "listwise_deletion", "rows": k,
                                         "reason": f"{k} row(s) ({frac:.1%}) with a missing value dropped (listwise deletion)"}
    out = work.copy()
    if time_series:
        out = out.interpolate(limit_direction="both")
        how = "linear interpolation along time"
    else:
        from sklearn.experimental import enable_iterative_imputer  # noqa: F401 (registers the class)
        from sklearn.impute import IterativeImputer

        for c in out.columns:
            if kinds[c] != "continuous" and out[c].isna().any():
                out[c] = out[c].fillna(out[c].mode().iloc[0])
        cont = [c for c in out.columns if kinds[c] == "continuous"]
        if cont and out[cont].isna().any().any():
            imputer = IterativeImputer(max_iter=10, random_state=seed, sample_posterior=False)
            with warnings.catch_warnings():  # not converging in 10 rounds still leaves a usable fill
                warnings.simplefilter("ignore")
                out[cont] = imputer.fit_transform(out[cont].to_numpy(dtype=float))
        how = "iterative regression imputation (continuous) / mode (discrete)"
    return out, {"repair": "imputation", "rows": k, "method": how,
                 "reason": f"{k} row(s) ({frac:.1%}) had missing values, too many to drop; filled by {how} "
                           "(this can weaken dependencies; treat edges touching imputed columns with care)"}
