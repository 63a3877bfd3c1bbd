"""Asking for the effect of T on Y presumes that Y does not cause T (issue #18): that assumption
orients a T - Y edge the data leave open, is stated as a decision, and can be dropped (--no-order)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import causalpilot


@pytest.fixture(scope="module")
def confounded_binary() -> pd.DataFrame:
    """x1, x2 -> t (binary) -> y -> d, x1, x2 -> y; the true effect of t on y is 3.0."""
    rng = np.random.default_rng(12)
    n = 2000
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(x1 + x2)))).astype(int)
    y = 3.0 * t + 1.0 * x1 + 0.8 * x2 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "t": t, "y": y, "d": 0.8 * y + rng.normal(size=n)})


def _effect(result):
    (eff,) = result.effects_list
    return eff


def test_naming_the_pair_identifies_the_effect_the_data_leave_open(confounded_binary):
    r = causalpilot.analyse(confounded_binary, treatment="t", outcome="y", bootstrap=0, memory=False)
    eff = _effect(r)
    assert eff["identified"] and eff["ci_low"] <= 3.0 <= eff["ci_high"] and abs(eff["estimate"] - 3.0) < 0.2
    assert r.graph.edge_between("t", "y").type == "directed" and r.graph.edge_between("t", "y").source == "t"
    (dec,) = [d for d in r.decisions if d["step"] == "discovery.effect_order"]
    assert dec["choice"] is True and "y does not cause t" in dec["reason"] and "--no-order" in dec["reason"]
    assert "y does not cause t" in r.report_markdown()

    # without the assumption the direction stays open and the range reaches the structural zero
    free = causalpilot.analyse(confounded_binary, treatment="t", outcome="y", bootstrap=0, memory=False,
                               no_order=True)
    assert free.graph.edge_between("t", "y").type == "undirected"
    assert _effect(free)["estimate"] is None and _effect(free)["estimate_range"][0] == 0.0
    assert not [d for d in free.decisions if d["step"] == "discovery.effect_order"]


def test_the_question_names_the_pair_too_and_user_knowledge_wins(confounded_binary):
    r = causalpilot.analyse(confounded_binary, question="What is the effect of t on y?", bootstrap=0, memory=False)
    (order,) = [d for d in r.decisions if d["step"] == "discovery.effect_order"]
    assert order["choice"] is True and order["evidence"] == {"treatment": "t", "outcome": "y"}  # the question's pair
    assert "None" not in r.report_html() and _effect(r)["identified"]

    mine = causalpilot.analyse(confounded_binary, treatment="t", outcome="y", bootstrap=0, memory=False,
                               background={"required": [["y", "t"]]})
    (dec,) = [d for d in mine.decisions if d["step"] == "discovery.effect_order"]
    assert dec["choice"] is False and "requires y -> t" in dec["reason"]
    assert mine.graph.edge_between("t", "y").source == "y"


def test_on_a_pag_the_assumption_leaves_a_hidden_common_cause_possible():
    """On FCI's circle marks, "y does not cause t" rules out the tail at y only: t o-o y becomes
    t o-> y (t may cause y, or a hidden variable may drive both), never t -> y."""
    from causalpilot.tools.background import Background, apply_to_graph, with_effect_order
    from causalpilot.tools.graph import CausalGraph, Edge

    g = CausalGraph(["t", "y", "z"], [Edge("t", "y", "nondirected"), Edge("z", "t", "partially_directed"),
                                      Edge("y", "z", "bidirected")], "PAG")
    bg, note = with_effect_order(None, "t", "y")
    out, notes = apply_to_graph(g, bg)
    assert {e.describe() for e in out.edges} == {"t o-> y", "z o-> t", "y <-> z"}
    assert out.edge_between("t", "y").orientation.by == "background" and len(notes) == 1
    both, _ = apply_to_graph(g, Background(forbidden=[("y", "t"), ("z", "t")]))
    assert {e.describe() for e in both.edges} == {"t o-> y", "t <-> z", "y <-> z"}
