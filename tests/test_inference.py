"""Acceptance tests for effect estimation on generated data with a known effect."""

import numpy as np
import pytest
import pandas as pd

from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.profile import Finding, PreparedData
from helpers import NumericProfile


def _prep(df):
    return PreparedData(frame=df, profile=NumericProfile())


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
    assert eff.method == "doubly_robust"
    assert abs(eff.estimate - 2.0) < 0.2
    assert eff.ci_low <= 2.0 <= eff.ci_high
    placebo = eff.refutations[0]
    assert placebo.name.startswith("placebo") and placebo.passed is True


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
    assert eff.method == "doubly_robust"
    assert abs(eff.estimate - 12) < 2 and eff.ci_low <= 12 <= eff.ci_high
    assert any("barely overlap" in n for n in eff.notes) and eff.poor_overlap > 0.3
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
    assert eff.estimate is None  # the triangle leaves x's parents open: not identified
    by_set = {tuple(e.adjustment_set): e for e in eff.estimates}
    # IDA over the parent sets of x that some DAG of the class allows: {}, {a}, {y}, {a, y}
    assert set(by_set) == {(), ("a",), ("y",), ("a", "y")}
    adjusted = by_set[("a",)]  # the true DAG's parent set: the unbiased back-door estimate
    assert abs(adjusted.estimate - 1.0) < 0.1 and adjusted.ci_low <= 1.0 <= adjusted.ci_high
    # no adjustment: the population slope of y on x is 1 + 0.9 * 0.8 / (0.8**2 + 1) = 1.439
    assert abs(by_set[()].estimate - 1.439) < 0.1 and abs(eff.naive_estimate - 1.439) < 0.1
    assert by_set[("y",)].estimate == 0.0 == by_set[("a", "y")].estimate  # y -> x: no effect of x on y
    assert list(eff.estimate_range) == [0.0, by_set[()].estimate]
    g2 = CausalGraph(["a", "x", "y", "w"], [Edge("a", "x", "directed"), Edge("a", "y", "directed"),
                                            Edge("x", "y", "directed"), Edge("w", "y", "directed")], graph_type="DAG")
    null = infer(_prep(df), g2, "w", "y", seed=0)[0][0]
    assert null.ci_low <= 0 <= null.ci_high


def test_sensitivity_fails_when_a_confounder_like_the_observed_one_would_flip_the_sign():
    from causalpilot.tools.inference.estimators import linear_regression
    from causalpilot.tools.inference.refute import unobserved_confounder_sensitivity

    rng = np.random.default_rng(0)
    n = 2000
    z = rng.normal(size=n)
    t = 0.8 * z + rng.normal(size=n)  # z explains 39% of t: a hidden confounder as strong as z can exist beside it
    frail = pd.DataFrame({"z": z, "t": t, "y": 0.3 * t + 3 * z + rng.normal(size=n)})
    e = linear_regression(frail, "t", "y", ["z"])
    sens = unobserved_confounder_sensitivity(frail, "t", "y", ["z"], e)
    assert e.ci_low > 0 and sens.new_effect < 0 and sens.passed is False and sens.benchmark == "z"
    robust = frail.assign(y=3 * t + 0.1 * z + rng.normal(size=n))
    e = linear_regression(robust, "t", "y", ["z"])
    assert unobserved_confounder_sensitivity(robust, "t", "y", ["z"], e).passed is True


def test_sensitivity_gives_no_verdict_when_no_confounder_as_strong_as_the_observed_one_can_exist():
    """z explains 80% of t: Cinelli & Hazlett's bound for a confounder as strong as z is above 1."""
    from causalpilot.tools.inference.estimators import linear_regression
    from causalpilot.tools.inference.refute import unobserved_confounder_sensitivity

    rng = np.random.default_rng(0)
    z = rng.normal(size=2000)
    t = 2 * z + rng.normal(size=2000)
    df = pd.DataFrame({"z": z, "t": t, "y": 0.3 * t + 3 * z + rng.normal(size=2000)})
    sens = unobserved_confounder_sensitivity(df, "t", "y", ["z"], linear_regression(df, "t", "y", ["z"]))
    assert sens.passed is None and sens.benchmark is None and "as strong as z" in sens.reading
    assert 0 < sens.robustness_value < 1


