"""The project's one graph model: nodes, typed edges with marks, confidence, lag and provenance.

Every discovery algorithm, whatever library it wraps, returns a :class:`CausalGraph`, so the
planner, the memory, the inference step and the report only ever see one shape. It serialises to
the ``graph.json`` of the user-facing contract, deterministically (sorted edges, rounded floats),
so that the same seed gives byte-identical files. An edge whose marks were set by something other
than the algorithm on the data (background knowledge, an additive-noise test, mechanism changes
across domains, the LLM's review) says so in its :class:`Orientation`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any, Iterable

import numpy as np

# Endpoint marks, as causal-learn encodes them in GeneralGraph.graph[i, j] (the mark at node i on
# the edge i - j): -1 tail, 1 arrowhead, 2 circle.
TAIL, ARROW, CIRCLE = -1, 1, 2

EDGE_TYPES = ("directed", "undirected", "bidirected", "partially_directed", "nondirected")
GRAPH_TYPES = ("DAG", "CPDAG", "PAG", "lagged")

# who set an edge's marks: the algorithm on the data (the default, not written to graph.json), the
# user's background knowledge, the additive-noise test (tools/discovery/additive_noise.py), mechanism
# changes across domains (tools/discovery/domain_changes.py), or the LLM's review of an edge (agent_tools)
ORIENTED_BY = ("data", "background", "additive_noise", "domain_change", "llm_review")


@dataclass(frozen=True)
class Orientation:
    """The provenance of an edge's marks: ``by`` (one of :data:`ORIENTED_BY`) and why, in a phrase."""

    by: str
    reason: str | None = None

    def __post_init__(self) -> None:
        if self.by not in ORIENTED_BY:
            raise ValueError(f"unknown orientation source {self.by!r}; expected one of {ORIENTED_BY}")


_SYMBOL = {
    "directed": "-->",
    "undirected": "---",
    "bidirected": "<->",
    "partially_directed": "o->",
    "nondirected": "o-o",
}


@dataclass(frozen=True)
class Edge:
    """One edge. For ``directed`` and ``partially_directed`` the order matters (source -> target);
    for the symmetric types source/target are stored in node order so that equal graphs compare
    equal. ``lag`` is None for tabular graphs, k >= 0 for time series (source at t-k).
    ``orientation`` says who set the marks when it was not the algorithm on the data (None); it does
    not enter equality, since two edges with the same marks are the same edge."""

    source: str
    target: str
    type: str
    confidence: float | None = None
    lag: int | None = None
    # bootstrap frequency of the adjacency whatever its marks (``confidence`` is that of this exact edge)
    link_confidence: float | None = None
    orientation: Orientation | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.type not in EDGE_TYPES:
            raise ValueError(f"unknown edge type {self.type!r}")

    @property
    def oriented_by(self) -> str:
        """Who set the marks: ``data`` (the algorithm) unless an :class:`Orientation` says otherwise."""
        return "data" if self.orientation is None else self.orientation.by

    @property
    def adjacency_confidence(self) -> float | None:
        """The bootstrap confidence of the link itself: ``link_confidence`` where recorded, else ``confidence``."""
        return self.confidence if self.link_confidence is None else self.link_confidence

    def link_differs(self) -> bool:
        """Whether the link's confidence differs, at two decimals, from the exact edge's (marks included)."""
        return (self.link_confidence is not None and self.confidence is not None
                and abs(self.link_confidence - self.confidence) >= 0.005)

    @property
    def symmetric(self) -> bool:
        return self.type in ("undirected", "bidirected", "nondirected")

    def pair(self) -> frozenset:
        """The unordered pair of endpoints (with lag): the skeleton identity of this edge."""
        return frozenset((self.source, self.target)) | (
            frozenset() if self.lag is None else frozenset({("lag", self.lag)})
        )

    def describe(self) -> str:
        lag = f" (lag {self.lag})" if self.lag else ""
        return f"{self.source} {_SYMBOL[self.type]} {self.target}{lag}"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "source": self.source,
            "target": self.target,
            "type": self.type,
            "confidence": None if self.confidence is None else round(float(self.confidence), 4),
        }
        if self.lag is not None:
            d["lag"] = int(self.lag)
        if self.link_confidence is not None:
            d["link_confidence"] = round(float(self.link_confidence), 4)
        if self.oriented_by != "data":
            d["oriented_by"] = self.oriented_by
            if self.orientation.reason:
                d["orientation_reason"] = self.orientation.reason
        return d


