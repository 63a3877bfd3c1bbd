"""Thread discipline: BLAS and OpenMP threads times processes never exceed the cores this process may use.

numpy's BLAS (OpenBLAS, MKL) and scikit-learn's OpenMP loops start one thread per core by default,
in every process. Inside joblib workers, or beside other work on a small machine, those threads
outnumber the cores and spin against each other: on the shared 2-core development machine one
cross-fitted doubly robust estimate took 42 s of CPU with two OpenMP threads and 2.7 s with one,
and a least-squares fit on a 2000 x 100 matrix 2-3.7 s with two BLAS threads against 0.04 s with
one. So:

- each joblib worker runs under a limit of ``cores // workers`` threads (:func:`parallel`);
- the estimators (scikit-learn's gradient boosting, DoWhy, dowhy.gcm), the profile's small dense
  algebra, NOTEARS's optimiser and the additive-noise step's Gaussian-process fits run single-threaded (:func:`limit` with 1): their work comes in many small fits, where a
  thread pool costs more than it gains, and their parallelism is over processes (the refuters'
  simulations, the bootstrap's resamples).

A thread limit changes no result here: graph.json and effects.json of example analyses (the health
example with and without ``--jobs 2`` and with background knowledge, binary and continuous
treatments on nonlinear data through the boosted estimators, p = 30 with BOSS and PC bootstraps)
were byte-identical with and without these limits. scikit-learn's boosting histograms and the BLAS
products used split their work by features and output blocks, not within one sum.
Limits are set with threadpoolctl (the library scikit-learn and joblib use for the same purpose).
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

_controller: Any = None
_controller_modules = -1  # len(sys.modules) when the controller was built: a later import may load a new pool
_current: int | None = None  # the limit in force in this process (None: the libraries' defaults)


def cores() -> int:
    """The number of cores this process may run on (its CPU affinity where the OS tells it, else
    ``os.cpu_count()``); at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def workers(n_jobs: int | None) -> int:
    """The number of processes joblib starts for ``n_jobs`` (its convention: -1 every core, -2 every
    core but one, ...; None or 0 one), counted against :func:`cores`."""
    if not n_jobs:
        return 1
    if n_jobs < 0:
        return max(1, cores() + 1 + n_jobs)
    return int(n_jobs)


def threads_per_process(processes: int = 1) -> int:
    """BLAS/OpenMP threads each of ``processes`` processes may run so that together they use at most
    :func:`cores` threads: ``cores() // processes``, at least 1."""
    return max(1, cores() // max(1, int(processes)))


def _pools():
    """A threadpoolctl controller for the thread pools loaded so far (rebuilt after new imports:
    building one costs tens of milliseconds, setting a limit with it well under one)."""
    global _controller, _controller_modules
    if _controller is None or len(sys.modules) != _controller_modules:
        from threadpoolctl import ThreadpoolController

        _controller, _controller_modules = ThreadpoolController(), len(sys.modules)
    return _controller


@contextmanager
def limit(threads: int | None = None) -> Iterator[None]:
    """Run the block with at most ``threads`` BLAS and OpenMP threads in this process (None:
    :func:`threads_per_process` of 1, i.e. every core). A limit only ever tightens: a pool already
    smaller (set by an enclosing block, or by the user's ``OMP_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``)
    keeps its size. Usable as a decorator through :func:`limited`."""
    global _current
    threads = threads_per_process(1) if threads is None else max(1, int(threads))
    if _current is not None and _current <= threads:
        yield
        return
    pools = _pools()
    limits = {}
    for api in ("blas", "openmp"):
        sizes = [lib.num_threads for lib in pools.select(user_api=api).lib_controllers]
        if sizes and max(sizes) > threads:
            limits[api] = threads
    previous = _current
    _current = threads
    try:
        if limits:
            with pools.limit(limits=limits):
                yield
        else:
            yield
    finally:
        _current = previous


def limited(threads: int | None = 1) -> Callable[[Callable], Callable]:
    """Decorator: the function runs under :func:`limit` of ``threads`` (default 1)."""
    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def run(*args, **kwargs):
            with limit(threads):
                return fn(*args, **kwargs)
        return run
    return wrap


class in_worker:
    """``fn`` called under :func:`limit` of ``threads``: what a joblib worker runs (a class, so that
    it pickles to worker processes). For callers that drive joblib themselves (a Dask backend)."""

    def __init__(self, fn: Callable, threads: int):
        self.fn, self.threads = fn, threads

    def __call__(self, *args):
        with limit(self.threads):
            return self.fn(*args)


def parallel(fn: Callable, calls: Iterable[tuple], n_jobs: int | None, return_as: str = "list",
             threads: int | None = None) -> Any:
    """``fn(*args)`` for each ``args`` of ``calls``: in this process when ``n_jobs`` means one
    worker, else in joblib's worker processes (``n_jobs`` as joblib reads it, see :func:`workers`),
    each under :func:`limit` of ``threads`` (default: :func:`threads_per_process` of the number of
    workers). ``return_as``: joblib's 'list', 'generator' (in call order, as they finish) or
    'generator_unordered'; the sequential path honours the same (its order is the calls').

    The results do not depend on ``n_jobs``: every call gets its arguments (seeds included) from the
    caller, and thread limits do not change the arithmetic (module docstring).
    """
    k = workers(n_jobs)
    per = threads_per_process(k) if threads is None else threads
    run = in_worker(fn, per)
    if k == 1:
        results = (run(*args) for args in calls)
        return list(results) if return_as == "list" else results
    from joblib import Parallel, delayed

    return Parallel(n_jobs=n_jobs, return_as=return_as)(delayed(run)(*args) for args in calls)
