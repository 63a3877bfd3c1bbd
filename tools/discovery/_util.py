"""Small translations shared by the discovery wrappers: seeding, standardising, DAG -> CPDAG, the BIC penalty."""

from __future__ import annotations

import random

import numpy as np

from causalpilot.tools.graph import CausalGraph

# The BIC penalty lambda in -n/2 (1 + log s2) - lambda (|Pa| + 1) log n: 0.5 is the standard BIC, 1 is
# Tetrad's penalty discount 2, 2 is causal-learn BOSS's default. Held-out copilot F1 at 0.5 / 1 / 2
# (evals/README.md): the paper's scenarios (noise 0.1, every edge strong) favour 2 by 0.005-0.03, dense
# graphs favour 0.5; weak effects (coefficients 0.1-0.5, unit noise, as in most real data) lose
# 0.02-0.11 at 2, a partial correlation below about sqrt(4 log n / n) (0.15 at n = 1200) being dropped
# as noise, a missed confounder with it. 1 is never more than 0.03 below the best of the three.
BIC_PENALTY = 1.0


def seed_all(seed: int) -> None:
    """Some causal-learn searches (GRaSP, BOSS) draw from Python's and numpy's global generators."""
    random.seed(int(seed))
    np.random.seed(int(seed) % (2**32))


def standardise(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def dag_to_cpdag(adj: np.ndarray, nodes: list[str]) -> CausalGraph:
    """The Markov equivalence class (CPDAG) of a DAG given as adj[i, j] != 0 meaning i -> j.

    Score-equivalent searches (BIC) cannot tell DAGs in one class apart, so reporting the class is
    the honest output; causal-learn's dag2cpdag does the conversion.
    """
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag

    gnodes = [GraphNode(n) for n in nodes]
    dag = Dag(gnodes)
    a = np.asarray(adj)
    for i in range(len(nodes)):
        for j in range(len(nodes)):
            if i != j and a[i, j] != 0:
                dag.add_directed_edge(gnodes[i], gnodes[j])
    return CausalGraph.from_endpoint_matrix(dag2cpdag(dag).graph, nodes, "CPDAG")


def renamed_background(bg, nodes: list[str], names: list[str]):
    """The same knowledge over causal-learn's default node names (X1..Xp) for searches that ignore node_names."""
    from causalpilot.tools.background import Background

    m = dict(zip(nodes, names))
    return Background([(m[a], m[b]) for a, b in bg.required], [(m[a], m[b]) for a, b in bg.forbidden],
                      [[m[n] for n in t] for t in bg.tiers], bg.forbid_within_tiers)
