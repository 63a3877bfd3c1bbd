"""Held-out check: the measurement-error finding and the planner's response to it.

Linear-Gaussian SEMs on Erdos-Renyi DAGs (p = 10, edge probability 0.2, n = 1000) with coefficients
+-[0.5, 2.0] ("strong") or +-[0.1, 0.5] ("weak") and noise scales drawn in [0.5, 2] per variable,
observed without error, with Gaussian error of 0.5-1 standard deviations on the best-connected
variable ("hub"), or on two random variables ("two"); and the suite's measurement_error scenario
(every column with error of 0.3 standard deviations, ``copilot_sem``). For each data set the rules
planner's plan runs as planned and without ``error_variance`` (what it did before the finding).
The check and the rule were chosen on seeds 20000-20029; this script judges them on seeds 50000+
by default. Run from the repository root: ``python -m evals.heldout.measurement_error 30 [base_seed [family]]``.
"""
import sys

import numpy as np
import pandas as pd

from causalpilot.agent.loop import discovery_input
from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.generators import copilot_sem, random_dag, topological_order
from causalpilot.evals.heldout.compare import print_with_and_without, with_and_without
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare


def noisy_sem(seed: int, weights: tuple[float, float], noisy: str, p: int = 10, n: int = 1000,
              edge_prob: float = 0.2):
    """(data frame, true graph, the columns observed with error)."""
    rng = np.random.default_rng(seed)
    adj = random_dag(p, edge_prob, None, rng)
    W = adj * rng.uniform(*weights, size=(p, p)) * rng.choice([-1.0, 1.0], size=(p, p))
    scale = rng.uniform(0.5, 2.0, p)
    X = np.zeros((n, p))
    for j in topological_order(adj):
        X[:, j] = X @ W[:, j] + rng.normal(0, scale[j], n)
    degree = adj.sum(axis=0) + adj.sum(axis=1)
    cols = {"none": [], "hub": [int(np.argmax(degree))],
            "two": [int(j) for j in rng.choice(p, 2, replace=False)]}[noisy]
    for j in cols:
        X[:, j] += rng.normal(0, rng.uniform(0.5, 1.0) * X[:, j].std(), n)
    names = [f"X{k + 1}" for k in range(p)]
    truth = CausalGraph.from_adjacency(adj, names, algorithm="truth")
    return pd.DataFrame(X, columns=names), truth, [names[j] for j in cols]


FAMILIES = {
    "no error, strong": lambda s: noisy_sem(s, (0.5, 2.0), "none"),
    "no error, weak": lambda s: noisy_sem(s, (0.1, 0.5), "none"),
    "no error, weak, dense (edge probability 0.4)": lambda s: noisy_sem(s, (0.1, 0.5), "none", edge_prob=0.4),
    "error on the hub, strong": lambda s: noisy_sem(s, (0.5, 2.0), "hub"),
    "error on the hub, weak": lambda s: noisy_sem(s, (0.1, 0.5), "hub"),
    "error on two variables, strong": lambda s: noisy_sem(s, (0.5, 2.0), "two"),
    "error on every variable (suite scenario)": lambda s: (lambda syn: (syn.data, syn.truth, list(syn.data.columns)))(
        copilot_sem(seed=s, measurement_error=0.3)),
}

if __name__ == "__main__":
    N = int(sys.argv[1])
    base = int(sys.argv[2]) if len(sys.argv) > 2 else 50000
    only = sys.argv[3] if len(sys.argv) > 3 else ""  # run only the families whose name contains this
    for name, make in FAMILIES.items():
        if only not in name:
            continue
        rows, fired, right = [], 0, 0
        for k in range(N):
            frame, truth, noisy = make(base + k)
            prep = profile_and_prepare(Dataset(frame=frame, path="<s>", sha256=str(k), format="synthetic"), seed=1)
            plan = RulesPlanner().plan_discovery(prep.profile, Request())
            di = discovery_input(prep, 2, None)
            flagged = plan.params.get("error_variance") or {}
            fired += bool(flagged)
            right += bool(set(flagged) & set(noisy))
            rows.append(with_and_without(plan, di, truth, "error_variance"))
        R = np.array(rows)
        print(f"{name}: {N} data sets (seeds {base}+), a variable flagged in {fired} ({right} of them one with error)")
        print_with_and_without(R)
        fired_rows = R[R[:, 0] != R[:, 3]] if fired else R[:0]
        if len(fired_rows):
            print(f"  on the {len(fired_rows)} whose graph changed: copilot F1 {fired_rows[:, 0].mean():.3f} vs "
                  f"{fired_rows[:, 3].mean():.3f}")