def edge_from_marks(a: str, b: str, mark_a: int, mark_b: int, **kw: Any) -> Edge:
    """Build an edge from the marks at each end (mark_a is the mark at ``a``).

    A tail-circle edge (a o-- b, only in PAGs with selection) has no type of its own in the
    contract; it is reported as ``nondirected`` since neither direction is established.
    """
    if mark_a == TAIL and mark_b == ARROW:
        return Edge(a, b, "directed", **kw)
    if mark_a == ARROW and mark_b == TAIL:
        return Edge(b, a, "directed", **kw)
    if mark_a == TAIL and mark_b == TAIL:
        return Edge(a, b, "undirected", **kw)
    if mark_a == ARROW and mark_b == ARROW:
        return Edge(a, b, "bidirected", **kw)
    if mark_a == CIRCLE and mark_b == ARROW:
        return Edge(a, b, "partially_directed", **kw)
    if mark_a == ARROW and mark_b == CIRCLE:
        return Edge(b, a, "partially_directed", **kw)
    return Edge(a, b, "nondirected", **kw)


@dataclass
class CausalGraph:
    """A discovered (or true) causal graph over named variables."""

    nodes: list[str]
    edges: list[Edge] = field(default_factory=list)
    graph_type: str = "CPDAG"
    algorithm: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.graph_type not in GRAPH_TYPES:
            raise ValueError(f"unknown graph type {self.graph_type!r}")
        self.edges = self._canonical(self.edges)

    # ----------------------------------------------------------------- construction
    def _canonical(self, edges: Iterable[Edge]) -> list[Edge]:
        order = {n: i for i, n in enumerate(self.nodes)}
        out = []
        for e in edges:
            if e.source not in order or e.target not in order:
                raise ValueError(f"edge {e.describe()} names a node not in the graph")
            if e.symmetric and order[e.source] > order[e.target]:
                e = replace(e, source=e.target, target=e.source)
            out.append(e)
        return sorted(out, key=lambda e: (-1 if e.lag is None else e.lag, order[e.source], order[e.target]))

    @classmethod
    def from_endpoint_matrix(
        cls, matrix: np.ndarray, nodes: list[str], graph_type: str, algorithm: str = "", parameters: dict | None = None
    ) -> "CausalGraph":
        """From causal-learn's GeneralGraph.graph encoding (matrix[i, j] = mark at i on edge i-j)."""
        m = np.asarray(matrix)
        edges = []
        p = len(nodes)
        for i in range(p):
            for j in range(i + 1, p):
                if m[i, j] != 0 or m[j, i] != 0:
                    edges.append(edge_from_marks(nodes[i], nodes[j], int(m[i, j]), int(m[j, i])))
        return cls(nodes=list(nodes), edges=edges, graph_type=graph_type, algorithm=algorithm, parameters=dict(parameters or {}))

    @classmethod
    def from_adjacency(
        cls, adjacency: np.ndarray, nodes: list[str], algorithm: str = "", parameters: dict | None = None
    ) -> "CausalGraph":
        """From a weighted or binary DAG adjacency, ``adjacency[i, j] != 0`` meaning i -> j."""
        a = np.asarray(adjacency)
        edges = [
            Edge(nodes[i], nodes[j], "directed")
            for i in range(len(nodes))
            for j in range(len(nodes))
            if i != j and a[i, j] != 0
        ]
        return cls(nodes=list(nodes), edges=edges, graph_type="DAG", algorithm=algorithm, parameters=dict(parameters or {}))

    # ----------------------------------------------------------------- views
    def endpoint_matrix(self) -> np.ndarray:
        """The causal-learn endpoint encoding of this graph (lags collapsed)."""
        idx = {n: i for i, n in enumerate(self.nodes)}
        m = np.zeros((len(self.nodes), len(self.nodes)), dtype=int)
        marks = {
            "directed": (TAIL, ARROW),
            "undirected": (TAIL, TAIL),
            "bidirected": (ARROW, ARROW),
            "partially_directed": (CIRCLE, ARROW),
            "nondirected": (CIRCLE, CIRCLE),
        }
        for e in self.edges:
            i, j = idx[e.source], idx[e.target]
            if i == j:
                continue
            m[i, j], m[j, i] = marks[e.type]
        return m

    def skeleton(self) -> set[frozenset]:
        return {e.pair() for e in self.edges}

    def directed_pairs(self) -> set[tuple]:
        """(source, target[, lag]) of every edge that asserts an arrowhead at target and a tail at source."""
        return {(e.source, e.target, e.lag) for e in self.edges if e.type == "directed"}

    def edge_between(self, a: str, b: str) -> Edge | None:
        for e in self.edges:
            if {e.source, e.target} == {a, b}:
                return e
        return None

    def parents(self, node: str) -> list[str]:
        return [e.source for e in self.edges if e.type == "directed" and e.target == node and not e.lag]

    def with_confidence(self, freq: dict[tuple, float], default: float | None = None,
                        links: dict[tuple, float] | None = None) -> "CausalGraph":
        """A copy whose edges carry the confidence ``freq[(source, target, type, lag)]`` (else ``default``)
        and, given ``links`` keyed by (frozenset of the two nodes, lag), the confidence of the adjacency."""
        new = []
        for e in self.edges:
            c = freq.get((e.source, e.target, e.type, e.lag), default)
            link = None if links is None else links.get((frozenset((e.source, e.target)), e.lag), default)
            new.append(replace(e, confidence=c, link_confidence=link))
        return CausalGraph(self.nodes, new, self.graph_type, self.algorithm, dict(self.parameters))

    def to_networkx(self):
        """A ``networkx.DiGraph`` (``MultiDiGraph`` for lagged graphs, one arc per lag).

        A directed or partially directed edge is the arc source -> target; an undirected, bidirected
        or nondirected edge is the pair of arcs both ways (the usual encoding of a CPDAG or PAG as a
        directed graph). Every arc carries ``type`` (the edge's type in graph.json), ``confidence``,
        ``link_confidence``, ``lag`` and ``oriented_by``, so ``type`` tells a directed arc from half of a
        symmetric pair."""
        import networkx as nx

        g = nx.MultiDiGraph() if self.graph_type == "lagged" else nx.DiGraph()
        g.add_nodes_from(self.nodes)
        for e in self.edges:
            attrs = {"type": e.type, "confidence": e.confidence, "link_confidence": e.link_confidence, "lag": e.lag,
                     "oriented_by": e.oriented_by}
            g.add_edge(e.source, e.target, **attrs)
            if e.symmetric:
                g.add_edge(e.target, e.source, **attrs)
        return g

    def to_dot(self) -> str:
        """The graph in Graphviz DOT, with each edge's end marks as Tetrad and pcalg draw them
        (``arrowhead``/``arrowtail``: normal = arrowhead, none = tail, odot = circle) and its bootstrap
        confidence as the label; lags are written into the label of lagged edges."""
        heads = {"directed": ("none", "normal"), "undirected": ("none", "none"), "bidirected": ("normal", "normal"),
                 "partially_directed": ("odot", "normal"), "nondirected": ("odot", "odot")}

        def q(name: str) -> str:
            return '"' + str(name).replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = [f"digraph {q(self.algorithm or 'causal_graph')} {{", "  rankdir=TB;", "  node [shape=ellipse];"]
        lines += [f"  {q(n)};" for n in self.nodes]
        for e in self.edges:
            tail, head = heads[e.type]
            label = [] if e.lag is None else [f"lag {e.lag}"]
            if e.confidence is not None:
                label.append(f"{e.confidence:.2f}")
            attrs = f'dir=both, arrowtail={tail}, arrowhead={head}'
            if label:
                attrs += f', label={q(" ".join(label))}'
            lines.append(f"  {q(e.source)} -> {q(e.target)} [{attrs}];")
        lines.append("}")
        return "\n".join(lines) + "\n"

    # ----------------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        return {
            "nodes": list(self.nodes),
            "graph_type": self.graph_type,
            "algorithm": self.algorithm,
            "parameters": _jsonable(self.parameters),
            "edges": [e.to_dict() for e in self.edges],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n"

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CausalGraph":
        edges = [
            Edge(e["source"], e["target"], e["type"], e.get("confidence"), e.get("lag"), e.get("link_confidence"),
                 Orientation(e["oriented_by"], e.get("orientation_reason")) if e.get("oriented_by") else None)
            for e in d.get("edges", [])
        ]
        return cls(
            nodes=list(d["nodes"]),
            edges=edges,
            graph_type=d.get("graph_type", "CPDAG"),
            algorithm=d.get("algorithm", ""),
            parameters=dict(d.get("parameters", {})),
        )

    def __len__(self) -> int:
        return len(self.edges)


