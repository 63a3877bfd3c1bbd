"""The graph figure of the report: a layered drawing in which no edge crosses a node it does not touch.

Layout: the Sugiyama method (layers, crossing reduction, long edges routed through dummy points in
the layers between their ends) of the ``grandalf`` library, on the graph with its undirected edges
pointed from earlier to later columns only for placing the nodes. Every segment of a route then runs
between two adjacent layers; the layers are pulled apart until no segment comes within a margin of a
node it does not end at (:func:`layout` checks it, and the tests check it). Isolated variables go to
one compact row beneath, marked as unlinked.

Drawing (matplotlib, Agg, no pyplot state): end marks as in Tetrad and pcalg (arrowhead, open circle,
plain tail), the line's width and darkness following the bootstrap confidence of the link, and each
edge's confidence written beside its own route where it overlaps no node and no other label.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field

from causalpilot.tools.graph import CausalGraph, Edge

FONT = 9.0  # pt, node names: never shrunk
LABEL_FONT = 7.0  # pt, confidence labels
NODE_H = 22.0  # pt, one line of text
MARGIN = 5.0  # pt: how close a route may come to a node it does not touch
MAX_LINE = 26  # characters before a name is broken in two


@dataclass
class Box:
    """A node's box: centre (x, y) and half sizes, in points (y grows downwards)."""

    x: float
    y: float
    hw: float
    hh: float

    def contains(self, px: float, py: float, pad: float = 0.0) -> bool:
        return abs(px - self.x) <= self.hw + pad and abs(py - self.y) <= self.hh + pad


@dataclass
class Route:
    """One drawn edge: its graph edges (several lags of one pair share a route) and the polyline."""

    edge: Edge
    lags: list[int]
    points: list[tuple[float, float]]


@dataclass
class Layout:
    boxes: dict[str, Box]
    routes: list[Route]
    labels: list[tuple[str, float, float, float, float]] = field(default_factory=list)  # text, x, y, hw, hh
    unlinked: list[str] = field(default_factory=list)

    def extent(self) -> tuple[float, float, float, float]:
        xs = [b.x - b.hw for b in self.boxes.values()] + [b.x + b.hw for b in self.boxes.values()]
        ys = [b.y - b.hh for b in self.boxes.values()] + [b.y + b.hh for b in self.boxes.values()]
        for _, x, y, hw, hh in self.labels:
            xs += [x - hw, x + hw]
            ys += [y - hh, y + hh]
        return min(xs), max(xs), min(ys), max(ys)


def node_text(name: str) -> str:
    """A node's label: the whole name, broken in two at the separator nearest its middle (_, -, space,
    or a lower-to-upper case change; a word is never split) when it is longer than MAX_LINE."""
    if len(name) <= MAX_LINE:
        return name
    cuts = [i for i in range(1, len(name)) if name[i - 1] in "_- " or (name[i - 1].islower() and name[i].isupper())]
    if not cuts:
        return name
    i = min(cuts, key=lambda c: abs(c - len(name) / 2))
    return name[:i].rstrip("_- ") + "\n" + name[i:]


def _text_size(text: str, font: float) -> tuple[float, float]:
    """Width and height in points of ``text`` (DejaVu Sans averages about 0.6 em a character)."""
    lines = text.split("\n")
    return 0.62 * font * max(len(s) for s in lines), 1.25 * font * len(lines)


def _node_box(name: str) -> tuple[float, float]:
    w, h = _text_size(node_text(name), FONT)
    return w / 2 + 9.0, max(NODE_H, h + 8.0) / 2


def _drawn_edges(graph: CausalGraph) -> list[Route]:
    """One route per pair and type: the lags of a time-series link share it (the label lists them)."""
    seen: dict[tuple, Route] = {}
    for e in graph.edges:
        if e.source == e.target:
            continue  # a variable's own past: said in the label of the report's table, not drawn
        key = (e.source, e.target, e.type)
        if key in seen:
            r = seen[key]
            r.lags.append(e.lag or 0)
            if (e.confidence or 0) > (r.edge.confidence or 0):
                r.edge = e
        else:
            seen[key] = Route(e, [e.lag or 0] if e.lag is not None else [], [])
    return list(seen.values())


