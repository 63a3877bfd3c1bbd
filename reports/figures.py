"""Figures for the report, drawn with matplotlib (Agg backend: no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from causalpilot.tools.graph import CausalGraph  # noqa: E402

STYLE = {
    "directed": dict(style="solid", arrowstyle="-|>"),
    "undirected": dict(style="solid", arrowstyle="-"),
    "bidirected": dict(style="dashed", arrowstyle="<|-|>"),
    "partially_directed": dict(style="dotted", arrowstyle="-|>"),
    "nondirected": dict(style="dotted", arrowstyle="-"),
}


def layered_layout(graph: CausalGraph) -> dict[str, tuple[float, float]] | None:
    """Causes above effects: rows by longest directed path from a root, ordered to limit crossings.

    Undirected (and other non-directed) edges do not set the order; isolated variables go to a last
    row. Returns None when the directed part has a cycle (then a force layout is used).
    """
    d = nx.DiGraph()
    d.add_nodes_from(graph.nodes)
    d.add_edges_from((e.source, e.target) for e in graph.edges
                     if e.type == "directed" and e.source != e.target and not e.lag)
    if not nx.is_directed_acyclic_graph(d):
        return None
    linked = {n for e in graph.edges if e.source != e.target for n in (e.source, e.target)}
    depth: dict[str, int] = {}
    for n in nx.topological_sort(d):
        depth[n] = max((depth[q] + 1 for q in d.predecessors(n)), default=0)
    # an undirected neighbour sits at least on the same row as its partner
    for e in graph.edges:
        if e.type != "directed" and e.source != e.target:
            a, b = e.source, e.target
            depth[a] = depth[b] = max(depth[a], depth[b]) if d.in_degree(a) + d.in_degree(b) else depth[a]
    rows: dict[int, list[str]] = {}
    last = max(depth.values(), default=0) + 1
    for n in graph.nodes:
        rows.setdefault(depth[n] if n in linked else last, []).append(n)
    pos: dict[str, tuple[float, float]] = {}
    und = nx.Graph()
    und.add_edges_from((e.source, e.target) for e in graph.edges if e.source != e.target)
    for r in sorted(rows):
        nodes = rows[r]
        want = {}
        for k, n in enumerate(nodes):  # barycentre of neighbours already placed, else spread evenly
            placed = [pos[m][0] for m in und.neighbors(n) if m in pos] if n in und else []
            want[n] = sum(placed) / len(placed) + 0.35 * (k % 2) if placed else (k - (len(nodes) - 1) / 2) * 1.6
        order = sorted(nodes, key=lambda n: want[n])
        xs = [want[n] for n in order]
        for k in range(1, len(xs)):  # keep at least 1.6 between neighbours in a row
            xs[k] = max(xs[k], xs[k - 1] + 1.6)
        shift = (sum(want[n] for n in order) - sum(xs)) / len(xs)
        for n, x in zip(order, xs):
            pos[n] = (x + shift, -1.2 * float(r))
    return pos


def _passes_through(pos: dict, a: str, b: str, clearance: float = 0.45) -> bool:
    """Whether the straight segment a-b runs within ``clearance`` of another node (a row of the
    layered layout holds several nodes, so an edge between the ends of a row crosses the middle ones
    and would read as a chain through them)."""
    (x1, y1), (x2, y2) = pos[a], pos[b]
    dx, dy = x2 - x1, y2 - y1
    length2 = dx * dx + dy * dy
    if length2 == 0:
        return False
    for n, (x, y) in pos.items():
        if n in (a, b):
            continue
        t = ((x - x1) * dx + (y - y1) * dy) / length2
        if 0 < t < 1 and (x1 + t * dx - x) ** 2 + (y1 + t * dy - y) ** 2 < clearance ** 2:
            return True
    return False


def _curve_passes_near(pos: dict, a: str, b: str, rad: float, clearance: float = 0.45) -> bool:
    """Whether the arc from a to b bent by ``rad`` (matplotlib's arc3: a quadratic Bezier whose control
    point is the chord's midpoint moved by rad * (dy, -dx)) comes within ``clearance`` of another node.
    Computed in data units, which is close enough to the drawn figure to choose a bend."""
    (x1, y1), (x2, y2) = pos[a], pos[b]
    cx, cy = (x1 + x2) / 2 + rad * (y2 - y1), (y1 + y2) / 2 - rad * (x2 - x1)
    for k in range(1, 20):
        t = k / 20
        x = (1 - t) ** 2 * x1 + 2 * t * (1 - t) * cx + t * t * x2
        y = (1 - t) ** 2 * y1 + 2 * t * (1 - t) * cy + t * t * y2
        if any((x - nx_) ** 2 + (y - ny_) ** 2 < clearance ** 2 for n, (nx_, ny_) in pos.items() if n not in (a, b)):
            return True
    return False


def _bend(pos: dict, e) -> float:
    """Curve lagged edges, edges that skip rows, and any edge whose straight line would run through
    another node; of the bends tried, the first whose arc keeps clear of every other node (an arc that
    ends beside a node it does not touch reads as an edge into that node)."""
    if e.lag:
        return 0.15
    dy = abs(pos[e.source][1] - pos[e.target][1])
    if not (dy > 1.3 or _passes_through(pos, e.source, e.target)):
        return 0.0
    return next((rad for rad in (0.25, -0.25, 0.4, -0.4) if not _curve_passes_near(pos, e.source, e.target, rad)),
                0.25)


def node_label(name: str, size: float, fits: int = 7) -> tuple[str, float]:
    """A node's label that stays inside its circle: a long name is broken in two at the separator
    nearest its middle (_, -, space or a lower-to-upper case change; a word is never split), and the
    font shrinks to fit the longer line (never below 5 pt)."""
    if len(name) <= fits:
        return name, size
    cuts = [i for i in range(1, len(name)) if name[i - 1] in "_- " or (name[i - 1].islower() and name[i].isupper())]
    lines = [name]
    if cuts:
        i = min(cuts, key=lambda c: abs(c - len(name) / 2))
        lines = [name[:i].rstrip("_- "), name[i:]]
    longest = max(len(s) for s in lines)
    return "\n".join(lines), max(5.0, min(size, size * fits / longest))


def _confidence_labels(ax, graph: CausalGraph, pos: dict) -> None:
    """Write each edge's bootstrap confidence at the middle of the line as drawn. matplotlib bends an
    arc3 edge in display (pixel) coordinates, so the midpoint is computed there, once the layout is
    final: the quadratic Bezier's midpoint is the chord's midpoint + rad/2 * (dy, -dx)."""
    to_px, to_data = ax.transData, ax.transData.inverted()
    for e in graph.edges:
        if e.source == e.target or e.confidence is None:
            continue
        (x1, y1), (x2, y2) = to_px.transform(pos[e.source]), to_px.transform(pos[e.target])
        rad = _bend(pos, e)
        mid = ((x1 + x2) / 2 + 0.5 * rad * (y2 - y1), (y1 + y2) / 2 - 0.5 * rad * (x2 - x1))
        x, y = to_data.transform(mid)
        # one short number per edge: longer labels ("0.85 · link 1.00") piled up where edges meet; the
        # report's edge table gives the link's share beside it
        lab = f"{float(e.confidence):.2f}" + (f" (lag {e.lag})" if e.lag else "")
        ax.text(x, y, lab, fontsize=7, color="#8a2b2b", ha="center", va="center",
                bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))


def graph_png(graph: CausalGraph, seed: int = 0, title: str | None = None) -> bytes:
    """Draw the graph; edge width and darkness follow the bootstrap confidence of the link (of the exact
    edge when that is all there is); labels show the exact edge's (the share of resamples with this
    edge, marks included)."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    for e in graph.edges:
        if e.source != e.target:
            g.add_edge(e.source, e.target)
    p = len(graph.nodes)
    size = min(4 + 0.45 * p, 22)
    fig, ax = plt.subplots(figsize=(size, size * 0.75), dpi=110)
    pos = layered_layout(graph) if p <= 60 else None
    if pos is None:
        try:
            pos = nx.kamada_kawai_layout(g) if 1 < p <= 60 else nx.spring_layout(g, seed=seed)
        except Exception:  # degenerate graphs (no edges, one node) have no spring equilibrium
            pos = nx.circular_layout(g)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#dbe8f6", edgecolors="#2b5d8a", node_size=1400 if p <= 30 else 500)
    base = 9 if p <= 30 else 6
    for node, (x, y) in pos.items():
        text, size = node_label(str(node), base)
        ax.text(x, y, text, fontsize=size, ha="center", va="center", linespacing=0.9)
    for e in graph.edges:
        if e.source == e.target:
            continue
        conf = 1.0 if e.adjacency_confidence is None else float(e.adjacency_confidence)
        st = STYLE[e.type]
        color = (0.1, 0.1, 0.1, 0.25 + 0.75 * conf)
        nx.draw_networkx_edges(g, pos, edgelist=[(e.source, e.target)], ax=ax, style=st["style"],
                               arrowstyle=st["arrowstyle"], arrowsize=18, width=0.8 + 2.2 * conf,
                               edge_color=[color], node_size=1400 if p <= 30 else 500,
                               connectionstyle=f"arc3,rad={_bend(pos, e)}")
    ax.set_title(title or f"{graph.algorithm} ({graph.graph_type})", fontsize=11)
    ax.axis("off")
    fig.tight_layout()
    if p <= 30:
        _confidence_labels(ax, graph, pos)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
