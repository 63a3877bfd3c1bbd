"""The rules planner runs its plan as a fixed sequence of the agent tools (issue #19, item 2): run.json's
``agent`` trail lists run_discovery -> assess_stability -> estimate_effect -> finish, each a real call,
and the graph and effects are exactly those of the planner's plan run in one go (the algorithm with its
bootstrap in one discover() call, then the inference step), as before the tools carried the plan."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalpilot.agent.agent_tools import effect_phrase
from causalpilot.agent.loop import (AnalysisOptions, _effect_order, _roots, derive_seed, discover, discovery_input,
                                    run_analysis)
from causalpilot.agent.outputs import json_text
from causalpilot.agent.planners.base import Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.tools.inference.run import EffectRequest, run_inference
from causalpilot.tools.loading import load_table
from causalpilot.tools.profile import profile_and_prepare
from causalpilot.tools.registry import deletes_testwise
from causalpilot.tools.tuning import complete_plan


@pytest.fixture(scope="module")
def confounded(tmp_path_factory):
    """Z -> A <- W, Z -> C, A -> B -> C (Gaussian noise): the collider at A orients the rest, and the effect
    of A on C is 0.8 * 0.7 = 0.56, through B."""
    rng = np.random.default_rng(3)
    n = 600
    z, w = rng.normal(size=n), rng.normal(size=n)
    a = 0.8 * z + 0.8 * w + rng.normal(size=n)
    b = 0.8 * a + rng.normal(size=n)
    c = 0.7 * b + 0.6 * z + rng.normal(size=n)
    path = tmp_path_factory.mktemp("confounded") / "data.csv"
    pd.DataFrame({"Z": z, "W": w, "A": a, "B": b, "C": c}).to_csv(path, index=False)
    return path


def analyse(path, out, **kw):
    return run_analysis(AnalysisOptions(data=str(path), out=str(out), quiet=True, memory_path=str(out) + ".sqlite",
                                        treatment="A", outcome="C", **kw))


def one_go(path, bootstrap: int):
    """graph.json and effects.json as the rules planner's plan gives them run in one go: plan, tune on the
    data, discover() with the bootstrap, run_inference (the code path before the plan ran as tool calls)."""
    ds = load_table(str(path))
    prepared = profile_and_prepare(ds, seed=derive_seed(0, "profile"), keep=["A", "C"])
    request = Request(treatment="A", outcome="C", bootstrap=bootstrap)
    background, _ = _effect_order(None, request, prepared)
    background, _, _ = _roots(ds, prepared, request, background, None)
    plan = RulesPlanner().plan_discovery(prepared.profile, request)
    di = discovery_input(prepared, derive_seed(0, "discovery"), background,
                         with_gaps=deletes_testwise(plan.algorithm, plan.params))
    complete_plan(plan, di, profile=prepared.profile, outcome="C", tune=True)
    graph, boot, _ = discover(prepared, plan, 0, background, fit_budget=False)
    found, _ = run_inference(prepared, graph, EffectRequest(treatment="A", outcome="C", seed=derive_seed(0, "infer")),
                             boot=boot, background=background)
    return json_text(graph.to_dict()), json_text([e.to_dict() for e in found])


@pytest.mark.parametrize("bootstrap, tools", [
    (8, ["run_discovery", "assess_stability", "estimate_effect", "finish"]),
    (0, ["run_discovery", "estimate_effect", "finish"]),  # no resamples asked: no stability to assess
])
def test_a_rules_run_is_a_trail_of_tool_calls_with_the_same_results(confounded, tmp_path, bootstrap, tools):
    res = analyse(confounded, tmp_path / "out", bootstrap=bootstrap)
    run = json.loads((tmp_path / "out" / "run.json").read_text())
    graph = json.loads((tmp_path / "out" / "graph.json").read_text())
    trail = run["agent"]["trail"]
    assert [t["tool"] for t in trail] == tools
    assert all(t["by"] == "rules" and t["status"] == "ok" for t in trail) and run["agent"]["rejected"] == 0
    assert trail[0]["call"].startswith(f'run_discovery(algorithm="{graph["algorithm"]}"')
    assert f", {len(graph['edges'])} edges" in trail[0]["result"]  # the call's own result is the reported graph
    if bootstrap:
        assert trail[1]["result"].startswith(f"{bootstrap} resamples") and run["discovery"]["bootstrap"]["replicates"] == 8
    effect = json.loads((tmp_path / "out" / "effects.json").read_text())[0]
    assert trail[-2]["call"] == 'estimate_effect(graph_name="rules", treatment="A", outcome="C")'
    assert trail[-2]["result"] == effect_phrase(effect)
    # the collider at A orients the graph (8 resamples settle the directions): adjust for Z, not the mediator B
    assert effect["adjustment_set"] == ["Z"] and abs(effect["estimate"] - 0.56) < 0.12
    assert run["agent"]["graphs"] == [{"name": "rules", "algorithm": graph["algorithm"], "n_edges": len(graph["edges"]),
                                       "by": "rules", "resamples": bootstrap, "key": f"{res.run_id}/graph/rules",
                                       "final": True}]
    assert run["agent"]["final"] == "rules" and run["agent"]["finished_by"] == "rules"
    assert run["agent"]["transcript"] is None and run["agent"]["rules_differ"] == []
    md = (tmp_path / "out" / "report.md").read_text()
    assert "The rules planner ran its plan as a fixed sequence of causalpilot's tools" in md
    assert f"`{res.run_id}/graph/rules`" in md and "would have made the same choices" not in md
    # byte for byte what the plan gives run in one go (one discover() call with the bootstrap)
    graph_json, effects_json = one_go(confounded, bootstrap)
    assert (tmp_path / "out" / "graph.json").read_text() == graph_json
    assert (tmp_path / "out" / "effects.json").read_text() == effects_json
