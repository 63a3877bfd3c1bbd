"""`causalpilot chat` with an LLM as analyst, against a loopback OpenAI-compatible server that plays a
scripted model: it answers from the session's graph through the agent tools, sees the earlier turns
(bounded), gets each tool's real result before it replies, and an effect question reuses the graph."""

from __future__ import annotations

import io
import json
import re

import pytest

from causalpilot.agent.chat import ChatSession
from causalpilot.agent.chat_llm import HISTORY_CHARS, HISTORY_TURNS, bounded_history
from helpers import collider_csv
from llm_fakes import FakeOpenAIServer, _data_blocks, scripted_reply, task_prompt

CHAT_TASK = "Task: the user of a causal-analysis chat"


@pytest.fixture()
def heart(tmp_path):
    """age -> heart_risk <- smoking (independent causes), heart_risk -> chest_pain: every edge compelled,
    so the parents of heart_risk are known: age and smoking."""
    return collider_csv(tmp_path / "heart.csv", ("age", "smoking", "heart_risk", "chest_pain"), seed=13)


def tool_results(msgs: list[dict]) -> list[dict]:
    """The tool results the model got in this turn (after the task prompt), as parsed JSON."""
    start = max(i for i, m in enumerate(msgs) if m["role"] == "user" and (m.get("content") or "").startswith("Task:"))
    return [_data_blocks(m["content"])[0] for m in msgs[start + 1:] if m["role"] == "tool"]


def analyst(body: dict) -> dict:
    """A scripted analyst for the chat stage (the other stages: the shared script): it asks the tools,
    then writes its reply from their results only."""
    msgs = body["messages"]
    task = task_prompt(msgs)
    if not task.startswith(CHAT_TASK):
        return scripted_reply(body)
    blocks = _data_blocks(task)
    current, message = blocks[1]["graph_name"], blocks[-1].lower()
    results = tool_results(msgs)
    if m := re.search(r"what causes (\w+)", message):
        if not results:
            return {"tool_calls": [("query_graph", {"graph_name": current, "query": "parents", "node": m[1]})]}
        r = results[-1]
        return {"content": f"In {r['graph_name']}, {m[1]} is caused by {', '.join(r['parents']) or 'nothing'}."}
    if m := re.search(r"does (\w+) change (\w+)", message):
        if not results:
            return {"tool_calls": [("estimate_effect", {"treatment": m[1], "outcome": m[2]})]}
        r = results[-1]
        return {"content": f"In {r['current_graph']}, one more unit of {m[1]} moves {m[2]} by "
                           f"{r['effects'][0]['estimate']:.2f}."}
    return {"content": "Ask me about the session's graphs."}


def chat(data, tmp_path, script: str, **kw) -> tuple[ChatSession, str]:
    from causalpilot.agent.loop import get_planner

    out = io.StringIO()
    kw.setdefault("planner_factory", lambda: get_planner("rules"))  # the analysis by rules, the chat by the LLM
    s = ChatSession(str(data), out=str(tmp_path / "chat"), bootstrap=0, planner="llm", stdin=io.StringIO(script),
                    stdout=out, stderr=io.StringIO(), **kw)
    assert s.run() == 0
    return s, out.getvalue()


def parents(graph, node: str) -> list[str]:
    return sorted(e.source for e in graph.edges if e.type == "directed" and e.target == node)


@pytest.mark.timeout(120)
def test_what_causes_is_answered_from_the_current_graph_after_the_tool_result(heart, tmp_path, llm_env):
    with FakeOpenAIServer("script", reply=analyst) as srv:
        llm_env(srv.url)
        s, text = chat(heart, tmp_path, "what causes heart_risk?\n/quit\n")
    truth = parents(s.graphs["g1"], "heart_risk")
    assert truth == ["age", "smoking"]  # the known answer, found in the session's graph
    # (1) the model called query_graph on the current graph; the reply shown names the graph and its parents
    assert f"In g1, heart_risk is caused by {', '.join(truth)}." in text
    # the terminal showed the tool while it ran, and its result as computed (not the model's words)
    assert "running query_graph g1 parents heart_risk ..." in text
    assert "query_graph: parents of heart_risk: age, smoking" in text
    assert text.index("running query_graph") < text.index("In g1, heart_risk") < text.index("bye.")
    assert text.count("In g1, heart_risk is caused by") == 1  # shown once, as it arrived
    # (3) the request after the tool call carries the tool's real JSON result
    first, second = srv.requests
    assert not any(m["role"] == "tool" for m in first["messages"])
    tool = [m for m in second["messages"] if m["role"] == "tool"]
    assert len(tool) == 1
    result = _data_blocks(tool[0]["content"])[0]
    assert result["graph_name"] == "g1" and result["parents"] == truth and result["query"] == "parents"
    # the model was shown the current graph with its edges
    context = _data_blocks(task_prompt(first["messages"]))[1]
    assert context["graph_name"] == "g1" and "smoking --> heart_risk" in context["edges"]
    hist = json.loads((tmp_path / "chat" / "chat_history.json").read_text())
    assert hist["history"][1]["text"] == f"In g1, heart_risk is caused by {', '.join(truth)}."
    assert hist["llm"][0]["stages"][0]["stage"] == "chat"


