"""Exact score-based search (causal-learn's A* / dynamic programming over orders) for small p."""

from __future__ import annotations

from typing import Any

import numpy as np

from tools.discovery._util import dag_to_cpdag, standardise
from tools.discovery.causallearn_algos import quiet
from tools.errors import InputError
from tools.graph import CausalGraph
from tools.registry import DiscoveryInput, algorithm

EXACT_MAX_P = 15


@algorithm(
    "exact_search", family="score", output="CPDAG",
    profile="""Exact search: finds the DAG with the globally best BIC score by A* (or dynamic
    programming) over the lattice of variable subsets, so no greedy step can go wrong. Assumes
    linear-Gaussian data and causal sufficiency; the BIC-optimal DAG is reported as its equivalence
    class (CPDAG). Cost is exponential in p (2^p subsets): seconds at 8 variables, tens of
    seconds at 10, minutes at 12; 15 is the hard limit; a parent limit (max_parents) makes it faster. The gold standard to check a greedy search against.""",
    defaults={"search_method": "astar", "max_parents": None},
    data_types=("continuous",), supports_background=True, max_p=EXACT_MAX_P,
)
def run_exact_search(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.ScoreBased.ExactSearch import bic_exact_search

    p = data.X.shape[1]
    if p > EXACT_MAX_P:
        raise InputError(f"exact_search is exponential in the number of variables; {p} > {EXACT_MAX_P} is too many.")
    method = params.get("search_method", "astar")
    if method not in ("astar", "dp"):
        raise InputError(f"exact_search: search_method must be 'astar' or 'dp', got '{method}'.")
    super_graph = np.ones((p, p)) - np.eye(p)
    include = None
    bg = data.background
    if bg is not None and not bg.is_empty():
        for i, a in enumerate(data.nodes):
            for j, b in enumerate(data.nodes):
                if i != j and bg.forbids(a, b):
                    super_graph[i, j] = 0
        include = np.zeros((p, p))
        for a, b in bg.required:
            include[data.nodes.index(a), data.nodes.index(b)] = 1
    mp = params.get("max_parents")
    with quiet():
        dag, _ = bic_exact_search(standardise(data.X), super_graph=super_graph, search_method=method,
                                  include_graph=include, max_parents=None if mp is None else int(mp))
    g = dag_to_cpdag(dag, data.nodes)
    if include is not None and include.any():
        # required edges are part of the search's DAG; keep them directed as the knowledge says
        from tools.background import apply_to_graph

        g, _ = apply_to_graph(g, bg)
    return g
