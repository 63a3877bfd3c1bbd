"""How effects are worded: a range over open directions is not a bound, and what would narrow it."""

import numpy as np
import pandas as pd

from causalpilot.reports import interpret
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.profile import PreparedData
from helpers import NumericProfile


def _open_effect(open_names):
    """smoking -> risk with confounders ``open_names`` whose edges to smoking are undirected."""
    rng = np.random.default_rng(3)
    n = 800
    cols = {c: rng.normal(size=n) for c in open_names}
    smoking = sum(0.6 * v for v in cols.values()) + rng.normal(size=n)
    risk = 0.5 * smoking + sum(0.7 * v for v in cols.values()) + rng.normal(size=n)
    df = pd.DataFrame({**cols, "smoking": smoking, "risk": risk})
    edges = [Edge(c, "smoking", "undirected") for c in open_names] + [Edge(c, "risk", "directed") for c in open_names]
    g = CausalGraph(list(df.columns), [*edges, Edge("smoking", "risk", "directed")], graph_type="CPDAG")
    return infer(PreparedData(frame=df, profile=NumericProfile()), g, "smoking", "risk", seed=0)[0][0].to_dict()


def test_a_range_over_open_directions_is_not_called_a_bound_nor_settled():
    eff = _open_effect(["age"])
    lo, hi = eff["estimate_range"]
    assert lo < 0.6 < hi  # the confounded and the adjusted estimate
    note = next(n for n in eff["notes"] if n.startswith("The effect is not identified"))
    assert "the edge smoking - age has no established direction" in note
    assert "Knowing whether age comes before smoking" in note and "would narrow it" in note
    assert "may change the graph" in note and "not a bound" in note and "settle" not in note
    sentence = interpret.effect_sentence(eff)
    assert "over the directions this graph leaves open" in sentence and "not a bound on the effect" in sentence
    two = _open_effect(["age", "income"])
    note = next(n for n in two["notes"] if n.startswith("The effect is not identified"))
    assert "the edges smoking - age, smoking - income have no established direction" in note
    assert "Knowing which of age, income come before smoking" in note


def test_a_benchmark_confounder_that_flips_the_sign_is_said_to_reverse_it():
    """y = 0.3 t + 3 z: a hidden confounder as strong as z would take the effect past zero."""
    rng = np.random.default_rng(0)
    n = 2000
    z = rng.normal(size=n)
    t = 0.8 * z + rng.normal(size=n)
    df = pd.DataFrame({"z": z, "t": t, "y": 0.3 * t + 3 * z + rng.normal(size=n)})
    g = CausalGraph(["z", "t", "y"], [Edge("z", "t", "directed"), Edge("z", "y", "directed"),
                                      Edge("t", "y", "directed")], graph_type="DAG")
    eff = infer(PreparedData(frame=df, profile=NumericProfile()), g, "t", "y", seed=0)[0][0].to_dict()
    sens = next(r for r in eff["refutations"] if r["name"].startswith("unobserved"))
    assert eff["ci_low"] > 0 and sens["new_effect"] < 0
    sentence = interpret.effect_sentence(eff)
    assert f"would reverse its sign (to {interpret.number(sens['new_effect'])}), enough to change the conclusion" \
        in sentence
    assert "would leave an effect of" not in sentence


def test_p_values_shares_and_arrow_strengths_are_written_for_a_reader():
    from causalpilot.reports.assumptions import assumptions
    from causalpilot.reports.render import build_context, render

    rand = {"step": "discovery.randomised_treatment", "choice": False, "by": "data",
            "evidence": {"check": {"treatment": "t", "covariates": ["z"], "p_value": 0.0, "alpha": 0.01}}}
    (row,) = assumptions([rand], [], {}, [])
    assert "joint likelihood-ratio test p < 0.001, at or below the level 0.01" in row["support"]
    assert "p = 0 " not in row["support"]
    sens = {"name": "unobserved_common_cause (partial R2)", "new_effect": 0.9, "p_value": None, "passed": True,
            "robustness_value": 0.003, "benchmark": "z", "benchmark_r2_treatment": 0.2, "benchmark_r2_outcome": 0.002}
    words = interpret.sensitivity_reading({"treatment": "t", "outcome": "y", "estimate": 1.0, "ci_low": 0.5,
                                           "ci_high": 1.5, "refutations": [sens]})
    assert "would have to explain less than 1% of the remaining variation" in words
    assert "up to 20% of t's and less than 1% of y's remaining variation" in words and " 0%" not in words
    eff = {"treatment": "t", "outcome": "y", "estimand": "backdoor", "method": "linear_regression", "identified": True,
           "adjustment_set": ["z"], "estimate": 1.0, "ci_low": 0.5, "ci_high": 1.5, "refutations": [], "notes": [],
           "what_if": {"intervention": "do(t=2)", "variable": "t", "value": 2.0, "outcome": "y", "observed_mean": 1.0,
                       "observed_mean_of_variable": 0.5, "interventional_mean": 2.5, "arrow_strength": {"t": 13.07},
                       "notes": []}}
    g = CausalGraph(["z", "t", "y"], [Edge("z", "t", "directed"), Edge("t", "y", "directed")], graph_type="DAG")
    ctx = build_context(run_id="r", version="0", seed=0, planner="rules", data_name="d.csv", data_sha256="0" * 64,
                        question=None, profile={"findings": {}, "repairs": [], "n_rows": 10, "n_columns": 3, "variables": [],
                                 "columns": []},
                        graph=g, effects=[eff], decisions=[], background_notes=[], graph_png=b"")
    md, html = render(ctx)
    for text in (md, html):
        assert "in y's units squared): t 13.07" in text.replace("&#39;", "'")
        assert "variance explained" not in text


