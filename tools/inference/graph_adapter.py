"""From our :class:`CausalGraph` to what the inference libraries need, and what the graph leaves open.

DoWhy and dowhy.gcm want a DAG (a networkx DiGraph). A CPDAG or PAG leaves some directions open;
instead of picking one silently we list every parent set of the treatment that some DAG consistent
with the graph allows (the local IDA rule of Maathuis, Kalisch & Buehlmann 2009), and let the effect
step estimate under each. For gcm queries, which need one DAG, undirected edges are oriented as one
member of the equivalence class (no cycle, no new v-structure), stated as a convention.
"""

from __future__ import annotations

from itertools import combinations

import networkx as nx

from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, dag_extension

MAX_SIBLINGS = 8  # 2**8 candidate parent sets at most


def directed_digraph(graph: CausalGraph) -> nx.DiGraph:
    """The directed (tail -> arrowhead) edges of the graph as a DiGraph over all nodes."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    for e in graph.edges:
        if e.type == "directed" and not e.lag:
            g.add_edge(e.source, e.target)
    return g


def is_dag(graph: CausalGraph) -> bool:
    """True when every edge is directed and there is no cycle."""
    if graph.graph_type == "lagged":
        return False
    if any(e.type != "directed" for e in graph.edges):
        return False
    return nx.is_directed_acyclic_graph(directed_digraph(graph))


def _adjacent(graph: CausalGraph, a: str, b: str) -> bool:
    return graph.edge_between(a, b) is not None


def open_neighbours(graph: CausalGraph, node: str) -> list[str]:
    """Neighbours whose edge with ``node`` has no established direction at ``node``'s side."""
    out = []
    for e in graph.edges:
        if e.type in ("undirected", "nondirected") and node in (e.source, e.target):
            out.append(e.target if e.source == node else e.source)
        elif e.type == "partially_directed" and e.target == node:
            out.append(e.source)  # s o-> node: s may be a parent or a confounded neighbour
    return out


def bidirected_neighbours(graph: CausalGraph, node: str) -> list[str]:
    """Nodes joined to ``node`` by a bidirected edge (a hidden common cause), in edge order."""
    return [e.target if e.source == node else e.source for e in graph.edges
            if e.type == "bidirected" and node in (e.source, e.target)]


def candidate_parent_sets(graph: CausalGraph, treatment: str) -> list[list[str]]:
    """Every locally valid parent set of ``treatment`` (IDA): the known parents plus any subset of
    the open neighbours that creates no new v-structure at the treatment (the added parents must be
    adjacent to each other and to the known parents)."""
    known = graph.parents(treatment)
    open_ = open_neighbours(graph, treatment)
    if len(open_) > MAX_SIBLINGS:
        raise InputError(f"'{treatment}' has {len(open_)} unoriented edges; too many orientations to enumerate "
                         "- add background knowledge (--background) to orient some of them.")
    sets = []
    for k in range(len(open_) + 1):
        for sub in combinations(open_, k):
            ok = all(_adjacent(graph, a, b) for a, b in combinations(sub, 2)) and \
                all(_adjacent(graph, a, p) for a in sub for p in known)
            if ok:
                sets.append(sorted([*known, *sub], key=graph.nodes.index))
    return sets


def possibly_causal_path(graph: CausalGraph, source: str, target: str) -> bool:
    """Whether some DAG consistent with the graph may have a directed path source -> ... -> target
    (walking directed edges forwards and any open edge in either direction)."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    for e in graph.edges:
        if e.lag:
            continue
        if e.type in ("directed", "partially_directed"):
            g.add_edge(e.source, e.target)
        elif e.type in ("undirected", "nondirected"):
            g.add_edge(e.source, e.target)
            g.add_edge(e.target, e.source)
    return nx.has_path(g, source, target)


def connected(graph: CausalGraph, a: str, b: str) -> bool:
    """Whether a path of edges of any type and lag joins ``a`` and ``b`` (ignoring directions)."""
    g = nx.Graph()
    g.add_nodes_from(graph.nodes)
    g.add_edges_from((e.source, e.target) for e in graph.edges)
    return nx.has_path(g, a, b)


def to_dag(graph: CausalGraph, orient_undirected: bool = True) -> tuple[nx.DiGraph, list[str]]:
    """One DAG for the gcm queries: a networkx DiGraph over ``graph.nodes`` and notes naming each
    orientation that was chosen rather than found.

    Undirected edges are oriented as one member of the equivalence class (the DAG extension of Dor &
    Tarsi 1992, :func:`causalpilot.tools.graph.dag_extension`): no new v-structure and no cycle, so
    the DAG encodes the same independences as the graph; which member is a convention, not a finding.
    Raises :class:`InputError` for bidirected or circle-marked edges (possible hidden confounding),
    for undirected edges when ``orient_undirected`` is False, and for a directed cycle."""
    bad = [e.describe() for e in graph.edges if e.type in ("bidirected", "partially_directed", "nondirected")]
    if bad:
        raise InputError("This query needs a DAG, but the graph has edges with possible hidden confounding ("
                         + "; ".join(bad[:5]) + "); give background knowledge or use a DAG-producing algorithm.")
    und = [e for e in graph.edges if e.type == "undirected" and not e.lag]
    if und and not orient_undirected:
        raise InputError("This query needs a DAG, but the graph leaves "
                         + "; ".join(e.describe() for e in und[:5]) + " unoriented.")
    g = directed_digraph(graph)
    if not nx.is_directed_acyclic_graph(g):
        raise InputError("The graph has a directed cycle; the query needs an acyclic graph.")
    notes = []
    if und:
        adj = dag_extension(CausalGraph(graph.nodes, [e for e in graph.edges if not e.lag], "CPDAG"))
        idx = {n: i for i, n in enumerate(graph.nodes)}
        for e in und:
            a, b = (e.source, e.target) if adj[idx[e.source], idx[e.target]] else (e.target, e.source)
            g.add_edge(a, b)
            notes.append(f"{e.source} --- {e.target} oriented as {a} -> {b} (one DAG of the equivalence class, "
                         "earlier columns before later ones where the class allows: a convention, not a finding)")
    if not nx.is_directed_acyclic_graph(g):
        raise InputError("The graph's directions admit no acyclic completion; the query needs an acyclic graph.")
    return g, notes
