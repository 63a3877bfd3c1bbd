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
