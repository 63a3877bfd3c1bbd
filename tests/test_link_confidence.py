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


def test_bootstrap_resamples_honour_the_background_knowledge(tmp_path, capsys):
    """examples/health.csv with its tiers (age first): the final graph orients age -> smoking by the knowledge,
    and the resamples must too. Before, they were counted as found (undirected) and the report said 'this way
    round in 95%' while 95% of resamples had left the edge undirected and none pointed it the other way."""
    from pathlib import Path

    from tests.helpers import read_json, run_cli

    root = Path(__file__).resolve().parents[1] / "examples"
    out = tmp_path / "out"
    code, _, err = run_cli(["analyse", root / "health.csv", "--background", root / "health_background.yaml",
                            "--bootstrap", "10", "--out", out, "-q"], capsys)
    assert code == 0, err
    edges = {(e["source"], e["target"]): e for e in read_json(out / "graph.json")["edges"]}
    edge = edges[("age", "smoking")]
    assert edge["type"] == "directed" and edge["confidence"] == 1.0
    boot = read_json(out / "run.json")["discovery"]["bootstrap"]["edges"]
    assert not [e for e in boot if {e["source"], e["target"]} == {"age", "smoking"} and e["type"] != "directed"]
    assert "found in 100% of bootstrap resamples" in next(
        line for line in (out / "report.md").read_text().splitlines() if line.startswith("| `age --> smoking`"))
