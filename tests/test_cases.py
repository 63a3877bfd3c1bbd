"""The failing inputs of shared/cases (replayed public bug reports of causal tools), copied into
tests/cases/ with their truth (TRUTH.txt): each must give its right outcome (issue #25)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "causalpilot", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def edges(out: Path) -> set[tuple[str, str, str]]:
    return {(e["source"], e["type"], e["target"]) for e in json.loads((out / "graph.json").read_text())["edges"]}


@pytest.mark.parametrize("data", ["data.csv", "data_swapped.csv"])
def test_lingam_two_var_order(data, tmp_path):
    run = cli("discover", str(CASES / "lingam-two-var-order" / data), "--algorithm", "ica_lingam",
              "--out", str(tmp_path), "--quiet", "--memory", str(tmp_path / "m.sqlite3"))
    assert run.returncode == 0, run.stderr
    assert edges(tmp_path) == {("x", "directed", "y")}


def analyse(case: str, tmp_path: Path, *args: str, data: str = "data.csv") -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path / "out"
    run = cli("analyse", str(CASES / case / data), "--out", str(out), "--bootstrap", "0",
              "--memory", str(tmp_path / "m.sqlite3"), *args)
    return run, out


def run_json(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def links(out: Path) -> set[frozenset]:
    return {frozenset((s, t)) for s, _, t in edges(out)}


# --- degenerate inputs: every algorithm, forced, ends in exit 0 or exit 2 with one sentence (never exit 1) -----
def _algorithms() -> list[str]:
    from causalpilot.tools.registry import algorithms

    return sorted(algorithms())


def degenerate_inputs(tmp: Path) -> list[tuple[Path, list[str]]]:
    """The two cases in both column orders (lingam-n-lt-p's reversed order is written here)."""
    import pandas as pd

    wide = pd.read_csv(CASES / "lingam-n-lt-p" / "data.csv")
    swapped = tmp / "wide_swapped.csv"
    wide[wide.columns[::-1]].to_csv(swapped, index=False)
    ts = CASES / "ts-varlingam-deterministic"
    return [(ts / "data.csv", ["--time-series"]), (ts / "data_swapped.csv", ["--time-series"]),
            (CASES / "lingam-n-lt-p" / "data.csv", []), (swapped, [])]


@pytest.mark.parametrize("algorithm", _algorithms())
def test_degenerate_inputs_never_end_in_an_internal_error(algorithm, tmp_path, capsys):
    from tests.helpers import run_cli

    for data, extra in degenerate_inputs(tmp_path):
        code, _, err = run_cli(["discover", data, "--algorithm", algorithm, *extra, "--out", tmp_path / "o",
                                "--quiet", "--memory", tmp_path / "m.sqlite3"], capsys)
        assert code in (0, 2), f"{algorithm} on {data.name}: exit {code}: {err}"
        if code == 2:
            lines = [ln for ln in err.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("causalpilot: error: "), err
        else:
            assert (tmp_path / "o" / "graph.json").exists()


@pytest.mark.parametrize("data", ["data.csv", "data_swapped.csv"])
def test_ts_deterministic_pair_is_refused_in_one_sentence_that_names_the_relation(data, tmp_path):
    run, _ = analyse("ts-varlingam-deterministic", tmp_path, "--time-series", "--algorithm", "var_lingam", "--quiet",
                     data=data)
    assert run.returncode == 2, run.stderr
    assert len(run.stderr.strip().splitlines()) == 1 and run.stderr.startswith("causalpilot: error: ")
    assert "y = 10·x" in run.stderr or "x = 0.1·y" in run.stderr


def test_fewer_rows_than_variables_default_plan_runs_pc_and_says_why(tmp_path):
    run, out = analyse("lingam-n-lt-p", tmp_path)
    assert run.returncode == 0, run.stderr
    info = run_json(out)
    algorithm = next(d for d in info["decisions"] if d["step"] == "discovery.algorithm")
    assert algorithm["choice"] == "pc" and "15 rows for 25 variables" in algorithm["reason"]
    depth = next(d for d in info["decisions"] if d["step"] == "discovery.depth")
    assert 0 <= depth["choice"] <= 15 - 3 - 8  # every test keeps at least 8 degrees of freedom


# --- exact functional relations -----------------------------------------------------------------------------------
def test_sum_column_is_found_said_and_set_aside_for_discovery(tmp_path):
    run, out = analyse("sum-column-constant", tmp_path, "--treatment", "a", "--outcome", "y")
    assert run.returncode == 0, run.stderr
    info = run_json(out)
    relations = info["profile"]["findings"]["functional_dependence"]["value"]
    assert [(r["column"], r["relation"], r["exact"]) for r in relations] == [("total", "total = a + b + c", True)]
    set_aside = {r["column"]: r["reason"] for r in info["profile"]["repairs"] if r["repair"] in ("set_aside", "dropped")}
    assert set(set_aside) == {"total", "k"} and "total = a + b + c" in set_aside["total"]
    assert "constant" in set_aside["k"]
    report = (out / "report.md").read_text()
    assert "total = a + b + c" in report and "`k`: it is constant" in report
    found = edges(out)
    assert "total" not in json.loads((out / "graph.json").read_text())["nodes"]
    assert not {("a", "directed", "b"), ("c", "directed", "b")} & found
    assert ("a", "directed", "y") in found or ("a", "undirected", "y") in found
    assert "total" in run.stderr and "set aside" in run.stderr  # the console says it too


# --- irregular time series ----------------------------------------------------------------------------------------
def test_gaps_in_a_daily_index_are_found_said_and_lags_are_in_days(tmp_path):
    run, out = analyse("ts-gaps-irregular", tmp_path, "--time-index", "date")
    assert run.returncode == 0, run.stderr
    info = run_json(out)
    grid = info["profile"]["findings"]["time_grid"]
    assert grid["value"] == "gaps" and grid["evidence"]["step"] == "day"
    assert grid["evidence"]["largest_gaps"][0]["missing"] == 60 and grid["evidence"]["missing_steps"] >= 90
    gaps = next(d for d in info["decisions"] if d["step"] == "discovery.time_gaps")
    assert "longest stretch" in gaps["reason"]  # the alternative it was weighed against
    date = next(c for c in info["profile"]["columns"] if c["name"] == "date")
    assert "ISO 8601" in date["evidence"] and "month-first" not in json.dumps(info)
    graph = json.loads((out / "graph.json").read_text())
    assert graph["parameters"]["lag_unit"] == "day"
    assert {(e["source"], e["target"], e["lag"]) for e in graph["edges"]} >= {("sales", "visits", 1)}
    report = (out / "report.md").read_text()
    assert "with a delay of 1 day." in report and "step(s)" not in report and "60 days" in report
    assert "60 days" in run.stderr  # the console says it too


# --- heavy missingness: test-wise deletion on the data with their gaps ----------------------------------------------
def test_heavy_missing_chain_is_found_by_testwise_deletion(tmp_path):
    run, out = analyse("heavy-missing", tmp_path, "--treatment", "a", "--outcome", "d")
    assert run.returncode == 0, run.stderr
    assert links(out) == {frozenset("ab"), frozenset("bc"), frozenset("cd")}
    assert not any(t == "directed" for _, t, _ in edges(out))  # no collider: a chain's class leaves all undirected
    info = run_json(out)
    graph = json.loads((out / "graph.json").read_text())
    assert graph["algorithm"] == "pc" and graph["parameters"]["indep_test"] == "mv_fisherz"
    missing = next(d for d in info["decisions"] if d["step"] == "discovery.missing_values")
    assert missing["choice"] == "test-wise deletion" and "nothing is imputed" in missing["reason"]
    assert "test-wise deletion" in (out / "report.md").read_text() and "test-wise deletion" in run.stderr


# --- binary treatment and outcome among continuous confounders: a score that fits binary variables ---------------
def test_binary_treatment_and_outcome_keep_their_confounders_and_their_link(tmp_path):
    run, out = analyse("binary-binary-ate", tmp_path, "--treatment", "got_treatment", "--outcome", "converted")
    assert run.returncode == 0, run.stderr
    found = edges(out)
    for x in ("x1", "x2"):  # each confounds treatment and outcome: a cause of both, never their common child
        assert {(x, "directed", "got_treatment"), (x, "directed", "converted")} <= found
    assert links(out) == {frozenset(("x1", "got_treatment")), frozenset(("x1", "converted")),
                          frozenset(("x2", "got_treatment")), frozenset(("x2", "converted")),
                          frozenset(("got_treatment", "converted"))}
    info = run_json(out)
    score = next(d for d in info["decisions"] if d["step"] == "discovery.score")
    assert score["choice"] == "local_score_mixed_BIC" and "logistic" in score["reason"]
    # the effect of a binary treatment on a binary outcome is a risk difference: TRUTH.txt's -0.1883 is covered
    (eff,) = json.loads((out / "effects.json").read_text())
    assert eff["identified"] and -1 <= eff["ci_low"] <= -0.1883 <= eff["ci_high"] <= 1


def test_int_coded_drug_gets_per_level_contrasts_vs_the_lowest_code_and_the_budget_is_said(tmp_path):
    """drug 1..4 is an unordered category: contrasts against drug 1 (TRUTH.txt: +8, -4, +2), not one slope.
    A budget too small for any re-estimate leaves the simulated refuters out, and every output says so."""
    run, out = analyse("int-coded-drug", tmp_path, "--treatment", "drug", "--outcome", "heart_rate",
                       "--time-budget", "0.001")
    assert run.returncode == 0, run.stderr
    (eff,) = json.loads((out / "effects.json").read_text())
    assert eff["reference_level"] == "1"
    truth = {"2": 8.0, "3": -4.0, "4": 2.0}
    assert {c["level"] for c in eff["contrasts"]} == set(truth)
    for c in eff["contrasts"]:  # each contrast's interval (or the union over the orientations left open) covers it
        assert c["ci_low"] <= truth[c["level"]] <= c["ci_high"], c
    assert "not equally spaced" in eff["notes"][0] and "F test" in eff["notes"][0]
    simulated = [r for r in eff["refutations"] if not r["name"].startswith("unobserved")]
    assert simulated and all(r["num_simulations"] == 0 and r["passed"] is None and "time budget" in r["reading"]
                             for r in simulated)
    assert any(r["name"].startswith("unobserved") and r["passed"] is not None for r in eff["refutations"])
    md = (out / "report.md").read_text()
    assert "time budget" in md
    assert md.index("| level (vs 1) |") < md.index("| check |")  # the per-level answer before the checks
    not_run = sum(1 for r in eff["refutations"] if r.get("num_simulations") == 0)  # 3 contrasts x sets x refuters
    assert f"Time budget: {not_run} refutation check(s) were not run" in run.stdout  # the console says it too
    estimator = next(d for d in run_json(out)["decisions"] if d["step"] == "inference.estimator")
    assert estimator["reason"].startswith("each contrast of 'drug' (one level against 1) is a binary treatment")
    assert "experiment" not in eff  # no slope on codes read as categories, even for a randomised treatment
