"""The batched Fisher-z PC engine must reproduce causal-learn's PC exactly: p-values, skeleton,
separating sets (content and order) and the final CPDAG, on generated graphs with a known truth."""

from __future__ import annotations

import contextlib
import io
import itertools

import numpy as np
import pytest

from causalpilot.evals.generators import linear_sem
from causalpilot.tools.background import Background
from causalpilot.tools.ci import fisherz
from causalpilot.tools.discovery import fast_pc
from causalpilot.tools.errors import InputError
from causalpilot.tools.registry import DiscoveryInput, run_algorithm


def _cl_pc(X, alpha, **kw):
    from causallearn.search.ConstraintBased.PC import pc

    with contextlib.redirect_stdout(io.StringIO()):
        return pc(X, alpha, "fisherz", stable=True, show_progress=False, **kw)


def _sepsets(cg):
    p = cg.sepset.shape[0]
    return {(i, j): [tuple(int(v) for v in S) for S in cg.sepset[i, j]]
            for i in range(p) for j in range(p) if cg.sepset[i, j] is not None}


def _data(p, n, deg, seed, near_deterministic=False):
    X = linear_sem(p, n, expected_degree=deg, seed=seed).data.to_numpy(dtype=float, copy=True)
    if near_deterministic:  # |r| reaches 1 in some tests: causal-learn clips r to 1 - eps
        # (noise 1e-9 made some sub-matrices exactly singular under some LAPACK builds: both
        # implementations then refuse the test, and there is nothing left to compare)
        X[:, 1] = 2.0 * X[:, 0] - X[:, 2] + 1e-8 * np.random.default_rng(seed).normal(size=n)
    return X


def _assert_same(a, b):
    assert np.array_equal(a.G.graph, b.G.graph)
    assert _sepsets(a) == _sepsets(b)
    assert np.array_equal(a.G.dpath, b.G.dpath)


def test_pvalues_are_bit_identical_to_causallearn_fisherz():
    from causallearn.utils.cit import CIT

    X = _data(9, 800, 3.0, seed=6, near_deterministic=True)
    ref = CIT(X, "fisherz")
    corr = fisherz.correlation_matrix(X)
    clipped = 0
    for k in range(4):
        rows = [[x, y, *S] for x, y in itertools.combinations(range(9), 2)
                for S in itertools.combinations([v for v in range(9) if v not in (x, y)], k)]
        got = fisherz.batched_pvalues(corr, X.shape[0], np.array(rows))
        want = np.array([ref(r[0], r[1], r[2:]) for r in rows])
        assert np.array_equal(got, want), f"order {k}"
        R = np.array(rows)
        inv = np.linalg.inv(corr[R[:, :, None], R[:, None, :]])
        clipped += int((np.abs(inv[:, 0, 1]) >= np.sqrt(np.abs(inv[:, 0, 0] * inv[:, 1, 1]))).sum())
    assert clipped > 0  # the |r| >= 1 branch was exercised
    fast = fisherz.fast_fisherz_cit(X)
    assert fast(3, 1, (6, 0)) == ref(1, 3, [0, 6])


@pytest.mark.parametrize("p,n,deg,alpha,max_k,seed,near", [
    (10, 500, 2.0, 0.05, None, 0, False),
    (15, 300, 4.0, 0.10, None, 1, False),
    (20, 1000, 3.0, 0.01, 2, 2, False),
    (12, 150, 5.0, 0.30, None, 3, False),
    (25, 2000, 2.0, 0.05, 1, 4, False),
    (9, 800, 3.0, 0.05, None, 6, True),
    (14, 3000, 6.0, 0.05, 0, 7, False),
])
def test_pc_identical_to_causallearn(p, n, deg, alpha, max_k, seed, near):
    X = _data(p, n, deg, seed, near)
    fisherz.clear_caches()
    _assert_same(_cl_pc(X, alpha, max_k=max_k), fast_pc.pc(X, alpha, max_k=max_k))


@pytest.mark.parametrize("uc_rule,uc_priority", [(0, 0), (0, 3), (1, -1), (2, 2)])
def test_other_orientation_rules_use_causallearn_code_identically(uc_rule, uc_priority):
    X = _data(12, 400, 3.0, seed=11)
    kw = dict(uc_rule=uc_rule, uc_priority=uc_priority)
    _assert_same(_cl_pc(X, 0.05, **kw), fast_pc.pc(X, 0.05, **kw))


