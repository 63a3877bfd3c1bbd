"""Bootstrap confidence of a link (the pair, any marks) beside that of the exact edge, and how the report reads them."""

from __future__ import annotations

from causalpilot.tools.bootstrap import BootstrapResult, annotate
from causalpilot.tools.graph import CausalGraph, Edge


def test_link_confidence_counts_the_pair_whatever_its_marks():
    g = CausalGraph(["a", "b", "c"], [Edge("a", "b", "directed"), Edge("b", "c", "undirected")], "CPDAG", "t")
    boot = BootstrapResult(20, {("a", "b", "directed", None): 0.45, ("b", "a", "directed", None): 0.15,
                                ("a", "b", "undirected", None): 0.4, ("b", "c", "undirected", None): 0.3})
    out = annotate(g, boot)
    ab, bc = out.edge_between("a", "b"), out.edge_between("b", "c")
    assert (ab.confidence, ab.link_confidence) == (0.45, 1.0) and (bc.confidence, bc.link_confidence) == (0.3, 0.3)
    assert out.to_dict()["edges"][0]["link_confidence"] == 1.0
    assert CausalGraph.from_dict(out.to_dict()) == out

    from causalpilot.reports.interpret import edge_sentence, graph_summary

    assert "linked in 100% of bootstrap resamples, this way round in 45%" in edge_sentence(ab)
    assert "its direction is not" in edge_sentence(ab)
    assert "found in 30%" in edge_sentence(bc) and "unstable" in edge_sentence(bc)
    summary = graph_summary(out)
    assert "1 link(s) unstable" in summary and "1 stable link(s) keep their direction" in summary
