"""Missing values: imputation keeps the dependencies, and the distribution checks are not fooled by it."""

from __future__ import annotations

from causalpilot.agent.loop import find_structure
from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.generators import copilot_sem
from causalpilot.evals.metrics import score
from causalpilot.tools.loading import Dataset


def test_ten_percent_missing_cells_linear_gaussian(tmp_path):
    """10% of cells missing at random (about 65% of rows touched): the profile still calls the noise
    Gaussian (checked on complete rows), the planner does not pick LiNGAM, and the skeleton is found."""
    syn = copilot_sem(p=10, n=1000, missing_fraction=0.10, seed=2024)
    assert syn.data.isna().any(axis=1).mean() > 0.5
    ds = Dataset(frame=syn.data, path="missing.csv", sha256="0" * 64, format="csv")
    found = find_structure(ds, RulesPlanner(), Request(bootstrap=0), seed=0)
    prof = found.profile
    assert [r["repair"] for r in prof.repairs] == ["imputation"]
    assert "iterative regression" in prof.repairs[0]["method"]
    assert prof.value("gaussianity") == "gaussian"
    assert "complete before imputation" in prof.findings["gaussianity"].evidence["rows_checked"]
    assert found.plan.algorithm not in ("direct_lingam", "ica_lingam")
    assert score(found.graph, syn.truth)["skeleton_f1"] >= 0.85


def _gappy(seed: int, n: int = 800, rate: float = 0.25):
    """A collider and a chain, x1 -> x3 <- x2 -> x4 -> x5, with ``rate`` of the cells missing at random."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x3 = 0.8 * x1 + 0.8 * x2 + rng.normal(size=n)
    x4 = 0.8 * x2 + rng.normal(size=n)
    x5 = 0.8 * x4 + rng.normal(size=n)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "x4": x4, "x5": x5})
    return frame.mask(rng.random(frame.shape) < rate)


def test_heavy_missingness_is_analysed_on_its_gaps_never_imputed(monkeypatch):
    """With a quarter of the values missing the rules choose PC with test-wise deletion, and the search
    receives the data with their gaps; the collider x1 -> x3 <- x2 is found."""
    import numpy as np

    import causalpilot.agent.loop as loop

    seen = []
    real = loop.run_algorithm
    monkeypatch.setattr(loop, "run_algorithm", lambda name, data, params=None: seen.append(data.X) or
                        real(name, data, params))
    ds = Dataset(frame=_gappy(11), path="gappy.csv", sha256="1" * 64, format="csv")
    found = find_structure(ds, RulesPlanner(), Request(bootstrap=0), seed=0)
    assert found.plan.algorithm == "pc" and found.plan.params["indep_test"] == "mv_fisherz"
    assert seen and all(np.isnan(X).any() for X in seen)  # the gaps reached the search
    decision = next(d for d in found.decisions if d.step == "discovery.missing_values")
    assert decision.choice == "test-wise deletion"
    got = {(e.source, e.type, e.target) for e in found.graph.edges}
    assert {("x1", "directed", "x3"), ("x2", "directed", "x3")} <= got
    assert {frozenset((e.source, e.target)) for e in found.graph.edges} == {
        frozenset(p) for p in (("x1", "x3"), ("x2", "x3"), ("x2", "x4"), ("x4", "x5"))}


def test_a_forced_testwise_test_never_sees_imputed_values(monkeypatch):
    """`discover --algorithm pc --indep-test mv_fisherz` on data with few gaps (imputed for the profile's
    checks) still hands the test the data with their gaps, and says so."""
    import numpy as np

    import causalpilot.agent.loop as loop
    from causalpilot.agent.planners.fixed import FixedPlanner

    seen = []
    real = loop.run_algorithm
    monkeypatch.setattr(loop, "run_algorithm", lambda name, data, params=None: seen.append(data.X) or
                        real(name, data, params))
    ds = Dataset(frame=_gappy(12, rate=0.05), path="gappy.csv", sha256="2" * 64, format="csv")
    found = find_structure(ds, FixedPlanner(), Request(algorithm="pc", params={"indep_test": "mv_fisherz"}), seed=0)
    assert seen and np.isnan(seen[0]).any()
    assert next(d for d in found.decisions if d.step == "discovery.missing_values").choice == "test-wise deletion"
    # the same data with the rules: few gaps, so the imputed values and the BIC search, as said
    ruled = find_structure(ds, RulesPlanner(), Request(bootstrap=0), seed=0)
    assert ruled.plan.params.get("indep_test") != "mv_fisherz"
    assert next(d for d in ruled.decisions if d.step == "discovery.missing_values").choice == "handled before discovery"
