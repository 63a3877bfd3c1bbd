"""causalpilot as a Python package: one top-level import package, a Python API, and a CLI that no
folder's own modules can shadow (../shared/CONTRACT.md, "Python API")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pytest

import causalpilot
from causalpilot.tools.graph import CausalGraph, Edge, dag_extension

from tests.helpers import BLOCKER

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "health.csv"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out),
                    str(ROOT)], check=True, capture_output=True, timeout=300)
    (whl,) = out.glob("causalpilot-*.whl")
    return zipfile.ZipFile(whl)


def test_the_wheel_holds_one_top_level_package_and_no_scripts_or_tests(wheel):
    names = wheel.namelist()
    tops = {n.split("/")[0] for n in names}
    dist = [t for t in tops if t.endswith(".dist-info")]
    assert tops - set(dist) == {"causalpilot"}
    (info,) = dist
    top_level = wheel.read(f"{info}/top_level.txt").decode().split() if f"{info}/top_level.txt" in names else []
    assert top_level in ([], ["causalpilot"])
    assert not any(n.startswith(("causalpilot/tests/", "causalpilot/evals/heldout/", "causalpilot/benchmarks/",
                                 "causalpilot/examples/")) for n in names)
    # every package folder of the repository is in the wheel, with its templates and suite data
    for init in ROOT.glob("*/**/__init__.py"):
        rel = init.relative_to(ROOT).as_posix()
        if rel.startswith(("tests/", "evals/heldout/", "build/")):
            continue
        assert f"causalpilot/{rel}" in names, rel
    for needed in ("causalpilot/__init__.py", "causalpilot/__main__.py", "causalpilot/reports/templates/report.html.j2",
                   "causalpilot/prompts/system.j2"):
        assert needed in names
    entry = wheel.read(f"{info}/entry_points.txt").decode()
    assert "causalpilot = causalpilot.agent.cli:main" in entry


def _shadowing_folder(tmp_path: Path) -> Path:
    """A user's folder whose own modules share names with causalpilot's subpackages."""
    d = tmp_path / "work"
    (d / "agent").mkdir(parents=True)
    for name in ("tools.py", "memory.py", "reports.py", "agent/__init__.py", "causalpilot_helpers.py"):
        (d / name).write_text("raise SystemExit('the user\\'s own module was imported')\n")
    return d


def test_cli_and_api_work_from_a_folder_with_shadowing_modules_and_agree(tmp_path):
    work = _shadowing_folder(tmp_path)
    env = {**os.environ, "CAUSALPILOT_HOME": str(tmp_path / "home")}
    env.pop("PYTHONHASHSEED", None)  # the console script's re-exec is part of what is tested
    for argv in (["causalpilot"], [sys.executable, "-m", "causalpilot"]):
        out = tmp_path / f"out-{len(argv)}"
        run = subprocess.run([*argv, "analyse", str(EXAMPLE), "--treatment", "smoking", "--outcome", "heart_risk",
                              "--bootstrap", "0", "--out", str(out), "--quiet"],
                             cwd=work, env=env, capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        assert "user's own module" not in run.stderr + run.stdout
    cli_graph = json.loads((tmp_path / "out-1" / "graph.json").read_text())
    assert json.loads((tmp_path / "out-3" / "graph.json").read_text())["edges"] == cli_graph["edges"]

    code = ("import json, pandas as pd, causalpilot; df = pd.read_csv(%r); "
            "r = causalpilot.analyse(df, treatment='smoking', outcome='heart_risk', bootstrap=0, memory=False); "
            "print(json.dumps(r.graph.to_dict()['edges']))" % str(EXAMPLE))
    api = subprocess.run([sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert api.returncode == 0, api.stderr
    assert json.loads(api.stdout.strip().splitlines()[-1]) == cli_graph["edges"]


@pytest.fixture(scope="module")
def result():
    df = pd.read_csv(EXAMPLE)
    return causalpilot.analyse(df, treatment="smoking", outcome="heart_risk", bootstrap=0, memory=False)


def test_api_result_has_the_contract_views(result, tmp_path):
    g = result.graph.to_networkx()
    assert isinstance(g, nx.DiGraph) and set(g.nodes) == set(pd.read_csv(EXAMPLE).columns)
    # the example's known truth: smoking -> blood_pressure and smoking -> heart_risk are linked
    assert g.has_edge("smoking", "heart_risk") or g.has_edge("heart_risk", "smoking")
    undirected = [e for e in result.graph.edges if e.type == "undirected"]
    for e in undirected:  # a CPDAG's undirected edge is the pair of arcs
        assert g.has_edge(e.source, e.target) and g.has_edge(e.target, e.source)
    assert g.number_of_edges() == len(result.graph.edges) + len(undirected)

    eff = result.effects
    assert isinstance(eff, pd.DataFrame) and len(eff) == 1
    row = eff.iloc[0]
    assert (row.treatment, row.outcome) == ("smoking", "heart_risk")
    # the example's true total effect of smoking on heart_risk is 0.708 (examples/README.md)
    lo = row.estimate if not np.isnan(row.estimate) else row.estimate_min
    hi = row.estimate if not np.isnan(row.estimate) else row.estimate_max
    assert row.ci_low <= 0.708 <= row.ci_high and lo <= hi

    assert {d["step"] for d in result.decisions} >= {"discovery.algorithm"}
    html = result.report_html()
    assert html.lstrip().lower().startswith("<!doctype html") and "smoking" in html
    assert result._repr_html_().startswith("<iframe srcdoc=")
    assert result.out is None
    saved = result.save(tmp_path / "saved")
    assert {p.name for p in saved.iterdir()} >= {"graph.json", "effects.json", "report.md", "report.html",
                                                 "graph.png", "run.json"}
    assert json.loads((saved / "graph.json").read_text()) == result.graph.to_dict()
    assert result.graph.to_json() == (saved / "graph.json").read_text()


def test_api_discover_and_input_errors():
    df = pd.read_csv(EXAMPLE)
    g = causalpilot.discover(df, "pc", alpha=0.01)
    assert isinstance(g, CausalGraph) and g.algorithm == "pc" and g.graph_type == "CPDAG"
    assert g.parameters["alpha"] == 0.01
    assert "digraph" in g.to_dot() and "smoking" in g.to_dot()
    with pytest.raises(causalpilot.InputError, match="takes no parameter 'depthh'"):
        causalpilot.discover(df, "pc", depthh=2)
    with pytest.raises(causalpilot.InputError, match="Column 'nope' is not in the DataFrame"):
        causalpilot.analyse(df, treatment="nope", outcome="heart_risk", memory=False)
    with pytest.raises(ValueError):  # InputError is a ValueError
        causalpilot.analyse(df.iloc[:5], memory=False)
    with pytest.raises(causalpilot.InputError, match="DataFrame or the path"):
        causalpilot.analyse([[1, 2], [3, 4]])
    with pytest.raises(causalpilot.InputError, match="does not exist"):
        causalpilot.analyse("no/such/file.csv")


def test_background_as_a_mapping_is_used():
    df = pd.read_csv(EXAMPLE)
    r = causalpilot.analyse(df, bootstrap=0, memory=False,
                            background={"forbidden": [["smoking", "heart_risk"], ["heart_risk", "smoking"]]})
    assert r.graph.edge_between("smoking", "heart_risk") is None
    assert r.run_info["request"]["background"]["forbidden"] == [["smoking", "heart_risk"], ["heart_risk", "smoking"]]


def test_import_is_light():
    code = "import sys, causalpilot; print(sorted(m for m in ('pandas', 'causallearn', 'dowhy', 'matplotlib') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "[]"


# import name -> distribution name, where they differ
_DISTRIBUTION = {"sklearn": "scikit-learn", "causallearn": "causal-learn", "yaml": "pyyaml",
                 "langchain_core": "langchain-core", "langchain_openai": "langchain-openai"}
# declared, but used through another library rather than imported
_USED_INDIRECTLY = {"pyarrow"}  # pandas reads Parquet with it


def _third_party_imports() -> dict[str, str]:
    """Top-level third-party modules imported by the package's files: {module: one file importing it}."""
    import ast

    found: dict[str, str] = {}
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT)
        if rel.parts[0] in ("tests", "benchmarks", "build") or "heldout" in rel.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "causalpilot":
                    found.setdefault(top, rel.as_posix())
    return found