def _layout_arcs(graph: CausalGraph, routes: list[Route]) -> list[tuple[str, str]]:
    """The direction each route takes for placing nodes: its arrow where it has one, else from the
    earlier to the later column (a drawing convention only)."""
    order = {n: i for i, n in enumerate(graph.nodes)}
    arcs = []
    for r in routes:
        a, b = r.edge.source, r.edge.target
        if r.edge.type in ("undirected", "nondirected", "bidirected") and order[a] > order[b]:
            a, b = b, a
        arcs.append((a, b))
    return arcs


def layout(graph: CausalGraph) -> Layout:
    """Node boxes and edge routes (points, y downwards) for ``graph``; raises nothing for any graph.

    Sugiyama layering by ``grandalf`` per connected component, components side by side, unlinked
    variables in a row beneath; then the layers are spread until every route keeps MARGIN points
    from every node it does not touch, and the confidence labels are placed."""
    import networkx as nx
    from grandalf.graphs import Edge as GEdge
    from grandalf.graphs import Vertex, graph_core
    from grandalf.layouts import SugiyamaLayout

    routes = _drawn_edges(graph)
    arcs = _layout_arcs(graph, routes)
    linked = sorted({n for a, b in arcs for n in (a, b)}, key=graph.nodes.index)
    unlinked = [n for n in graph.nodes if n not in set(linked)]
    sizes = {n: _node_box(n) for n in graph.nodes}

    class View:
        def __init__(self, w: float, h: float):
            self.w, self.h, self.xy = w, h, (0.0, 0.0)

    verts = {n: Vertex(n) for n in linked}
    for n, v in verts.items():
        v.view = View(2 * sizes[n][0], 2 * sizes[n][1])
    gedges = [GEdge(verts[a], verts[b]) for a, b in arcs]
    # components in column order, each built with its vertices and edges in a fixed order (grandalf's
    # own Graph collects a component's edges in a set, which made the drawing change between runs)
    skeleton = nx.Graph()
    skeleton.add_nodes_from(linked)
    skeleton.add_edges_from(arcs)
    components = sorted((sorted(c, key=graph.nodes.index) for c in nx.connected_components(skeleton)),
                        key=lambda c: graph.nodes.index(c[0]))
    boxes: dict[str, Box] = {}
    paths: dict[int, list[tuple[float, float]]] = {}
    x_offset = 0.0
    for names in components:
        members = set(names)
        comp = graph_core([verts[n] for n in names], [e for (a, _), e in zip(arcs, gedges) if a in members])
        class EView:
            def setpath(self, pts):
                self.pts = [tuple(p) for p in pts]

        for e in comp.E():
            e.view = EView()
        sug = SugiyamaLayout(comp)
        sug.xspace, sug.yspace = 24.0, 46.0
        sug.init_all()
        sug.draw(3)  # routes run centre to centre through the dummy points of the layers between
        xs = [v.view.xy[0] - v.view.w / 2 for v in comp.V()] + [v.view.xy[0] + v.view.w / 2 for v in comp.V()]
        xs += [x for e in comp.E() for x, _ in getattr(e.view, "pts", [])]
        shift = x_offset - min(xs)
        for v in comp.V():
            boxes[v.data] = Box(v.view.xy[0] + shift, v.view.xy[1], v.view.w / 2, v.view.h / 2)
        for e in comp.E():
            k = gedges.index(e)
            paths[k] = [(x + shift, y) for x, y in getattr(e.view, "pts", [e.v[0].view.xy, e.v[1].view.xy])]
        x_offset = max(xs) + shift + 40.0
    for k, r in enumerate(routes):
        pts = paths.get(k, [])
        a, b = arcs[k]
        if a != r.edge.source:  # the layout ran the route the other way: keep source -> target order
            pts = pts[::-1]
        r.points = pts or [(boxes[r.edge.source].x, boxes[r.edge.source].y), (boxes[r.edge.target].x, boxes[r.edge.target].y)]
    for _ in range(8):  # spread the layers until no route grazes a node it does not touch
        if not clashes(boxes, routes):
            break
        _stretch(boxes, routes, 1.35)
    out = Layout(boxes, routes, unlinked=unlinked)
    _separate_opposites(out)
    _place_unlinked(out, sizes)
    _place_labels(out)
    return out


