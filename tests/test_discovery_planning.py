"""The planner's choices from the profile, the tuning criteria and the portfolio vote."""

from __future__ import annotations

import json

import numpy as np
import pytest

from causalpilot.agent.loop import AnalysisOptions, run_analysis
from causalpilot.agent.planners.base import DiscoveryPlan, Request
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.evals.generators import linear_sem, var_process
from causalpilot.tools.discovery._util import dag_to_cpdag
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.portfolio import reconcile
from causalpilot.tools.profile import ColumnProfile, Finding, Profile
from causalpilot.tools.tuning import dag_extension, gaussian_bic


def _profile(n=1000, p=6, dtype="continuous", lin="linear", gauss="gaussian", ts=False, het=False,
             lin_frac=0.0, gauss_frac=0.0, missing=0.0, kinds=None):
    f = {"data_type": Finding("data_type", dtype), "linearity": Finding("linearity", lin, {"fraction_rejected": lin_frac}),
         "gaussianity": Finding("gaussianity", gauss, {"fraction_rejected": gauss_frac}),
         "time_series": Finding("time_series", ts), "heterogeneity": Finding("heterogeneity", het),
         "missingness": Finding("missingness", missing, {}, "imputed")}
    names = [f"X{i}" for i in range(p)]
    cols = [ColumnProfile(c, k, 3, 0.0, "") for c, k in zip(names, kinds)] if kinds else []
    return Profile(n_rows=n, n_columns=p, columns=cols, findings=f, repairs=[], variables=names)


@pytest.mark.parametrize("kw, algo, key, value", [
    ({"dtype": "discrete", "p": 8}, "ges", "score_func", "local_score_BDeu"),
    ({"dtype": "discrete", "p": 30}, "pc", "indep_test", "gsq"),
    ({"lin": "nonlinear", "n": 800, "p": 5}, "pc", "indep_test", "kci"),
    ({"lin": "nonlinear", "n": 3000, "p": 8}, "pc", "indep_test", "rcit"),
    ({"lin": "nonlinear", "n": 20000, "p": 8}, "pc", "indep_test", "rcit"),
    # a binary variable among measurements: its logistic likelihood in the BIC (tools/discovery/mixed_score.py)
    ({"dtype": "mixed", "kinds": ["continuous"] * 4 + ["discrete", "binary"]}, "exact_search", "score_func",
     "local_score_mixed_BIC"),
    ({"dtype": "mixed", "kinds": ["continuous"] * 4 + ["discrete"] * 2}, "exact_search", "score_func",
     "local_score_BIC_from_cov"),
    # unordered categories: BIC on their indicator columns, exactly up to p = 14, BOSS beyond
    ({"dtype": "mixed", "kinds": ["continuous"] * 5 + ["categorical"]}, "exact_search", "score_func",
     "local_score_BIC_from_cov"),
    ({"dtype": "mixed", "p": 15, "kinds": ["continuous"] * 14 + ["categorical"]}, "boss", "starts", 20),
    ({"dtype": "mixed", "p": 14, "kinds": ["continuous"] * 13 + ["categorical"]}, "exact_search", None, None),
    ({"dtype": "mixed", "lin": "nonlinear", "n": 800, "kinds": ["continuous"] * 5 + ["categorical"]}, "pc",
     "indep_test", "kci"),
    ({"gauss": "non-gaussian", "p": 150}, "ica_lingam", None, None),
    ({"p": 40}, "boss", "score_func", "local_score_BIC_from_cov"),
    ({"p": 20}, "boss", "confirm", 2),
    ({"p": 16}, "exact_search", "score_func", "local_score_BIC_from_cov"),  # exact while cheap, BOSS beyond
    ({"p": 17}, "boss", "starts", 20),
    ({"p": 400}, "pc", "depth", 3),
    ({"ts": True, "gauss": "non-gaussian"}, "var_lingam", None, None),
    ({"ts": True, "lin": "nonlinear", "n": 500, "p": 4}, "pcmci_plus", "ci_test", "robust_parcorr"),
    ({"het": True, "lin": "nonlinear", "n": 2000}, "cdnod", "indep_test", "fisherz_domain"),
    ({"het": True, "dtype": "discrete"}, "cdnod", "indep_test", "gsq"),
    ({"het": True}, "exact_search", "score_func", "local_score_BIC_from_cov"),
    ({"het": True, "p": 30}, "boss", "starts", 20),
])
def test_planner_matches_method_and_test_to_the_profile(kw, algo, key, value):
    plan = RulesPlanner().plan_discovery(_profile(**kw), Request())
    assert plan.algorithm == algo
    if key:
        assert plan.params[key] == value
    assert all(d.reason for d in plan.decisions)


def test_planner_runs_a_portfolio_when_gaussianity_is_ambiguous_and_records_missingness():
    plan = RulesPlanner().plan_discovery(_profile(gauss_frac=0.33, missing=0.1), Request())
    assert plan.algorithm == "pc" and [m for m, _ in plan.portfolio] == ["boss", "direct_lingam"]
    assert any(d.step == "discovery.missing_values" for d in plan.decisions)
    clear = RulesPlanner().plan_discovery(_profile(gauss_frac=0.0), Request())
    assert clear.portfolio == []


