"""Heterogeneous effects: the same estimator and adjustment set, re-run within groups of a covariate.

Groups are the covariate's values when it has at most 5, else its quartiles. A group-wise estimate
is a conditional average effect (CATE) for that group; its interval is the estimator's own.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalpilot.tools.errors import InputError
from causalpilot.tools.inference import estimators as est_mod

MIN_GROUP = 30


def cate_by_groups(df: pd.DataFrame, t: str, y: str, adjust: list[str], method: str, by: list[str],
                   seed: int) -> list[dict]:
    """One row per group of each covariate in ``by`` (module docstring): {'by', 'group', 'n', 'estimate',
    'ci_low', 'ci_high'} in the outcome's units per unit of ``t``, estimated by the back-door estimator
    ``method`` adjusting for ``adjust`` (less the columns constant in the group); a group with fewer than
    MIN_GROUP rows or a constant treatment gets None and a 'note'. Raises :class:`causalpilot.InputError`
    for a ``by`` column that is missing, the treatment or the outcome."""
    fn = est_mod.BACKDOOR_ESTIMATORS[method]
    out = []
    for col in by:
        if col not in df.columns:
            raise InputError(f"--cate-by column '{col}' is not among the analysed variables.")
        if col in (t, y):
            raise InputError(f"--cate-by column '{col}' is the treatment or the outcome.")
        x = df[col].to_numpy(dtype=float)
        vals = np.unique(x)
        if len(vals) <= 5:
            groups = [(f"{col} = {v:g}", x == v) for v in vals]
        else:
            q = np.quantile(x, [0, 0.25, 0.5, 0.75, 1])
            groups = [(f"{col} in [{q[i]:.3g}, {q[i + 1]:.3g}{']' if i == 3 else ')'}",
                       (x >= q[i]) & ((x <= q[i + 1]) if i == 3 else (x < q[i + 1]))) for i in range(4)]
        for k, (label, mask) in enumerate(groups):
            sub = df[mask]
            row = {"by": col, "group": label, "n": int(mask.sum())}
            if mask.sum() < MIN_GROUP or sub[t].nunique() < 2:
                row.update({"estimate": None, "ci_low": None, "ci_high": None, "note": "too few rows or no variation"})
            else:
                adj = [c for c in adjust if sub[c].nunique() > 1]
                e = fn(sub, t, y, adj, seed=seed + k)
                row.update({"estimate": round(e.value, 6), "ci_low": round(e.ci_low, 6), "ci_high": round(e.ci_high, 6)})
            out.append(row)
    return out
