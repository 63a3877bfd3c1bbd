"""Reconciling a small portfolio of discovery runs when the data profile does not single out one method.

An adjacency is kept when a strict majority of the runs finds it. Its orientation is the one the
majority of the runs that contain it agree on (an edge type with its direction); when no
orientation has a majority, it is left undirected, since the methods disagree on it. Each
member's vote is written into the graph's parameters, so the report shows how the result arose.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from causalpilot.tools.cluster import task_map
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.registry import DiscoveryInput, run_algorithm


def reconcile(graphs: list[CausalGraph]) -> tuple[CausalGraph, dict[str, Any]]:
    main = graphs[0]
    m = len(graphs)
    adj: Counter = Counter()
    orient: dict = {}
    for g in graphs:
        for e in g.edges:
            adj[e.pair()] += 1
            orient.setdefault(e.pair(), Counter())[(e.source, e.target, e.type)] += 1
    edges, disagreements = [], []
    for pair, c in adj.items():
        if c * 2 <= m:
            continue
        (s, t, typ), votes = orient[pair].most_common(1)[0]
        lag = next((x[1] for x in pair if isinstance(x, tuple)), None)
        if votes * 2 > c:
            edges.append(Edge(s, t, typ, None, lag))
        else:
            names = sorted(x for x in pair if isinstance(x, str))
            edges.append(Edge(names[0], names[-1], "undirected", None, lag))
            disagreements.append(f"{names[0]} - {names[-1]}")
    graph = CausalGraph(list(main.nodes), edges, "CPDAG" if main.graph_type == "DAG" else main.graph_type,
                        main.algorithm, dict(main.parameters))
    evidence = {"members": [g.algorithm for g in graphs], "edges_per_member": [len(g.edges) for g in graphs],
                "kept": len(edges), "rule": "adjacency by strict majority; orientation by majority among the runs "
                "that contain the edge, else undirected", "orientation_disagreements": disagreements[:20]}
    return graph, evidence


def _member(data: DiscoveryInput, name: str, params: dict[str, Any]) -> CausalGraph:
    return run_algorithm(name, data, params)


def run_portfolio(main: CausalGraph, portfolio: list[tuple[str, dict[str, Any]]], data: DiscoveryInput
                  ) -> CausalGraph:
    """``main`` reconciled with the graphs of the ``portfolio`` members (name, params) on ``data``; the
    members run as tasks (on the active Dask cluster, else here; :func:`causalpilot.tools.cluster.task_map`)."""
    graphs = [main] + list(task_map(_member, data, [(name, params) for name, params in portfolio]))
    graph, evidence = reconcile(graphs)
    graph.parameters["portfolio"] = evidence
    return graph