def _separate_opposites(lay: Layout, offset: float = 14.0) -> None:
    """Two routes between the same pair in opposite directions (a lagged feedback, x -> y and y -> x)
    would be drawn on top of each other: bend each to its own side at its middle."""
    pairs = {(r.edge.source, r.edge.target) for r in lay.routes}
    for r in lay.routes:
        if (r.edge.target, r.edge.source) not in pairs or r.edge.symmetric:
            continue
        p, q = r.points[0], r.points[-1]
        dx, dy = q[0] - p[0], q[1] - p[1]
        d = math.hypot(dx, dy) or 1.0
        mx, my = _point_at(r.points, 0.5)
        # a perpendicular of its own for each direction: (dy, -dx) seen from source to target
        r.points = [r.points[0], (mx + offset * dy / d, my - offset * dx / d), r.points[-1]] if len(r.points) == 2 \
            else [(x + offset * dy / d, y - offset * dx / d) if 0 < k < len(r.points) - 1 else (x, y)
                  for k, (x, y) in enumerate(r.points)]


def _stretch(boxes: dict[str, Box], routes: list[Route], factor: float) -> None:
    for b in boxes.values():
        b.y *= factor
    for r in routes:
        r.points = [(x, y * factor) for x, y in r.points]


def _segment_hits_box(p: tuple[float, float], q: tuple[float, float], box: Box, pad: float) -> bool:
    """Whether segment p-q enters ``box`` grown by ``pad`` (Liang-Barsky clipping)."""
    x0, y0 = p
    dx, dy = q[0] - x0, q[1] - y0
    t0, t1 = 0.0, 1.0
    for pk, qk in ((-dx, x0 - (box.x - box.hw - pad)), (dx, (box.x + box.hw + pad) - x0),
                   (-dy, y0 - (box.y - box.hh - pad)), (dy, (box.y + box.hh + pad) - y0)):
        if pk == 0:
            if qk < 0:
                return False
            continue
        t = qk / pk
        if pk < 0:
            t0 = max(t0, t)
        else:
            t1 = min(t1, t)
        if t0 > t1:
            return False
    return True


def clashes(boxes: dict[str, Box], routes: list[Route], pad: float = MARGIN) -> list[tuple[str, str, str]]:
    """Every (source, target, node) where the route of source - target passes within ``pad`` points
    of a node other than its two ends."""
    out = []
    for r in routes:
        ends = {r.edge.source, r.edge.target}
        for p, q in zip(r.points, r.points[1:]):
            for n, box in boxes.items():
                if n not in ends and _segment_hits_box(p, q, box, pad):
                    out.append((r.edge.source, r.edge.target, n))
    return out


def _place_unlinked(lay: Layout, sizes: dict[str, tuple[float, float]]) -> None:
    """Unlinked variables: one compact row (wrapped to the drawing's width) below everything else."""
    if not lay.unlinked:
        return
    if lay.boxes:
        x0, x1, _, y1 = lay.extent()
    else:
        x0, x1, y1 = 0.0, 600.0, 0.0
    width = max(x1 - x0, 400.0)
    x, y = x0, y1 + 50.0
    row_h = max(sizes[n][1] for n in lay.unlinked)
    for n in lay.unlinked:
        hw, hh = sizes[n]
        if x + 2 * hw > x0 + width and x > x0:
            x, y = x0, y + 2 * row_h + 14.0
        lay.boxes[n] = Box(x + hw, y + row_h, hw, hh)
        x += 2 * hw + 16.0


def _label_text(r: Route) -> str | None:
    """The edge's bootstrap confidence (and its link's where that differs) and, for a time series, its
    lags; None when there is neither."""
    e = r.edge
    parts = []
    if e.confidence is not None:
        parts.append(f"{float(e.confidence):.2f}")
        if e.link_differs():
            parts.append(f"· link {float(e.link_confidence):.2f}")
    if r.lags:
        parts.append("lag " + ", ".join(str(k) for k in sorted(set(r.lags))))
    return " ".join(parts) or None


def _point_at(points: list[tuple[float, float]], t: float) -> tuple[float, float]:
    lengths = [math.dist(p, q) for p, q in zip(points, points[1:])]
    goal, run = t * sum(lengths), 0.0
    for (p, q), d in zip(zip(points, points[1:]), lengths):
        if run + d >= goal and d > 0:
            s = (goal - run) / d
            return p[0] + s * (q[0] - p[0]), p[1] + s * (q[1] - p[1])
        run += d
    return points[-1]


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return abs(a[0] - b[0]) < a[2] + b[2] and abs(a[1] - b[1]) < a[3] + b[3]


