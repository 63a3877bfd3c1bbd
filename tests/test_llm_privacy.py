"""Privacy by default: `--share-data N` rows, a seeded random sample, labels only with rows, data_sent recorded."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from helpers import run_cli
from llm_fakes import FakeOpenAIServer

LABELS = ["zebra-clinic", "yak-hospital", "quokka-ward", "seldom-ish", "often-ish"]


@pytest.fixture()
def mixed(tmp_path):
    """A continuous chain with two text columns whose labels are distinctive strings."""
    rng = np.random.default_rng(5)
    n = 500
    clinic = rng.choice(LABELS[:3], n)
    habit = rng.choice(LABELS[3:], n)
    x = rng.normal(size=n) + (clinic == "zebra-clinic")
    y = 0.8 * x + rng.normal(size=n) + (habit == "often-ish")
    path = tmp_path / "mixed.csv"
    pd.DataFrame({"clinic": clinic, "habit": habit, "x": x, "y": y}).to_csv(path, index=False)
    return path


def rows_in(body: dict) -> list[dict]:
    prompt = next(m["content"] for m in body["messages"] if m["role"] == "user")
    blocks = []
    for b in re.findall(r"<data>(.*?)</data>", prompt, flags=re.S):
        try:
            blocks.append(json.loads(b))
        except json.JSONDecodeError:  # the catalogue: one JSON string per line
            pass
    return next((b for b in blocks if isinstance(b, list) and b and isinstance(b[0], dict) and "x" in b[0]), [])


def analyse(path, out, capsys, llm_env, *extra):
    with FakeOpenAIServer("script", models=["fake-model"]) as srv:
        llm_env(srv.url)
        code, _, err = run_cli(["analyse", path, "--out", out, "-B", "0", *extra], capsys)
    assert code == 0, err
    return srv, json.loads((out / "run.json").read_text())


@pytest.mark.timeout(120)
def test_share_data_0_sends_no_rows_and_no_category_labels(mixed, tmp_path, capsys, llm_env):
    srv, run = analyse(mixed, tmp_path / "o", capsys, llm_env, "--share-data", "0")
    sent = json.dumps(srv.requests)
    assert srv.requests and not any(label in sent for label in LABELS)
    assert rows_in(srv.requests[0]) == []
    assert run["llm"]["share_data"] == 0
    assert run["llm"]["data_sent"] == {"rows": [], "columns": [], "labels": []}
    assert "labels not shared" in sent  # the coding is described, without the labels
    assert "zebra-clinic" in json.dumps(run["profile"])  # the local record keeps them


@pytest.mark.timeout(120)
def test_rows_are_a_seeded_sample_recorded_in_run_json(mixed, tmp_path, capsys, llm_env):
    srv, run = analyse(mixed, tmp_path / "a", capsys, llm_env, "--share-data", "7", "--seed", "3")
    sent = run["llm"]["data_sent"]
    assert len(sent["rows"]) == 7 and sent["rows"] != list(range(7)) and sent["rows"] == sorted(sent["rows"])
    assert sent["columns"] == ["clinic", "habit", "x", "y"] and sent["labels"] == ["clinic", "habit"]
    frame = pd.read_csv(mixed)  # no row was dropped or reordered here, so positions are the file's rows
    shown = rows_in(srv.requests[0])
    assert [r["x"] for r in shown] == [round(float(v), 4) for v in frame.loc[sent["rows"], "x"]]
    assert "zebra-clinic" in json.dumps(srv.requests[0])  # labels go out with the rows
    _, same = analyse(mixed, tmp_path / "b", capsys, llm_env, "--share-data", "7", "--seed", "3")
    _, other = analyse(mixed, tmp_path / "c", capsys, llm_env, "--share-data", "7", "--seed", "4")
    assert same["llm"]["data_sent"] == sent and other["llm"]["data_sent"]["rows"] != sent["rows"]


@pytest.mark.timeout(120)
def test_share_data_defaults_to_5_rows_and_alone_means_50(mixed, tmp_path, capsys, llm_env):
    srv, run = analyse(mixed, tmp_path / "d", capsys, llm_env)
    assert len(rows_in(srv.requests[0])) == 5 == len(run["llm"]["data_sent"]["rows"])
    srv, run = analyse(mixed, tmp_path / "e", capsys, llm_env, "--share-data")
    assert len(rows_in(srv.requests[0])) == 50 == run["llm"]["share_data"]


def test_a_negative_share_data_is_one_sentence(mixed, tmp_path, capsys, llm_env):
    llm_env("http://127.0.0.1:9/v1")
    code, _, err = run_cli(["analyse", mixed, "--out", tmp_path / "o", "--share-data", "-3"], capsys)
    assert code == 2 and "--share-data must be a number of rows" in err


def prying(body: dict) -> dict:
    """A model that asks for everything a tool can tell about the coded columns: every profile finding,
    the effects of both text columns, the parents of the outcome; then a narrative."""
    msgs = body["messages"]
    user = next(m["content"] for m in msgs if m["role"] == "user")
    called = [tc["function"]["name"] for m in msgs if m["role"] == "assistant" for tc in m.get("tool_calls") or []]
    if user.startswith("Task: analyse"):
        if not called:
            profile = json.loads(user.split("gives the evidence of a finding):\n<data>")[1].split("</data>")[0])
            return {"tool_calls": [("get_profile_finding", {"name": name}) for name in profile["findings"]]
                    + [("run_discovery", {"algorithm": "pc", "graph_name": "g"})]}
        if "finish" not in called:
            return {"tool_calls": [("estimate_effect", {"graph_name": "g", "treatment": "clinic", "outcome": "y"}),
                                   ("estimate_effect", {"graph_name": "g", "treatment": "habit", "outcome": "y"}),
                                   ("query_graph", {"graph_name": "g", "query": "parents", "node": "y"}),
                                   ("finish", {"graph_name": "g", "summary": "PC"})]}
        return {"content": "done"}
    if "narrative" in user:
        return {"content": json.dumps({"summary": "The clinic changes y through x.", "caveats": []})}
    return {"content": "ok"}


def observations(srv) -> list[str]:
    return [m["content"] for body in srv.requests for m in body["messages"] if m["role"] == "tool"]


@pytest.mark.timeout(180)
def test_without_rows_no_tool_result_and_no_narrative_fact_carries_a_label(mixed, tmp_path, capsys, llm_env):
    runs = {}
    for share in ("0", "7"):
        with FakeOpenAIServer("script", reply=prying, models=["fake-model"]) as srv:
            llm_env(srv.url, steps="8")
            code, _, err = run_cli(["analyse", mixed, "--out", tmp_path / share, "-B", "0", "--share-data", share],
                                   capsys)
        assert code == 0 and "notice" not in err, err
        runs[share] = srv
    seen = observations(runs["0"])
    assert len(seen) == len(observations(runs["7"])) >= 14  # every call was answered, with or without rows
    labelled = [o for o in observations(runs["7"]) if any(label in o for label in LABELS)]
    assert labelled  # the tools' results do name the categories when rows (and so labels) are shared ...
    assert not any(label in json.dumps(runs["0"].requests) for label in LABELS)  # ... and never without rows
    assert any("code " in o for o in seen)  # the categories are named by their codes instead
    narrative = json.dumps(runs["0"].requests[-1])
    assert "Facts of the run" in narrative and "y" in narrative
    report = (tmp_path / "0" / "report.md").read_text()
    assert "zebra-clinic" in report or "often-ish" in report  # the local report keeps the labels


def test_without_rows_the_time_index_values_stay_local(tmp_path):
    """A daily series with gaps: the time_grid finding names the dates around the gaps; the model sees
    them only when rows are shared."""
    from langchain_core.messages import AIMessage

    from causalpilot.agent.agent_tools import AnalysisSession
    from causalpilot.agent.llm_runtime import LLMConfig
    from causalpilot.agent.planners.base import Request
    from causalpilot.agent.planners.llm import LLMPlanner
    from causalpilot.tools.loading import load_table
    from causalpilot.tools.profile import profile_and_prepare
    from llm_fakes import ScriptedChatModel, tool_call

    rng = np.random.default_rng(0)
    days = pd.date_range("2021-01-01", periods=300, freq="D")
    kept = np.ones(300, bool)
    kept[[50, 51, 52, 120, 200]] = False
    x = np.cumsum(rng.normal(size=300))
    y = 0.5 * np.r_[0.0, x[:-1]] + rng.normal(size=300)
    path = tmp_path / "daily.csv"
    pd.DataFrame({"date": days[kept].strftime("%Y-%m-%d"), "x": x[kept], "y": y[kept]}).to_csv(path, index=False)
    prepared = profile_and_prepare(load_table(str(path)), seed=0, time_index="date")
    assert "2021-02-19" in prepared.profile.findings["time_grid"].summary  # the local profile names them

    def seen_by_model(share: int) -> str:
        script = [AIMessage(content="", tool_calls=[tool_call("get_profile_finding", {"name": "time_grid"})]),
                  AIMessage(content="ok")]
        planner = LLMPlanner(cfg=LLMConfig(budget_s=60), model=ScriptedChatModel(script=script), share_data=share,
                             notice=lambda m: None)
        planner.analyse(AnalysisSession(prepared, Request(), memory_path=False))
        return json.dumps([[m.content for m in call] for call in planner._model.calls])

    private, shared = seen_by_model(0), seen_by_model(5)
    assert "2021-02-19" in shared and "2021-" not in private
    assert "the times are not shared" in private and "5 of its 300 steps missing in 3 gap(s)" in private
