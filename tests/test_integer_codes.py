"""An integer treatment with a few values: category codes or an ordered scale? The data decide, and say so."""

from __future__ import annotations

import numpy as np
import pandas as pd

from causalpilot.tools.budget import time_budget
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer, read_integer_codes
from causalpilot.tools.loading import load_frame
from causalpilot.tools.profile import profile_and_prepare

GRAPH = CausalGraph(["age", "site", "score"], [Edge("age", "site", "directed"), Edge("age", "score", "directed"),
                                                Edge("site", "score", "directed")], "DAG")


def _data(effects: dict[int, float], seed: int, n: int = 1500) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(size=n)
    site = np.clip(np.round(2 + 0.8 * age + rng.normal(size=n)), 1, 3).astype(int)  # age confounds
    score = np.array([effects[s] for s in site]) + 1.5 * age + rng.normal(size=n)
    return pd.DataFrame({"age": age, "site": site, "score": score})


def _prepared(df):
    return profile_and_prepare(load_frame(df), keep=["site", "score"])


def test_codes_whose_effects_are_not_equally_spaced_get_contrasts_against_the_lowest():
    prepared = _prepared(_data({1: 0.0, 2: 3.0, 3: 1.0}, seed=1))  # site 2 best, site 3 between: no order
    reading = read_integer_codes(prepared, GRAPH, "site", "score")
    assert reading.categories and reading.pvalue < 1e-6 and reading.adjusted_for == ["age"]
    with time_budget(3):  # the refuters' re-fits are not what this test is about
        (eff,), _ = infer(prepared, GRAPH, "site", "score", seed=0, n_jobs=1)
    d = eff.to_dict()
    assert d["reference_level"] == "1"
    truth = {"2": 3.0, "3": 1.0}
    for c in d["contrasts"]:
        assert c["ci_low"] <= truth[c["level"]] <= c["ci_high"], c
    assert "not equally spaced" in d["notes"][0] and "compared with the lowest, 1" in d["notes"][0]


def test_an_equally_spaced_dose_keeps_its_slope_with_the_reading_stated():
    prepared = _prepared(_data({1: 0.0, 2: 1.0, 3: 2.0}, seed=2))  # one unit more of the dose: +1
    reading = read_integer_codes(prepared, GRAPH, "site", "score")
    assert not reading.categories
    with time_budget(3):
        (eff,), _ = infer(prepared, GRAPH, "site", "score", seed=0, n_jobs=1)
    d = eff.to_dict()
    assert d["ci_low"] <= 1.0 <= d["ci_high"] and "contrasts" not in d
    assert any("ordered scale with equal steps" in n for n in d["notes"])


def test_binary_continuous_and_many_valued_treatments_are_not_questioned():
    rng = np.random.default_rng(3)
    n = 300
    df = pd.DataFrame({"age": rng.normal(size=n), "site": rng.integers(0, 2, n), "score": rng.normal(size=n)})
    assert read_integer_codes(_prepared(df), GRAPH, "site", "score") is None  # binary
    df["site"] = rng.integers(0, 40, n)
    assert read_integer_codes(_prepared(df), GRAPH, "site", "score") is None  # 40 values: a count, not codes
    df["site"] = rng.normal(size=n)
    assert read_integer_codes(_prepared(df), GRAPH, "site", "score") is None
