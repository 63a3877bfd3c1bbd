"""Acceptance tests for effect estimation on generated data with a known effect."""

import numpy as np
import pandas as pd

from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.profile import Finding, PreparedData


class _Profile:
    def __init__(self, lin="linear"):
        self.lin = lin

    def value(self, name, default=None):
        return self.lin if name == "linearity" else default

    def kind_of(self, col):  # every variable of these tests is numeric
        return "continuous"


def _prep(df):
    return PreparedData(frame=df, profile=_Profile())


def test_binary_treatment_confounded_ate():
    rng = np.random.default_rng(1)
    n = 3000
    z = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-1.5 * z))).astype(float)
    y = 2.0 * t + 1.5 * z + rng.normal(size=n)
    df = pd.DataFrame({"z": z, "t": t, "y": y})
    g = CausalGraph(["z", "t", "y"], [Edge("z", "t", "directed"), Edge("z", "y", "directed"),
                                      Edge("t", "y", "directed")], graph_type="DAG")
    eff = infer(_prep(df), g, "t", "y", seed=3)[0][0]
    assert eff["method"] == "doubly_robust"
    assert abs(eff["estimate"] - 2.0) < 0.2
    assert eff["ci_low"] <= 2.0 <= eff["ci_high"]
    placebo = eff["refutations"][0]
    assert placebo["name"].startswith("placebo") and placebo["passed"] is True


def _promotion_data(seed, n=1000):
    """Promotion given almost only at high footfall (poor overlap); true effect 12 on sales."""
    rng = np.random.default_rng(seed)
    x = rng.normal(100, 20, n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(x - 100) / 4))).astype(float)
    return pd.DataFrame({"footfall": x, "promotion": t, "sales": 1.2 * x + 12 * t + rng.normal(0, 10, n)})


def test_binary_treatment_with_poor_overlap_is_doubly_robust_and_says_so():
    from causalpilot.tools.inference.estimators import propensity_weighting

    df = _promotion_data(0)
    g = CausalGraph(list(df.columns), [Edge("footfall", "promotion", "directed"), Edge("footfall", "sales", "directed"),
                                       Edge("promotion", "sales", "directed")], graph_type="DAG")
    eff = infer(_prep(df), g, "promotion", "sales", seed=0)[0][0]
    assert eff["method"] == "doubly_robust"
    assert abs(eff["estimate"] - 12) < 2 and eff["ci_low"] <= 12 <= eff["ci_high"]
    assert any("barely overlap" in n for n in eff["notes"]) and eff["poor_overlap"] > 0.3
    # the data are a real test: clipped inverse-propensity weights alone miss by about the effect itself
    assert abs(propensity_weighting(df, "promotion", "sales", ["footfall"], ci=False).value - 12) > 5


def test_doubly_robust_ml_when_confounding_is_nonlinear():
    from causalpilot.tools.inference.estimators import doubly_robust_ml, linear_regression

    rng = np.random.default_rng(4)
    n = 2000
    z, w = rng.normal(size=n), rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(1.5 * z ** 2 - 1.5 + w)))).astype(float)
    df = pd.DataFrame({"z": z, "w": w, "t": t, "y": 2 * t + 2 * np.exp(z) + np.sin(3 * w) + rng.normal(size=n)})
    dr = doubly_robust_ml(df, "t", "y", ["z", "w"], seed=1)
    assert abs(dr.value - 2) < 0.7
    assert abs(linear_regression(df, "t", "y", ["z", "w"]).value - 2) > 1.5


