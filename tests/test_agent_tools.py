"""The agent tools of the contract, called directly on data with a known graph: real results, validation,
the registry's fit check, the data checks on knowledge and reviews, queries, stability and effects."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalpilot.agent.agent_tools import AgentTools, AnalysisSession, merge_knowledge
from causalpilot.agent.planners.base import Request
from causalpilot.tools.background import Background
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.loading import load_table
from causalpilot.tools.profile import profile_and_prepare

from tests.helpers import CONTRACT_TOOLS


@pytest.fixture(scope="module")
def chain(tmp_path_factory):
    """A -> B -> C (0.9 each, Gaussian noise) and D independent of everything: a known graph."""
    rng = np.random.default_rng(1)
    n = 800
    a = rng.normal(size=n)
    b = 0.9 * a + rng.normal(size=n)
    c = 0.9 * b + rng.normal(size=n)
    path = tmp_path_factory.mktemp("chain") / "chain.csv"
    pd.DataFrame({"A": a, "B": b, "C": c, "D": rng.normal(size=n)}).to_csv(path, index=False)
    return profile_and_prepare(load_table(str(path)), seed=0)


def tools_for(prepared, request=None, **kw):
    invalid = []
    session = AnalysisSession(prepared, request or Request(), seed=0, **kw)
    return AgentTools(session, on_invalid=invalid.append), invalid


def call(tools, tool, **args):
    return json.loads(tools.call(tool, args))


def test_the_contract_tools_are_all_there_with_their_argument_names(chain):
    tools, _ = tools_for(chain)
    assert set(tools.specs) == CONTRACT_TOOLS
    fields = {n: set(s.schema.model_fields) for n, s in tools.specs.items()}
    assert fields["run_discovery"] == {"algorithm", "params", "graph_name"}
    assert fields["query_graph"] == {"graph_name", "query", "node", "other"}
    assert fields["review_edge"] == {"graph_name", "source", "target", "action", "reason"}
    assert fields["propose_background"] == {"tiers", "forbidden", "required", "reason"}
    assert {t.name for t in tools.langchain_tools()} == CONTRACT_TOOLS


def test_run_discovery_returns_the_real_graph_and_the_rules_tune_what_is_left_open(chain):
    tools, invalid = tools_for(chain)
    strict = call(tools, "run_discovery", algorithm="pc", params={"alpha": 0.01}, graph_name="strict")
    assert strict["edges"] == ["A --- B", "B --- C"] and strict["graph_type"] == "CPDAG"
    assert strict["params"]["alpha"] == 0.01 and strict["params"]["indep_test"] == "fisherz"  # from the rules
    assert "indep_test" in strict["set_by_rules"] and "alpha" not in strict["set_by_rules"]
    assert "tuned_on_the_data" not in strict and isinstance(strict["bic"], float)
    tuned = call(tools, "run_discovery", algorithm="pc", graph_name="tuned")
    assert tuned["tuned_on_the_data"]["alpha_tuned"] in (0.01, 0.05, 0.1)  # alpha left open: BIC-tuned
    assert set(tools.session.graphs) == {"strict", "tuned"} and not invalid
    decisions = {d.step: d.by for d in tools.session.graphs["strict"].decisions}
    assert decisions["discovery.alpha"] == "llm" and decisions["discovery.indep_test"] == "rules"


@pytest.mark.parametrize("args,why,counted", [
    ({"algorithm": "magic"}, "Unknown algorithm", True),
    ({"algorithm": "pc", "params": {"alpha": 2.0}}, "alpha must be a number", True),
    ({"algorithm": "pc", "params": {"bogus": 1}}, "no parameter 'bogus'", True),
    ({"algorithm": "pc", "params": {"indep_test": "chisq"}}, "needs discrete data", False),  # the fit check
    ({"algorithm": "pc", "params": {"indep_test": "__import__('os')"}}, "Unknown independence test", True),
    ({"algorithm": "pcmci"}, "not ordered in time", False),  # the registry's fit check refuses it
    ({"algorithm": "pc", "graph_name": "a b"}, "graph_name must be new", True),
])
def test_invalid_or_unfit_discovery_calls_are_rejected_with_the_reason(chain, args, why, counted):
    tools, invalid = tools_for(chain)
    result = call(tools, "run_discovery", **{"graph_name": "g", **args})
    assert why in result["rejected"] and not tools.session.graphs
    assert bool(invalid) == counted  # invalid arguments count against the model; refusals are answers
    assert tools.session.trail[-1].status == "rejected"


def test_direct_lingam_on_gaussian_data_runs_with_the_fit_checks_warning(chain):
    tools, _ = tools_for(chain)
    result = call(tools, "run_discovery", algorithm="direct_lingam", graph_name="lingam")
    assert result["graph_type"] == "DAG" and any("noise looks Gaussian" in w for w in result["warnings"])
    check = [d for d in tools.session.graphs["lingam"].decisions if d.step == "discovery.fit_check"]
    assert len(check) == 1 and check[0].by == "data" and "directions may be arbitrary" in check[0].reason


def test_list_algorithms_offers_only_what_fits_one_line_each(chain):
    tools, _ = tools_for(chain)
    lines = call(tools, "list_algorithms")["algorithms"]
    names = [line.split(" ", 1)[0] for line in lines]
    assert "pc" in names and "ges" in names and not {"pcmci", "granger", "cdnod"} & set(names)
    assert all("\n" not in line and len(line) < 500 for line in lines)
    assert any(line.startswith("direct_lingam") and "Warning: the noise looks Gaussian" in line for line in lines)


def test_profile_findings_and_independence_tests_are_read_from_the_data(chain):
    tools, invalid = tools_for(chain)
    assert call(tools, "get_profile_finding", name="gaussianity")["value"] == "gaussian"
    assert call(tools, "test_independence", x="A", y="C", given=["B"])["p_value"] > 0.01  # C _||_ A | B
    assert call(tools, "test_independence", x="A", y="C")["p_value"] < 1e-10
    assert "rejected" in call(tools, "test_independence", x="A", y="nope") and len(invalid) == 1


def test_background_claims_are_tested_against_the_data(chain):
    tools, _ = tools_for(chain)
    result = call(tools, "propose_background", reason="domain knowledge", forbidden=[
        {"source": "A", "target": "B"}, {"source": "B", "target": "A"},  # a strong true edge: refused
        {"source": "A", "target": "D"}, {"source": "D", "target": "A"},  # truly absent: accepted
        {"source": "C", "target": "A"}], required=[{"source": "D", "target": "C"}])  # D _||_ C: refused
    bg = tools.session.proposed
    assert {("A", "D"), ("D", "A"), ("C", "A")} == set(bg.forbidden) and bg.required == []
    assert len(result["refused"]) == 2 and "strong direct dependence" in result["refused"][0]
    assert tools.session.decisions[0].step == "discovery.background.llm"
    # the knowledge applies to the graphs discovered afterwards
    call(tools, "run_discovery", algorithm="pc", graph_name="after")
    assert tools.session.graphs["after"].background.forbids("C", "A")


def test_the_users_knowledge_always_wins():
    merged = merge_knowledge(Background(required=[("A", "B")], forbidden=[("C", "A")]),
                             Background(required=[("C", "A")], forbidden=[("A", "B")]))
    assert merged.required == [("A", "B")] and merged.forbidden == [("C", "A")]


def test_review_edge_accepts_only_what_is_acyclic_and_not_against_the_data(chain):
    tools, invalid = tools_for(chain)
    call(tools, "run_discovery", algorithm="pc", graph_name="pc")
    assert "strongly dependent" in call(tools, "review_edge", graph_name="pc", source="A", target="B", action="remove",
                                        reason="looks spurious")["rejected"]
    ok = call(tools, "review_edge", graph_name="pc", source="A", target="B", action="orient", reason="A comes first")
    assert ok["accepted"] == "orient A --> B"
    e = tools.session.graphs["pc"].graph.edge_between("A", "B")
    assert (e.source, e.target, e.type, e.oriented_by, e.orientation.reason) == ("A", "B", "directed", "llm_review",
                                                                                 "A comes first")
    # C -> B would make A -> B <- C a collider, but A and C are dependent and independent given B: refused
    collider = call(tools, "review_edge", graph_name="pc", source="C", target="B", action="orient", reason="r")
    assert "chain or fork through B" in collider["rejected"]
    assert call(tools, "review_edge", graph_name="pc", source="A", target="D", action="keep", reason="r")["rejected"]
    assert len(invalid) == 1  # the missing edge; the refusals by the data are not errors
    # a cycle is refused; an independent pair's edge may be removed (with the data check in its reason)
    g = CausalGraph(["A", "B", "C", "D"], [Edge("A", "B", "directed"), Edge("B", "C", "directed"),
                                           Edge("A", "C", "undirected"), Edge("C", "D", "undirected")])
    tools.session.keep("hand", g)
    assert "closes the directed cycle" in call(tools, "review_edge", graph_name="hand", source="C", target="A",
                                               action="orient", reason="r")["rejected"]
    call(tools, "review_edge", graph_name="hand", source="C", target="D", action="remove", reason="D is noise")
    assert tools.session.graphs["hand"].graph.edge_between("C", "D") is None
    reasons = [d.reason for d in tools.session.graphs["hand"].review_decisions]
    assert reasons[-1].startswith("LLM: D is noise [data check: p = ")


def test_a_review_cannot_reverse_a_direction_the_data_set(chain):
    tools, _ = tools_for(chain)
    g = CausalGraph(["A", "B", "C", "D"], [Edge("A", "B", "directed"), Edge("B", "C", "directed"),
                                           Edge("C", "D", "partially_directed"), Edge("A", "D", "bidirected")],
                    graph_type="PAG")
    tools.session.keep("pag", g)
    review = lambda s, t: call(tools, "review_edge", graph_name="pag", source=s, target=t, action="orient",  # noqa: E731
                               reason="r")
    assert "the data orient this edge A -> B" in review("B", "A")["rejected"]
    assert "arrowhead at D" in review("D", "C")["rejected"]
    assert "hidden common cause" in review("A", "D")["rejected"]
    assert review("C", "D")["accepted"] == "orient C --> D"  # o-> made -->: the circle was undecided


def test_query_graph_reads_parents_paths_and_adjustment_sets(chain):
    tools, invalid = tools_for(chain)
    g = CausalGraph(["A", "B", "C", "D"], [Edge("A", "B", "directed"), Edge("B", "C", "directed"),
                                           Edge("A", "C", "directed"), Edge("C", "D", "undirected")])
    tools.session.keep("dag", g)
    q = lambda query, node, other=None: call(tools, "query_graph", graph_name="dag", query=query, node=node,  # noqa: E731
                                              other=other)
    assert q("parents", "C")["parents"] == ["A", "B"] and q("parents", "C")["possible_parents"] == ["D"]
    assert q("children", "A")["children"] == ["B", "C"]
    assert q("ancestors", "C")["ancestors"] == ["A", "B"] and q("descendants", "A")["descendants"] == ["B", "C"]
    assert q("descendants", "A")["possible_descendants"] == ["D"]
    paths = q("paths", "A", "C")["paths"]
    assert [p["path"] for p in paths] == ["A --> C", "A --> B --> C"] and all(p["directed_from_node"] for p in paths)
    assert [p["path"] for p in q("paths", "C", "A")["paths"]][1] == "C <-- B <-- A"
    adj = q("adjustment_sets", "B", "C")
    assert adj["parent_adjustment_sets"] == [["A"]] and adj["identified"] is True
    assert "needs 'other'" in q("paths", "A")["rejected"] and len(invalid) == 1


def test_compare_graphs_names_each_difference_and_reads_earlier_runs_by_key(chain, tmp_path):
    from causalpilot.memory.store import MemoryStore

    tools, _ = tools_for(chain, memory_path=tmp_path / "m.sqlite")
    call(tools, "run_discovery", algorithm="pc", graph_name="pc")
    other = CausalGraph(["A", "B", "C", "D"], [Edge("A", "B", "directed"), Edge("C", "D", "undirected")])
    with MemoryStore(tmp_path / "m.sqlite") as store:
        store.save_run("run1", data_path=None, data_sha256=None, command="t", status="done", summary={},
                       items={"run1/graph/old": ("graph", other.to_dict())})
    d = call(tools, "compare_graphs", first="pc", second="run1/graph/old")
    assert d["only_in_first"] == ["B --- C"] and d["only_in_second"] == ["C --- D"]
    assert d["marks_differ"] == ["A --- B  =>  A --> B"]
    assert "graph of an earlier run" in call(tools, "finish", graph_name="run1/graph/old", summary="s")["rejected"]


def test_stability_and_effects_are_computed_on_the_named_graph(chain):
    tools, _ = tools_for(chain)
    call(tools, "run_discovery", algorithm="pc", graph_name="pc")
    open_ = call(tools, "estimate_effect", graph_name="pc", treatment="A", outcome="C")
    assert open_["identified"] is False and open_["estimate"] is None and open_["blocking_edges"] == ["A - B"]
    lo, hi = open_["range_over_orientations"]
    assert lo < 0.2 and 0.7 < hi < 0.95  # no adjustment: ~0.81; adjusting for B (a mediator here): ~0
    call(tools, "review_edge", graph_name="pc", source="A", target="B", action="orient", reason="A first")
    call(tools, "review_edge", graph_name="pc", source="B", target="C", action="orient", reason="B first")
    est = call(tools, "estimate_effect", graph_name="pc", treatment="A", outcome="C")
    assert est["identified"] is True and abs(est["estimate"] - 0.81) < 0.1
    assert est["interval_95"][0] < est["estimate"] < est["interval_95"][1]
    assert est["refutations"] and all(r["passed"] is not False for r in est["refutations"])
    stab = call(tools, "assess_stability", graph_name="pc", resamples=4)
    assert stab["resamples"] == 4 and {e["edge"] for e in stab["edges"]} == {"A --> B", "B --> C"}
    assert all(0.0 <= e["frequency"] <= 1.0 for e in stab["edges"])
    g = tools.session.graphs["pc"].graph  # the reviews survive the rerun on resamples
    assert g.edge_between("A", "B").oriented_by == "llm_review" and g.edge_between("A", "B").confidence is not None
    assert call(tools, "finish", graph_name="pc", summary="the chain")["final"] == "pc"
    assert tools.session.final == "pc"


def test_resamples_the_time_budget_cut_are_recorded_in_the_final_decisions(chain):
    from causalpilot.agent.agent_tools import final_decisions
    from causalpilot.tools.budget import time_budget

    tools, _ = tools_for(chain)
    call(tools, "run_discovery", algorithm="pc", graph_name="pc")
    with time_budget(1e-6):  # spent: the 6 resamples asked for do not fit
        stab = call(tools, "assess_stability", graph_name="pc", resamples=6)
    assert stab["resamples"] == 0
    call(tools, "finish", graph_name="pc", summary="the chain")
    (cut,) = [d for d in final_decisions(tools.session) if d.step == "discovery.bootstrap_budget"]
    assert cut.choice == 0 and "time budget" in cut.reason


def test_the_users_algorithm_and_no_bootstrap_are_kept(chain):
    tools, _ = tools_for(chain, request=Request(algorithm="pc", bootstrap=0))
    assert "the user asked for pc" in call(tools, "run_discovery", algorithm="ges", graph_name="g")["rejected"]
    call(tools, "run_discovery", algorithm="pc", graph_name="pc")
    assert "no bootstrap" in call(tools, "assess_stability", graph_name="pc")["rejected"]


def test_after_close_nothing_changes(chain):
    tools, _ = tools_for(chain)
    tools.close()
    assert "turn is over" in call(tools, "run_discovery", algorithm="pc", graph_name="late")["rejected"]
    assert not tools.session.graphs