def graph_diff(a: CausalGraph, b: CausalGraph) -> dict[str, list[str]]:
    """Edges only in a, only in b, and pairs present in both with a different type or direction
    (each edge as :meth:`Edge.describe` writes it, sorted)."""
    ea = {e.pair(): e for e in a.edges}
    eb = {e.pair(): e for e in b.edges}
    changed = []
    for p in sorted(set(ea) & set(eb), key=lambda p: sorted(map(str, p))):
        x, y = ea[p], eb[p]
        if (x.source, x.target, x.type) != (y.source, y.target, y.type):
            changed.append(f"{x.describe()}  =>  {y.describe()}")
    return {"only_in_first": sorted(ea[p].describe() for p in set(ea) - set(eb)),
            "only_in_second": sorted(eb[p].describe() for p in set(eb) - set(ea)),
            "changed": changed}


def _jsonable(obj: Any) -> Any:
    """Parameters as plain JSON values (numpy scalars and tuples converted, floats rounded)."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in sorted(obj.items(), key=lambda kv: str(kv[0]))}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return round(float(obj), 10)
    return obj


def dag_extension(graph: CausalGraph) -> np.ndarray:
    """A DAG in the Markov equivalence class of a CPDAG (or a consistent extension of a PDAG), by the
    algorithm of Dor & Tarsi (1992): a (p, p) 0/1 integer matrix, ``adj[i, j] = 1`` meaning
    ``nodes[i] -> nodes[j]``; directed edges are kept, no v-structure is added.

    Repeatedly take a node with no outgoing directed edge whose undirected neighbours are all
    adjacent to its other neighbours, point its undirected edges into it, and remove it; among such
    nodes the last in column order goes first, so that where the class allows, earlier columns point
    to later ones (a convention, stated as such wherever it is used). If the input has no consistent extension (no such node is left), the rest is oriented by node order
    (causal-learn's ``pdag2dag``, the oracle of the tests, loops forever there). Edge types other than
    directed count as undirected; lags are ignored.
    """
    nodes = graph.nodes
    idx = {n: i for i, n in enumerate(nodes)}
    p = len(nodes)
    directed = np.zeros((p, p), dtype=int)
    undirected = np.zeros((p, p), dtype=int)
    for e in graph.edges:
        i, j = idx[e.source], idx[e.target]
        if e.type == "directed":
            directed[i, j] = 1
        else:
            undirected[i, j] = undirected[j, i] = 1
    out = directed.copy()
    alive = set(range(p))
    while alive:
        pick = None
        for x in sorted(alive, reverse=True):  # the latest column first: earlier columns point to later ones
            if any(directed[x, y] for y in alive):
                continue
            nbrs = [y for y in alive if undirected[x, y]]
            adj_x = [y for y in alive if y != x and (directed[x, y] or directed[y, x] or undirected[x, y])]
            if all(all(z == y or directed[y, z] or directed[z, y] or undirected[y, z] for z in adj_x) for y in nbrs):
                pick = x
                break
        if pick is None:
            for a in sorted(alive):
                for b in sorted(alive):
                    if a < b and undirected[a, b]:
                        out[a, b] = 1
            break
        for y in alive:
            if undirected[pick, y]:
                out[y, pick] = 1
        alive.remove(pick)
    return out
