"""`causalpilot mcp`: the agent tools over the Model Context Protocol, driven by the MCP SDK's own client,
in process and over stdio, on the bundled example whose true graph and effect are known
(examples/README.md): the tools are listed, discovery finds the true edges, the estimated effect of
smoking on heart_risk covers the true 0.708, graphs are kept in the memory, and bad input is a tool
error with one sentence, never a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from causalpilot.agent.cli import main
from causalpilot.agent.mcp_server import NO_DATA, McpTools, build_server
from causalpilot.memory.store import MemoryStore

from tests.helpers import BLOCKER, CONTRACT_TOOLS

mcp = pytest.importorskip("mcp")  # the test extra installs it; a bare checkout without it skips

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "health.csv"
TIERS = ROOT / "examples" / "health_background.yaml"
# the example's true graph and total effect (examples/README.md)
TRUE_EDGES = {"age --> exercise", "age --> smoking", "age --> bmi", "exercise --> bmi", "bmi --> blood_pressure",
              "smoking --> blood_pressure", "bmi --> cholesterol", "blood_pressure --> heart_risk",
              "cholesterol --> heart_risk", "smoking --> heart_risk", "age --> heart_risk", "stress --> sleep"}
TRUE_EFFECT = 0.708


def session(tools: McpTools, steps):
    """Run ``steps(client)`` against a server over ``tools`` through the SDK's in-process client."""
    async def go():
        async with mcp.Client(build_server(tools)) as client:
            return await steps(client)
    return anyio.run(go)


def test_the_client_lists_every_contract_tool_with_its_argument_names():
    async def steps(client):
        return (await client.list_tools()).tools

    listed = {t.name: t for t in session(McpTools(memory_path=False), steps)}
    assert set(listed) == CONTRACT_TOOLS | {"load_data"}
    props = {n: set(t.input_schema.get("properties", {})) for n, t in listed.items()}
    assert props["run_discovery"] == {"algorithm", "params", "graph_name"}
    assert props["estimate_effect"] == {"graph_name", "treatment", "outcome"}
    assert props["query_graph"] == {"graph_name", "query", "node", "other"}
    assert {"path", "treatment", "outcome", "background"} <= props["load_data"]
    assert listed["load_data"].input_schema["required"] == ["path"]


def test_discovery_and_effect_on_the_example_find_its_known_truth(tmp_path):
    memory = tmp_path / "memory.sqlite3"

    async def steps(client):
        out = {}
        loaded = await client.call_tool("load_data", {"path": str(EXAMPLE), "treatment": "smoking",
                                                      "outcome": "heart_risk", "background": str(TIERS)})
        out["load"] = loaded
        out["discovery"] = await client.call_tool("run_discovery", {"algorithm": "exact_search", "graph_name": "g"})
        out["parents"] = await client.call_tool("query_graph", {"graph_name": "g", "query": "parents",
                                                                "node": "heart_risk"})
        out["effect"] = await client.call_tool("estimate_effect", {"graph_name": "g", "treatment": "smoking",
                                                                   "outcome": "heart_risk"})
        out["finish"] = await client.call_tool("finish", {"graph_name": "g", "summary": "the tiers settle it"})
        kept = f"{loaded.structured_content['run_id']}/graph/g"  # read back from the memory by its key
        out["compare"] = await client.call_tool("compare_graphs", {"first": "g", "second": kept})
        return out

    out = session(McpTools(seed=0, memory_path=memory), steps)
    assert not any(r.is_error for r in out.values())
    load = out["load"].structured_content
    assert load["rows"] == 2000 and len(load["variables"]) == 10
    assert load["findings"]["data_type"].endswith("continuous data")

    graph = out["discovery"].structured_content
    assert graph["graph_type"] in ("DAG", "CPDAG") and TRUE_EDGES <= set(graph["edges"])
    assert not any("income" in e for e in graph["edges"])  # income is unrelated to everything
    assert out["parents"].structured_content["parents"] == ["age", "blood_pressure", "cholesterol", "smoking"]

    effect = out["effect"].structured_content
    low, high = effect["interval_95"]
    assert effect["identified"] is True and low <= TRUE_EFFECT <= high and low <= effect["estimate"] <= high
    assert "age" in effect["adjustment_set"]  # the confounder of smoking and heart_risk
    assert out["effect"].content[0].text.startswith("{")  # the same JSON as text, for any client

    same = out["compare"].structured_content
    assert same["only_in_first"] == same["only_in_second"] == same["marks_differ"] == []
    assert same["shared_same_marks"] == graph["n_edges"]

    run_id = load["run_id"]
    with MemoryStore(memory) as store:
        kept = store.get(f"{run_id}/graph/g")
        final = store.get(f"{run_id}/graph")
        run = store.get(run_id)
    assert kept["kind"] == "graph" and len(kept["payload"]["edges"]) == graph["n_edges"]
    assert final["payload"] == kept["payload"]
    assert run["command"] == "mcp" and run["status"] == "done" and run["summary"]["n_effects"] == 1


