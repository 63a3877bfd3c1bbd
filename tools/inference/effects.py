"""Effect of a treatment on an outcome, identified from the graph by back-door adjustment.

This is the walking skeleton's estimator: linear regression of the outcome on the treatment and
the treatment's parents in the graph (a valid back-door set when the graph is a correct DAG), with
a normal-theory 95% interval. Where the graph leaves edges at the treatment undirected, the
adjustment set is not determined and the entry says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import stats

from tools.errors import InputError
from tools.graph import CausalGraph
from tools.profiling import PreparedData


def estimate_effects(prepared: PreparedData, graph: CausalGraph, treatment: str, outcome: str,
                     seed: int = 0) -> list[dict[str, Any]]:
    cols = list(prepared.frame.columns)
    for c in (treatment, outcome):
        if c not in cols:
            raise InputError(f"Column '{c}' is not among the analysed variables ({', '.join(cols)}).")
    if treatment == outcome:
        raise InputError("The treatment and the outcome must be different columns.")
    parents = graph.parents(treatment)
    undetermined = [e.describe() for e in graph.edges
                    if treatment in (e.source, e.target) and e.type != "directed"]
    adjust = [c for c in parents if c != outcome]
    X = prepared.frame[[treatment, *adjust]].to_numpy(dtype=float)
    y = prepared.frame[outcome].to_numpy(dtype=float)
    A = np.column_stack([np.ones(len(y)), X])
    beta, *_ = np.linalg.lstsq(A, y, rcond=None)
    resid = y - A @ beta
    dof = max(len(y) - A.shape[1], 1)
    sigma2 = float(resid @ resid) / dof
    cov = sigma2 * np.linalg.pinv(A.T @ A)
    se = float(np.sqrt(cov[1, 1]))
    t = stats.t.ppf(0.975, dof)
    est = float(beta[1])
    return [{
        "treatment": treatment, "outcome": outcome,
        "estimand": "backdoor" if not undetermined else "backdoor (adjustment set not determined by the graph)",
        "adjustment_set": adjust, "method": "linear_regression",
        "estimate": round(est, 6), "ci_low": round(est - t * se, 6), "ci_high": round(est + t * se, 6),
        "refutations": [],
        "notes": ([f"edges at the treatment are not oriented ({'; '.join(undetermined)}): the adjustment set "
                   "may be incomplete"] if undetermined else []),
    }]
