"""Near-duplicate columns: flagged, and one of each nearly identical pair set aside before discovery."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalpilot.tools.profile.model import Finding


def collinearity(work: pd.DataFrame, keep: list[str]) -> tuple[Finding, list[str]]:
    """The 'collinearity' finding and the columns to set aside.

    Pearson correlations of the columns of ``work`` (n rows, p numeric columns): pairs with |r| > 0.95
    are flagged; of a pair with |r| > 0.99 the later column is set aside (the earlier one when the
    later is in ``keep``; neither when both are), since near-duplicates break CI tests. The finding's
    value lists [column, column, r] per flagged pair; its evidence maps each set-aside column to why.
    Not tested with fewer than 2 columns or 3 rows.
    """
    if work.shape[1] < 2 or work.shape[0] < 3:
        return Finding("collinearity", [], {"dropped": {}}, "not tested"), []
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(work.to_numpy(dtype=float), rowvar=False)
    r = np.nan_to_num(r)
    cols = list(work.columns)
    flagged, dropped = [], {}
    for i in range(len(cols)):
        for j in range(i + 1, len(cols)):
            if abs(r[i, j]) > 0.95:
                flagged.append([cols[i], cols[j], round(float(r[i, j]), 4)])
                if abs(r[i, j]) > 0.99 and cols[i] not in dropped and cols[j] not in dropped:
                    victim = cols[j] if cols[j] not in keep else cols[i]
                    if victim not in keep:
                        dropped[victim] = (f"nearly identical to '{cols[i] if victim == cols[j] else cols[j]}' "
                                           f"(|r| = {abs(r[i, j]):.3f} > 0.99); set aside before discovery")
    summary = (f"{len(flagged)} pair(s) with |r| > 0.95" + (f"; {len(dropped)} column(s) set aside" if dropped else "")
               if flagged else "no pair with |r| > 0.95")
    return Finding("collinearity", flagged, {"dropped": dropped}, summary), list(dropped)
