"""The graph figure must not draw an edge straight through a node it does not touch."""

from __future__ import annotations

from reports.figures import _bend
from tools.graph import Edge


def test_an_edge_across_a_row_is_curved_around_the_nodes_between():
    pos = {"A": (0.0, 0.0), "B": (1.6, 0.0), "C": (3.2, 0.0), "D": (1.6, -1.2)}
    assert _bend(pos, Edge("A", "C", "undirected")) > 0  # would run through B
    assert _bend(pos, Edge("A", "B", "undirected")) == 0  # neighbours: straight
    assert _bend(pos, Edge("A", "D", "directed")) == 0  # nothing in the way
