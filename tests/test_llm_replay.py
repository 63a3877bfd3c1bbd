"""Replayable and costed: the on-disk response cache, `--replay transcript.json`, token usage and cost."""

from __future__ import annotations

import json

import pytest

from causalpilot.agent.llm_cache import ResponseCache, request_key, usage_summary
from causalpilot.evals.generators import linear_sem
from helpers import run_cli
from llm_fakes import FakeOpenAIServer

CONTRACT_FILES = ("graph.json", "effects.json", "report.md")


@pytest.fixture()
def data(tmp_path):
    path = tmp_path / "d.csv"
    linear_sem(p=4, n=400, seed=3).data.to_csv(path, index=False)
    return path


ANALYSE = ["-B", "4", "--question", "What is the effect of X1 on X3?", "--seed", "2"]


@pytest.mark.timeout(180)
@pytest.mark.parametrize("fmt", ["tool_calls", "no_tools"])
def test_replay_without_a_server_gives_byte_identical_results(fmt, data, tmp_path, capsys, llm_env, monkeypatch):
    first, again = tmp_path / "first", tmp_path / "again"
    with FakeOpenAIServer("script", fmt=fmt, models=["fake-model"]) as srv:
        llm_env(srv.url, steps="12")  # the one-call-per-turn JSON mode needs 8 model calls for the script
        code, _, err = run_cli(["analyse", data, "--out", first, *ANALYSE], capsys)
        assert code == 0 and "notice" not in err, err
    answered = len(srv.requests)
    # the server is gone; no cache either, so every answer must come from the transcript
    monkeypatch.setenv("CAUSALPILOT_LLM_CACHE", "0")
    if fmt == "no_tools":  # and no LLM configuration is needed to replay
        for var in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "CAUSALPILOT_MODEL"):
            monkeypatch.delenv(var)
    code, _, err = run_cli(["analyse", data, "--out", again, *ANALYSE, "--replay", first / "transcript.json"], capsys)
    assert code == 0, err
    assert "notice" not in err and len(srv.requests) == answered
    for name in CONTRACT_FILES:
        assert (again / name).read_bytes() == (first / name).read_bytes(), name
    run = json.loads((again / "run.json").read_text())
    assert run["planner"] == "llm" and run["llm"]["replay"] == str(first / "transcript.json")
    assert any(d["by"] == "llm" for d in run["decisions"])
    assert run["llm"]["fallback"] is None and run["agent"]["final"] == "pc_strict"  # the replayed agent finished
    exchanges = json.loads((again / "transcript.json").read_text())["exchanges"]
    assert exchanges and all(e["replayed"] and "replayed_out_of_order" not in e for e in exchanges)


@pytest.mark.timeout(60)
def test_replay_refuses_other_data_and_unreadable_transcripts(data, tmp_path, capsys):
    bad = tmp_path / "t.json"
    bad.write_text("{not json")
    code, _, err = run_cli(["analyse", data, "--replay", bad], capsys)
    assert code == 2 and "not valid JSON" in err
    bad.write_text(json.dumps({"config": {}, "stages": []}))
    code, _, err = run_cli(["analyse", data, "--replay", bad], capsys)
    assert code == 2 and "records no model exchanges" in err
    bad.write_text(json.dumps({"exchanges": [{"key": "k", "status": 200, "response": {}}], "data_sha256": "0" * 64}))
    code, _, err = run_cli(["analyse", data, "--replay", bad], capsys)
    assert code == 2 and "recorded on other data" in err
    code, _, err = run_cli(["analyse", data, "--replay", bad, "--planner", "rules"], capsys)
    assert code == 2 and "--replay" in err


