"""Columns as people write them: numbers with units are numbers, familiar ordered labels keep their order."""

import numpy as np
import pandas as pd

from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare


def _ds(frame: pd.DataFrame) -> Dataset:
    return Dataset(frame=frame, path="<test>", sha256="0" * 64, format="csv")


def _frame(n=600, seed=3):
    rng = np.random.default_rng(seed)
    level = rng.integers(0, 3, n)  # 0 = low, 1 = medium, 2 = high
    price = 1000 + 400 * level + rng.normal(0, 100, n)
    rate = 0.02 * price + rng.normal(0, 2, n)
    return pd.DataFrame({
        "grade": np.array(["Low", "Medium", "High"])[level],
        "price": [f"${v:,.2f}" for v in price],
        "rate": [f"{v:.1f}%" for v in rate],
        "colour": rng.choice(["red", "green", "blue"], n),
    }), level, price, rate


def test_currency_and_percent_columns_are_read_as_numbers():
    frame, _, price, rate = _frame()
    prepared = profile_and_prepare(_ds(frame), seed=0)
    kinds = {c.name: c.kind for c in prepared.profile.columns}
    assert kinds["price"] == "continuous" and kinds["rate"] == "continuous"
    assert np.allclose(prepared.frame["price"], price.round(2))
    assert np.allclose(prepared.frame["rate"], rate.round(1))
    assert {r["column"] for r in prepared.profile.repairs if r["repair"] == "numbers_with_units"} == {"price", "rate"}


def test_ordered_labels_are_coded_in_their_order_and_other_labels_alphabetically():
    frame, level, price, _ = _frame()
    prepared = profile_and_prepare(_ds(frame), seed=0)
    grade = next(c for c in prepared.profile.columns if c.name == "grade")
    assert grade.kind == "discrete" and "Low < Medium < High" in grade.evidence
    assert np.array_equal(prepared.frame["grade"].to_numpy(), level.astype(float))
    # so the codes carry the linear dependence that alphabetical codes (High 0, Low 1, Medium 2) broke
    assert np.corrcoef(prepared.frame["grade"], prepared.frame["price"])[0, 1] > 0.8
    colour = next(r for r in prepared.profile.repairs if r.get("column") == "colour")
    assert colour["levels"] == ["blue", "green", "red"] and "sorted order" in colour["reason"]


def test_a_category_with_more_than_twenty_levels_keeps_every_label():
    """Per-level contrasts and indicator names read their labels from the profile: all of them, not the first 20."""
    rng = np.random.default_rng(4)
    n = 3000
    stores = [f"store_{i:02d}" for i in range(30)]
    store = rng.choice(stores, n)
    x = rng.normal(size=n)
    frame = pd.DataFrame({"store": store, "x": x, "y": x + rng.normal(size=n)})
    prepared = profile_and_prepare(_ds(frame), seed=0)
    assert prepared.profile.kind_of("store") == "categorical"
    assert prepared.profile.labels_of("store") == stores
    codes = prepared.frame["store"].to_numpy().astype(int)
    assert [stores[c] for c in codes[:50]] == list(store[:50])


def test_an_unordered_treatment_gets_one_effect_per_level_against_the_most_common():
    from causalpilot.tools.graph import CausalGraph, Edge
    from causalpilot.tools.inference.effects import infer
    from causalpilot.reports.interpret import effect_sentence

    rng = np.random.default_rng(8)
    n = 1500
    age = rng.normal(40, 10, n)
    # older customers live in the south more often (confounding); south adds 3, east adds nothing
    p_south = 1 / (1 + np.exp(-(age - 40) / 8))
    region = np.where(rng.random(n) < 0.5, "north", np.where(rng.random(n) < p_south, "south", "east"))
    spend = 3.0 * (region == "south") + 0.2 * age + rng.normal(0, 1, n)
    frame = pd.DataFrame({"age": age, "region": region, "spend": spend})
    prepared = profile_and_prepare(_ds(frame), seed=0)
    graph = CausalGraph(["age", "region", "spend"], [Edge("age", "region", "directed"), Edge("age", "spend", "directed"),
                                                     Edge("region", "spend", "directed")], graph_type="DAG")
    eff = infer(prepared, graph, "region", "spend", seed=1)[0][0]
    assert eff.reference_level == "north" and eff.estimate is None
    by_level = {c.level: c for c in eff.contrasts}
    assert by_level["south"].ci_low <= 3.0 <= by_level["south"].ci_high
    assert by_level["east"].ci_low <= 0.0 <= by_level["east"].ci_high
    assert by_level["south"].adjustment_set == ["age"]
    assert "unordered category" in effect_sentence(eff.to_dict()) and "south: +" in effect_sentence(eff.to_dict())


def test_binary_labels_are_worded_as_a_switch_and_a_probability():

    from causalpilot.reports.interpret import effect_sentence
    from causalpilot.tools.graph import CausalGraph, Edge
    from causalpilot.tools.inference.run import EffectRequest, run_inference

    rng = np.random.default_rng(9)
    n = 4000
    coupon = rng.random(n) < 0.5
    churned = rng.random(n) < np.where(coupon, 0.2, 0.35)  # the coupon lowers churn by 15 points
    frame = pd.DataFrame({"coupon": np.where(coupon, "yes", "no"), "churned": np.where(churned, "yes", "no"),
                          "noise": rng.normal(size=n)})
    prepared = profile_and_prepare(_ds(frame), seed=0)
    graph = CausalGraph(["coupon", "churned", "noise"], [Edge("coupon", "churned", "directed")], graph_type="DAG")
    eff = run_inference(prepared, graph, EffectRequest(treatment="coupon", outcome="churned", seed=0))[0][0]
    assert eff.ci_low <= -0.15 <= eff.ci_high
    assert effect_sentence(eff.to_dict()).startswith("Switching coupon from no to yes changes the probability that churned is yes by")
