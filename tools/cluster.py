"""Repeated work of an analysis as tasks: in this process, in local processes (joblib), or on a Dask cluster.

An analysis repeats one computation on one data set many times: the bootstrap re-runs the algorithm
on resamples, a portfolio runs several algorithms, the refuters re-run the estimator on altered
data. :func:`task_map` runs ``fn(shared, *item)`` for each item and yields the results in item
order, wherever they run, so the result of a run never depends on where its tasks ran:
- with a Dask cluster active (:func:`using`: ``analyse --scheduler ADDR``), as tasks on the
  cluster's workers (``dask.distributed``); ``shared`` (the data) is scattered to every worker once
  per analysis, not shipped with each task;
- else with ``n_jobs`` != 1 in joblib's local processes, else one after the other here.
Every task draws from its own seed, given in its item, so the same seed gives byte-identical results
on a cluster and locally (a test checks this against a ``distributed.LocalCluster``).

Dask is optional (``pip install 'causalpilot[dask]'``); ``causalpilot eval --scheduler`` connects
through :func:`connect` too.
"""

from __future__ import annotations

import contextvars
import os
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from causalpilot.tools.errors import InputError

# seconds to reach the scheduler and to see a first worker; CAUSALPILOT_SCHEDULER_TIMEOUT overrides it
CONNECT_TIMEOUT_S = 20.0

_ACTIVE: contextvars.ContextVar["Cluster | None"] = contextvars.ContextVar("causalpilot_cluster", default=None)


def _timeout() -> float:
    try:
        return float(os.environ.get("CAUSALPILOT_SCHEDULER_TIMEOUT", CONNECT_TIMEOUT_S))
    except ValueError:
        return CONNECT_TIMEOUT_S


def worker_version() -> str:
    """The causalpilot version a worker imports (run on every worker at connection)."""
    from causalpilot import __version__

    return __version__


def connect(scheduler: Any):
    """A ``distributed.Client`` for ``scheduler``: an address (``tcp://host:8786``), or a Client or
    cluster object (``LocalCluster``) of the caller's, used as it is.

    Raises :class:`InputError` with one sentence when Dask is not installed, the scheduler cannot be
    reached within CONNECT_TIMEOUT_S seconds, it has no worker by then, or its workers cannot import
    this causalpilot version."""
    try:
        from dask.distributed import Client
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'causalpilot[dask]' (dask[distributed]).") from None
    if isinstance(scheduler, Client):
        return scheduler
    address = getattr(scheduler, "scheduler_address", scheduler)
    if not isinstance(address, str) or not address.strip():
        raise InputError(f"--scheduler must be a Dask scheduler address such as tcp://host:8786, not {scheduler!r}.")
    timeout = _timeout()
    address = address.strip()
    try:
        _probe(address, timeout)
        client = Client(address, timeout=timeout, set_as_default=False)
    except (OSError, ValueError, TypeError, TimeoutError) as exc:
        why = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__
        raise InputError(f"Cannot reach the Dask scheduler at '{address}' ({why}); check the address, or start one "
                         "with `dask scheduler` and its workers with `dask worker ADDRESS`.") from None
    try:
        client.wait_for_workers(1, timeout=timeout)
    except Exception:  # dask's TimeoutError
        client.close()
        raise InputError(f"The Dask scheduler at '{address}' has no worker after {timeout:g} s; start some with "
                         f"`dask worker {address}`.") from None
    try:
        versions = set(client.run(worker_version).values())
    except Exception as exc:  # workers that cannot import causalpilot to unpickle the function
        client.close()
        raise InputError(f"The Dask workers at '{address}' cannot run causalpilot ({type(exc).__name__}); install "
                         "causalpilot on them.") from None
    from causalpilot import __version__

    if versions != {__version__}:
        client.close()
        raise InputError(f"The Dask workers at '{address}' run causalpilot {', '.join(sorted(versions))}, not "
                         f"{__version__}; install the same version on them, so that results do not depend on "
                         "where they ran.")
    return client


def _probe(address: str, timeout: float) -> None:
    """Open and close one connection to ``address``, raising OSError/ValueError when it cannot be made.

    Before a Client is made: a Client whose connection failed prints a traceback when it is collected.
    In its own thread and event loop, so that it works under a running loop (Jupyter) too."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from distributed.comm import connect as open_comm

    async def once() -> None:
        comm = await open_comm(address, timeout=timeout)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, once()).result()


class Cluster:
    """A connected Dask client, with the data already scattered to its workers (by object identity)."""

    def __init__(self, client, owned: bool) -> None:
        self.client = client
        self.owned = owned
        self._scattered: dict[int, tuple[Any, Any]] = {}  # id(obj) -> (obj, future); obj kept so its id stays its
        self.tasks = 0  # tasks submitted so far (run.json; tests)

    @property
    def scattered(self) -> int:
        """How many distinct data objects were sent to the workers."""
        return len(self._scattered)

    def share(self, obj: Any):
        """A future of ``obj`` on every worker; each object is scattered once per analysis."""
        key = id(obj)
        if key not in self._scattered:
            [future] = self.client.scatter([obj], broadcast=True, hash=False)
            self._scattered[key] = (obj, future)
        return self._scattered[key][1]

    def map(self, fn: Callable, shared: Any, items: Iterable[tuple]) -> Iterator[Any]:
        """``fn(shared, *item)`` for each item as cluster tasks; results in item order (re-raising a task's error)."""
        data = self.share(shared)
        futures = [self.client.submit(fn, data, *item, pure=False) for item in items]
        self.tasks += len(futures)
        try:
            for f in futures:
                yield f.result()
        finally:
            for f in futures:
                f.release()

    def describe(self) -> dict[str, Any]:
        info = self.client.scheduler_info()
        return {"scheduler": info.get("address"), "workers": len(info.get("workers", {})), "tasks": self.tasks,
                "data_scattered": self.scattered}

    def close(self) -> None:
        self._scattered.clear()
        if self.owned:
            self.client.close()


@contextmanager
def using(scheduler: Any) -> Iterator[Cluster | None]:
    """Run the :func:`task_map` calls inside the block on the cluster at ``scheduler`` (an address, a
    ``distributed.Client`` or a cluster object); ``None``: no cluster. A Client given is not closed."""
    if scheduler is None:
        yield None
        return
    client = connect(scheduler)
    from dask.distributed import Client

    cluster = Cluster(client, owned=not isinstance(scheduler, Client))
    token = _ACTIVE.set(cluster)
    try:
        yield cluster
    finally:
        _ACTIVE.reset(token)
        cluster.close()


def active() -> Cluster | None:
    """The cluster of the enclosing :func:`using` block, if any."""
    return _ACTIVE.get()


def task_map(fn: Callable, shared: Any, items: Iterable[tuple], n_jobs: int = 1) -> Iterator[Any]:
    """``fn(shared, *item)`` for each item, results in item order: on the active cluster, else in
    ``n_jobs`` joblib processes (-1: every core; each under a thread limit, tools.threads), else (1) here. ``fn`` must be a module-level function."""
    cluster = active()
    if cluster is not None:
        return cluster.map(fn, shared, items)
    from causalpilot.tools.threads import parallel  # local workers under BLAS/OpenMP thread limits

    return parallel(fn, ((shared, *item) for item in items), n_jobs, "generator")


__all__ = ["CONNECT_TIMEOUT_S", "Cluster", "active", "connect", "task_map", "using"]
