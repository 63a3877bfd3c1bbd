"""Additive-noise orientation of what an equivalence class leaves undirected (nonlinear data)."""

from __future__ import annotations

import numpy as np

from causalpilot.tools.discovery.additive_noise import orient_by_additive_noise
from causalpilot.tools.graph import CausalGraph, Edge


def _undirected(*pairs, nodes):
    return CausalGraph(nodes=nodes, edges=[Edge(a, b, "undirected", confidence=0.9) for a, b in pairs],
                       graph_type="CPDAG", algorithm="pc")


def test_a_nonlinear_chain_is_oriented_from_cause_to_effect():
    rng = np.random.default_rng(0)
    n = 800
    x = rng.uniform(-2, 2, n)
    y = np.tanh(1.5 * x) + 0.15 * rng.normal(size=n)
    z = y ** 2 + 0.15 * rng.normal(size=n)
    g = _undirected(("X", "Y"), ("Y", "Z"), nodes=["X", "Y", "Z"])
    out, found = orient_by_additive_noise(g, np.column_stack([x, y, z]), seed=1)
    assert {(e.source, e.target, e.type) for e in out.edges} == {("X", "Y", "directed"), ("Y", "Z", "directed")}
    assert all(e.confidence == 0.9 for e in out.edges)  # the adjacency's bootstrap confidence is kept
    assert set(found["oriented"]) == {"X -> Y", "Y -> Z"} and found["rows"] == 500
    assert found["propagated"] == []  # both directions came from the tests themselves
    t = found["tests"]["X - Y"]
    assert t["p_forward"] > 0.05 >= t["p_backward"]
    # each edge says the additive-noise test set its direction, quoting that test's p-values
    xy = out.edge_between("X", "Y")
    assert xy.oriented_by == "additive_noise" and xy.to_dict()["oriented_by"] == "additive_noise"
    assert xy.orientation.reason.startswith("the residual of Y is independent of X, p = ")
    assert f"p = {t['p_forward']:.2g}" in xy.orientation.reason
    assert CausalGraph.from_dict(out.to_dict()).edge_between("X", "Y").orientation == xy.orientation


def test_a_linear_gaussian_edge_stays_undirected():
    rng = np.random.default_rng(1)
    n = 800
    x = rng.normal(size=n)
    y = 0.8 * x + 0.6 * rng.normal(size=n)
    g = _undirected(("X", "Y"), nodes=["X", "Y"])
    out, found = orient_by_additive_noise(g, np.column_stack([x, y]), seed=1, max_rows=300)
    assert [e.type for e in out.edges] == ["undirected"] and found["oriented"] == []
    assert out.edges[0].oriented_by == "data" and "oriented_by" not in out.edges[0].to_dict()
    # both directions fit an additive-noise model: not identifiable, so not claimed
    assert min(found["tests"]["X - Y"].values()) > 0.05


def test_orientation_is_deterministic_in_the_seed():
    rng = np.random.default_rng(2)
    n = 700
    x = rng.uniform(-2, 2, n)
    y = np.sin(x) + 0.2 * rng.normal(size=n)
    g = _undirected(("X", "Y"), nodes=["X", "Y"])
    a = orient_by_additive_noise(g, np.column_stack([x, y]), seed=5, max_rows=250)
    b = orient_by_additive_noise(g, np.column_stack([x, y]), seed=5, max_rows=250)
    assert a[0].to_dict() == b[0].to_dict() and a[1] == b[1]


def test_directions_that_meek_propagates_are_recorded_and_read_as_such():
    """A -> B is the most decisive test; then B - C must become B -> C (B <- C would make a new collider
    A -> B <- C), which Meek's rules do before B - C's own test is used."""
    from causalpilot.reports.interpret import edge_sentence

    rng = np.random.default_rng(4)
    n = 800
    a = rng.uniform(-2, 2, n)
    b = a ** 2 + 0.15 * rng.normal(size=n)  # a square cannot be inverted: the most decisive edge
    c = 0.8 * b + 0.5 * rng.normal(size=n)
    g = _undirected(("A", "B"), ("B", "C"), nodes=["A", "B", "C"])
    out, found = orient_by_additive_noise(g, np.column_stack([a, b, c]), seed=1)
    assert found["oriented"] == ["A -> B"] and found["propagated"] == ["B -> C"]
    assert {(e.source, e.target, e.type) for e in out.edges} == {("A", "B", "directed"), ("B", "C", "directed")}
    assert {e.source: e.oriented_by for e in out.edges} == {"A": "additive_noise", "B": "additive_noise"}
    readings = {e.source: edge_sentence(e) for e in out.edges}
    assert "Meek's rules" in readings["B"] and "additive-noise model (the residual of B" in readings["A"]
