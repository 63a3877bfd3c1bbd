"""Acceptance tests for effect estimation on generated data with a known effect."""

import numpy as np
import pandas as pd

from tools.graph import CausalGraph, Edge
from tools.inference.effects import infer
from tools.profiling import Finding, PreparedData


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
    assert eff["method"] == "propensity_weighting"
    assert abs(eff["estimate"] - 2.0) < 0.2
    assert eff["ci_low"] <= 2.0 <= eff["ci_high"]
    placebo = eff["refutations"][0]
    assert placebo["name"].startswith("placebo") and placebo["passed"] is True


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
    lo, hi = eff["estimate_range"]
    assert lo - 0.1 <= 1.0 <= hi + 0.1 and eff["estimate"] is None
    naive = eff["naive_estimate"]
    assert abs(naive - 1.0) > 0.2  # naive regression is biased; the adjusted estimate in the set is not
    assert any(abs(e["estimate"] - 1.0) < 0.1 for e in eff["estimates"])
    g2 = CausalGraph(["a", "x", "y", "w"], [Edge("a", "x", "directed"), Edge("a", "y", "directed"),
                                            Edge("x", "y", "directed"), Edge("w", "y", "directed")], graph_type="DAG")
    null = infer(_prep(df), g2, "w", "y", seed=0)[0][0]
    assert null["ci_low"] <= 0 <= null["ci_high"]
