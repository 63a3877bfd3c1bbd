"""The evaluation harness: metrics on graphs with a known answer, offline data, suite runs, resume, caps, CLI."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import numpy as np
import pytest

from causalpilot.evals import runner
from causalpilot.evals.bif import parse_bif, read_bif
from causalpilot.evals.metrics import score
from causalpilot.evals.suites import DATA_DIR, DatasetSpec, Suite, build, get_suite
from causalpilot.tools.graph import CausalGraph, Edge

NODES = ["A", "B", "C", "D"]


def _truth() -> CausalGraph:
    # A -> B -> C <- D: a v-structure at C, and A -> B whose direction the data cannot decide
    return CausalGraph(NODES, [Edge("A", "B", "directed"), Edge("B", "C", "directed"), Edge("D", "C", "directed")],
                       graph_type="DAG")


# --------------------------------------------------------------------------- metrics
def test_true_graph_scores_perfectly():
    s = score(_truth(), _truth())
    assert s["shd"] == 0 and s["copilot_shd"] == 0
    for k in ("skeleton_f1", "arrow_f1", "copilot_f1", "skeleton_precision", "arrow_recall"):
        assert s[k] == 1.0


def test_cpdag_scored_strictly_and_copilot_style():
    # the CPDAG of the truth: A - B undirected, the v-structure B -> C <- D oriented
    cpdag = CausalGraph(NODES, [Edge("A", "B", "undirected"), Edge("B", "C", "directed"), Edge("D", "C", "directed")])
    s = score(cpdag, _truth())
    assert s["skeleton_f1"] == 1.0
    assert s["shd"] == 1  # the undirected edge pays for its missing direction
    assert s["arrow_precision"] == 1.0 and s["arrow_recall"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["copilot_f1"] == 1.0 and s["copilot_shd"] == 0  # resolved to the truth: optimistic


def test_reversed_missing_extra_and_pag_marks():
    est = CausalGraph(NODES, [Edge("B", "A", "directed"),  # reversed
                              Edge("D", "C", "partially_directed"),  # D o-> C: arrowhead right, tail unknown
                              Edge("A", "D", "bidirected")])  # extra; B -> C missing
    s = score(est, _truth())
    assert s["shd"] == 1 + 1 + 1 + 1  # reversed, circle mark, extra, missing
    assert s["skeleton_precision"] == pytest.approx(2 / 3, abs=1e-4)
    assert s["skeleton_recall"] == pytest.approx(2 / 3, abs=1e-4)
    # arrowheads claimed: B->A, D o-> C, and both ends of A <-> D (4); true ones: A->B, B->C, D->C; shared: D->C
    assert s["arrow_precision"] == pytest.approx(1 / 4, abs=1e-4)
    assert s["arrow_recall"] == pytest.approx(1 / 3, abs=1e-4)
    # copilot: D o-> C resolved to D -> C (true); B -> A stays reversed; A <-> D not adjacent in truth
    assert s["copilot_precision"] == pytest.approx(1 / 3, abs=1e-4)
    assert s["copilot_shd"] == 1 + 1 + 1  # reversal, extra, missing


def test_lagged_edges_match_on_lag():
    truth = CausalGraph(["X", "Y"], [Edge("X", "Y", "directed", lag=2)], graph_type="lagged")
    right = CausalGraph(["X", "Y"], [Edge("X", "Y", "directed", lag=2)], graph_type="lagged")
    wrong_lag = CausalGraph(["X", "Y"], [Edge("X", "Y", "directed", lag=1)], graph_type="lagged")
    assert score(right, truth)["arrow_f1"] == 1.0
    assert score(wrong_lag, truth)["skeleton_f1"] == 0.0 and score(wrong_lag, truth)["shd"] == 2


# --------------------------------------------------------------------------- offline data
BIF = """network t { }
variable a { type discrete [ 2 ] { yes, no }; }
variable b { type discrete [ 3 ] { lo, mid, hi }; }
probability ( a ) { table 0.2, 0.8; }
probability ( b | a ) { table 0.7, 0.2, 0.1, 0.1, 0.1, 0.8; }
"""


def test_bif_full_table_parent_order_and_sampling_frequencies():
    bn = parse_bif(BIF)
    assert bn.edges() == [("a", "b")]
    np.testing.assert_allclose(bn.cpts["b"][("no",)], [0.1, 0.1, 0.8])
    df = bn.sample(20000, seed=3)
    assert abs((df["a"] == 0).mean() - 0.2) < 0.015
    assert abs((df.loc[df["a"] == 1, "b"] == 2).mean() - 0.8) < 0.015
    assert bn.sample(50, seed=3).equals(bn.sample(50, seed=3))


def test_vendored_networks_and_sachs_data():
    sizes = {"asia": (8, 8), "sachs": (11, 17), "child": (20, 25), "insurance": (27, 52), "alarm": (37, 46)}
    for name, (p, e) in sizes.items():
        bn = read_bif(DATA_DIR / "bnlearn" / f"{name}.bif.gz")
        assert (len(bn.nodes), len(bn.edges())) == (p, e), name
    asia = build(DatasetSpec("asia", 0, "bnlearn", (("n", 5000), ("network", "asia")), seed=1))
    assert asia.frame.shape == (5000, 8) and abs(asia.frame["smoke"].mean() - 0.5) < 0.03
    cyto = build(DatasetSpec("sachs_cyto", 0, "sachs_cyto"))
    assert cyto.frame.shape == (7466, 11) and len(cyto.truth.edges) == 18
    provenance = (DATA_DIR / "README.md").read_text()
    for f in ("bnlearn/asia.bif.gz", "bnlearn/alarm.bif.gz", "sachs/sachs_truth.csv"):
        assert hashlib.sha256((DATA_DIR / f).read_bytes()).hexdigest() in provenance, f


def test_datasets_are_reproducible_from_their_seed():
    suite = get_suite("copilot-scenarios", seed=0)
    spec = next(s for s in suite.datasets if s.scenario == "missing_10pct")
    a, b = build(spec), build(spec)
    assert a.frame.equals(b.frame) and a.truth.to_dict() == b.truth.to_dict()
    assert 0.07 < a.frame.isna().mean().mean() < 0.13
    other = get_suite("copilot-scenarios", seed=1)
    assert {s.seed for s in suite.datasets}.isdisjoint({s.seed for s in other.datasets})
    scenarios = {s.scenario for s in suite.datasets}
    assert {"default", "dense", "sparse", "p50", "p100", "non_gaussian", "heterogeneous", "measurement_error",
            "nonlinear", "mixed_discrete", "missing_10pct"} <= scenarios
    assert all(sum(1 for s in suite.datasets if s.scenario == sc) >= 3 for sc in scenarios)


# --------------------------------------------------------------------------- suite runs
def _mini_suite() -> Suite:
    datasets = [
        DatasetSpec("gauss", 0, "copilot_sem", (("edge_prob", 0.4), ("n", 500), ("p", 5)), seed=11),
        DatasetSpec("uniform", 0, "copilot_sem", (("edge_prob", 0.4), ("n", 1000), ("noise", "uniform"), ("p", 5)),
                    seed=12),
    ]
    return Suite("mini", "test suite", datasets, ("pc", "direct_lingam", "no_such_algorithm"), cap_s=60.0,
                 not_attempted={("gauss", "direct_lingam"): "declared too slow for this test"})


def test_run_suite_rows_skips_and_agent_choice(tmp_path):
    rows = runner.run_suite(_mini_suite(), tmp_path, n_jobs=1, progress=False)
    assert len(rows) == 2 * 4
    by = {(r["scenario"], r["method"]): r for r in rows}
    assert by[("gauss", "no_such_algorithm")]["status"] == "skipped"
    assert by[("gauss", "direct_lingam")]["status"] == "timeout"
    assert "not attempted" in by[("gauss", "direct_lingam")]["note"]
    for key in (("gauss", "agent"), ("gauss", "pc"), ("uniform", "agent"), ("uniform", "direct_lingam")):
        r = by[key]
        assert r["status"] == "ok", r
        assert r["n"] in (500, 1000) and r["p"] == 5 and r["seconds"] >= 0
        for k in runner.METRIC_KEYS:
            assert r[k] is not None
    # linear non-Gaussian noise: the planner picks DirectLiNGAM, which recovers the DAG with directions
    assert by[("uniform", "agent")]["algorithm"] == "direct_lingam"
    assert by[("uniform", "agent")]["arrow_f1"] >= 0.8
    # the agent on linear-Gaussian data runs PC as `analyse` would: same graph as the PC baseline's here,
    # since the planner's alpha and CI test equal the library defaults at n = 500, p = 5
    assert by[("gauss", "agent")]["algorithm"] == "exact_search"  # the planner's choice for small linear-Gaussian data
    saved = json.loads((tmp_path / "results.json").read_text())
    assert [r["task"] for r in saved] == [r["task"] for r in rows]
    md = (tmp_path / "results.md").read_text()
    assert "| uniform | agent |" in md and "not registered" in md


def test_rerun_skips_done_tasks_and_resumes_partial(tmp_path, monkeypatch):
    suite = _mini_suite()
    first = runner.run_suite(suite, tmp_path, n_jobs=1, progress=False)
    calls = []
    real = runner.run_task
    monkeypatch.setattr(runner, "run_task", lambda t: calls.append(t.key) or real(t))
    again = runner.run_suite(suite, tmp_path, n_jobs=1, progress=False)
    assert calls == [] and [r["task"] for r in again] == [r["task"] for r in first]
    # an interrupted run: drop the last finished task (and tear the file's last line)
    lines = (tmp_path / runner.PARTIAL).read_text().splitlines()
    lost = json.loads(lines[-1])["task"]
    (tmp_path / runner.PARTIAL).write_text("\n".join(lines[:-1]) + '\n{"task": "torn', encoding="utf-8")
    resumed = runner.run_suite(suite, tmp_path, n_jobs=1, progress=False)
    assert calls == [lost]
    assert {r["task"] for r in resumed} == {r["task"] for r in first}


def test_task_past_its_cap_is_recorded_as_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "_run_method", lambda task, built: time.sleep(30))
    spec = DatasetSpec("gauss", 0, "copilot_sem", (("n", 200), ("p", 4)), seed=1)
    row = runner.run_task(runner.Task("mini", 0, spec, "pc", cap_s=0.5))
    # a method that sleeps 30 s and returns nothing could only be recorded as a timeout by the cap
    assert row["status"] == "timeout" and row["shd"] is None and "cap" in row["note"]


def test_cli_eval_smoke(tmp_path):
    from causalpilot.agent.cli import main

    out = tmp_path / "ev"
    with pytest.raises(SystemExit) as exc:
        main(["eval", "--suite", "smoke", "--out", str(out), "--jobs", "1", "--quiet"])
    assert exc.value.code == 0
    rows = json.loads((out / "results.json").read_text())
    required = {"dataset", "method", "n", "p", "shd", "skeleton_precision", "skeleton_recall", "skeleton_f1",
                "arrow_precision", "arrow_recall", "arrow_f1", "seconds", "copilot_f1", "copilot_shd"}
    assert rows and all(required <= set(r) for r in rows)
    assert {r["method"] for r in rows} >= {"agent", "pc", "fci", "ges", "direct_lingam"}
    assert all(r["status"] in ("ok", "skipped") for r in rows)
    assert Path(out / "results.md").read_text().startswith("# causalpilot eval: suite `smoke`")
    with pytest.raises(SystemExit) as bad:
        main(["eval", "--suite", "no-such-suite", "--out", str(out)])
    assert bad.value.code == 2


def test_summary_best_baseline_must_finish_every_run_and_paper_figures_are_quoted():
    from causalpilot.evals.results import compare, render_markdown, summarise

    def row(sc, m, f1, status="ok", rep=0):
        return {"task": f"{sc}|{m}|{rep}", "scenario": sc, "method": m, "status": status, "note": None,
                "replicate": rep, "algorithm": m, "seconds": 1.0,
                **{k: (f1 if status == "ok" else None) for k in ("skeleton_f1", "arrow_f1", "shd", "copilot_f1",
                                                                 "copilot_shd")}}

    rows = [row("default", "agent", 0.8), row("default", "agent", 0.6, rep=1),
            row("default", "pc", 0.9), row("default", "pc", 0.5, rep=1),  # mean 0.7
            row("default", "ges", 0.99), row("default", "ges", None, status="timeout", rep=1)]
    summary = summarise(rows)
    assert summary[("default", "agent")]["copilot_f1"]["mean"] == pytest.approx(0.7)
    assert summary[("default", "pc")]["copilot_f1"]["sd"] == pytest.approx(np.std([0.9, 0.5], ddof=1))
    best = compare(summary, ["default"], "copilot_f1")[0]
    assert best["best_baseline"] == "pc" and best["agent_at_least_best"] is True  # ges did not finish every run
    md = render_markdown(Suite("s", "d", [], ("pc", "ges")), rows)
    assert "| default | 0.70 | 0.70 (pc) |" in md and "0.90 | 0.92 (PC) |" in md and "timeout x1" in md
    # paired on the same data sets: -0.1 on replicate 0, +0.1 on replicate 1; two are too few for an interval
    assert "+0.000 (2 data set(s), too few for an interval; 1/0/1)" in md


def test_paired_difference_pairs_data_sets_and_skips_unfinished_runs():
    from causalpilot.evals.results import paired_difference

    def row(m, ds, f1, status="ok"):
        return {"scenario": "s", "method": m, "dataset": ds, "status": status, "copilot_f1": f1}

    rows = [row("agent", "a", 0.9), row("pc", "a", 0.7), row("agent", "b", 0.5), row("pc", "b", 0.5),
            row("agent", "c", 1.0), row("pc", "c", None, status="timeout"), row("agent", "d", 0.6), row("pc", "d", 0.7)]
    d = paired_difference(rows, "s", "pc", "copilot_f1")
    assert d["n"] == 3 and (d["wins"], d["ties"], d["losses"]) == (1, 1, 1)
    assert d["mean"] == pytest.approx((0.2 + 0.0 - 0.1) / 3)
    assert -0.1 - 1e-9 <= d["low"] <= d["mean"] <= d["high"] <= 0.2 + 1e-9
    assert paired_difference(rows, "s", "pc", "copilot_f1") == d  # fixed resampling seed
    assert paired_difference(rows, "s", None, "copilot_f1") is None


def test_replicates_are_ten_by_default_and_can_be_set(capsys):
    from tests.helpers import run_cli

    for reps, expected in ((None, 10), (4, 4)):
        suite = get_suite("copilot-scenarios", 0, reps)
        per = {}
        for s in suite.datasets:
            per[s.scenario] = per.get(s.scenario, 0) + 1
        assert set(per.values()) == {expected}
    # the first replicates are the same data sets whatever the count: a larger run extends a smaller one
    assert [s.seed for s in get_suite("copilot-scenarios", 0, 3).datasets] == \
        [s.seed for s in get_suite("copilot-scenarios", 0).datasets if s.replicate < 3]
    code, _, err = run_cli(["eval", "--suite", "smoke", "--replicates", "0"], capsys)
    assert code == 2 and "--replicates" in err
