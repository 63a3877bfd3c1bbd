"""Thread discipline (tools/threads.py): BLAS/OpenMP threads x processes never exceed the cores, a limit
only tightens, and results do not depend on how the work is spread."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn.ensemble  # noqa: F401 (loads scikit-learn's OpenMP runtime before any limit is set)
from threadpoolctl import threadpool_info, threadpool_limits

from causalpilot.tools import threads


def _pool_sizes(_: int = 0) -> dict[str, int]:
    """The largest BLAS and OpenMP pool in this process."""
    import sklearn.ensemble  # noqa: F401 (in a worker process too)

    out: dict[str, int] = {}
    for lib in threadpool_info():
        out[lib["user_api"]] = max(out.get(lib["user_api"], 0), lib["num_threads"])
    return out


def test_workers_and_threads_per_process_follow_joblibs_convention():
    cores = threads.cores()
    assert threads.workers(None) == threads.workers(1) == 1
    assert threads.workers(-1) == cores and threads.workers(3) == 3
    assert threads.workers(-cores - 5) == 1  # never fewer than one process
    assert threads.threads_per_process(1) == cores
    assert threads.threads_per_process(cores) == 1 and threads.threads_per_process(10 * cores) == 1
    assert threads.threads_per_process(2) * 2 <= max(cores, 2)


def test_a_limit_tightens_nests_and_is_given_back():
    with threadpool_limits(limits=4):  # as if the machine had 4 threads per pool
        before = _pool_sizes()
        assert before == {"blas": 4, "openmp": 4}
        with threads.limit(1):
            assert _pool_sizes() == {"blas": 1, "openmp": 1}
            with threads.limit(3):  # an inner, looser limit keeps the outer one
                assert _pool_sizes() == {"blas": 1, "openmp": 1}
        assert _pool_sizes() == before
        with threadpool_limits(limits=1, user_api="blas"):  # the user's smaller pool is never enlarged
            with threads.limit(2):
                assert _pool_sizes()["blas"] == 1 and _pool_sizes()["openmp"] == 2


def test_each_worker_runs_within_its_share_of_the_cores():
    sequential = threads.parallel(_pool_sizes, [(k,) for k in range(2)], n_jobs=1)
    parallel = threads.parallel(_pool_sizes, [(k,) for k in range(2)], n_jobs=2)
    share = threads.threads_per_process(2)
    for sizes in parallel:
        assert sizes["blas"] <= share and sizes["openmp"] <= share
    assert all(s["blas"] <= threads.cores() for s in sequential)


def _noisy_sum(seed: int) -> float:
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(300, 40))
    return float(np.linalg.lstsq(A, rng.normal(size=300), rcond=None)[0].sum())


@pytest.mark.parametrize("return_as", ["list", "generator"])
def test_results_do_not_depend_on_the_number_of_workers(return_as):
    calls = [(s,) for s in range(6)]
    one = list(threads.parallel(_noisy_sum, calls, n_jobs=1, return_as=return_as))
    two = list(threads.parallel(_noisy_sum, calls, n_jobs=2, return_as=return_as))
    assert one == two == [_noisy_sum(s) for s in range(6)]


def test_estimators_fit_single_threaded(monkeypatch):
    """The effect estimators run under a one-thread limit (their boosted models spun two OpenMP threads
    against each other: 42 s of CPU against 2.7 s on the shared machine)."""
    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingRegressor

    from causalpilot.tools.inference import estimators

    seen = []
    fit = HistGradientBoostingRegressor.fit

    def probing_fit(self, *a, **k):
        seen.append(_pool_sizes())
        return fit(self, *a, **k)

    monkeypatch.setattr(HistGradientBoostingRegressor, "fit", probing_fit)
    rng = np.random.default_rng(0)
    n = 300
    z = rng.normal(size=n)
    t = (rng.random(n) < 0.5).astype(float)
    df = pd.DataFrame({"z": z, "t": t, "y": t + np.sin(z) + rng.normal(size=n)})
    with threadpool_limits(limits=2):
        estimators.doubly_robust_ml(df, "t", "y", ["z"], seed=0)
        assert _pool_sizes() == {"blas": 2, "openmp": 2}  # given back afterwards
    assert len(seen) == 10 and all(s == {"blas": 1, "openmp": 1} for s in seen)
