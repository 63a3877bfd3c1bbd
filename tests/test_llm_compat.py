"""Any OpenAI-compatible server: its model list, every tool-call format, no tool support, a small context.

Each format is played by the loopback fake server (tests/llm_fakes.py) to the real openai client;
every one must complete the agent's analysis (or degrade to JSON mode) and never lose the narrative.
"""

from __future__ import annotations

import json
import re

import pytest

from causalpilot.agent.llm_server import calls_in_text, is_context_error, is_no_tools_error, normalise_completion
from causalpilot.evals.generators import linear_sem
from helpers import run_cli
from llm_fakes import FORMATS, NO_TOOLS, TOO_LONG, FakeOpenAIServer


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "d.csv"
    linear_sem(p=4, n=400, seed=3).data.to_csv(path, index=False)
    return path


def user_prompt(body: dict) -> str:
    return next(m["content"] for m in body["messages"] if m["role"] == "user")


SCRIPTED_TOOLS = ["propose_background", "run_discovery", "run_discovery", "compare_graphs", "query_graph",
                  "estimate_effect", "finish"]  # what llm_fakes.analyst_calls makes, in order
CONTEXT_LIMIT = 4600  # characters of prompt: between the compact analysing prompt and the full one on `data`


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", FORMATS)
def test_every_tool_call_format_completes_the_agents_analysis_and_keeps_the_narrative(fmt, data, tmp_path, capsys,
                                                                                       llm_env):
    out = tmp_path / "o"
    with FakeOpenAIServer("script", fmt=fmt, models=["fake-model"], max_prompt_chars=CONTEXT_LIMIT) as srv:
        llm_env(srv.url, steps="12")
        code, _, err = run_cli(["analyse", data, "--out", out, "-B", "4", "--question", "effect of X1 on X3?"], capsys)
    assert code == 0, err
    assert "notice" not in err
    run = json.loads((out / "run.json").read_text())
    assert run["llm"]["fallback"] is None
    # every call of the script was read in this format, in order, and accepted
    trail = [t for t in run["agent"]["trail"] if t["by"] == "llm"]
    assert [t["tool"] for t in trail] == SCRIPTED_TOOLS and all(t["status"] == "ok" for t in trail)
    llm = {d["step"]: d for d in run["decisions"] if d["by"] == "llm"}
    assert llm["discovery.alpha"]["choice"] == 0.01 and llm["effect.pair"]["choice"] == ["X1", "X3"]
    assert llm["discovery.background.llm"]["choice"]["forbidden"] == [["X3", "X1"]]
    assert llm["agent.final_graph"]["choice"] == "pc_strict"  # its last call, finish, was read too
    assert "## Narrative (written by the LLM" in (out / "report.md").read_text()
    exchanges = json.loads((out / "transcript.json").read_text())["exchanges"]
    if fmt == "no_tools":  # one 400, then every request with tools goes out in JSON mode, without them
        assert srv.statuses[0] == 400 and exchanges[0]["status"] == 400
        later = [b for b in srv.requests[1:] if "narrative" not in user_prompt(b)]
        assert later and all("tools" not in b for b in later)
        assert all(e["json_mode"] for e in exchanges[1:] if e["stage"] == "analyse")
    elif fmt == "context":  # the full analysing prompt is too long; the compact one is tried once
        assert srv.statuses[:2] == [400, 200]
        # and so is the narrative's: each stage's 400 is followed by its compact prompt, answered
        refused = [k for k, status in enumerate(srv.statuses) if status == 400]
        assert len(refused) == 2 and all(srv.statuses[k + 1] == 200 for k in refused)
        story, short_story = user_prompt(srv.requests[refused[1]]), user_prompt(srv.requests[refused[1] + 1])
        assert "Facts of the run" in story and len(short_story) <= srv.max_prompt_chars < len(story)
        full, compact = user_prompt(srv.requests[0]), user_prompt(srv.requests[1])
        assert len(compact) <= srv.max_prompt_chars < len(full)
        rows = lambda text: re.findall(r"<data>(\[\{.*?\}\])</data>", text, flags=re.S)  # noqa: E731
        assert len(json.loads(rows(compact)[0])) < len(json.loads(rows(full)[0]))
        assert "direct_lingam" in compact and "noise looks Gaussian" in compact  # every method, warnings kept
    else:
        assert all(s == 200 for s in srv.statuses) and all(not e["json_mode"] for e in exchanges)


@pytest.mark.timeout(120)
def test_a_failed_analysis_stage_keeps_the_narrative(data, tmp_path, capsys, llm_env):
    with FakeOpenAIServer("plan_fails", models=["fake-model"]) as srv:
        llm_env(srv.url)
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o", "-B", "4"], capsys)
    assert code == 0, err
    assert "the LLM planning step failed" in err and "narrative" not in err
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["decisions"][0]["step"] == "planner.fallback" and "4 malformed or rejected" in run["llm"]["fallback"]
    assert "## Narrative (written by the LLM" in (tmp_path / "o" / "report.md").read_text()
    assert {"analyse", "narrative"} <= set(run["llm"]["usage"]["stages"])


@pytest.mark.timeout(90)
def test_the_servers_only_model_is_used_when_none_is_named(data, tmp_path, capsys, llm_env):
    with FakeOpenAIServer("script", models=["qwen2.5:7b-instruct"]) as srv:
        llm_env(srv.url, model=None)
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o", "-B", "0"], capsys)
        code2, _, _ = run_cli(["analyse", data, "--out", tmp_path / "o2", "-B", "0"], capsys)
    assert code == code2 == 0, err
    assert {b["model"] for b in srv.requests} == {"qwen2.5:7b-instruct"}
    assert srv.model_queries == 1  # asked once per process
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["llm"]["model"] == "qwen2.5:7b-instruct" and run["llm"]["model_source"] == "the server's only model"