def _place_labels(lay: Layout) -> None:
    """Each confidence label at the first point along its own route (middle first) where its box
    overlaps no node and no label placed before; failing that, beside the route's middle, clear of
    everything, at the nearest free offset."""
    placed: list[tuple[float, float, float, float]] = []
    nodes = [(b.x, b.y, b.hw + 2, b.hh + 2) for b in lay.boxes.values()]
    for r in lay.routes:
        text = _label_text(r)
        if not text or len(r.points) < 2:
            continue
        w, h = _text_size(text, LABEL_FONT)
        hw, hh = w / 2 + 2, h / 2 + 1
        spot = None
        for t in (0.5, 0.4, 0.6, 0.3, 0.7, 0.22, 0.78):
            x, y = _point_at(r.points, t)
            cand = (x, y, hw, hh)
            if not any(_overlap(cand, o) for o in nodes + placed):
                spot = cand
                break
        if spot is None:
            x, y = _point_at(r.points, 0.5)
            for dx in (hw + 4, -(hw + 4), 2 * hw + 8, -(2 * hw + 8), 3 * hw + 12, -(3 * hw + 12)):
                cand = (x + dx, y, hw, hh)
                if not any(_overlap(cand, o) for o in nodes + placed):
                    spot = cand
                    break
        if spot is None:  # a crowded drawing: a row of its own above the figure
            x0, x1, y0, _ = lay.extent()
            spot = (x0 + hw, y0 - hh - 6, hw, hh)
            while any(_overlap(spot, o) for o in placed):
                spot = (spot[0] + 2 * hw + 6, spot[1], hw, hh)
        placed.append(spot)
        lay.labels.append((text, *spot))


def _clip(center: Box, toward: tuple[float, float]) -> tuple[float, float]:
    """Where the line from a box's centre toward ``toward`` leaves the box."""
    dx, dy = toward[0] - center.x, toward[1] - center.y
    if dx == 0 and dy == 0:
        return center.x, center.y
    s = min(center.hw / abs(dx) if dx else math.inf, center.hh / abs(dy) if dy else math.inf)
    return center.x + s * dx, center.y + s * dy


# end marks at (source end, target end)
MARKS = {"directed": ("tail", "arrow"), "undirected": ("tail", "tail"), "bidirected": ("arrow", "arrow"),
         "partially_directed": ("circle", "arrow"), "nondirected": ("circle", "circle")}


# beyond this many variables the figure says how large the graph is instead of drawing it: a drawing is not
# legible, and the layered layout took 38 s at p = 300 and 9 min at p = 1000 (2434 edges) on 2 cores
DRAW_MAX_NODES = 300