@pytest.mark.timeout(120)
def test_the_reply_is_streamed_to_the_terminal_as_it_arrives_and_cached_whole(heart, tmp_path, llm_env):
    """A server that streams (server-sent events): the words reach the terminal piece by piece while the
    message comes in, the tool call's pieces are joined, and the transcript (and so the cache and the
    replay) keeps the whole completion."""
    from causalpilot.agent.chat_llm import reply_stream

    out = io.StringIO()
    state = reply_stream(out)
    state["piece"]("  In g1, \x1b[31mred\x1b[0m")  # no control sequence reaches the terminal
    state["end"]()
    assert out.getvalue() == "In g1, [31mred[0m\n"
    with FakeOpenAIServer("script", reply=analyst, stream=True) as srv:
        llm_env(srv.url)
        s, text = chat(heart, tmp_path, "what causes heart_risk?\n/quit\n")
    assert all(r.get("stream") is True for r in srv.requests)  # the chat asked for a stream
    assert text.count("In g1, heart_risk is caused by age, smoking.") == 1
    assert "query_graph: parents of heart_risk: age, smoking" in text  # the streamed tool call was whole
    hist = json.loads((tmp_path / "chat" / "chat_history.json").read_text())
    ex = hist["llm"][0]["exchanges"]
    final = ex[-1]["response"]["choices"][0]["message"]
    assert final["content"] == "In g1, heart_risk is caused by age, smoking." and ex[-1]["usage"] == {"prompt_tokens": 100, "completion_tokens": 20}
    call = ex[0]["response"]["choices"][0]["message"]["tool_calls"][0]["function"]
    assert json.loads(call["arguments"]) == {"graph_name": "g1", "query": "parents", "node": "heart_risk"}


def test_a_streamed_completion_is_assembled_piece_by_piece():
    from causalpilot.agent.llm_cache import assemble_stream

    seen: list[str] = []
    lines = ['data: {"id": "c1", "model": "m", "choices": [{"index": 0, "delta": {"role": "assistant"}}]}', "",
             'data: {"choices": [{"index": 0, "delta": {"content": "Hel"}}]}',
             'data: {"choices": [{"index": 0, "delta": {"content": "lo."}}]}',
             'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "t1", "function": '
             '{"name": "query_graph", "arguments": "{\\"node\\": "}}]}}]}',
             'data: {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": '
             '"\\"y\\"}"}}]}, "finish_reason": "tool_calls"}]}',
             ": keep-alive", "data: not json",
             'data: {"choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}',
             "data: [DONE]", 'data: {"choices": [{"index": 0, "delta": {"content": "after"}}]}']
    got = assemble_stream(lines, seen.append)
    assert seen == ["Hel", "lo."]
    msg = got["choices"][0]["message"]
    assert msg["content"] == "Hello." and got["choices"][0]["finish_reason"] == "tool_calls"
    assert msg["tool_calls"] == [{"id": "t1", "type": "function", "function": {"name": "query_graph",
                                                                              "arguments": '{"node": "y"}'}}]
    assert got["usage"]["total_tokens"] == 7 and got["id"] == "c1" and got["model"] == "m"


