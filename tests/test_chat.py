"""The chat session with scripted input (stdin is not a TTY): grammar, commands, memory, LLM path."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from langchain_core.messages import AIMessage

from causalpilot.agent.chat import ChatSession, graph_diff
from helpers import collider_csv
from llm_fakes import FakeOpenAIServer, ScriptedChatModel, tool_call
from causalpilot.memory.store import MemoryStore
from causalpilot.tools.graph import CausalGraph, Edge


@pytest.fixture()
def data(tmp_path):
    """age -> smoking -> cancer, age -> cancer: a known graph with a known total effect of smoking (0.8)."""
    rng = np.random.default_rng(5)
    n = 600
    age = rng.normal(size=n)
    smoking = 0.8 * age + rng.normal(size=n)
    cancer = 0.8 * smoking + 0.6 * age + rng.normal(size=n)
    path = tmp_path / "health.csv"
    pd.DataFrame({"age": age, "smoking": smoking, "cancer": cancer}).to_csv(path, index=False)
    return path


@pytest.fixture()
def discoveries(monkeypatch):
    """One entry per time the session ran discovery (agent.loop.find_structure) rather than reusing a graph."""
    import causalpilot.agent.loop as loop

    calls = []
    real = loop.find_structure
    monkeypatch.setattr(loop, "find_structure", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def session(data, tmp_path, script, **kw):
    out = io.StringIO()
    s = ChatSession(str(data), out=str(tmp_path / "chat"), bootstrap=0, stdin=io.StringIO(script), stdout=out,
                    stderr=io.StringIO(), **kw)
    assert s.run() == 0
    return s, out.getvalue()


def test_rules_grammar_session(data, tmp_path):
    script = "\n".join([
        "/help", "use FCI", "forbid edges into age", "effect of smoking on \\", "cancer?", "compare g1 g3",
        "/graph", "/effects", "/save final", "what is the meaning of life", "use magic", "/nonsense",
        "forbid age -> nowhere", "/quit", "use pc",  # after /quit nothing more is read
    ]) + "\n"
    s, text = session(data, tmp_path, script)
    assert list(s.graphs) == ["g1", "g2", "g3", "g4", "final"]
    assert s.graphs["g2"].algorithm == "fci" and s.graphs["g2"].graph_type == "PAG"
    # forbidding edges into age: no arrowhead at age in g3
    assert not any(e.target == "age" and e.type in ("directed", "partially_directed", "bidirected")
                   for e in s.graphs["g3"].edges)
    eff = s.result.effects[0]
    assert (eff["treatment"], eff["outcome"]) == ("smoking", "cancer")
    assert eff["ci_low"] - 0.1 < 0.8 < eff["ci_high"] + 0.1  # the known effect, adjusted for age
    assert "vs g3" in text and "Unknown algorithm 'magic'" in text and "Unknown command '/nonsense'" in text
    assert "Column 'nowhere' is not among the analysed variables" in text
    assert "I did not understand that" in text and text.rstrip().endswith("bye.")
    assert s.settings.algorithm == "fci"  # 'use pc' after /quit was never read
    hist = json.loads((tmp_path / "chat" / "chat_history.json").read_text())
    assert hist["history"][0]["text"] == "/help" and hist["graphs"]["final"].endswith("/graph/final")
    with MemoryStore() as store:
        item = store.get(f"{s.session_key}/graph/g2")
    assert item["kind"] == "graph" and CausalGraph.from_dict(item["payload"]).algorithm == "fci"


def test_effect_request_reads_word_forms_of_column_names(data, tmp_path):
    s, text = session(data, tmp_path, "effect of the smokers on cancers\neffect of smoking on ages\n/quit\n")
    assert "Estimating the effect of smoking on cancer" in text and "Estimating the effect of smoking on age" in text
    eff = s.result.effects[0]  # the last request's
    assert (eff["treatment"], eff["outcome"]) == ("smoking", "age") and len(s.graphs) == 3


@pytest.fixture
def collider_data(tmp_path):
    """age -> cancer <- smoking (independent causes), cancer -> cough: every edge is compelled."""
    return collider_csv(tmp_path / "collider.csv", ("age", "smoking", "cancer", "cough"), seed=6)


def test_a_new_effect_question_reuses_the_graph_and_a_new_setting_does_not(collider_data, tmp_path, discoveries):
    calls = discoveries
    script = "effect of smoking on cancer\neffect of age on cancer\nforbid cough -> age\neffect of cancer on cough\n/quit\n"
    s, text = session(collider_data, tmp_path, script)
    # g1 (first run), g2 smoking -> cancer (reused), g3 age -> cancer (reused), g4 new background, g5 (reused):
    # each pair asked about is already directed treatment -> outcome, so "the outcome does not cause the
    # treatment" changes nothing and the graph stands
    assert len(calls) == 2 and list(s.graphs) == ["g1", "g2", "g3", "g4", "g5"]
    assert text.count("reused: only the effect asked about changed") == 3
    eff = s.result.effects[0]
    assert (eff["treatment"], eff["outcome"]) == ("cancer", "cough") and eff["identified"]
    assert eff["ci_low"] < 0.7 < eff["ci_high"]
    assert json.loads((tmp_path / "chat" / "g3" / "effects.json").read_text())[0]["treatment"] == "age"


def test_an_effect_question_on_an_open_edge_finds_the_graph_again(data, tmp_path, discoveries):
    """In the complete triangle every edge is undirected: asking for smoking's effect on cancer adds
    "cancer does not cause smoking", which changes the graph, so it is not reused."""
    calls = discoveries
    s, text = session(data, tmp_path, "effect of smoking on cancer\n/quit\n")
    assert len(calls) == 2 and "reused" not in text
    e = s.graphs["g2"].edge_between("smoking", "cancer")
    assert e.type == "directed" and e.source == "smoking"
    eff = s.result.effects[0]
    # age - smoking keeps no direction: one of the orientations gives the true total effect 0.8
    assert not eff["identified"] and any(x["ci_low"] < 0.8 < x["ci_high"] for x in eff["estimates"])


def test_end_of_input_ends_cleanly_without_data(tmp_path):
    out = io.StringIO()
    s = ChatSession(None, stdin=io.StringIO("/graph\nrerun\n/graphs\n"), stdout=out)
    assert s.run() == 0
    text = out.getvalue()
    assert "No analysis yet" in text and "No data file" in text and "No graphs yet" in text and "bye." in text


def test_graph_diff_names_every_difference():
    nodes = ["a", "b", "c", "d"]
    g1 = CausalGraph(nodes, [Edge("a", "b", "directed"), Edge("b", "c", "undirected"), Edge("c", "d", "directed")])
    g2 = CausalGraph(nodes, [Edge("b", "a", "directed"), Edge("b", "c", "undirected"), Edge("a", "d", "directed")])
    assert graph_diff(g1, g2) == {"only_in_first": ["c --> d"], "only_in_second": ["a --> d"],
                                  "changed": ["a --> b  =>  b --> a"]}


def test_free_text_goes_through_the_llm_as_validated_actions(data, tmp_path):
    def ai(*calls, text=""):
        return AIMessage(content=text, tool_calls=[tool_call(n, a, k) for k, (n, a) in enumerate(calls)])

    # the planner stage of each analysis is given a model that fails -> rules fallback; the chat turns
    # use the scripted model: one valid action, then a hallucinated column that is rejected and corrected
    chat_model = ScriptedChatModel(script=[
        ai(("forbid_edges_into", {"column": "age"})), ai(text="Forbidden."),
        ai(("estimate_effect", {"treatment": "tobacco", "outcome": "cancer"})),
        ai(("estimate_effect", {"treatment": "smoking", "outcome": "cancer"})), ai(text="Estimating."),
    ])
    from causalpilot.agent.llm_runtime import LLMConfig
    from causalpilot.agent.planners.llm import LLMPlanner

    def failing_planner():
        def down(_):
            raise ConnectionError("no model for planning in this test")
        return LLMPlanner(cfg=LLMConfig(), model=ScriptedChatModel(script=[down] * 3), notice=lambda m: None)

    s = ChatSession(str(data), out=str(tmp_path / "c"), bootstrap=0, planner="llm", llm_model=chat_model,
                    planner_factory=failing_planner, stdin=io.StringIO(
                        "please make sure nothing points into age\nhow big is the effect of smoking on cancer\n"),
                    stdout=io.StringIO())
    assert s.run() == 0
    assert s.settings.forbidden == sorted({("smoking", "age"), ("cancer", "age")})
    assert (s.settings.treatment, s.settings.outcome) == ("smoking", "cancer")
    assert list(s.graphs) == ["g1", "g2", "g3"] and s.result.effects
    # the change tools answer with the session's own outcome, a refusal included, before the model replies
    assert "Column 'tobacco' is not among the analysed variables" in json.dumps(s.transcripts)


@pytest.mark.timeout(120)
def test_chat_cli_against_a_local_openai_server(data, tmp_path, monkeypatch, capsys):
    """`causalpilot chat DATA` with piped input and the real openai client on 127.0.0.1."""
    from causalpilot.agent.cli import main

    with FakeOpenAIServer("script") as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
        monkeypatch.setenv("CAUSALPILOT_LLM_TIMEOUT", "5")
        monkeypatch.setattr("sys.stdin", io.StringIO("Could you use FCI instead?\n/graph\n"))
        with pytest.raises(SystemExit) as exc:
            main(["chat", str(data), "--out", str(tmp_path / "cli"), "-B", "0"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    assert "Using fci." in text and "[g2] fci found" in text and "bye." in text
    hist = json.loads((tmp_path / "cli" / "chat_history.json").read_text())
    assert hist["settings"]["algorithm"] == "fci" and hist["llm"][0]["stages"][0]["stage"] == "chat"


def test_a_failed_request_leaves_the_session_as_it_was(data, tmp_path):
    script = ("use fci\nforbid edges into age\nload nosuchfile.csv\nuse pc with alpha 2\n"
              "effect of smoking on cancer\n/quit\n")
    s, text = session(data, tmp_path, script)
    assert "Data file 'nosuchfile.csv' does not exist" in text and "alpha must be between 0 and 1" in text
    # the failed load kept the data and settings; the half-applied 'use pc ...' was undone
    assert s.data == str(data) and s.settings.algorithm == "fci" and s.settings.params == {}
    assert s.settings.forbidden == sorted({("smoking", "age"), ("cancer", "age")})
    assert list(s.graphs) == ["g1", "g2", "g3", "g4"] and s.graphs["g4"].algorithm == "fci"
    eff = s.result.effects[0]  # a later request works on the earlier data and settings
    assert (eff["treatment"], eff["outcome"]) == ("smoking", "cancer") and s.result.graph.graph_type == "PAG"


def test_require_after_forbid_replaces_the_prohibition_and_says_so(data, tmp_path):
    s, text = session(data, tmp_path, "forbid smoking -> cancer\nrequire smoking -> cancer\n/quit\n")
    assert "Requiring smoking -> cancer: this replaces your earlier prohibition of smoking -> cancer." in text
    assert s.settings.forbidden == [] and s.settings.required == [("smoking", "cancer")]
    assert any((e.source, e.target, e.type) == ("smoking", "cancer", "directed") for e in s.result.graph.edges)


def test_a_prohibition_already_in_force_is_not_called_a_reused_graph(data, tmp_path, discoveries):
    calls = discoveries
    script = "effect of smoking on cancer\nforbid edges into age\nforbid cancer -> age\nforbid smoking -> age\n/quit\n"
    s, text = session(data, tmp_path, script)
    answers = text.split("Forbidding every edge into age.")[1]
    assert "reused" not in answers  # a new background is rediscovered, and a repeated one reruns nothing
    assert "The edge cancer -> age is already forbidden.\nNothing changed, so nothing was rerun." in answers
    # g1, g2 (the effect question orients the open smoking - cancer edge: found again), g3 (new background)
    assert len(calls) == 3 and list(s.graphs) == ["g1", "g2", "g3"]


def test_a_zero_effect_that_the_users_prohibition_makes_is_said_to_come_from_it(collider_data, tmp_path):
    # cough's only link is to cancer: forbidding cancer -> cough (with "cough does not cause cancer", which
    # asking for the effect assumes) leaves no path, so the zero is the prohibition's, not the data's
    s, text = session(collider_data, tmp_path, "effect of cancer on cough\nforbid cancer -> cough\n/quit\n")
    said = "The effect of cancer on cough is 0 because you forbade cancer -> cough"
    reply = text.split("Forbidding cancer -> cough.")[1]
    assert said in reply and "not from the data" in reply and "According to the graph" not in reply
    assert "changes cough by 0 on average" not in reply and "The data disagree" in reply
    assert said in (tmp_path / "chat" / "g3" / "report.md").read_text()


def test_the_offline_grammar_reads_the_settings_of_analyse(collider_data, tmp_path):
    script = "\n".join(["use pc with alpha 0.01 and the fisherz test", "bootstrap 3", "set the seed to 2",
                        "treatment smoking", "outcome cancer", "use ges", "no bootstrap", "/quit"]) + "\n"
    s, text = session(collider_data, tmp_path, script)  # smoking -> cancer is compelled: the graph is reused
    g2 = s.graphs["g2"]
    assert g2.algorithm == "pc" and g2.parameters["alpha"] == 0.01 and g2.parameters["indep_test"] == "fisherz"
    run = json.loads((tmp_path / "chat" / "g3" / "run.json").read_text())
    assert run["discovery"]["bootstrap"]["replicates"] == 3 and run["seed"] == 0
    assert json.loads((tmp_path / "chat" / "g4" / "run.json").read_text())["seed"] == 2
    # the treatment alone asks for the outcome; with both, the effect is estimated on the same graph
    assert "Setting the treatment to smoking.\nName the outcome too" in text
    assert "the graph of g4, reused: only the effect asked about changed" in text
    assert "Using ges (alpha 0.01, indep_test fisherz does not apply to it and is dropped)." in text
    assert s.settings.to_dict() == {"algorithm": "ges", "forbidden": [], "required": [], "treatment": "smoking",
                                    "outcome": "cancer", "params": {}, "bootstrap": 0, "seed": 2}
    eff = s.result.effects[0]
    assert (eff["treatment"], eff["outcome"]) == ("smoking", "cancer") and s.result.graph.algorithm == "ges"


@pytest.mark.parametrize("text, actions", [
    ("alpha 0.01 and the kci test", [("set_alpha", "0.01"), ("set_indep_test", "kci")]),
    ("alpha = 0.2, bootstrap 50; seed 7", [("set_alpha", "0.2"), ("set_bootstrap", "50"), ("set_seed", "7")]),
    ("kci", [("set_indep_test", "kci")]),
    ("the independence test to rcit", [("set_indep_test", "rcit")]),
    ("100 bootstrap resamples", [("set_bootstrap", "100")]),
    ("no bootstrap", [("set_bootstrap", "no")]),
    ("treatment new drug and outcome recovery", [("set_treatment", "new drug"), ("set_outcome", "recovery")]),
    ("fci", None), ("pc with alpha 0.01", None), ("rerun", None), ("the meaning of life", None),
])
def test_setting_sentences(text, actions):
    from causalpilot.agent.chat_grammar import setting_actions

    got = setting_actions(text)
    assert (None if got is None else [(k, a["value"]) for k, a in got]) == actions


def test_slash_commands_in_plain_words(data, tmp_path):
    """'help' and 'show graph' were answered 'I did not understand that'; only /help and /graph worked."""
    s, text = session(data, tmp_path, "help\nshow graph\nshow the graph g1\neffects\nsave as kept\n")
    assert "I did not understand" not in text
    assert "Commands:" in text and "/graph [NAME]" in text  # the help
    assert text.count("g1: ") == 2 and text.count(s.graphs["g1"].edges[0].describe()) == 2  # the graph, twice
    assert "No effects estimated yet" in text
    assert "kept" in s.graphs


@pytest.mark.parametrize("text, slash", [("help", "/help"), ("Help?", "/help"), ("show graph", "/graph"),
                                         ("show the graph g2", "/graph g2"), ("graphs", "/graphs"),
                                         ("show effects", "/effects"), ("save as g5", "/save g5"),
                                         ("what causes cancer", None), ("use fci", None)])
def test_plain_command_reading(text, slash):
    from causalpilot.agent.chat_grammar import plain_command

    assert plain_command(text) == slash


def test_a_graph_of_an_earlier_run_is_read_by_its_memory_key(data, tmp_path):
    """`analyse` keeps its graph as RUN/graph/rules; a later chat shows it and compares with it by that key."""
    import causalpilot

    earlier = causalpilot.analyse(str(data), bootstrap=0, out=tmp_path / "earlier")
    key = f"{earlier.run_id}/graph/rules"
    s, text = session(data, tmp_path, f"/graph {key}\ncompare g1 {key}\ncompare g1 nosuch/graph/x\n/quit\n")
    assert f"{key}: {earlier.graph.algorithm} found {len(earlier.graph.edges)} edge(s)" in text
    assert f"g1 ({s.graphs['g1'].algorithm}, {len(s.graphs['g1'].edges)} edges) vs {key} (" in text
    assert "No graph named 'nosuch/graph/x'" in text
