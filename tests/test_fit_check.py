"""The registry's fit check (AlgorithmSpec.fits): one check for every planner and for a forced --algorithm."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalpilot.agent.planners.base import FIT_STEP, Request
from causalpilot.agent.planners.fixed import FixedPlanner
from causalpilot.agent.planners.rules import RulesPlanner, exact_limit
from causalpilot.tools.errors import InputError
from causalpilot.tools.loading import load_table
from causalpilot.tools.profile import ColumnProfile, Finding, Profile, profile_and_prepare
from causalpilot.tools.registry import get_algorithm
from helpers import read_json, run_cli

ROOT = Path(__file__).resolve().parents[1]


def gaussian_chain(tmp_path, n=400, seed=0) -> Path:
    """A -> B -> C, linear with Gaussian noise: DirectLiNGAM's directions are not identifiable here."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = 0.8 * a + rng.normal(size=n)
    c = 0.8 * b + rng.normal(size=n)
    path = tmp_path / "gauss.csv"
    pd.DataFrame({"A": a, "B": b, "C": c}).to_csv(path, index=False)
    return path


def wide_chain(tmp_path, n=15, p=25, seed=0) -> Path:
    """A chain v0 -> v1 -> ... with fewer rows than variables (as in the lingam-n-lt-p case)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, p))
    X[:, 0] = rng.uniform(-1, 1, n)
    for j in range(1, p):
        X[:, j] = 0.8 * X[:, j - 1] + rng.uniform(-0.5, 0.5, n)
    path = tmp_path / "wide.csv"
    pd.DataFrame(X, columns=[f"v{j}" for j in range(p)]).to_csv(path, index=False)
    return path


def profile_of(path: Path) -> Profile:
    return profile_and_prepare(load_table(str(path)), seed=0).profile


def test_problems_stop_an_algorithm_and_warnings_name_the_broken_assumption(tmp_path):
    gauss = profile_of(gaussian_chain(tmp_path))
    lingam = get_algorithm("direct_lingam").fits(gauss)
    assert lingam.ok and len(lingam.warnings) == 1 and "noise looks Gaussian" in lingam.warnings[0]
    pc = get_algorithm("pc").fits(gauss)
    assert pc.ok and pc.warnings == ()
    assert "needs discrete data" in get_algorithm("pc").fits(gauss, {"indep_test": "gsq"}).refusal()
    ts = get_algorithm("pcmci").fits(gauss)
    assert not ts.ok and "not ordered in time" in ts.problems[0]
    assert not get_algorithm("cdnod").fits(gauss).ok  # no domain or time index

    wide = profile_of(wide_chain(tmp_path))
    for name in ("direct_lingam", "ica_lingam"):
        fit = get_algorithm(name).fits(wide)
        assert not fit.ok and any("15 rows for 25 variables" in m for m in fit.problems)
    assert not get_algorithm("boss").fits(wide).ok  # the BIC with n <= p: every edge raises the score
    assert get_algorithm("boss").fits(wide, {"score_func": "local_score_BDeu"}).ok
    assert get_algorithm("pc").fits(wide).ok


def test_a_forced_algorithm_with_a_warning_runs_and_the_warning_is_a_decision(tmp_path, capsys):
    data = gaussian_chain(tmp_path)
    for argv in (["discover", data, "--algorithm", "direct_lingam"],
                 ["analyse", data, "--algorithm", "direct_lingam", "--bootstrap", "0"]):
        out = tmp_path / argv[0]
        code, _, err = run_cli([*argv, "--out", out, "--quiet"], capsys)
        assert code == 0, err
        checks = [d for d in read_json(out / "run.json")["decisions"] if d["step"] == FIT_STEP]
        assert len(checks) == 1 and checks[0]["by"] == "data" and "noise looks Gaussian" in checks[0]["reason"]
        assert checks[0]["evidence"]["gaussianity"] == "gaussian"
        assert f"| {FIT_STEP} |" in (out / "report.md").read_text() and read_json(out / "graph.json")["edges"]


@pytest.mark.parametrize("command", ["discover", "analyse"])
def test_a_time_series_method_on_tabular_data_exits_2_with_one_sentence(tmp_path, capsys, command):
    out = tmp_path / "o"
    code, _, err = run_cli([command, gaussian_chain(tmp_path), "--algorithm", "pcmci_plus", "--out", out, "--quiet"],
                           capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "pcmci_plus" in err and "not ordered in time" in err and not out.exists()


def test_direct_lingam_on_fewer_rows_than_variables_is_refused_not_crashed(tmp_path, capsys):
    """causal-learn's DirectLiNGAM prunes with LassoLarsIC, which raises when n <= p (was exit 1)."""
    code, _, err = run_cli(["discover", wide_chain(tmp_path), "--algorithm", "direct_lingam", "--out",
                            tmp_path / "o", "--quiet"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "more rows than variables" in err and "15 rows for 25 variables" in err


def test_the_fixed_planner_refuses_what_cannot_run():
    limit = get_algorithm("notears").max_p
    profile = _synthetic_profile(n=500, p=limit + 1)
    with pytest.raises(InputError, match=f"impractical beyond {limit} variables"):
        FixedPlanner().plan_discovery(profile, Request(algorithm="notears"))
    assert FixedPlanner().plan_discovery(_synthetic_profile(n=500, p=limit), Request(algorithm="notears")).algorithm


def _synthetic_profile(n=1000, p=6, dtype="continuous", lin="linear", gauss="gaussian", ts=False):
    f = {"data_type": Finding("data_type", dtype), "linearity": Finding("linearity", lin, {}),
         "gaussianity": Finding("gaussianity", gauss, {}), "time_series": Finding("time_series", ts),
         "heterogeneity": Finding("heterogeneity", False), "missingness": Finding("missingness", 0.0)}
    names = [f"X{i}" for i in range(p)]
    cols = [ColumnProfile(c, "continuous", n, 0.0, "") for c in names]
    return Profile(n_rows=n, n_columns=p, columns=cols, findings=f, repairs=[], variables=names)


def test_the_rules_read_their_limits_from_the_registry_and_give_way_when_a_choice_cannot_run():
    assert exact_limit() == get_algorithm("exact_search").planned_max_p <= get_algorithm("exact_search").max_p
    limit = exact_limit()
    assert RulesPlanner().plan_discovery(_synthetic_profile(p=limit), Request()).algorithm == "exact_search"
    assert RulesPlanner().plan_discovery(_synthetic_profile(p=limit + 1), Request()).algorithm == "boss"
    # linear non-Gaussian data call for DirectLiNGAM, but its regressions need n > p: PC instead, said why
    plan = RulesPlanner().plan_discovery(_synthetic_profile(n=20, p=30, gauss="non-gaussian"), Request())
    why = plan.decisions[0]
    assert plan.algorithm == "pc" and "direct_lingam cannot run" in why.reason
    assert why.evidence["refused"]["direct_lingam"] and not any(d.step == FIT_STEP for d in plan.decisions)
    # beyond ICA-LiNGAM's limit as well
    wide = _synthetic_profile(p=get_algorithm("ica_lingam").max_p + 1, gauss="non-gaussian")
    assert RulesPlanner().plan_discovery(wide, Request()).algorithm == "pc"
    with pytest.raises(InputError, match="not ordered in time"):
        RulesPlanner().plan_discovery(_synthetic_profile(), Request(algorithm="granger"))


def test_the_rules_choice_on_the_health_example_is_unchanged():
    profile = profile_and_prepare(load_table(str(ROOT / "examples" / "health.csv")), seed=0).profile
    plan = RulesPlanner().plan_discovery(profile, Request(bootstrap=0))
    assert plan.algorithm == "exact_search"
    assert plan.params == {"score_func": "local_score_BIC_from_cov"}
    assert not any(d.step == FIT_STEP for d in plan.decisions)
