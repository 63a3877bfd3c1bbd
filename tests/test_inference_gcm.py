"""dowhy.gcm queries on a linear chain with known coefficients."""

import numpy as np
import pandas as pd

from tools.graph import CausalGraph, Edge
from tools.inference.gcm_queries import counterfactual, fit_scm, interventional_mean


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
