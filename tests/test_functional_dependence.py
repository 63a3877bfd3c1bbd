"""Exact functions of other columns are found, stated and set aside for discovery; near-duplicates are kept."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalpilot.tools.errors import InputError
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare
from tests.helpers import run_cli


def _prepare(frame: pd.DataFrame, keep=None):
    return profile_and_prepare(Dataset(frame=frame, path="<test>", sha256="0" * 64, format="csv"), seed=0, keep=keep)


def _table(n: int = 600, seed: int = 4) -> pd.DataFrame:
    """Parts and their total (first column), a mean, a relabelled category, a monotone transform, a
    near-duplicate (noise 0.5% of the SD: |r| > 0.99, not exact) and an outcome."""
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=(3, n))
    region = rng.choice(["north", "south", "east"], n)
    return pd.DataFrame({
        "total": a + b + c, "a": a, "b": b, "c": c, "mean_ab": (a + b) / 2,
        "region": region, "region_code": pd.Series(region).map({"north": "A", "south": "C", "east": "B"}),
        "exp_c": np.exp(c), "a_again": a + 0.005 * rng.normal(size=n),
        "y": 2 * a - c + rng.normal(size=n)})


def test_relations_are_found_stated_and_one_column_of_each_set_aside():
    prepared = _prepare(_table())
    profile = prepared.profile
    found = {r["column"]: r["relation"] for r in profile.value("functional_dependence")}
    assert found == {"total": "total = a + b + c", "mean_ab": "mean_ab = 0.5·a + 0.5·b",
                     "region_code": "region_code is the same categories as region under other labels",
                     "exp_c": "exp_c is a strictly increasing function of c"}
    assert profile.variables == ["a", "b", "c", "region", "a_again", "y"]
    reasons = {r["column"]: r["reason"] for r in profile.repairs if r["repair"] == "set_aside"}
    assert set(reasons) == set(found) and all("faithfulness" in r for r in reasons.values())
    # a near-duplicate is not an exact copy: reported with its correlation, and kept
    near = profile.findings["collinearity"].evidence["near_duplicates"]
    assert [p[:2] for p in near] == [["a", "a_again"]] and abs(near[0][2]) > 0.99
    assert "a_again" in prepared.frame.columns


def test_a_named_column_is_never_the_one_set_aside():
    profile = _prepare(_table(), keep=["total", "y"]).profile
    assert "total" in profile.variables
    relation = next(r for r in profile.value("functional_dependence") if r["kind"] == "linear" and "total" in r["of"])
    assert relation["column"] in ("a", "b", "c")
    with pytest.raises(InputError, match="exact functions of one another"):
        _prepare(_table(), keep=["total", "a", "b", "c"])


def test_small_samples_do_not_make_every_column_a_combination_of_the_others():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(12, 20)), columns=[f"v{i}" for i in range(20)])
    profile = _prepare(frame).profile
    assert profile.value("functional_dependence") == [] and len(profile.variables) == 20
    assert "untested" in profile.findings["functional_dependence"].evidence


def test_the_cli_names_every_column_set_aside_in_report_and_run_json(tmp_path, capsys):
    data = tmp_path / "table.csv"
    _table().to_csv(data, index=False)
    code, _, err = run_cli(["analyse", data, "--treatment", "a", "--outcome", "y", "--bootstrap", "0",
                            "--out", tmp_path / "out", "--memory", tmp_path / "m.sqlite3"], capsys)
    assert code == 0, err
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    report = (tmp_path / "out" / "report.md").read_text()
    graph = json.loads((tmp_path / "out" / "graph.json").read_text())
    unused = {c["name"] for c in info["profile"]["columns"] if not c["used"]}
    assert unused == {"total", "mean_ab", "region_code", "exp_c"}
    for col in unused:
        assert col not in graph["nodes"] and f"`{col}`: set aside for discovery" in report and col in err
    assert "total = a + b + c" in report
