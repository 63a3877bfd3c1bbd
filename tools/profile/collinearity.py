"""Near-duplicate columns: pairs of highly correlated columns, reported and kept.

A pair with |r| > 0.99 that is not an exact copy is still two measurements: noise, however small,
keeps their conditional independences testable, and which of them the user cares about is theirs
to say. They are therefore reported (with |r|) and kept. Exact copies, sums and other exact
functions of other columns are found by :mod:`causalpilot.tools.profile.dependence`, which sets
one column of each aside for discovery with the relation as the reason.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalpilot.tools.profile.model import Finding

FLAG_R = 0.95  # pairs above this |r| are listed
NEAR_DUPLICATE_R = 0.99  # pairs above this |r| are called near-duplicates (and kept)


def collinearity(work: pd.DataFrame) -> Finding:
    """The 'collinearity' finding: Pearson correlations of the columns of ``work`` (n rows, p numeric
    columns). Its value lists [column, column, r] for each pair with |r| > :data:`FLAG_R`; its
    evidence names the near-duplicates (|r| > :data:`NEAR_DUPLICATE_R`), all of which stay analysis
    variables. Not tested with fewer than 2 columns or 3 rows."""
    if work.shape[1] < 2 or work.shape[0] < 3:
        return Finding("collinearity", [], {"near_duplicates": []}, "not tested")
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.corrcoef(work.to_numpy(dtype=float), rowvar=False)
    r = np.nan_to_num(np.atleast_2d(r))
    cols = list(work.columns)
    flagged = [[cols[i], cols[j], round(float(r[i, j]), 4)]
               for i in range(len(cols)) for j in range(i + 1, len(cols)) if abs(r[i, j]) > FLAG_R]
    near = [pair for pair in flagged if abs(pair[2]) > NEAR_DUPLICATE_R]
    if not flagged:
        return Finding("collinearity", [], {"near_duplicates": []}, f"no pair with |r| > {FLAG_R}")
    summary = f"{len(flagged)} pair(s) with |r| > {FLAG_R}"
    if near:
        shown = ", ".join(f"{a} and {b} (r = {v:.4f})" for a, b, v in near[:5]) + (" and more" if len(near) > 5 else "")
        summary += (f"; near-duplicates (|r| > {NEAR_DUPLICATE_R}): {shown}, all kept (not exact copies; tests of "
                    "them have little power)")
    return Finding("collinearity", flagged, {"near_duplicates": near}, summary)
