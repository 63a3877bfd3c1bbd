"""Positivity: an estimate whose treatment is (nearly) a function of its adjusters has no common support,
and the report must not present it, or its sensitivity analysis, as the data's answer."""

import numpy as np
import pandas as pd

from causalpilot.reports import interpret
from causalpilot.reports.assumptions import assumptions
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.profile import PreparedData
from helpers import NumericProfile


def _threshold_data(seed=5, n=1500):
    """t is exactly x > 0 (as Thornton's 'any' is 'tinc > 0'); y = 1.0 t + 0.8 x + noise."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    t = (x > 0).astype(float)
    return pd.DataFrame({"x": x, "t": t, "y": 1.0 * t + 0.8 * x + rng.normal(size=n)})


def test_deterministic_treatment_is_flagged_without_common_support():
    df = _threshold_data()
    g = CausalGraph(["x", "t", "y"], [Edge("x", "t", "directed"), Edge("x", "y", "directed"),
                                      Edge("t", "y", "directed")], graph_type="DAG")
    eff = infer(PreparedData(frame=df, profile=NumericProfile()), g, "t", "y", seed=1)[0][0].to_dict()
    assert eff["adjustment_set"] == ["x"] and eff["no_support"] is True and eff["poor_overlap"] > 0.9
    sens = next(r for r in eff["refutations"] if r["name"].startswith("unobserved"))
    assert sens["passed"] is None  # no robustness verdict on an unsupported estimate
    sentence = interpret.effect_sentence(eff)
    assert "not supported by the data" in sentence and "no common support" in sentence
    assert "conclusion holds" not in sentence and "change the conclusion" not in sentence
    assert any(n.startswith("No common support adjusting for {x}") for n in eff["notes"])
    reading = interpret.refutation_reading(sens, eff)
    assert "no verdict" in reading and "conclusion holds" not in reading
    rows = assumptions([], [eff], {}, [])
    assert not any("conclusion holds" in r["support"] for r in rows)


def test_orientation_without_support_is_flagged_in_the_range_sentence_and_table():
    """x - t undirected: adjusting for nothing (t -> x) is supported, adjusting for x (x -> t) is not."""
    from causalpilot.reports.render import NO_SUPPORT_MARK, build_context

    df = _threshold_data()
    g = CausalGraph(["x", "t", "y"], [Edge("x", "t", "undirected"), Edge("x", "y", "directed"),
                                      Edge("t", "y", "directed")], graph_type="CPDAG")
    eff = infer(PreparedData(frame=df, profile=NumericProfile()), g, "t", "y", seed=1)[0][0].to_dict()
    by_set = {tuple(p["adjustment_set"]): p for p in eff["estimates"]}
    assert by_set[("x",)].get("no_support") is True and not by_set[()].get("no_support")
    sentence = interpret.effect_sentence(eff)
    assert f"Adjusting for x (estimate {interpret.number(by_set[('x',)]['estimate'])}): not supported by the data" \
        in sentence
    assert "conclusion holds" not in sentence
    ctx = build_context(run_id="r", version="0", seed=0, planner="rules", data_name="d.csv", data_sha256="0" * 64,
                        question=None, profile={"findings": {}, "repairs": [], "n_rows": 1500, "variables": []},
                        graph=g, effects=[eff], decisions=[], background_notes=[], graph_png=b"")
    texts = {tuple(p["adjustment_set"]): p["estimate_text"] for p in ctx["effects"][0]["orientations"]}
    assert texts[("x",)].endswith(NO_SUPPORT_MARK) and not texts[()].endswith(NO_SUPPORT_MARK)