@pytest.mark.timeout(180)
def test_repeated_identical_requests_are_answered_from_the_cache(data, tmp_path, capsys, llm_env, monkeypatch):
    with FakeOpenAIServer("script", models=["fake-model"]) as srv:
        llm_env(srv.url)
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "a", *ANALYSE], capsys)
        assert code == 0, err
        sent = len(srv.requests)
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "b", *ANALYSE], capsys)
        assert code == 0, err
        assert len(srv.requests) == sent  # every request of the second run came from the cache
        monkeypatch.setenv("CAUSALPILOT_LLM_CACHE", "0")
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "c", *ANALYSE], capsys)
        assert code == 0 and len(srv.requests) == 2 * sent  # cache off: asked again
    assert (tmp_path / "b" / "graph.json").read_bytes() == (tmp_path / "a" / "graph.json").read_bytes()
    exchanges = json.loads((tmp_path / "b" / "transcript.json").read_text())["exchanges"]
    assert len(exchanges) == sent and all(e["cached"] for e in exchanges)
    usage = json.loads((tmp_path / "b" / "run.json").read_text())["llm"]["usage"]
    assert usage["total"]["cached"] == usage["total"]["requests"] == sent
    assert usage["total"]["prompt_tokens"] == 0  # nothing was sent to the server
    assert f"({sent} answered from the cache)" in (tmp_path / "b" / "report.md").read_text()
    assert not any(e["cached"] for e in json.loads((tmp_path / "a" / "transcript.json").read_text())["exchanges"])


@pytest.mark.timeout(120)
def test_token_usage_per_stage_and_cost_reach_run_json_and_the_report(data, tmp_path, capsys, llm_env, monkeypatch):
    monkeypatch.setenv("CAUSALPILOT_PRICE_IN", "2.5")
    monkeypatch.setenv("CAUSALPILOT_PRICE_OUT", "10")
    with FakeOpenAIServer("script", models=["fake-model"]) as srv:
        llm_env(srv.url)
        code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o", *ANALYSE], capsys)
    assert code == 0, err
    usage = json.loads((tmp_path / "o" / "run.json").read_text())["llm"]["usage"]
    n = len(srv.requests)  # the fake reports 100 prompt and 20 completion tokens per answer
    assert usage["total"] == {"requests": n, "cached": 0, "prompt_tokens": 100 * n, "completion_tokens": 20 * n,
                              "cost_usd": round((100 * n * 2.5 + 20 * n * 10) / 1e6, 6)}
    assert usage["stages"]["narrative"]["requests"] == 1 and usage["stages"]["narrative"]["prompt_tokens"] == 100
    assert sum(s["requests"] for s in usage["stages"].values()) == n and len(usage["requests"]) == n
    md = (tmp_path / "o" / "report.md").read_text()
    assert "## LLM usage" in md and f"{100 * n} prompt and {20 * n} completion tokens" in md
    assert "| narrative | 1 | 0 | 100 | 20 | 0.000450 |" in md


def test_a_bad_price_is_one_sentence(data, tmp_path, capsys, llm_env, monkeypatch):
    llm_env("http://127.0.0.1:9/v1")
    monkeypatch.setenv("CAUSALPILOT_PRICE_IN", "cheap")
    code, _, err = run_cli(["analyse", data, "--out", tmp_path / "o"], capsys)
    assert code == 2 and "CAUSALPILOT_PRICE_IN must be a price" in err


def test_usage_summary_counts_only_what_reached_the_server():
    exchanges = [{"stage": "plan", "status": 200, "cached": False, "usage": {"prompt_tokens": 1000, "completion_tokens": 10}},
                 {"stage": "plan", "status": 200, "cached": True, "usage": {"prompt_tokens": 1000, "completion_tokens": 10}},
                 {"stage": "narrative", "status": 400, "cached": False, "usage": None},
                 {"stage": "narrative", "error": "ReadTimeout", "cached": False}]
    s = usage_summary(exchanges, 1.0, 2.0)
    assert s["stages"]["plan"] == {"requests": 2, "cached": 1, "prompt_tokens": 1000, "completion_tokens": 10,
                                   "cost_usd": 0.00102}
    assert s["stages"]["narrative"]["requests"] == 2 and s["total"]["prompt_tokens"] == 1000
    assert "cost_usd" not in usage_summary(exchanges)["total"]  # no prices, no cost


def test_the_cache_key_covers_model_messages_tools_and_parameters(tmp_path):
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "tools": [], "temperature": 0}
    key = request_key(body)
    assert key == request_key(dict(reversed(list(body.items()))))  # key order does not matter
    for change in ({"model": "n"}, {"messages": []}, {"tools": [{"type": "function"}]}, {"temperature": 1}):
        assert request_key({**body, **change}) != key
    cache = ResponseCache(tmp_path)
    assert cache.get(key) is None
    cache.put(key, {"choices": []})
    assert cache.get(key) == {"choices": []}