def test_background_knowledge_identical():
    X = _data(10, 600, 3.0, seed=8)
    names = [f"X{i}" for i in range(10)]
    bg = Background(required=[("X0", "X3")], forbidden=[("X1", "X2"), ("X2", "X1"), ("X5", "X4")],
                    tiers=[["X6"], ["X7", "X8"]])
    a = _cl_pc(X, 0.05, background_knowledge=bg.to_causallearn(names), node_names=names)
    b = fast_pc.pc(X, 0.05, background_knowledge=bg.to_causallearn(names), node_names=names)
    _assert_same(a, b)
    assert a.G.graph[1, 2] == 0 and b.G.graph[1, 2] == 0  # forbidden both ways: edge removed


def test_run_algorithm_pc_fast_equals_library_and_finds_the_truth():
    syn = linear_sem(8, 3000, expected_degree=2.0, seed=3)
    data = DiscoveryInput(X=syn.data.to_numpy(dtype=float), nodes=list(syn.data.columns),
                          kinds={c: "continuous" for c in syn.data.columns})
    fast = run_algorithm("pc", data, {"alpha": 0.05})
    lib = run_algorithm("pc", data, {"alpha": 0.05, "engine": "causal-learn"})
    assert fast.to_dict()["edges"] == lib.to_dict()["edges"]
    truth = syn.truth.skeleton()
    found = fast.skeleton()
    assert len(found & truth) / len(truth) >= 0.7 and len(found - truth) <= 1  # PC itself: 7 of 9
    with pytest.raises(InputError):
        run_algorithm("pc", data, {"engine": "gpu-magic"})


def test_run_algorithm_fci_fast_test_equals_library():
    syn = linear_sem(7, 1000, expected_degree=2.5, seed=4)
    data = DiscoveryInput(X=syn.data.to_numpy(dtype=float), nodes=list(syn.data.columns),
                          kinds={c: "continuous" for c in syn.data.columns})
    fast = run_algorithm("fci", data, {"alpha": 0.05})
    lib = run_algorithm("fci", data, {"alpha": 0.05, "engine": "causal-learn"})
    assert fast.to_dict()["edges"] == lib.to_dict()["edges"]


def test_cache_is_per_data_and_reused_on_the_same_data():
    X = _data(12, 500, 3.0, seed=9)
    fisherz.clear_caches()
    _, first = fast_pc.pc(X, 0.05, return_stats=True)
    _, again = fast_pc.pc(X, 0.10, return_stats=True)  # same data, other alpha: only new tests computed
    assert first.tests_computed > 0 and again.tests_computed < again.tests_run
    _, same = fast_pc.pc(X, 0.05, return_stats=True)
    assert same.tests_computed == 0
    resample = X[np.random.default_rng(0).integers(0, 500, 500)]
    assert fisherz.cache_for(resample) is not fisherz.cache_for(X)
    _assert_same(_cl_pc(resample, 0.05), fast_pc.pc(resample, 0.05))


@pytest.mark.skipif(not fisherz.gpu_available(), reason="no torch with a CUDA device")
def test_gpu_path_gives_identical_results(monkeypatch):
    X = _data(40, 2000, 3.0, seed=10, near_deterministic=True)
    monkeypatch.setattr(fisherz, "GPU_MIN_BATCH", 1)  # exercise the GPU on every batch
    fisherz.clear_caches()
    cpu = fast_pc.pc(X, 0.05, use_gpu=False)
    fisherz.clear_caches()
    gpu = fast_pc.pc(X, 0.05, use_gpu=True)
    _assert_same(cpu, gpu)
    rows = np.array([[0, 3, 1, 2], [4, 5, 0, 6], [2, 7, 8, 9]])
    corr = fisherz.correlation_matrix(X)
    assert np.allclose(fisherz.batched_pvalues(corr, 2000, rows, use_gpu=True),
                       fisherz.batched_pvalues(corr, 2000, rows), rtol=1e-9, atol=1e-12)


def test_cdnod_identical_to_causallearn():
    from causallearn.search.ConstraintBased.CDNOD import cdnod

    n = 900
    c = np.repeat([0.0, 1.0, 2.0], n // 3)
    X = _data(8, n, 2.5, seed=12)
    X[:, 3] += 0.8 * c  # the domain shifts one mechanism
    X[:, 5] *= 1 + 0.5 * c
    with contextlib.redirect_stdout(io.StringIO()):
        a = cdnod(X, c.reshape(-1, 1), 0.05, "fisherz", show_progress=False)
    b = fast_pc.cdnod(X, c.reshape(-1, 1), 0.05)
    _assert_same(a, b)
    assert a.G.graph[8, 3] == -1 and a.G.graph[3, 8] == 1  # index -> X3 (the shifted mechanism)


def test_small_batches_give_the_same_result(monkeypatch):
    X = _data(15, 300, 4.0, seed=1)
    monkeypatch.setattr(fast_pc, "_ROWS_PER_BATCH", 37)  # many flushes within each depth
    fisherz.clear_caches()
    _assert_same(_cl_pc(X, 0.1), fast_pc.pc(X, 0.1))