def test_imported_libraries_and_declared_dependencies_match():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    import re

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    runtime = project["dependencies"] + [r for name, reqs in extras.items() if name not in ("test", "excel")
                                         for r in reqs]

    def name_of(req: str) -> str:
        return re.match(r"[A-Za-z0-9_.-]+", req).group(0).lower().replace("_", "-")

    declared = {name_of(r) for r in runtime if not r.startswith("causalpilot")}
    imported = {_DISTRIBUTION.get(m, m).replace("_", "-"): f for m, f in _third_party_imports().items()}
    assert {d: f for d, f in imported.items() if d not in declared} == {}  # imported but not declared
    assert declared - set(imported) - _USED_INDIRECTLY == set()  # declared but never imported


def test_offline_analyse_never_imports_the_llm_stack(tmp_path):
    """The rules planner's `analyse` runs without langchain or openai (the `llm` extra)."""
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "blocked.txt"
    log.write_text("")
    env = {**os.environ, "CAUSALPILOT_HOME": str(tmp_path / "home"), "BLOCKED_IMPORTS_LOG": str(log),
           "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")]))}
    env.pop("PYTHONHASHSEED", None)  # the CLI's re-exec must carry the blocker too
    probe = subprocess.run([sys.executable, "-c", "import langchain_core"], env=env, capture_output=True,
                           text=True, timeout=60)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the blocker is live in a child process
    log.write_text("")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "causalpilot", "analyse", str(EXAMPLE), "--bootstrap", "0",
                          "--out", str(out), "--quiet"], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert (out / "report.md").exists() and (out / "graph.json").exists()
    assert log.read_text() == ""


