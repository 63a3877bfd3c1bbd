"""Effects are never estimated on imputed values: the profile fills missing values in for discovery, the
effect uses the rows where its treatment, outcome and adjusters were observed (complete cases)."""

from dataclasses import replace

import numpy as np
import pandas as pd

from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.effects import infer
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare


def _gappy_binary(seed=7, n=3000):
    """z -> t, z -> y, t -> y with binary t and y; switching t on raises P(y = 1) by 0.25. 40% of t and of
    y and 5% of z are missing completely at random, so mode imputation pairs t's mode with y's mode on
    rows where they were not seen together, and biases the effect."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(0.8 * z + 0.8)))).astype(float)
    y = (rng.random(n) < 0.3 + 0.25 * t + 0.1 * np.tanh(z)).astype(float)
    frame = pd.DataFrame({"z": z, "t": t, "y": y})
    gaps = pd.DataFrame({"z": rng.random(n) < 0.05, "t": rng.random(n) < 0.4, "y": rng.random(n) < 0.4})
    return frame.mask(gaps), gaps


def test_effect_uses_observed_treatment_outcome_and_adjusters_only():
    data, gaps = _gappy_binary()
    prep = profile_and_prepare(Dataset(frame=data, path="gappy.csv", sha256="0" * 64, format="csv"), seed=0,
                               keep=["t", "y"], skip={"gaussianity": "test", "measurement_error": "test"})
    assert prep.with_gaps is not None and not prep.frame.isna().any().any()  # imputed for discovery
    g = CausalGraph(["z", "t", "y"], [Edge("z", "t", "directed"), Edge("z", "y", "directed"),
                                      Edge("t", "y", "directed")], graph_type="DAG")
    eff = infer(prep, g, "t", "y", seed=3)[0][0]
    assert eff.ci_low <= 0.25 <= eff.ci_high and abs(eff.estimate - 0.25) < 0.07
    pair_missing = int((gaps.t | gaps.y).sum())
    complete = int((~(gaps.t | gaps.y | gaps.z)).sum())
    assert f"missing in {pair_missing:,} of the 3,000 rows" in eff.notes[0]
    assert f"estimated on the {3000 - pair_missing:,} rows" in eff.notes[0]
    assert any(f"so the estimate uses {complete:,} rows" in n and "(z)" in n for n in eff.notes)
    # the same estimate on the imputed values (what was done before) misses the truth: the test can fail
    imputed = infer(replace(prep, with_gaps=None), g, "t", "y", seed=3)[0][0]
    assert not imputed.ci_low <= 0.25 <= imputed.ci_high
    assert not any("missing in" in n for n in imputed.notes)
