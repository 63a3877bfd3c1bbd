"""The walking skeleton end to end: discovery quality on known graphs, the CLI's contract files,
determinism, and the memory store."""

from __future__ import annotations

import json

import pytest

from causalpilot.agent.loop import AnalysisOptions, discover, run_analysis
from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.generators import linear_sem
from causalpilot.evals.metrics import score
from causalpilot.memory.store import MemoryStore
from tests.helpers import read_json, run_cli
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare

EDGE_TYPES = {"directed", "undirected", "bidirected", "partially_directed", "nondirected"}


def _dataset(df, name="mem.csv"):
    return Dataset(frame=df, path=name, sha256="0" * 64, format="csv")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planner_recovers_linear_gaussian_skeleton(seed):
    """p=10, n=2000 linear-Gaussian data: the rules planner's choice finds the skeleton (F1 >= 0.9)."""
    syn = linear_sem(p=10, n=2000, expected_degree=2.0, seed=seed)
    prepared = profile_and_prepare(_dataset(syn.data), seed=seed)
    assert prepared.profile.value("linearity") == "linear"
    assert prepared.profile.value("gaussianity") == "gaussian"
    plan = RulesPlanner().plan_discovery(prepared.profile, Request(bootstrap=0))
    assert plan.algorithm == "exact_search"
    graph, _, _ = discover(prepared, plan, seed=seed, background=None)
    s = score(graph, syn.truth)
    assert s["skeleton_f1"] >= 0.9, s


def test_cli_analyse_writes_every_contract_file(tmp_path, capsys):
    syn = linear_sem(p=6, n=800, seed=4)
    csv = tmp_path / "data.csv"
    syn.data.to_csv(csv, index=False)
    out = tmp_path / "out"
    code, stdout, err = run_cli(["analyse", csv, "--out", out, "--bootstrap", "4", "--algorithm", "pc", "--treatment", "X1",
                                 "--outcome", "X2", "--question", "Does X1 drive X2?"], capsys)
    assert code == 0, err
    for name in ("graph.json", "effects.json", "report.md", "report.html", "run.json"):
        assert (out / name).is_file(), name

    g = read_json(out / "graph.json")
    assert g["nodes"] == list(syn.data.columns)
    assert g["graph_type"] in {"DAG", "CPDAG", "PAG", "lagged"}
    assert g["algorithm"] == "pc" and g["parameters"]["indep_test"] == "fisherz"
    assert g["edges"], "a 6-variable connected model has edges"
    for e in g["edges"]:
        assert set(e) >= {"source", "target", "type", "confidence"}
        assert e["type"] in EDGE_TYPES and e["source"] in g["nodes"] and e["target"] in g["nodes"]
        assert 0.0 <= e["confidence"] <= 1.0  # a bootstrap ran, so every edge has a frequency

    effects = read_json(out / "effects.json")
    assert isinstance(effects, list) and len(effects) == 1
    assert set(effects[0]) >= {"treatment", "outcome", "estimand", "adjustment_set", "method", "estimate",
                               "ci_low", "ci_high", "refutations"}

    run = read_json(out / "run.json")
    assert set(run) >= {"version", "seed", "data", "profile", "decisions", "timings", "libraries"}
    assert len(run["data"]["sha256"]) == 64
    steps = {d["step"] for d in run["decisions"]}
    assert {"discovery.algorithm", "discovery.alpha", "discovery.indep_test"} <= steps
    assert all(d["reason"] for d in run["decisions"])
    assert run["profile"]["findings"]["linearity"]["evidence"]["pairs_tested"] > 0

    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    assert 'src="http' not in html  # self-contained
    md = (out / "report.md").read_text()
    assert "## Causal graph" in md and "## How the method was chosen" in md and "## Caveats" in md
    assert str(out) in stdout


def test_same_seed_gives_byte_identical_graph_and_effects(tmp_path, capsys):
    syn = linear_sem(p=6, n=600, seed=5)
    csv = tmp_path / "d.csv"
    syn.data.to_csv(csv, index=False)
    outs = []
    for k, jobs in enumerate(("1", "2")):
        out = tmp_path / f"o{k}"
        code, _, err = run_cli(["analyse", csv, "--out", out, "--seed", "7", "--bootstrap", "6", "--jobs", jobs,
                                "--treatment", "X1", "--outcome", "X3", "-q"], capsys)
        assert code == 0, err
        outs.append(out)
    assert (outs[0] / "graph.json").read_bytes() == (outs[1] / "graph.json").read_bytes()
    assert (outs[0] / "effects.json").read_bytes() == (outs[1] / "effects.json").read_bytes()


