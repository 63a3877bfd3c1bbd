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