# ----------------------------------------------------------------------------- DAG extension


def _has_v_structure_not_in(dag: np.ndarray, cpdag: CausalGraph) -> bool:
    p = dag.shape[0]
    idx = {n: i for i, n in enumerate(cpdag.nodes)}
    vs = {(a, c, b) for b in range(p) for a in range(p) for c in range(a + 1, p)
          if dag[a, b] and dag[c, b] and not dag[a, c] and not dag[c, a]}
    directed = {(idx[e.source], idx[e.target]) for e in cpdag.edges if e.type == "directed"}
    return any((a, b) not in directed or (c, b) not in directed for a, c, b in vs)


def test_to_dag_adds_no_v_structure_whatever_the_column_order():
    from causalpilot.tools.inference.graph_adapter import to_dag

    g = CausalGraph(["a", "c", "b"], [Edge("a", "b", "undirected"), Edge("c", "b", "undirected")])
    dag, notes = to_dag(g)
    assert not (dag.has_edge("a", "b") and dag.has_edge("c", "b"))  # a -> b <- c is not in the class
    assert nx.is_directed_acyclic_graph(dag) and dag.number_of_edges() == 2 and len(notes) == 2


def test_dag_extension_agrees_with_causallearn_on_random_cpdags():
    """Oracle: causal-learn's dag2cpdag gives the class; our extension must be a member of it (same
    skeleton, same v-structures, acyclic), as causal-learn's pdag2dag is."""
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag

    from causalpilot.evals.generators import linear_sem

    for seed in range(15):
        truth = linear_sem(8, 50, expected_degree=2.5, seed=seed).truth
        names = truth.nodes
        nodes = [GraphNode(n) for n in names]
        dag = Dag(nodes)
        for e in truth.edges:
            dag.add_directed_edge(nodes[names.index(e.source)], nodes[names.index(e.target)])
        cp = CausalGraph.from_endpoint_matrix(dag2cpdag(dag).graph, names, "CPDAG")
        ext = dag_extension(cp)
        assert nx.is_directed_acyclic_graph(nx.from_numpy_array(ext, create_using=nx.DiGraph))
        assert {frozenset((i, j)) for i, j in zip(*np.nonzero(ext))} == \
            {frozenset((names.index(e.source), names.index(e.target))) for e in cp.edges}
        assert not _has_v_structure_not_in(ext, cp)
        back = CausalGraph.from_adjacency(ext, names)
        nodes2 = [GraphNode(n) for n in names]
        d2 = Dag(nodes2)
        for e in back.edges:
            d2.add_directed_edge(nodes2[names.index(e.source)], nodes2[names.index(e.target)])
        assert np.array_equal(dag2cpdag(d2).graph, dag2cpdag(dag).graph)  # the same equivalence class
