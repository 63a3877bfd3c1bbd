"""The graph figure: no edge drawn straight through a node it does not touch, labels on their edges."""

from __future__ import annotations

from causalpilot.reports.figures import _bend
from causalpilot.tools.graph import Edge


def test_an_edge_across_a_row_is_curved_around_the_nodes_between():
    pos = {"A": (0.0, 0.0), "B": (1.6, 0.0), "C": (3.2, 0.0), "D": (1.6, -1.2)}
    assert _bend(pos, Edge("A", "C", "undirected")) > 0  # would run through B
    assert _bend(pos, Edge("A", "B", "undirected")) == 0  # neighbours: straight
    assert _bend(pos, Edge("A", "D", "directed")) == 0  # nothing in the way


def test_confidence_label_of_a_curved_edge_sits_on_the_drawn_curve():
    """matplotlib bends arc3 edges in pixels; a label placed by the same formula in data units lands
    off the curve whenever the axes are not square (it did: 80 px below the edge in a report)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import networkx as nx
    import numpy as np

    from causalpilot.reports.figures import _confidence_labels
    from causalpilot.tools.graph import CausalGraph

    pos = {"A": (0.0, 0.0), "B": (1.6, 0.0), "C": (3.2, 0.0), "D": (1.6, -3.0)}
    graph = CausalGraph(nodes=list(pos), edges=[Edge("A", "C", "undirected", confidence=0.9)], graph_type="CPDAG")
    fig, ax = plt.subplots(figsize=(9, 3), dpi=100)  # far from square
    g = nx.DiGraph([("A", "C")])
    g.add_nodes_from(pos)
    nx.draw_networkx_nodes(g, pos, ax=ax, node_size=1400)
    (patch,) = nx.draw_networkx_edges(g, pos, ax=ax, edgelist=[("A", "C")], arrows=True, arrowstyle="-",
                                      connectionstyle=f"arc3,rad={_bend(pos, graph.edges[0])}", node_size=1400)
    fig.tight_layout()
    _confidence_labels(ax, graph, pos)
    fig.canvas.draw()
    label = next(t for t in ax.texts if t.get_text() == "0.90")
    at = ax.transData.transform(label.get_position())
    points = [seg(t) for seg, _ in patch.get_path().iter_bezier() for t in np.linspace(0, 1, 101)]
    curve = ax.transData.transform(np.array(points))
    gap = np.min(np.hypot(*(curve - at).T))
    plt.close(fig)
    assert gap < 3  # pixels
    # and the curve really is bent: its middle is well away from the straight chord (y = 0)
    assert abs(ax.transData.inverted().transform(at)[1]) > 0.05


def test_long_node_names_are_broken_at_separators_and_shrunk_to_fit():
    from causalpilot.reports.figures import node_label

    assert node_label("age", 9) == ("age", 9)
    assert node_label("ice_cream_sales", 9) == ("ice_cream\nsales", 7.0)  # at the separator nearest the middle
    assert node_label("LowerBodyO2", 9)[0] == "Lower\nBodyO2"  # camel case
    text, size = node_label("satisfaction", 9)  # no separator: one line, smaller font, never a split word
    assert text == "satisfaction" and 5 <= size < 9
    assert node_label("a_very_long_variable_name_indeed", 9)[1] == 5.0


def test_an_arc_that_skips_a_row_keeps_clear_of_the_nodes_it_does_not_touch():
    """cholesterol -> heart_risk over two rows: bent the default way its arc ended beside blood_pressure
    and read as cholesterol -> blood_pressure; the bend is chosen so the arc keeps clear of it."""
    from causalpilot.reports.figures import _curve_passes_near

    pos = {"smoking": (-1.6, 0.0), "bmi": (0.0, 0.0), "cholesterol": (1.6, 0.0), "blood_pressure": (-0.8, -1.2),
           "heart_risk": (-1.4, -2.4)}
    edge = Edge("cholesterol", "heart_risk", "directed")
    assert _curve_passes_near(pos, "cholesterol", "heart_risk", 0.25)  # the old bend
    rad = _bend(pos, edge)
    assert rad != 0 and not _curve_passes_near(pos, "cholesterol", "heart_risk", rad)
