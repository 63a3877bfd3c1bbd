"""Figures for the report, drawn with matplotlib (Agg backend: no display needed)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import networkx as nx  # noqa: E402

from tools.graph import CausalGraph  # noqa: E402

STYLE = {
    "directed": dict(style="solid", arrowstyle="-|>"),
    "undirected": dict(style="solid", arrowstyle="-"),
    "bidirected": dict(style="dashed", arrowstyle="<|-|>"),
    "partially_directed": dict(style="dotted", arrowstyle="-|>"),
    "nondirected": dict(style="dotted", arrowstyle="-"),
}


def graph_png(graph: CausalGraph, seed: int = 0, title: str | None = None) -> bytes:
    """Draw the graph; edge width and darkness follow bootstrap confidence; labels show it."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    for e in graph.edges:
        if e.source != e.target:
            g.add_edge(e.source, e.target)
    p = len(graph.nodes)
    size = min(4 + 0.45 * p, 22)
    fig, ax = plt.subplots(figsize=(size, size * 0.75), dpi=110)
    try:
        pos = nx.kamada_kawai_layout(g) if 1 < p <= 60 else nx.spring_layout(g, seed=seed)
    except Exception:
        pos = nx.circular_layout(g)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_color="#dbe8f6", edgecolors="#2b5d8a", node_size=1400 if p <= 30 else 500)
    nx.draw_networkx_labels(g, pos, ax=ax, font_size=9 if p <= 30 else 6)
    for e in graph.edges:
        if e.source == e.target:
            continue
        conf = 1.0 if e.confidence is None else float(e.confidence)
        st = STYLE[e.type]
        color = (0.1, 0.1, 0.1, 0.25 + 0.75 * conf)
        nx.draw_networkx_edges(g, pos, edgelist=[(e.source, e.target)], ax=ax, style=st["style"],
                               arrowstyle=st["arrowstyle"], arrowsize=18, width=0.8 + 2.2 * conf,
                               edge_color=[color], node_size=1400 if p <= 30 else 500,
                               connectionstyle="arc3,rad=0.08" if e.lag else "arc3")
        if e.confidence is not None and p <= 30:
            x = (pos[e.source][0] + pos[e.target][0]) / 2
            y = (pos[e.source][1] + pos[e.target][1]) / 2
            lab = f"{conf:.2f}" + (f" (lag {e.lag})" if e.lag else "")
            ax.text(x, y, lab, fontsize=7, color="#8a2b2b", ha="center", va="center",
                    bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
    ax.set_title(title or f"{graph.algorithm} ({graph.graph_type})", fontsize=11)
    ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()