def _dowhy_partial_r2(df, t, y, adjust, benchmark):
    """DoWhy's own linear partial-R2 sensitivity analysis (LinearSensitivityAnalyzer), benchmarked on one adjuster."""
    import logging
    import warnings

    import networkx as nx
    from dowhy import CausalModel

    logging.getLogger("dowhy").setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = nx.DiGraph([(a, t) for a in adjust] + [(a, y) for a in adjust] + [(t, y)])
        model = CausalModel(data=df, treatment=t, outcome=y, graph=graph)
        estimand = model.identify_effect()
        estimate = model.estimate_effect(estimand, method_name="backdoor.linear_regression")
        return model.refute_estimate(estimand, estimate, method_name="add_unobserved_common_cause",
                                     simulation_method="linear-partial-R2", benchmark_common_causes=[benchmark],
                                     effect_fraction_on_treatment=[1.0], effect_fraction_on_outcome=[1.0],
                                     plot_estimate=False)


def test_sensitivity_agrees_with_dowhys_linear_sensitivity_analyzer():
    """Robustness value, the benchmark confounder's partial R2 and the bias-adjusted estimate agree with
    DoWhy's LinearSensitivityAnalyzer to the rounding of effects.json (4 and 6 decimals), on 1500 rows and
    on 14 rows with a strong effect, where the robustness value takes its extreme-scenario form (the
    plain formula would give 0.757 instead of 0.748)."""
    from causalpilot.tools.inference.estimators import linear_regression
    from causalpilot.tools.inference.refute import unobserved_confounder_sensitivity

    rng = np.random.default_rng(7)
    n = 1500
    z, w = rng.normal(size=n), rng.normal(size=n)
    t = 0.6 * z + 0.3 * w + rng.normal(size=n)
    moderate = pd.DataFrame({"z": z, "w": w, "t": t, "y": 0.5 * t + 0.3 * z + 0.2 * w + rng.normal(size=n)})
    small = moderate.iloc[:14].assign(y=lambda d: 2 * d.t + 0.3 * d.z + 0.2 * d.w + rng.normal(size=14))
    for df in (moderate, small.reset_index(drop=True)):
        ours = unobserved_confounder_sensitivity(df, "t", "y", ["z", "w"], linear_regression(df, "t", "y", ["z", "w"]))
        theirs = _dowhy_partial_r2(df, "t", "y", ["z", "w"], ours.benchmark)
        bench = theirs.benchmarking_results.iloc[0]
        assert ours.benchmark == "z"
        assert abs(ours.robustness_value - theirs.stats["robustness_value_alpha"]) <= 5e-5
        assert abs(ours.benchmark_r2_treatment - bench["r2tu_w"]) <= 5e-5
        assert abs(ours.benchmark_r2_outcome - bench["r2yu_tw"]) <= 5e-5
        assert abs(ours.new_effect - bench["bias_adjusted_estimate"]) <= 5e-7
    assert abs(theirs.stats["robustness_value_alpha"] - 0.748) < 5e-4


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
    assert abs(placebo.new_effect) < 0.3 and placebo.passed  # the true effect is 2: a permuted t has none
    assert abs(common.new_effect - 2.0) < 0.2 and abs(subset.new_effect - 2.0) < 0.2


def _hidden_confounder_graph(edges):
    """A DAG whose node 'u' is not a column of the data: a hidden common cause of x and y."""
    nodes = sorted({n for e in edges for n in e} - {"u"}) + ["u"]
    return CausalGraph(nodes, [Edge(a, b, "directed") for a, b in [("u", "x"), ("u", "y"), *edges]], graph_type="DAG")