def test_cpdag_range_contains_truth_and_null_effect():
    rng = np.random.default_rng(2)
    n = 2000
    a = rng.normal(size=n)
    x = 0.8 * a + rng.normal(size=n)
    y = 1.0 * x + 0.9 * a + rng.normal(size=n)
    w = rng.normal(size=n)  # null treatment, unrelated
    df = pd.DataFrame({"a": a, "x": x, "y": y, "w": w})
    g = CausalGraph(["a", "x", "y", "w"], [Edge("a", "x", "undirected"), Edge("a", "y", "undirected"),
                                           Edge("x", "y", "undirected")], graph_type="CPDAG")
    eff = infer(_prep(df), g, "x", "y", seed=0)[0][0]
    assert eff["estimate"] is None  # the triangle leaves x's parents open: not identified
    by_set = {tuple(e["adjustment_set"]): e for e in eff["estimates"]}
    # IDA over the parent sets of x that some DAG of the class allows: {}, {a}, {y}, {a, y}
    assert set(by_set) == {(), ("a",), ("y",), ("a", "y")}
    adjusted = by_set[("a",)]  # the true DAG's parent set: the unbiased back-door estimate
    assert abs(adjusted["estimate"] - 1.0) < 0.1 and adjusted["ci_low"] <= 1.0 <= adjusted["ci_high"]
    # no adjustment: the population slope of y on x is 1 + 0.9 * 0.8 / (0.8**2 + 1) = 1.439
    assert abs(by_set[()]["estimate"] - 1.439) < 0.1 and abs(eff["naive_estimate"] - 1.439) < 0.1
    assert by_set[("y",)]["estimate"] == 0.0 == by_set[("a", "y")]["estimate"]  # y -> x: no effect of x on y
    assert eff["estimate_range"] == [0.0, by_set[()]["estimate"]]
    g2 = CausalGraph(["a", "x", "y", "w"], [Edge("a", "x", "directed"), Edge("a", "y", "directed"),
                                            Edge("x", "y", "directed"), Edge("w", "y", "directed")], graph_type="DAG")
    null = infer(_prep(df), g2, "w", "y", seed=0)[0][0]
    assert null["ci_low"] <= 0 <= null["ci_high"]


def test_sensitivity_fails_when_a_confounder_like_the_observed_one_would_flip_the_sign():
    from causalpilot.tools.inference.estimators import linear_regression
    from causalpilot.tools.inference.refute import unobserved_confounder_sensitivity

    rng = np.random.default_rng(0)
    n = 2000
    z = rng.normal(size=n)
    t = 2 * z + rng.normal(size=n)
    frail = pd.DataFrame({"z": z, "t": t, "y": 0.3 * t + 3 * z + rng.normal(size=n)})
    e = linear_regression(frail, "t", "y", ["z"])
    sens = unobserved_confounder_sensitivity(frail, "t", "y", ["z"], e)
    assert e.ci_low > 0 and sens["new_effect"] < 0 and sens["passed"] is False
    robust = frail.assign(y=3 * t + 0.1 * z + rng.normal(size=n))
    e = linear_regression(robust, "t", "y", ["z"])
    assert unobserved_confounder_sensitivity(robust, "t", "y", ["z"], e)["passed"] is True


def test_refuters_give_the_same_result_in_one_process_or_several():
    """The refuters' draws are taken before the simulations are spread over processes."""
    from causalpilot.tools.inference.estimators import linear_regression
    from causalpilot.tools.inference.refute import refute

    rng = np.random.default_rng(2)
    n = 400
    c = rng.normal(size=n)
    t = 0.7 * c + rng.normal(size=n)
    df = pd.DataFrame({"c": c, "t": t, "y": 2.0 * t + c + rng.normal(size=n)})
    e = linear_regression(df, "t", "y", ["c"])
    one = refute(df, "t", "y", ["c"], e, linear_regression, seed=5, num_simulations=6)
    two = refute(df, "t", "y", ["c"], e, linear_regression, seed=5, num_simulations=6, n_jobs=2)
    assert one == two
    placebo, common, subset = one[:3]
    assert abs(placebo["new_effect"]) < 0.3 and placebo["passed"]  # the true effect is 2: a permuted t has none
    assert abs(common["new_effect"] - 2.0) < 0.2 and abs(subset["new_effect"] - 2.0) < 0.2
