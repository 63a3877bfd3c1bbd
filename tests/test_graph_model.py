"""The graph model: causal-learn endpoint encodings map to the contract's edge types and back."""

import numpy as np
import pytest

from causalpilot.tools.graph import ARROW, CIRCLE, TAIL, CausalGraph, Edge


def _matrix(pairs, p=3):
    m = np.zeros((p, p), dtype=int)
    for i, j, mi, mj in pairs:
        m[i, j], m[j, i] = mi, mj
    return m


def test_endpoint_marks_map_to_contract_types():
    nodes = ["A", "B", "C"]
    cases = {
        (TAIL, ARROW): ("A", "B", "directed"),
        (ARROW, TAIL): ("B", "A", "directed"),
        (TAIL, TAIL): ("A", "B", "undirected"),
        (ARROW, ARROW): ("A", "B", "bidirected"),
        (CIRCLE, ARROW): ("A", "B", "partially_directed"),
        (ARROW, CIRCLE): ("B", "A", "partially_directed"),
        (CIRCLE, CIRCLE): ("A", "B", "nondirected"),
    }
    for (ma, mb), (s, t, typ) in cases.items():
        g = CausalGraph.from_endpoint_matrix(_matrix([(0, 1, ma, mb)]), nodes, "PAG")
        assert [(e.source, e.target, e.type) for e in g.edges] == [(s, t, typ)]
        # and back to the same marks
        assert np.array_equal(g.endpoint_matrix(), _matrix([(0, 1, ma, mb)]))


def test_symmetric_edges_are_canonical_and_json_is_stable():
    g1 = CausalGraph(["A", "B", "C"], [Edge("C", "A", "undirected"), Edge("A", "B", "directed", 0.91234567)], "CPDAG")
    g2 = CausalGraph(["A", "B", "C"], [Edge("A", "B", "directed", 0.91234567), Edge("A", "C", "undirected")], "CPDAG")
    assert g1.to_json() == g2.to_json()
    d = g1.to_dict()
    assert d["edges"][0] == {"source": "A", "target": "B", "type": "directed", "confidence": 0.9123}
    assert CausalGraph.from_dict(d).to_dict() == d


def test_lagged_edges_carry_lag_and_unknown_nodes_are_rejected():
    g = CausalGraph(["X", "Y"], [Edge("X", "Y", "directed", None, 2)], "lagged")
    assert g.to_dict()["edges"][0]["lag"] == 2
    with pytest.raises(ValueError, match="node"):
        CausalGraph(["X"], [Edge("X", "Z", "directed")], "DAG")