def test_decisions_and_caveats_follow_what_was_run_and_the_treatments_kind():
    from causalpilot.agent.planners.rules import _missing_reason
    from causalpilot.tools.budget import time_budget
    from causalpilot.tools.profile import Finding, Profile

    # the refuters: planned re-estimates without a budget; "not run" when the budget is spent
    rng = np.random.default_rng(1)
    z = rng.normal(size=600)
    df = pd.DataFrame({"z": z, "t": 0.5 * z + rng.normal(size=600)})
    df["y"] = 0.7 * df.t + z + rng.normal(size=600)
    g = CausalGraph(["z", "t", "y"], [Edge("z", "t", "directed"), Edge("z", "y", "directed"),
                                      Edge("t", "y", "directed")], graph_type="DAG")
    prep = PreparedData(frame=df, profile=NumericProfile())
    eff, decisions = infer(prep, g, "t", "y", seed=0)
    ref = next(d for d in decisions if d.step == "inference.refutations")
    assert ref.choice == {"num_simulations": 50} and "chosen so the three refuters take seconds" in ref.reason
    with time_budget(1e-6):
        _, decisions = infer(prep, g, "t", "y", seed=0)
    ref = next(d for d in decisions if d.step == "inference.refutations")
    assert ref.choice == {"num_simulations": 0, "planned": 50} and "were not run" in ref.reason
    assert "take seconds" not in ref.reason
    # the naive-vs-adjusted sentence and the nonlinearity caveat speak of the treatment's kind
    text = interpret.effect_sentence(eff[0].to_dict())
    assert "chance association of t with the adjusters" in text and "between the groups" not in text
    binary = {"treatment": "t", "outcome": "y", "estimate": 2.0, "ci_low": 1.0, "ci_high": 3.0, "naive_estimate": 3.0,
              "adjustment_set": ["z"], "treatment_change": "switching t from 0 to 1", "method": "doubly_robust_ml"}
    assert "chance imbalance between the groups" in interpret.effect_sentence(binary)
    profile = {"findings": {"linearity": {"value": "nonlinear"}}, "n_rows": 1000, "variables": ["z", "t", "y"]}
    cav = " ".join(interpret.caveats("pc", profile, g, [], effects=[binary]))
    assert "U-shaped" not in cav and "--cate-by" in cav and "opposite effects in different groups" in cav
    assert "U-shaped" in " ".join(interpret.caveats("pc", profile, g, [], effects=[eff[0].to_dict()]))
    # the missing-values decision says what was done: rows dropped, not a BIC search on imputed values
    dropped = Profile(n_rows=1559, n_columns=11, columns=[], variables=[f"x{i}" for i in range(11)], repairs=[
        {"repair": "listwise_deletion", "rows": 63}], findings={"missingness": Finding(
            "missingness", 0.004, {}, "63 row(s) (3.9%) with a missing value dropped (listwise deletion)")})
    reason = _missing_reason(dropped, "pc", 0.004, 11)
    assert "pc runs on the 1,559 complete rows; nothing is imputed" in reason and "BIC" not in reason
    imputed = Profile(n_rows=1000, n_columns=5, columns=[], variables=list("abcde"), repairs=[
        {"repair": "imputation", "rows": 300}], findings={"missingness": Finding("missingness", 0.06, {}, "filled")})
    assert "BIC search on imputed values was more accurate" in _missing_reason(imputed, "boss", 0.06, 5)
    assert "pc runs on the imputed values" in _missing_reason(imputed, "pc", 0.06, 5)
