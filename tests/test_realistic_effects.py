"""The realistic-effects suite's smoke subset: LaLonde's NSW experiment from causaldata, offline,
bootstrap off; the agent's interval must cover the published $1,794 and exclude 0."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("causaldata")

from causalpilot.evals.effects import CASES, load_case, textbook_estimates  # noqa: E402
from causalpilot.evals.runner import run_suite  # noqa: E402
from causalpilot.evals.suites import get_suite  # noqa: E402


def test_the_suite_lists_five_real_data_sets_with_sources():
    suite = get_suite("realistic-effects")
    assert suite.effect_cases == tuple(CASES) and len(CASES) >= 5
    assert {"nsw_experimental", "nsw_cps"} <= set(CASES) and all(c.source for c in CASES.values())
    cps = load_case("nsw_cps")
    assert (cps["treat"] == 1).sum() == 185 and (cps["treat"] == 0).sum() == 15992
    # the classic hard case: the naive contrast against CPS controls is far below the experimental $1,794
    assert textbook_estimates(cps, "treat", "re78")["naive"] < -8000


def test_nsw_experimental_smoke(tmp_path, monkeypatch):
    from causalpilot.evals import suites

    small = suites.Suite("realistic-effects", "smoke", [], (), effect_cases=("nsw_experimental",))
    rows = run_suite(small, tmp_path, progress=False)
    (row,) = rows
    assert row["status"] == "ok" and row["randomised"] is True
    assert row["ci_low"] <= 1794 <= row["ci_high"] and row["ci_low"] > 0 and row["verdict"] == "positive"
    assert row["covers_published"] is True
    assert abs(row["experiment"]["difference_in_means"] - 1794.34) < 1
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved[0]["name"] == "nsw_experimental"
    md = (tmp_path / "results.md").read_text()
    assert "| nsw_experimental | experiment | 445 | 1,794 |" in md and "Dehejia & Wahba (1999)" in md