@pytest.mark.timeout(60)
def test_a_model_the_server_does_not_serve_stops_before_any_work(data, tmp_path, capsys, llm_env):
    with FakeOpenAIServer("script", models=["llama3.1:8b", "qwen2.5:7b"]) as srv:
        llm_env(srv.url, model="gpt-9")
        code, out, err = run_cli(["analyse", data, "--out", tmp_path / "o", "-B", "0"], capsys)
    assert code == 2
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert "'gpt-9'" in err and "CAUSALPILOT_MODEL" in err and "llama3.1:8b" in err
    assert srv.requests == [] and not (tmp_path / "o").exists()


@pytest.mark.timeout(60)
def test_several_models_and_none_named_is_one_sentence(data, tmp_path, capsys, llm_env):
    with FakeOpenAIServer("script", models=["a-model", "b-model"]) as srv:
        llm_env(srv.url, model=None)
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o"], capsys)
    assert code == 2 and "name one with CAUSALPILOT_MODEL" in err and srv.requests == []


@pytest.mark.timeout(90)
def test_a_server_without_a_models_endpoint_is_tolerated(data, tmp_path, capsys, llm_env):
    with FakeOpenAIServer("script", models=None) as srv:  # GET /models answers 404
        llm_env(srv.url, model="my-local-model")
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o", "-B", "0"], capsys)
    assert code == 0 and "notice" not in err
    assert srv.model_queries == 1 and {b["model"] for b in srv.requests} == {"my-local-model"}


@pytest.mark.timeout(90)
def test_ollama_names_without_the_latest_tag_are_served(data, tmp_path, capsys, llm_env):
    with FakeOpenAIServer("script", models=["llama3.1:latest", "qwen2.5:7b"]) as srv:
        llm_env(srv.url, model="llama3.1")
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o", "-B", "0"], capsys)
    assert code == 0, err
    assert {b["model"] for b in srv.requests} == {"llama3.1"}


# ---------------------------------------------------------------------------- the formats, one by one
TOOLS = {"run_discovery", "review_edge"}


def reply(message: dict) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "stop"}]}


def calls(response: dict) -> list[tuple[str, dict]]:
    msg = response["choices"][0]["message"]
    return [(c["function"]["name"], json.loads(c["function"]["arguments"])) for c in msg.get("tool_calls") or []]


REQUEST = {"tools": [{"type": "function", "function": {"name": n, "parameters": {}}} for n in sorted(TOOLS)]}
PLAN = {"algorithm": "pc", "graph_name": "g"}


@pytest.mark.parametrize("message", [
    {"content": '<tool_call>\n{"name": "run_discovery", "arguments": {"algorithm": "pc", "graph_name": "g"}}\n'
                '</tool_call>'},
    {"content": '{"name": "run_discovery", "arguments": {"algorithm": "pc", "graph_name": "g"}}'},
    {"content": '```json\n{"name": "run_discovery", "parameters": {"algorithm": "pc", "graph_name": "g"}}\n```'},
    {"content": '[TOOL_CALLS] [{"name": "run_discovery", "arguments": {"algorithm": "pc", "graph_name": "g"}}]'},
    {"content": None, "function_call": {"name": "run_discovery", "arguments": json.dumps(PLAN)}},
    {"content": None, "tool_calls": [{"id": "c1", "type": "function",
                                      "function": {"name": "run_discovery", "arguments": PLAN}}]},
])
def test_each_format_becomes_a_standard_tool_call(message):
    out = normalise_completion(REQUEST, reply(message), "k")
    assert calls(out) == [("run_discovery", PLAN)]
    assert out["choices"][0]["finish_reason"] == "tool_calls" and "function_call" not in out["choices"][0]["message"]
    again = normalise_completion(REQUEST, reply(json.loads(json.dumps(message))), "k")
    assert again == out  # ids given to calls without one are deterministic (replay and cache rely on it)


def test_text_that_is_not_a_call_stays_an_answer():
    narrative = '{"summary": "A causes B.", "caveats": []}'
    for text in (narrative, "I am done.", '{"name": "run_shell", "arguments": {}}'):
        out = normalise_completion(REQUEST, reply({"content": text}), "k")
        assert calls(out) == [] and out["choices"][0]["message"]["content"] == text
    assert normalise_completion({}, reply({"content": '{"name": "run_discovery", "arguments": {}}'}), "k") \
        ["choices"][0]["message"].get("tool_calls") is None  # no tools offered: never a call


def test_a_malformed_tagged_call_is_kept_as_a_call_so_the_model_is_told():
    found = calls_in_text('<tool_call>{"name": "run_discovery", "arguments": {"algorithm": </tool_call>', TOOLS)
    assert found is not None and found[0][0]["name"] == "run_discovery"
    assert not isinstance(found[0][0]["arguments"], dict)  # raw text: the agent reports invalid JSON


def test_400_messages_are_told_apart():
    assert is_no_tools_error(NO_TOOLS["error"]["message"])
    assert is_no_tools_error('"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set')
    assert is_no_tools_error("tools param requires --jinja flag")
    assert is_context_error(TOO_LONG["error"]["message"])
    assert is_context_error("the request exceeds the available context size, try increasing it")
    assert not is_no_tools_error(TOO_LONG["error"]["message"]) and not is_context_error("invalid temperature")