def test_lpcmci_for_time_series_with_a_latent_question():
    plan = RulesPlanner().plan_discovery(_profile(ts=True), Request(question="Is there an unobserved driver?"))
    assert plan.algorithm == "lpcmci"


def test_dag_extension_is_markov_equivalent_so_bic_matches_the_true_dag():
    s = linear_sem(p=8, n=500, seed=5)
    idx = {v: i for i, v in enumerate(s.truth.nodes)}
    true_adj = np.zeros((8, 8), dtype=int)
    for e in s.truth.edges:
        true_adj[idx[e.source], idx[e.target]] = 1
    cpdag = dag_to_cpdag(true_adj, s.truth.nodes)
    ext = dag_extension(cpdag)
    assert np.array_equal((ext + ext.T) > 0, (true_adj + true_adj.T) > 0)
    X = s.data.to_numpy()
    assert gaussian_bic(X, ext) == pytest.approx(gaussian_bic(X, true_adj), rel=1e-9)
    assert gaussian_bic(X, true_adj) < gaussian_bic(X, np.zeros((8, 8)))


def test_reconcile_keeps_majority_adjacencies_and_agreed_orientations():
    nodes = ["A", "B", "C", "D"]
    g1 = CausalGraph(nodes, [Edge("A", "B", "directed"), Edge("B", "C", "directed"), Edge("C", "D", "undirected")], "CPDAG", "pc")
    g2 = CausalGraph(nodes, [Edge("A", "B", "directed"), Edge("C", "B", "directed")], "CPDAG", "ges")
    g3 = CausalGraph(nodes, [Edge("A", "B", "directed"), Edge("B", "C", "undirected"), Edge("A", "D", "directed")], "DAG", "x")
    g, ev = reconcile([g1, g2, g3])
    assert {e.describe() for e in g.edges} == {"A --> B", "B --- C"}
    assert ev["members"] == ["pc", "ges", "x"] and ev["orientation_disagreements"] == ["B - C"]


class _PortfolioPlanner:
    name = "test-portfolio"

    def plan_discovery(self, profile, request):
        return DiscoveryPlan("pc", {"alpha": 0.05, "indep_test": "fisherz"}, 0, [],
                             portfolio=[("ges", {}), ("boss", {})])


def test_loop_runs_and_records_a_portfolio(tmp_path):
    s = linear_sem(p=6, n=1000, seed=3)
    path = tmp_path / "d.csv"
    s.data.to_csv(path, index=False)
    r = run_analysis(AnalysisOptions(data=str(path), out=str(tmp_path / "o"), quiet=True), planner=_PortfolioPlanner())
    dec = next(d for d in r.run_info["decisions"] if d["step"] == "discovery.portfolio")
    assert dec["choice"] == ["pc", "ges", "boss"]
    assert r.graph.parameters["portfolio"]["kept"] == len(r.graph.edges)
    # the vote of three consistent methods on strong linear-Gaussian data recovers the true skeleton, and
    # every direction it asserts is a true one (the rest stay undirected, as the equivalence class allows)
    assert r.graph.skeleton() == s.truth.skeleton()
    assert r.graph.directed_pairs() <= s.truth.directed_pairs()
    assert len(r.graph.directed_pairs()) >= 4  # the v-structures at X2 are oriented


def test_background_reaches_time_series_discovery_through_analyse(tmp_path):
    s = var_process(p=4, n=600, seed=2, n_edges=3)
    a, b = next((e.source, e.target) for e in s.truth.edges if e.source != e.target)
    path, bg = tmp_path / "ts.csv", tmp_path / "bg.json"
    s.data.to_csv(path, index=False)
    bg.write_text(json.dumps({"forbidden": [[a, b]]}))
    free = run_analysis(AnalysisOptions(data=str(path), out=str(tmp_path / "o1"), quiet=True, bootstrap=0))
    assert any((e.source, e.target) == (a, b) for e in free.graph.edges)
    held = run_analysis(AnalysisOptions(data=str(path), out=str(tmp_path / "o2"), quiet=True, bootstrap=0,
                                        background=str(bg)))
    assert held.graph.graph_type == "lagged"
    assert not any((e.source, e.target) == (a, b) for e in held.graph.edges)


def test_discrete_time_series_with_many_levels_are_tested_on_ranks():
    from causalpilot.agent.planners.rules import ts_ci_test_for

    few = _profile(ts=True, dtype="discrete", p=3, kinds=["discrete"] * 3)  # 3 levels each
    assert ts_ci_test_for(few)[0] == "gsquared"
    many = _profile(ts=True, dtype="discrete", p=3, kinds=["discrete"] * 3)
    many.columns[1] = ColumnProfile("X1", "discrete", 9, 0.0, "")
    test, why = ts_ci_test_for(many)
    assert test == "robust_parcorr" and "X1" in why
