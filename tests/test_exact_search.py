"""Exact search: the global optimum of BOSS's score, checked against brute force and causal-learn."""

from __future__ import annotations

from itertools import combinations, permutations

import numpy as np
import pytest

from causalpilot.evals.generators import copilot_sem
from causalpilot.evals.metrics import score
from causalpilot.tools.background import Background
from causalpilot.tools.discovery._util import standardise
from causalpilot.tools.discovery.exact import exact_dag, subset_sizes
from causalpilot.tools.discovery.permutation import _boss_scorer
from causalpilot.tools.errors import InputError
from causalpilot.tools.registry import DiscoveryInput, run_algorithm

DENSE_SEED = 4117439557  # the dense graph of test_search_restarts: one BOSS run stops in a local optimum


def _data(p, seed, edge_prob=0.3, n=1000):
    syn = copilot_sem(p=p, n=n, edge_prob=edge_prob, seed=seed)
    return syn, DiscoveryInput(syn.data.to_numpy(float), list(syn.data.columns), {}, seed=7)


def _brute_force(scorer, p):
    """The best score over all orders, each variable taking its best parent set among its predecessors."""
    best = -np.inf
    for order in permutations(range(p)):
        total = 0.0
        for i, v in enumerate(order):
            total += max(scorer.score(v, list(pa)) for k in range(i + 1) for pa in combinations(sorted(order[:i]), k))
        best = max(best, total)
    return best


def test_dynamic_programme_reaches_the_brute_force_optimum():
    syn, data = _data(p=6, seed=5, edge_prob=0.5)
    scorer = _boss_scorer(standardise(data.X), "local_score_BIC_from_cov")
    parents, total = exact_dag(scorer, 6)
    assert total == pytest.approx(_brute_force(scorer, 6), abs=1e-8)
    # the returned parents are a DAG whose score is the reported total
    assert total == pytest.approx(sum(scorer.score(v, pa) for v, pa in parents.items()), abs=1e-8)


def test_agrees_with_causal_learn_exact_search_under_the_standard_bic():
    from causallearn.search.ScoreBased.ExactSearch import bic_exact_search

    from causalpilot.tools.discovery._util import dag_to_cpdag

    for seed in (1, 2, 3):
        syn, data = _data(p=7, seed=seed, edge_prob=0.4)
        ours = run_algorithm("exact_search", data, {"penalty": 0.5})  # causal-learn's exact search uses 0.5
        dag, _ = bic_exact_search(standardise(data.X), search_method="dp")
        theirs = dag_to_cpdag(dag, data.nodes)
        assert ours.to_dict()["edges"] == theirs.to_dict()["edges"]


def test_scores_at_least_boss_and_the_true_dag_where_one_boss_run_is_stuck():
    syn, data = _data(p=10, seed=DENSE_SEED, edge_prob=0.5)
    boss = run_algorithm("boss", data, {"starts": 1})
    exact = run_algorithm("exact_search", data, {})
    scorer = _boss_scorer(standardise(data.X), "local_score_BIC_from_cov")
    names = data.nodes
    truth = sum(scorer.score(names.index(v), sorted(names.index(e.source) for e in syn.truth.edges if e.target == v))
                for v in names)
    assert exact.parameters["score"] >= boss.parameters["score"] + 1  # strictly better than the stuck run
    assert exact.parameters["score"] >= truth - 1e-3
    assert score(exact, syn.truth)["copilot_f1"] == 1.0
    assert score(boss, syn.truth)["skeleton_f1"] < 0.8


def test_background_knowledge_and_parent_limit_restrict_the_search():
    syn, data = _data(p=6, seed=11, edge_prob=0.4)
    free = run_algorithm("exact_search", data, {})
    e = free.edges[0]
    data.background = Background(forbidden=[(e.source, e.target), (e.target, e.source)])
    held = run_algorithm("exact_search", data, {})
    assert held.edge_between(e.source, e.target) is None
    # a required edge is kept, directed as required, even against the data
    a, b = next((a, b) for a in data.nodes for b in data.nodes
                if a != b and free.edge_between(a, b) is None)
    data.background = Background(required=[(a, b)])
    req = run_algorithm("exact_search", data, {})
    edge = req.edge_between(a, b)
    assert edge is not None and (edge.source, edge.target, edge.type) == (a, b, "directed")
    data.background = Background(required=[(a, b), (b, a)])
    with pytest.raises(InputError):
        run_algorithm("exact_search", data, {})
    data.background = None
    limited = run_algorithm("exact_search", data, {"max_parents": 1})
    indeg = {v: 0 for v in data.nodes}
    for ed in limited.edges:
        if ed.type == "directed":
            indeg[ed.target] += 1
    assert max(indeg.values()) <= 1 and len(limited.edges) <= len(free.edges)


def test_is_deterministic_at_the_top_of_the_planner_range():
    syn, data = _data(p=16, seed=3, edge_prob=0.12, n=2000)
    a = run_algorithm("exact_search", data, {})
    b = run_algorithm("exact_search", data, {})
    assert a.to_dict() == b.to_dict()
    assert score(a, syn.truth)["skeleton_f1"] >= 0.9


def test_weak_and_cancelling_edges_are_kept_at_the_default_penalty():
    """Coefficients 0.1-0.4 with unit noise (as in most real data) and a triangle whose direct edge
    nearly cancels given the common child: BOSS's penalty 2 drops true edges in both; the default keeps them."""
    from causalpilot.evals.generators import linear_sem

    for seed in range(4):
        syn = linear_sem(p=8, n=2000, edge_prob=0.3, weight_range=(0.1, 0.4), seed=seed)
        g = run_algorithm("exact_search", DiscoveryInput(syn.data.to_numpy(float), list(syn.data.columns), {}, seed=0))
        s = score(g, syn.truth)
        assert s["skeleton_recall"] == 1.0 and s["skeleton_precision"] >= 0.9, (seed, s)
    rng = np.random.default_rng(5)
    n = 600
    age = rng.normal(size=n)
    smoking = 0.8 * age + rng.normal(size=n)
    cancer = 0.8 * smoking + 0.6 * age + rng.normal(size=n)
    g = run_algorithm("exact_search", DiscoveryInput(np.column_stack([age, smoking, cancer]), ["age", "smoking", "cancer"],
                                                     {}, seed=0))
    assert {frozenset((e.source, e.target)) for e in g.edges} == {
        frozenset(("age", "smoking")), frozenset(("age", "cancer")), frozenset(("smoking", "cancer"))}


def test_subset_sizes_count_the_bits_of_every_mask():
    for p in (0, 1, 5, 12):
        sizes = subset_sizes(p)
        assert sizes.tolist() == [bin(m).count("1") for m in range(1 << p)]
    if hasattr(np, "bitwise_count"):  # numpy 2.0+: the library's popcount agrees
        masks = np.arange(1 << 12, dtype=np.int64)
        assert np.array_equal(subset_sizes(12), np.bitwise_count(masks).astype(np.int64))