def test_discover_runs_each_skeleton_algorithm_by_name(tmp_path, capsys):
    syn = linear_sem(p=5, n=500, seed=6, noise="uniform")
    csv = tmp_path / "d.csv"
    syn.data.to_csv(csv, index=False)
    for algo in ("pc", "fci", "ges", "direct_lingam"):
        out = tmp_path / algo
        code, _, err = run_cli(["discover", csv, "--algorithm", algo, "--out", out, "-q"], capsys)
        assert code == 0, (algo, err)
        g = read_json(out / "graph.json")
        assert g["algorithm"] == algo and g["edges"]
        expected = {"pc": "CPDAG", "fci": "PAG", "ges": "CPDAG", "direct_lingam": "DAG"}[algo]
        assert g["graph_type"] == expected
        assert all(e["confidence"] is None for e in g["edges"])  # discover: no bootstrap unless asked
    small = tmp_path / "small.csv"
    syn.data.head(120).to_csv(small, index=False)  # KCI is cubic in n: keep it small
    code, _, err = run_cli(["discover", small, "--algorithm", "pc", "--alpha", "0.01", "--indep-test", "kci",
                            "--out", tmp_path / "kci", "-q"], capsys)
    assert code == 0, err
    assert read_json(tmp_path / "kci" / "graph.json")["parameters"] == {"alpha": 0.01, "depth": -1, "indep_test": "kci"}


def test_memory_keeps_runs_and_graphs(tmp_path, capsys):
    syn = linear_sem(p=4, n=300, seed=8)
    csv = tmp_path / "d.csv"
    syn.data.to_csv(csv, index=False)
    db = tmp_path / "mem.sqlite3"
    code, _, err = run_cli(["analyse", csv, "--out", tmp_path / "o", "--memory", db, "-B", "0", "-q"], capsys)
    assert code == 0, err
    run_id = read_json(tmp_path / "o" / "run.json")["run_id"]
    code, out, _ = run_cli(["memory", "list", "--memory", db], capsys)
    assert code == 0 and run_id in out
    code, out, _ = run_cli(["memory", "show", f"{run_id}/graph", "--memory", db], capsys)
    assert code == 0
    shown = json.loads(out)
    assert shown["payload"] == read_json(tmp_path / "o" / "graph.json")
    code, _, err = run_cli(["memory", "show", "no-such-key", "--memory", db], capsys)
    assert code == 2 and "no-such-key" in err


def test_memory_write_is_transactional(tmp_path):
    db = tmp_path / "m.sqlite3"
    with MemoryStore(db) as store:
        store.save_run("r1", data_path="a.csv", data_sha256="s", command="analyse", status="done",
                       summary={}, items={"r1/graph": ("graph", {"nodes": []})})
        with pytest.raises(TypeError):
            # an unserialisable payload fails midway: neither the run row nor its items may be kept
            store.save_run("r2", data_path="b.csv", data_sha256="t", command="analyse", status="done",
                           summary={}, items={"r2/graph": ("graph", {"ok": 1}), "r2/bad": ("x", object())})
    with MemoryStore(db) as store:
        assert [r["run_id"] for r in store.list_runs()] == ["r1"]
        assert store.get("r2/graph") is None and store.get("r1/graph")["payload"] == {"nodes": []}


def test_example_background_orients_by_tiers(tmp_path):
    """The bundled example with its tier file: no edge may point into age or out of heart_risk."""
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    res = run_analysis(AnalysisOptions(data=str(root / "examples" / "health.csv"), out=str(tmp_path / "o"),
                                       background=str(root / "examples" / "health_background.yaml"),
                                       bootstrap=0, quiet=True))
    for e in res.graph.edges:
        assert not (e.type == "directed" and e.target == "age"), e
        assert not (e.type == "directed" and e.source == "heart_risk"), e