def test_bad_input_is_a_tool_error_with_one_sentence_and_the_server_goes_on(tmp_path):
    async def steps(client):
        out = {"before": await client.call_tool("list_algorithms", {}),
               "missing": await client.call_tool("load_data", {"path": str(tmp_path / "nope.csv")}),
               "folder": await client.call_tool("load_data", {"path": str(tmp_path)}),
               "column": await client.call_tool("load_data", {"path": str(EXAMPLE), "treatment": "smokng",
                                                              "outcome": "heart_risk"}),
               "load": await client.call_tool("load_data", {"path": str(EXAMPLE)}),
               "alpha": await client.call_tool("run_discovery", {"algorithm": "pc", "graph_name": "g",
                                                                 "params": {"alpha": 2}}),
               "graph": await client.call_tool("estimate_effect", {"graph_name": "nope", "treatment": "smoking",
                                                                   "outcome": "heart_risk"})}
        out["tools"] = len((await client.list_tools()).tools)
        return out

    out = session(McpTools(memory_path=tmp_path / "m.sqlite3"), steps)
    reasons = {k: r.structured_content["rejected"] for k, r in out.items() if k not in ("load", "tools")}
    assert all(out[k].is_error for k in reasons) and not out["load"].is_error
    assert reasons["before"] == NO_DATA
    assert reasons["missing"] == f"Data file '{tmp_path / 'nope.csv'}' does not exist."
    assert reasons["folder"].startswith(f"'{tmp_path}' is a directory with no Parquet files in it")
    assert "Column 'smokng' is not in data file" in reasons["column"] and "did you mean 'smoking'" in reasons["column"]
    assert reasons["alpha"].startswith("alpha must be a number between 0 and 0.5")
    assert reasons["graph"].startswith("no graph named 'nope'")
    assert not any("Traceback" in r for r in reasons.values()) and out["tools"] == 12


def test_the_command_says_how_to_install_the_sdk_when_it_is_missing(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "mcp", None)  # `import mcp` now fails as if it were not installed
    with pytest.raises(SystemExit) as exit_:
        main(["mcp"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == ("causalpilot: error: The MCP server needs the MCP Python SDK: "
                                               "pip install 'causalpilot[mcp]'.")


def test_a_bad_data_file_on_the_command_line_exits_2_before_serving(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["mcp", str(tmp_path / "nope.csv"), "--memory", str(tmp_path / "m.sqlite3")])
    assert exit_.value.code == 2
    assert capsys.readouterr().err.strip() == f"causalpilot: error: Data file '{tmp_path / 'nope.csv'}' does not exist."


def test_python_m_causalpilot_mcp_serves_over_stdio_without_the_llm_stack(tmp_path):
    """A stdio client spawns `python -m causalpilot mcp DATA`: the preloaded data answer a tool call,
    and no module of langchain or openai (the llm extra) is imported on the way."""
    from mcp.client.stdio import StdioServerParameters, stdio_client

    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(BLOCKER)
    log = tmp_path / "blocked.txt"
    log.write_text("")
    env = {**os.environ, "BLOCKED_IMPORTS_LOG": str(log), "OMP_NUM_THREADS": "1",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(blocker), os.environ.get("PYTHONPATH")]))}
    probe = subprocess.run([sys.executable, "-c", "import langchain_core"], env=env, capture_output=True, text=True,
                           timeout=60)
    assert probe.returncode != 0 and "blocked" in probe.stderr  # the blocker is live in a child process
    log.write_text("")
    params = StdioServerParameters(command=sys.executable, env=env, cwd=str(tmp_path),
                                   args=["-m", "causalpilot", "mcp", str(EXAMPLE), "--memory", str(tmp_path / "m.db")])

    async def go():
        with anyio.fail_after(120), open(tmp_path / "stderr.txt", "w") as errlog:
            async with mcp.Client(stdio_client(params, errlog=errlog)) as client:
                names = {t.name for t in (await client.list_tools()).tools}
                finding = await client.call_tool("get_profile_finding", {"name": "data_type"})
                return names, finding

    names, finding = anyio.run(go)
    assert names == CONTRACT_TOOLS | {"load_data"}
    assert not finding.is_error and finding.structured_content["value"] == "continuous"
    assert log.read_text() == ""