@pytest.mark.timeout(120)
def test_the_model_sees_the_earlier_turns_and_the_history_is_bounded(heart, tmp_path, llm_env):
    asks = ["what causes heart_risk?", "what causes chest_pain?"] + [f"what causes age? ({k})" for k in range(7)]
    with FakeOpenAIServer("script", reply=analyst) as srv:
        llm_env(srv.url)
        s, text = chat(heart, tmp_path, "\n".join(asks) + "\n")
    opening = [r["messages"] for r in srv.requests if not any(m["role"] == "tool" for m in r["messages"])]
    assert len(opening) == len(asks)
    # (2) the second turn's request holds the first turn: the user's message and the reply shown
    second = opening[1]
    assert [m["role"] for m in second[:3]] == ["system", "user", "assistant"]
    assert second[1]["content"] == "what causes heart_risk?"
    assert second[2]["content"] == "In g1, heart_risk is caused by age, smoking."
    assert "In g1, chest_pain is caused by heart_risk." in text
    # the last turn sees only the last HISTORY_TURNS turns: the first ones are gone
    last = opening[-1]
    earlier_users = [m["content"] for m in last[1:-1] if m["role"] == "user"]
    assert len(earlier_users) == HISTORY_TURNS and "what causes heart_risk?" not in earlier_users
    assert earlier_users[-1] == asks[-2]


def test_bounded_history_keeps_whole_recent_turns_within_the_size_cap():
    hist = []
    for k in range(10):
        hist += [{"role": "user", "text": f"question {k}"}, {"role": "assistant", "text": "x" * 2500}]
    kept = bounded_history(hist)
    assert kept[0]["role"] == "user" and kept[-1]["role"] == "assistant"
    assert sum(len(h["text"]) for h in kept) <= HISTORY_CHARS
    assert kept[-2]["text"] == "question 9" and len(kept[-1]["text"]) == 1500  # each reply cut
    assert len(kept) == 2 * (HISTORY_CHARS // (1500 + len("question 9")))  # whole turns, oldest dropped
    short = [{"role": "assistant", "text": "opening"}] + hist[:4]
    assert bounded_history(short)[0]["text"] == "question 0"  # a reply without its message stays out
    assert len(bounded_history(hist, turns=2)) == 4


@pytest.mark.timeout(180)
def test_an_effect_question_reuses_the_graph_under_the_llm_planner(heart, tmp_path, llm_env, monkeypatch):
    """(4) with the LLM planner for the analysis too: neither the model's effect question nor the grammar's
    reruns discovery; each estimates on the graph of the first run."""
    import causalpilot.agent.loop as loop

    calls = []
    real = loop.find_structure
    monkeypatch.setattr(loop, "find_structure", lambda *a, **k: calls.append(1) or real(*a, **k))
    script = "how much does smoking change heart_risk?\neffect of age on heart_risk\n/quit\n"
    with FakeOpenAIServer("script", reply=analyst) as srv:
        llm_env(srv.url)
        s, text = chat(heart, tmp_path, script, planner_factory=None)
    assert s.result.run_info["planner"] == "llm"
    assert len(calls) == 1 and list(s.graphs) == ["g1", "g2", "g3"]
    assert text.count("reused: only the effect asked about changed") == 2
    assert s.graphs["g2"] is s.graphs["g1"] and s.graphs["g3"] is s.graphs["g1"]
    # the model's reply comes from the estimate the tool returned (smoking's true effect 0.8)
    est = json.loads((tmp_path / "chat" / "g2" / "effects.json").read_text())[0]
    assert (est["treatment"], est["outcome"]) == ("smoking", "heart_risk") and est["ci_low"] < 0.8 < est["ci_high"]
    assert f"In g2, one more unit of smoking moves heart_risk by {est['estimate']:.2f}." in text
    eff = s.result.effects[0]
    assert (eff["treatment"], eff["outcome"]) == ("age", "heart_risk") and eff["ci_low"] < 0.6 < eff["ci_high"]


def test_without_an_llm_the_grammar_reads_graph_questions_from_the_current_graph(heart, tmp_path):
    out = io.StringIO()
    s = ChatSession(str(heart), out=str(tmp_path / "chat"), bootstrap=0, stdin=io.StringIO(
        "what causes heart_risk?\nwhat does heart_risk affect\nwhat causes nowhere\n"), stdout=out,
        stderr=io.StringIO())
    assert s.run() == 0
    text = out.getvalue()
    g = s.graphs["g1"]
    assert parents(g, "heart_risk") == ["age", "smoking"]
    assert f"In g1 ({g.algorithm}): parents of heart_risk: age, smoking." in text
    assert f"In g1 ({g.algorithm}): children of heart_risk: chest_pain." in text
    assert "Column 'nowhere' is not among the analysed variables" in text and list(s.graphs) == ["g1"]
