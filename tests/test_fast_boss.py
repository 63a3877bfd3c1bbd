"""The batched BOSS engine against causal-learn's own BOSS loop, the oracle: same parents, same score."""

from __future__ import annotations

import numpy as np
import pytest
from causallearn.score.LocalScoreFunction import local_score_BIC_from_cov

from causalpilot.evals.generators import copilot_sem, linear_sem
from causalpilot.tools.discovery import permutation
from causalpilot.tools.discovery._util import standardise
from causalpilot.tools.discovery.category_score import CategoryScore, category_blocks
from causalpilot.tools.discovery.fast_boss import CovBIC, boss_search
from causalpilot.tools.discovery.permutation import DomainScore, _boss_scorer, causallearn_boss_search
from causalpilot.tools.registry import DiscoveryInput, run_algorithm


def _same(make_scorer, p, seed):
    """One run of each engine from the same random order and seed: parents equal, scores within 1e-9."""
    start = [int(v) for v in np.random.default_rng(seed + 100).permutation(p)]
    ref_parents, ref_total = causallearn_boss_search(make_scorer(), start, seed)
    parents, total = boss_search(make_scorer(), start, seed)
    assert parents == ref_parents
    assert abs(total - ref_total) <= 1e-9 * abs(ref_total)
    return parents


def test_batched_bic_is_bit_identical_to_causal_learn_one_set_at_a_time():
    rng = np.random.default_rng(0)
    for trial in range(40):
        p, n = int(rng.integers(4, 30)), int(rng.integers(60, 3000))
        X = standardise(rng.standard_normal((n, p)) @ rng.standard_normal((p, p)))
        cov, lam = np.cov(X.T, ddof=0), float(rng.choice([0.5, 1.0, 2.0]))
        v = int(rng.integers(p))
        others = [u for u in range(p) if u != v]
        k = int(rng.integers(1, min(7, p - 1)))
        sets = np.array([rng.choice(others, k, replace=False) for _ in range(12)])
        ours = CovBIC(cov, n, lam).score_sets(v, sets)
        ref = [local_score_BIC_from_cov((cov, n), v, [int(u) for u in row], {"lambda_value": lam}) for row in sets]
        assert ours.tolist() == ref  # exactly: BOSS breaks ties between positions by these bits


def test_a_singular_block_falls_back_to_causal_learns_pseudo_inverse():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((300, 4))
    X[:, 3] = X[:, 1]  # a duplicated column: the block {1, 3} is singular
    cov = np.cov(standardise(X).T, ddof=0)
    sets = np.array([[1, 3], [1, 2]])
    ref = [local_score_BIC_from_cov((cov, 300), 0, list(row), {"lambda_value": 1.0}) for row in sets]
    assert CovBIC(cov, 300, 1.0).score_sets(0, sets).tolist() == ref


@pytest.mark.parametrize("p,degree,n,penalty,seeds", [
    (10, 2.0, 500, 0.5, range(4)),
    (10, 2.0, 2000, 2.0, range(4)),
    (10, 5.0, 2000, 1.0, range(4)),  # dense: deep trees, many shrinks
    (20, 2.0, 10000, 1.0, range(3)),
    (20, 5.0, 1000, 1.0, range(2)),
])
def test_same_parents_and_score_as_causal_learn(p, degree, n, penalty, seeds):
    for seed in seeds:
        X = standardise(linear_sem(p, n, expected_degree=degree, seed=seed).data.to_numpy(float))
        _same(lambda: _boss_scorer(X, "local_score_BIC_from_cov", penalty), p, seed)


def test_same_result_as_causal_learn_at_p50():
    X = standardise(linear_sem(50, 1000, expected_degree=2.0, seed=5).data.to_numpy(float))
    parents = _same(lambda: _boss_scorer(X, "local_score_BIC_from_cov", 1.0), 50, 5)
    assert sum(map(len, parents.values())) > 30  # a real search, not an empty graph


def test_domain_category_and_bdeu_scorers_follow_causal_learns_path():
    syn = copilot_sem(p=8, n=1500, edge_prob=0.3, seed=2, domains=3)
    X = standardise(syn.data.drop(columns="domain").to_numpy(float))
    dom = syn.data["domain"].to_numpy()
    _same(lambda: DomainScore(X, dom, "local_score_BIC_from_cov", 1.0), 8, 2)
    rng = np.random.default_rng(3)
    Xc = rng.normal(size=(800, 6))
    Xc[:, 2] = rng.integers(0, 4, 800)
    Xc[:, 3] += Xc[:, 2] == 1
    Xc[:, 4] += Xc[:, 3] + Xc[:, 0]
    Z, blocks = category_blocks(Xc, list("abcdef"), {"c": "categorical"})
    _same(lambda: CategoryScore(standardise(Xc), Z, blocks, 1.0), 6, 3)
    _same(lambda: DomainScore(standardise(Xc), np.arange(800) % 2, "local_score_BIC_from_cov", 1.0, (Z, blocks)), 6, 3)
    D = rng.integers(0, 3, size=(600, 5)).astype(float)
    D[:, 3] = (D[:, 0] + D[:, 1] + rng.integers(0, 2, 600)) % 3
    _same(lambda: _boss_scorer(D, "local_score_BDeu"), 5, 3)


def test_run_boss_with_restarts_gives_the_graph_causal_learns_loop_gives(monkeypatch):
    syn = copilot_sem(p=10, n=1000, edge_prob=0.5, seed=4117439557)  # BOSS needs several starts here
    data = DiscoveryInput(syn.data.to_numpy(float), list(syn.data.columns), {}, seed=7)
    fast = run_algorithm("boss", data, {"starts": 20})
    monkeypatch.setattr(permutation, "boss_search", causallearn_boss_search)
    ref = run_algorithm("boss", data, {"starts": 20})
    assert fast.to_dict() == ref.to_dict()
    assert fast.parameters["starts_used"] > 2