def _summary_png(graph: CausalGraph, title: str | None) -> bytes:
    """A small figure naming the graph's size, for graphs too large to draw (DRAW_MAX_NODES)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.0, 1.4), dpi=110)
    fig.text(0.5, 0.72, title or f"{graph.algorithm} ({graph.graph_type})", ha="center", va="center", fontsize=11)
    fig.text(0.5, 0.35, f"{len(graph.nodes)} variables and {len(graph.edges)} edges: too many to draw legibly "
             f"(over {DRAW_MAX_NODES});\nevery edge is in graph.json", ha="center", va="center", fontsize=FONT)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()


def graph_png(graph: CausalGraph, seed: int = 0, title: str | None = None) -> bytes:
    """The graph as PNG bytes (deterministic for the same graph). Edge width and darkness follow the
    bootstrap confidence of the link (of the exact edge when that is all there is); labels give the
    exact edge's confidence, and the link's where it differs. ``seed`` is accepted for compatibility:
    the layout has no random step. A graph of more than DRAW_MAX_NODES variables gets a figure that
    gives its size instead."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Circle, FancyBboxPatch, Polygon

    if len(graph.nodes) > DRAW_MAX_NODES:
        return _summary_png(graph, title)
    lay = layout(graph)
    if not lay.boxes:
        lay.boxes["(no variables)"] = Box(0, 0, 60, 11)
    x0, x1, y0, y1 = lay.extent()
    pad = 18.0
    top = 26.0  # the title
    w_pt, h_pt = (x1 - x0) + 2 * pad, (y1 - y0) + 2 * pad + top
    scale = min(1.0, 20 * 72 / w_pt, 28 * 72 / h_pt)  # at most 20 x 28 inches
    fig = Figure(figsize=(max(w_pt * scale / 72, 3.0), max(h_pt * scale / 72, 2.0)), dpi=110)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0 - pad, x0 - pad + max(w_pt, 3.0 * 72 / scale))
    ax.set_ylim(y1 + pad, y0 - pad - top)  # y downwards, as laid out
    ax.set_aspect("equal", adjustable="datalim")
    ax.axis("off")
    fig.text(0.5, 1 - 6 / (h_pt * scale), title or f"{graph.algorithm} ({graph.graph_type})", ha="center", va="top",
             fontsize=11 * scale)

    for r in lay.routes:
        e = r.edge
        conf = 1.0 if e.adjacency_confidence is None else float(e.adjacency_confidence)
        color = (0.12, 0.12, 0.12, 0.3 + 0.7 * conf)
        width = (0.8 + 2.0 * conf) * scale
        pts = list(r.points)
        sb, tb = lay.boxes[e.source], lay.boxes[e.target]
        pts[0] = _clip(sb, pts[1])
        pts[-1] = _clip(tb, pts[-2])
        style = "--" if e.type == "bidirected" else "-"
        for mark, (end, nxt) in zip(MARKS[e.type], ((pts[0], pts[1]), (pts[-1], pts[-2]))):
            ux, uy = nxt[0] - end[0], nxt[1] - end[1]
            d = math.hypot(ux, uy) or 1.0
            ux, uy = ux / d, uy / d
            if mark == "circle":
                rad = 3.6
                ax.add_patch(Circle((end[0] + ux * rad, end[1] + uy * rad), rad, fill=True, fc="white",
                                    ec=color, lw=width * 0.7, zorder=4))
                if end is pts[0]:
                    pts[0] = (end[0] + ux * 2 * rad, end[1] + uy * 2 * rad)
                else:
                    pts[-1] = (end[0] + ux * 2 * rad, end[1] + uy * 2 * rad)
            elif mark == "arrow":
                size, half = 9.0, 3.8
                bx, by = end[0] + ux * size, end[1] + uy * size
                ax.add_patch(Polygon([end, (bx - uy * half, by + ux * half), (bx + uy * half, by - ux * half)],
                                     closed=True, fc=color, ec=color, lw=0.5, zorder=4))
                if end is pts[0]:
                    pts[0] = (bx, by)
                else:
                    pts[-1] = (bx, by)
        xs, ys = zip(*pts)
        ax.plot(xs, ys, style, color=color, lw=width, solid_capstyle="butt", zorder=2)

    for n, b in lay.boxes.items():
        unlinked = n in lay.unlinked
        ax.add_patch(FancyBboxPatch((b.x - b.hw, b.y - b.hh), 2 * b.hw, 2 * b.hh,
                                    boxstyle=f"round,pad=0,rounding_size={min(b.hh, 10)}",
                                    fc="#f2f2f2" if unlinked else "#dbe8f6", ec="#9a9a9a" if unlinked else "#2b5d8a",
                                    lw=1.0, zorder=3))
        ax.text(b.x, b.y, node_text(n), ha="center", va="center", fontsize=FONT * scale, zorder=5,
                linespacing=1.0, color="#555555" if unlinked else "black")
    if lay.unlinked:
        ub = min((lay.boxes[n] for n in lay.unlinked), key=lambda b: (b.y, b.x))
        ax.text(ub.x - ub.hw, ub.y - ub.hh - 4, "not linked to any other variable:", ha="left", va="bottom",
                fontsize=LABEL_FONT * scale, color="#777777")
    for text, x, y, hw, hh in lay.labels:
        ax.add_patch(FancyBboxPatch((x - hw, y - hh), 2 * hw, 2 * hh, boxstyle="round,pad=0,rounding_size=2",
                                    fc="white", ec="none", alpha=0.85, zorder=6))
        ax.text(x, y, text, ha="center", va="center", fontsize=LABEL_FONT * scale, color="#8a2b2b", zorder=7)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    return buf.getvalue()
