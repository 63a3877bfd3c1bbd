"""How effects are worded: a range over open directions is not a bound, and what would narrow it."""

import numpy as np
import pandas as pd

from causalpilot.reports import interpret
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.profile import PreparedData


class _Profile:
    def value(self, name, default=None):
        return "linear" if name == "linearity" else default

    def kind_of(self, col):
        return "continuous"


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
    return infer(PreparedData(frame=df, profile=_Profile()), g, "smoking", "risk", seed=0)[0][0].to_dict()


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
    eff = infer(PreparedData(frame=df, profile=_Profile()), g, "t", "y", seed=0)[0][0].to_dict()
    sens = next(r for r in eff["refutations"] if r["name"].startswith("unobserved"))
    assert eff["ci_low"] > 0 and sens["new_effect"] < 0
    sentence = interpret.effect_sentence(eff)
    assert f"would reverse its sign (to {interpret.number(sens['new_effect'])}), enough to change the conclusion" \
        in sentence
    assert "would leave an effect of" not in sentence
