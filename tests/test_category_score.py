"""Unordered categories in the BIC searches: the degenerate-Gaussian score on indicator columns."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalpilot.agent.loop import discovery_input
from causalpilot.tools.discovery.category_score import CategoryScore, category_blocks
from causalpilot.tools.discovery.permutation import _boss_scorer
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare
from causalpilot.tools.registry import run_algorithm


def test_single_columns_score_exactly_as_causal_learn_bic():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5))
    X[:, 3] += X[:, 0] - X[:, 1]
    Z = (X - X.mean(0)) / X.std(0)
    ours = CategoryScore(Z, Z, [np.array([j]) for j in range(5)], penalty=2.0)
    lib = _boss_scorer(Z, "local_score_BIC_from_cov", 2.0)
    for v, pa in [(3, []), (3, [0, 1]), (0, [1, 2, 4]), (4, [3])]:
        assert np.isclose(ours.score(v, pa), lib.score(v, pa), rtol=1e-9, atol=1e-6)


def _clinic(seed=0, n=1500):
    """clinic (three sites) -> wait: the middle label 'north' adds 2, east and south nothing, so the effect
    is not monotone in the alphabetical codes (east 0, north 1, south 2) and a line through them is flat."""
    rng = np.random.default_rng(seed)
    clinic = rng.choice(["east", "north", "south"], n)
    age = rng.normal(size=n)
    wait = 2.0 * (clinic == "north") + 0.8 * age + rng.normal(size=n)
    cost = 0.9 * wait + rng.normal(size=n)
    return pd.DataFrame({"clinic": clinic, "age": age, "wait": wait, "cost": cost})


def test_category_with_a_non_monotone_effect_is_found_through_its_indicators():
    frame = _clinic()
    prep = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="0", format="synthetic"), seed=0)
    di = discovery_input(prep, 0, None)
    assert di.kinds["clinic"] == "categorical"
    Z, blocks = category_blocks(np.asarray(di.X, float), di.nodes, di.kinds)
    assert [len(b) for b in blocks] == [2, 1, 1, 1] and Z.shape[1] == 5
    g = run_algorithm("exact_search", di, {})
    assert g.parameters["categories_as_indicators"] == {"clinic": 2}
    skeleton = {frozenset((e.source, e.target)) for e in g.edges}
    assert skeleton == {frozenset(("clinic", "wait")), frozenset(("age", "wait")), frozenset(("wait", "cost"))}
    # the collider at wait is identified: both causes point into it, and cost follows by Meek's rules
    assert {(e.source, e.target) for e in g.edges if e.type == "directed"} == {
        ("clinic", "wait"), ("age", "wait"), ("wait", "cost")}
    boss = run_algorithm("boss", di, {})
    assert {frozenset((e.source, e.target)) for e in boss.edges} == skeleton
    # on the codes, as one number, the same search does not see the site at all
    di.kinds["clinic"] = "discrete"
    assert "clinic" not in {n for e in run_algorithm("exact_search", di, {}).edges for n in (e.source, e.target)}


def test_unordered_category_among_adjusters_enters_as_indicators():
    """plan -> dose, plan -> response, dose -> response (1.0): only the middle code 'beta' raises both, so a
    linear adjustment on the codes 0, 1, 2 leaves the confounding in (about 1.9)."""
    from causalpilot.tools.graph import CausalGraph, Edge
    from causalpilot.tools.inference.effects import infer, with_indicators
    from causalpilot.tools.inference.estimators import linear_regression
    from causalpilot.tools.profile import Finding

    rng = np.random.default_rng(3)
    n = 3000
    plan = rng.choice(["alpha", "beta", "gamma"], n)
    bump = 2.0 * (plan == "beta")
    dose = bump + rng.normal(size=n)
    frame = pd.DataFrame({"plan": plan, "dose": dose, "response": dose + 2.0 * bump + rng.normal(size=n)})
    prep = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="0", format="synthetic"), seed=0)
    assert linear_regression(prep.frame, "dose", "response", ["plan"]).value > 1.5  # codes as a number
    dfx, columns = with_indicators(prep, prep.frame, ["plan", "dose"])
    assert columns["dose"] == ["dose"]
    cols = columns["plan"]
    assert len(cols) == 2 and all(c.startswith("plan[") for c in cols) and set(cols) <= set(dfx.columns)
    prep.profile.findings["linearity"] = Finding("linearity", "linear")  # so that OLS is the estimator
    g = CausalGraph(["plan", "dose", "response"], [Edge("plan", "dose", "directed"), Edge("plan", "response", "directed"),
                                                   Edge("dose", "response", "directed")], "DAG", "t")
    eff = infer(prep, g, "dose", "response", 0)[0][0]
    assert eff.method == "linear_regression" and eff.adjustment_set == ["plan"]
    assert abs(eff.estimate - 1.0) < 0.1 and eff.ci_low < 1.0 < eff.ci_high


def test_batched_block_scores_equal_the_one_at_a_time_scores():
    from itertools import combinations

    rng = np.random.default_rng(4)
    X = rng.normal(size=(300, 5))
    X[:, 1] = rng.integers(0, 4, 300)  # a four-level category
    X[:, 3] = rng.integers(0, 3, 300)  # a three-level category
    kinds = {f"v{j}": ("categorical" if j in (1, 3) else "continuous") for j in range(5)}
    Z, blocks = category_blocks(X, [f"v{j}" for j in range(5)], kinds)
    s = CategoryScore(X, Z, blocks)
    for v in range(5):
        others = [u for u in range(5) if u != v]
        for k in range(4):
            combos = list(combinations(others, k))
            sets = np.array(combos, dtype=np.int64).reshape(len(combos), k)
            assert np.allclose(s.batch(v, sets), [s.score_nocache(v, list(r)) for r in sets], rtol=1e-9, atol=1e-6)


def test_pooled_domains_with_a_category_are_searched_on_indicators_and_changes_found():
    """Three hospitals (domains) pool the clinic data; in each, age's effect on wait differs. The planner
    scores the BIC over domains with clinic as indicators (not CD-NOD on the codes), finds the true
    skeleton, names wait's mechanism as the changing one, and so orients age -> wait <- clinic."""
    from causalpilot.agent.planners.base import Request
    from causalpilot.agent.planners.rules import RulesPlanner

    rng = np.random.default_rng(3)
    parts = []
    for d, slope in enumerate([0.5, 1.0, 1.6]):
        part = _clinic(seed=10 + d, n=700)
        part["wait"] = 2.0 * (part["clinic"] == "north") + slope * part["age"] + rng.normal(size=700)
        part["cost"] = 0.9 * part["wait"] + rng.normal(size=700)
        part["hospital"] = f"h{d}"
        parts.append(part)
    frame = pd.concat(parts, ignore_index=True)
    prep = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="1", format="synthetic"), seed=0,
                               domain_index="hospital")
    plan = RulesPlanner().plan_discovery(prep.profile, Request())
    assert plan.algorithm == "exact_search" and "indicator columns" in plan.decisions[0].reason
    g = run_algorithm(plan.algorithm, discovery_input(prep, 0, None), plan.params)
    assert g.parameters["categories_as_indicators"] == {"clinic": 2}
    assert {frozenset((e.source, e.target)) for e in g.edges} == {
        frozenset(("clinic", "wait")), frozenset(("age", "wait")), frozenset(("wait", "cost"))}
    assert "wait" in g.parameters["changing_modules"] and "clinic" not in g.parameters["changing_modules"]
    assert {(e.source, e.target) for e in g.edges if e.type == "directed"} >= {("clinic", "wait"), ("age", "wait")}
