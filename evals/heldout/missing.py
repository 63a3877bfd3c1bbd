"""Held-out check: values missing completely at random in linear-Gaussian data, seeds 9000+ / 9500+.

A random DAG (p variables, edge probability 0.3, coefficients +-[0.3, 1.0], unit Gaussian noise),
then each cell is deleted with probability ``rate``. Compares what the profiler's imputation feeds
the exact BIC search and PC (Fisher-z) with PC on the data with their gaps (causal-learn's
``mv_fisherz``: each test on the rows complete in its own variables). Run from the repository root
(the folder above it on PYTHONPATH)::

    python -m causalpilot.evals.heldout.missing SEED0 N_DATASETS n p rate
"""
import sys

import numpy as np

from causalpilot.agent.loop import discovery_input
from causalpilot.evals.generators import linear_sem
from causalpilot.evals.heldout import print_means, scores
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare
from causalpilot.tools.registry import run_algorithm

METHODS = (("exact search, imputed", "exact_search", {}, False),
           ("pc fisherz 0.05, imputed", "pc", {"indep_test": "fisherz", "alpha": 0.05}, False),
           ("pc mv_fisherz 0.05, gaps", "pc", {"indep_test": "mv_fisherz", "alpha": 0.05}, True),
           ("pc mv_fisherz 0.1, gaps", "pc", {"indep_test": "mv_fisherz", "alpha": 0.1}, True),
           ("pc mv_fisherz 0.01, gaps", "pc", {"indep_test": "mv_fisherz", "alpha": 0.01}, True),
           ("pc mv_fisherz n-rule, gaps", "pc", {"indep_test": "mv_fisherz", "alpha": "rule"}, True),
           ("pc mv_fisherz BIC-tuned", "tuned", {}, True))


def tuned(di, rows):
    """PC with mv_fisherz at the alpha (of 0.01, 0.05, 0.1) whose graph has the lowest Gaussian BIC on the
    rows without a missing value (unbiased when values are missing completely at random)."""
    from causalpilot.tools.graph import dag_extension
    from causalpilot.tools.tuning import gaussian_bic

    best = None
    for a in (0.01, 0.05, 0.1):
        g = run_algorithm("pc", di, {"indep_test": "mv_fisherz", "alpha": a})
        b = gaussian_bic(di.X[rows], dag_extension(g))
        if best is None or b < best[0]:
            best = (b, g)
    return best[1]


def sim(seed: int, n: int, p: int, rate: float):
    s = linear_sem(p, n, edge_prob=0.3, weight_range=(0.3, 1.0), seed=seed)
    rng = np.random.default_rng(seed + 1)
    frame = s.data.mask(rng.random(s.data.shape) < rate)
    return frame, s.truth


def main(seed0: int, k: int, n: int, p: int, rate: float) -> None:
    rows = []
    for i in range(k):
        frame, truth = sim(seed0 + i, n, p, rate)
        prep = profile_and_prepare(Dataset(frame=frame, path="<sim>", sha256=str(i), format="synthetic"), seed=1)
        r = []
        for _, name, params, gaps in METHODS:
            di = discovery_input(prep, 2, None, with_gaps=gaps)
            if name == "tuned":
                g = tuned(di, ~np.isnan(di.X).any(axis=1))
            elif params.get("alpha") == "rule":  # the sample-size rule of agent/planners/rules.py
                g = run_algorithm(name, di, {**params, "alpha": 0.1 if n < 500 else 0.05})
            else:
                g = run_algorithm(name, di, params)
            r += scores(g, truth)
        rows.append(r)
        print(i, f"incomplete rows {frame.isna().any(axis=1).mean():.2f}", np.round(r[::4], 2), flush=True)
    print(f"seeds {seed0}+, {k} data sets, n = {n}, p = {p}, cell rate {rate}")
    print_means(rows, [m[0] for m in METHODS])


if __name__ == "__main__":
    a = sys.argv[1:]
    main(int(a[0]), int(a[1]), int(a[2]), int(a[3]), float(a[4]))