def _frontdoor_data(n=3000, seed=0):
    """x -> m1 -> y and x -> m2 -> y, u confounds x and y; the effect of x on y is 0.8 * 1.5 - 0.6 * 1.0 = 0.6."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    x = u + rng.normal(size=n) + 3
    m1, m2 = 0.8 * x + rng.normal(size=n), -0.6 * x + rng.normal(size=n) + 1
    return pd.DataFrame({"x": x, "m1": m1, "m2": m2, "y": 1.5 * m1 + 1.0 * m2 + 2 * u + rng.normal(size=n)})


def test_frontdoor_with_two_mediators_counts_both_paths():
    from causalpilot.tools.inference.estimate import estimate_dowhy
    from causalpilot.tools.inference.identify import FRONTDOOR, identify

    df = _frontdoor_data()
    graph = _hidden_confounder_graph([("x", "m1"), ("x", "m2"), ("m1", "y"), ("m2", "y")])
    ident = identify(df, graph, "x", "y")
    assert ident.kind == FRONTDOOR and ident.variables == ["m1", "m2"]
    e = estimate_dowhy(df, ident, seed=0, n_boot=20)  # each resample re-fits DoWhy's estimators (slow)
    assert abs(e.value - 0.6) < 0.1 and e.ci_low <= 0.6 <= e.ci_high
    # the data are a real test: the first mediator alone gives its own path only (1.2), the naive slope is biased by u
    a = np.polyfit(df.x, df.m1, 1)[0]
    b = np.linalg.lstsq(np.column_stack([np.ones(len(df)), df.m1, df.x]), df.y, rcond=None)[0][1]
    assert abs(a * b - 1.2) < 0.1 and abs(np.polyfit(df.x, df.y, 1)[0] - 0.6) > 0.8


def test_frontdoor_with_one_mediator_is_dowhys_own_estimate():
    import warnings

    from causalpilot.tools.inference.estimate import estimate_dowhy
    from causalpilot.tools.inference.identify import dowhy_model, identify

    df = _frontdoor_data()[["x", "m1"]]
    df = df.assign(y=1.5 * df.m1 + 2 * (df.x - 3) + np.random.default_rng(1).normal(size=len(df)))
    graph = _hidden_confounder_graph([("x", "m1"), ("m1", "y")])
    ident = identify(df, graph, "x", "y")
    ours = estimate_dowhy(df, ident, seed=0, n_boot=10).value
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = dowhy_model(df, graph, "x", "y").estimate_effect(ident.dowhy_estimand,
                                                                   method_name="frontdoor.two_stage_regression").value
    assert ours == pytest.approx(theirs, rel=1e-9) and abs(ours - 1.2) < 0.1


def _iv_data(n=3000, seed=0):
    """z1, z2 -> x -> y (1.2), u confounds x and y; every column has a mean far from zero."""
    rng = np.random.default_rng(seed)
    u = rng.normal(size=n)
    z1, z2 = rng.normal(size=n) + 5, rng.binomial(1, 0.5, size=n) + 1.0
    x = z1 + 0.7 * z2 + u + rng.normal(size=n) + 10
    return pd.DataFrame({"z1": z1, "z2": z2, "x": x, "y": 1.2 * x + 2 * u + rng.normal(size=n) + 4})


def test_instrument_identified_and_estimated_by_dowhy_through_infer():
    df = _iv_data()[["z2", "x", "y"]]  # one two-valued instrument coded 1/2
    eff, decisions = infer(_prep(df), _hidden_confounder_graph([("z2", "x"), ("x", "y")]), "x", "y", seed=0)
    eff = eff[0]
    assert eff.estimand == "iv" and eff.method == "iv.instrumental_variable" and eff.adjustment_set == ["z2"]
    assert eff.identified and eff.ci_low <= 1.2 <= eff.ci_high and eff.ci_high - eff.ci_low < 1.0
    assert decisions[0].choice == "iv.instrumental_variable"
    assert abs(np.polyfit(df.x, df.y, 1)[0] - 1.2) > 0.3  # the naive slope is biased by u


def test_two_instruments_with_nonzero_means():
    from causalpilot.tools.inference.estimate import estimate_dowhy
    from causalpilot.tools.inference.identify import IV, identify

    df = _iv_data()
    ident = identify(df, _hidden_confounder_graph([("z1", "x"), ("z2", "x"), ("x", "y")]), "x", "y")
    assert ident.kind == IV and ident.variables == ["z1", "z2"]
    e = estimate_dowhy(df, ident, seed=0, n_boot=40)
    assert abs(e.value - 1.2) < 0.1 and e.ci_low <= 1.2 <= e.ci_high


def test_hidden_confounder_with_no_front_door_or_instrument_is_not_identified():
    df = _iv_data()[["x", "y"]]
    eff = infer(_prep(df), _hidden_confounder_graph([("x", "y")]), "x", "y", seed=0)[0][0]
    assert eff.estimand == "not identified" and eff.estimate is None and not eff.identified
