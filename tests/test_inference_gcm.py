"""dowhy.gcm queries on a linear chain with known coefficients."""

import numpy as np
import pandas as pd

from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.gcm_queries import counterfactual, fit_scm, interventional_mean


def test_do_and_counterfactual_on_linear_chain():
    rng = np.random.default_rng(0)
    x = rng.normal(size=800)
    y = 2.0 * x + rng.normal(size=800)
    df = pd.DataFrame({"x": x, "y": y})
    g = CausalGraph(["x", "y"], [Edge("x", "y", "undirected")], graph_type="CPDAG")
    scm, notes = fit_scm(df, g, seed=1)
    assert notes and "convention" in notes[0]
    assert abs(interventional_mean(scm, "x", 1.0, "y", seed=1) - 2.0) < 0.2
    cf = counterfactual(scm, df, 0, "x", x[0] + 1.0, "y")
    assert abs(cf["counterfactual"] - cf["observed"] - 2.0) < 0.2


def _chain(n, rng, z_shift=0.0):
    """x -> y -> z with known mechanisms; z_shift moves z's own mechanism (its intercept) only."""
    x = rng.normal(size=n)
    y = 2.0 * x + rng.normal(size=n)
    z = 1.5 * y + z_shift + rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": y, "z": z})


CHAIN = CausalGraph(["x", "y", "z"], [Edge("x", "y", "directed"), Edge("y", "z", "directed")], graph_type="DAG")


def test_anomaly_is_attributed_to_the_node_whose_noise_caused_it():
    from causalpilot.tools.inference.gcm_queries import attribute_anomaly

    rng = np.random.default_rng(1)
    df = _chain(800, rng)
    scm, _ = fit_scm(df, CHAIN, seed=2)
    odd = df.iloc[[0]].copy()
    odd["y"] = 2.0 * odd["x"] + 8.0  # y's own noise is 8 sd off; z follows y as usual
    odd["z"] = 1.5 * odd["y"]
    data = pd.concat([odd, df.iloc[1:]], ignore_index=True)
    scores = attribute_anomaly(scm, data, 0, "z", seed=3)
    assert max(scores, key=lambda k: abs(scores[k])) == "y"


def test_distribution_change_is_attributed_to_the_changed_mechanism():
    from causalpilot.tools.inference.gcm_queries import distribution_change

    rng = np.random.default_rng(4)
    old = _chain(800, rng)
    new = _chain(800, rng, z_shift=2.0)  # only z's mechanism changes: its mean moves by 2
    contributions = distribution_change(CHAIN, old, new, "z", seed=5)
    assert max(contributions, key=lambda k: abs(contributions[k])) == "z"
    assert abs(sum(contributions.values()) - 2.0) < 0.4  # the contributions add up to the shift of z's mean
