"""Plausibility of directions (issue #23, item 2): a randomised treatment and demographics fixed at
birth are recognised as first-tier roots, and a confounded treatment is not taken for randomised."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalpilot.tools.background import Background
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.experiment import experiment_estimates
from causalpilot.tools.knowledge import (Root, demographic_roots, edges_into_roots, randomisation_check,
                                         with_roots)


def _trial(n: int = 800, confounded: bool = False, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, n)
    income = rng.normal(size=n) + 0.05 * age
    score = 0.5 * (age - 40) / 10 if confounded else 0.0
    treat = (rng.random(n) < 1 / (1 + np.exp(-score))).astype(int)
    outcome = 2.0 * treat + 0.1 * age + income + rng.normal(size=n)
    return pd.DataFrame({"treat": treat, "age": age, "income": income, "outcome": outcome})


def test_a_randomised_treatment_is_recognised():
    check = randomisation_check(_trial(), "treat", "outcome")
    assert check is not None and check.randomised and check.p_value > 0.01
    assert set(check.covariates) == {"age", "income"} and check.df == 2
    assert "looks randomised" in check.reason()


def test_a_confounded_treatment_is_not_taken_for_randomised():
    check = randomisation_check(_trial(confounded=True), "treat", "outcome")
    assert check is not None and not check.randomised and check.p_value < 1e-4
    assert min(check.per_variable, key=check.per_variable.get) == "age"  # the confounder is the imbalanced one


def test_the_check_applies_only_to_a_few_levels():
    df = _trial()
    assert randomisation_check(df, "income", "outcome") is None  # a continuous treatment
    df["treat"] = df["treat"] * 0  # one level only
    assert randomisation_check(df, "treat", "outcome") is None


def test_experiment_difference_in_means_and_adjusted_estimate():
    exp = experiment_estimates(_trial(seed=1), "treat", "outcome")
    assert exp["binary"] and exp["ci_low"] < 2.0 < exp["ci_high"]
    assert exp["adjusted_ci_low"] < 2.0 < exp["adjusted_ci_high"]
    # the covariates explain much of the outcome, so adjustment narrows the interval
    assert exp["adjusted_ci_high"] - exp["adjusted_ci_low"] < exp["ci_high"] - exp["ci_low"]


def test_experiment_note_writes_numbers_as_people_do():
    from causalpilot.tools.inference.experiment import experiment_note

    exp = {"binary": True, "difference_in_means": 1794.343, "ci_low": 479.5, "ci_high": 3109.2, "p_value": 0.0}
    note = experiment_note("treat", "re78", exp)
    assert "difference in means 1,794 (95% interval 479.5 to 3,109, p < 0.001)" in note, note
    assert "p = 0" not in note and "e+" not in note


def _people(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({"sex": rng.integers(0, 2, n), "Race": rng.integers(0, 4, n), "age": rng.normal(50, 9, n),
                         "wage": rng.normal(size=n), "white_blood_cells": rng.integers(0, 2, n)})


def test_demographics_are_recognised_by_name_and_kind():
    df = _people()
    kinds = {"sex": "binary", "Race": "categorical", "age": "continuous", "wage": "continuous",
             "white_blood_cells": "binary"}
    names = [r.name for r in demographic_roots(df, kinds)]
    # a continuous age may be age at measurement, and a name that only contains a demographic word is no demographic
    assert names == ["sex", "Race"]
    assert [r.name for r in demographic_roots(df, kinds, exclude=("sex",))] == ["Race"]


def test_age_constant_within_units_is_a_root():
    rng = np.random.default_rng(2)
    ids = np.repeat(np.arange(50), 4)
    age = np.repeat(rng.normal(50, 9, 50), 4)
    df = pd.DataFrame({"age": age, "bp": rng.normal(size=200)})
    units = pd.Series(ids)
    roots = demographic_roots(df, {"age": "continuous", "bp": "continuous"}, units)
    assert [r.name for r in roots] == ["age"] and "constant within each of the 50 units" in roots[0].reason
    df["age"] = age + rng.normal(size=200)  # changes within a person: age at each visit
    assert demographic_roots(df, {"age": "continuous", "bp": "continuous"}, units) == []


def test_roots_go_first_and_the_users_tiers_win():
    cols = ["treat", "sex", "x", "y"]
    roots = [Root("treat", "randomised", "randomised"), Root("sex", "demographic", "demographic")]
    bg, applied, note = with_roots(None, roots, cols)
    assert bg.tiers == [["treat", "sex"], ["x", "y"]] and note is None and len(applied) == 2
    assert bg.forbids("x", "sex") and bg.forbids("y", "treat") and bg.forbids("sex", "treat")
    assert bg.forbids("treat", "sex") and not bg.forbids("treat", "y")
    user = Background(tiers=[["x"], ["sex", "treat", "y"]])
    bg2, applied2, note2 = with_roots(user, roots, cols, user)
    assert bg2 is user and applied2 == [] and "your background knowledge has tiers" in note2


def test_edges_into_roots_are_flagged():
    g = CausalGraph(["sex", "x", "y"], [Edge("x", "sex", "directed"), Edge("x", "y", "directed")], "CPDAG")
    flags = edges_into_roots(g, [Root("sex", "sex is fixed at birth", "demographic")])
    assert len(flags) == 1 and "points into sex" in flags[0]


def test_nsw_is_analysed_as_an_experiment_and_a_confounded_treatment_is_not():
    """End to end: LaLonde's NSW experiment passes the check (difference in means about $1,794); a
    treatment assigned by age in simulated data does not, and no edge points into it by force."""
    from pathlib import Path

    import causalpilot

    nsw = Path(__file__).parent / "data" / "nsw_dw.csv"
    r = causalpilot.analyse(nsw, treatment="treat", outcome="re78", bootstrap=0, memory=False)
    (eff,) = r.effects_list
    steps = {d["step"]: d for d in r.run_info["decisions"]}
    assert steps["discovery.randomised_treatment"]["choice"] is True
    assert "treat" in steps["discovery.roots"]["choice"] and {"black", "hisp"} <= set(steps["discovery.roots"]["choice"])
    assert not any(e.target == "treat" and e.type == "directed" for e in r.graph.edges)
    assert abs(eff["experiment"]["difference_in_means"] - 1794.34) < 1
    md = r.report_markdown()
    assert eff["experiment"]["ci_low"] > 0 and "analysed as an experiment" in md
    assert "## Assumptions" in md and "treat was assigned at random" in md and "re78 does not cause treat" in md
    r2 = causalpilot.analyse(_trial(confounded=True, n=600, seed=5), treatment="treat", outcome="outcome",
                             bootstrap=0, memory=False)
    steps2 = {d["step"]: d for d in r2.run_info["decisions"]}
    assert steps2["discovery.randomised_treatment"]["choice"] is False and "discovery.roots" not in steps2
    assert "experiment" not in r2.effects_list[0]
