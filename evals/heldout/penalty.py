"""Held-out check: the BIC penalty lambda of the score searches, at 0.5 (standard BIC), 1 and 2.

The Causal-Copilot scenarios draw coefficients in [0.5, 1.5] with noise scale 0.1, so every edge is
strong; real data rarely are. This compares the exact search (p = 10) or BOSS (p = 50) at each
penalty on both kinds: the paper's scenarios (seeds 9000+) and linear SEMs with coefficients in
[0.1, 0.5] and unit noise (seeds 8000+). Run from the repository root, e.g.
``python -m evals.heldout.penalty weak 10 40 1000`` or ``python -m evals.heldout.penalty me 10 30``.
Scenarios: default, dense, me (measurement error 0.3), missing, mixed, strong (expected degree 2),
weak, weak_dense, moderate (coefficients in [0.2, 0.8]).
"""
import sys
import time

import numpy as np

from causalpilot.agent.loop import discovery_input
from causalpilot.evals.generators import copilot_sem, linear_sem
from causalpilot.evals.metrics import score
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare
from causalpilot.tools.registry import run_algorithm

PENALTIES = (0.5, 1.0, 2.0)


def simulate(kind: str, p: int, k: int, n: int):
    if kind in ("weak", "weak_dense", "moderate"):
        prob = 0.4 if kind == "weak_dense" else (0.2 if p == 10 else 2.0 / (p - 1))
        weights = (0.2, 0.8) if kind == "moderate" else (0.1, 0.5)
        return linear_sem(p=p, n=n, edge_prob=prob, weight_range=weights, seed=8000 + k)
    knobs = {"default": {}, "dense": {"edge_prob": 0.5}, "me": {"measurement_error": 0.3},
             "missing": {"missing_fraction": 0.1}, "mixed": {"discrete_fraction": 0.2},
             "strong": {"edge_prob": round(2.0 / (p - 1), 4)}}[kind]
    return copilot_sem(p=p, n=n, seed=9000 + k, **{"edge_prob": 0.2, **knobs})


if __name__ == "__main__":
    kind, p, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    n = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    algorithm = "exact_search" if p <= 16 else "boss"
    rows, seconds = [], np.zeros(len(PENALTIES))
    for k in range(N):
        syn = simulate(kind, p, k, n)
        prep = profile_and_prepare(Dataset(frame=syn.data, path="<s>", sha256=str(k), format="synthetic"), seed=1)
        di = discovery_input(prep, 2, None)
        row = []
        for i, lam in enumerate(PENALTIES):
            t = time.time()
            g = run_algorithm(algorithm, di, {"penalty": lam})
            seconds[i] += time.time() - t
            s = score(g, syn.truth)
            row += [s["copilot_f1"], s["arrow_f1"], s["skeleton_f1"]]
        rows.append(row)
    R = np.array(rows)
    print(f"{kind}, p = {p}, n = {n}, {algorithm}, {N} data sets")
    for i, lam in enumerate(PENALTIES):
        print(f"  lambda {lam}: copilot F1 {R[:, 3 * i].mean():.3f}  arrow F1 {R[:, 3 * i + 1].mean():.3f}  "
              f"skeleton F1 {R[:, 3 * i + 2].mean():.3f}  ({seconds[i] / N:.1f} s)")
