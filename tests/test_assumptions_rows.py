"""The report's Assumptions section names the adjustment the reported estimate used, and speaks of a
robustness value only when a sensitivity analysis computed one."""

import numpy as np
import pandas as pd

from causalpilot.reports.assumptions import assumptions
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.inference.lagged import lagged_effect
from causalpilot.tools.profile import PreparedData
from tests.test_lagged_effects import TRUE_GRAPH, _series
from helpers import NumericProfile


def _hidden_row(rows):
    (row,) = [r for r in rows if r["assumed"].startswith("No hidden common cause")]
    return row


def test_every_orientations_set_is_named_when_the_effect_is_not_identified():
    """age - smoking undirected (as in the quick-start example): the sets are nothing and {age}."""
    rng = np.random.default_rng(3)
    age = rng.normal(size=800)
    smoking = 0.6 * age + rng.normal(size=800)
    risk = 0.5 * smoking + 0.7 * age + rng.normal(size=800)
    df = pd.DataFrame({"age": age, "smoking": smoking, "risk": risk})
    g = CausalGraph(["age", "smoking", "risk"], [Edge("age", "smoking", "undirected"), Edge("age", "risk", "directed"),
                                                 Edge("smoking", "risk", "directed")], graph_type="CPDAG")
    eff = infer(PreparedData(frame=df, profile=NumericProfile()), g, "smoking", "risk", seed=0)[0][0].to_dict()
    assert sorted(p["adjustment_set"] for p in eff["estimates"]) == [[], ["age"]]
    row = _hidden_row(assumptions([], [eff], {}, []))
    assert "once nothing or {age} is adjusted for" in row["assumed"]
    assert "adjusting for nothing:" in row["support"] and "adjusting for age:" in row["support"]
    assert "robustness value" in row["change"]  # both sets had a sensitivity analysis


def test_no_robustness_value_is_mentioned_when_no_sensitivity_analysis_ran():
    eff = lagged_effect(_series(n=600), TRUE_GRAPH, "ad_spend", "sales").to_dict()
    assert eff["lags"] and not eff["refutations"]
    row = _hidden_row(assumptions([], [eff], {}, []))
    assert "temperature(t-2)" in row["assumed"] and "(per lag)" in row["assumed"]
    assert "robustness value" not in row["change"] and "no sensitivity analysis" in row["support"]
    zero = lagged_effect(_series(n=600), TRUE_GRAPH, "sales", "ad_spend").to_dict()
    rows = assumptions([], [zero], {}, [])
    assert not any("robustness value" in r["change"] for r in rows)
    # the lagged zero is checked against the data (lagged.granger_check): its row cites that test
    (row,) = [r for r in rows if r["assumed"] == "The graph's missing link from sales to ad_spend is real."]
    assert "show no dependence (p = 0.61)" in row["support"]
