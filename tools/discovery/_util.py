"""Small translations shared by the discovery wrappers: seeding, standardising, DAG -> CPDAG."""

from __future__ import annotations

import random

import numpy as np

from tools.graph import CausalGraph


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
    from tools.background import Background

    m = dict(zip(nodes, names))
    return Background([(m[a], m[b]) for a, b in bg.required], [(m[a], m[b]) for a, b in bg.forbidden],
                      [[m[n] for n in t] for t in bg.tiers], bg.forbid_within_tiers)
