"""Run a benchmark suite: every dataset x method as one task, fanned out over joblib (or a Dask cluster).

"The agent" is exactly what `causalpilot analyse` runs to find a graph (agent.loop.find_structure:
profile -> rules planner -> discovery), with the bootstrap turned off since edge confidences do not
change the graph that is scored. A baseline is one registered algorithm at its library defaults, run
on the same prepared matrix the agent's discovery sees (same rows, same columns, same repairs).

Each finished task is appended at once to ``tasks.jsonl`` in the output directory, so an interrupted
run keeps its results and a rerun skips what is done. A task past the suite's time cap is stopped
and recorded as ``timeout``; a baseline that is not registered is recorded as ``skipped``.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sys
import threading
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from causalpilot.evals.metrics import score
from causalpilot.evals.suites import DatasetSpec, Suite, baselines_for, build

AGENT = "agent"
PARTIAL = "tasks.jsonl"
METRIC_KEYS = ("shd", "skeleton_precision", "skeleton_recall", "skeleton_f1", "arrow_precision", "arrow_recall",
               "arrow_f1", "copilot_precision", "copilot_recall", "copilot_f1", "copilot_shd", "n_edges",
               "n_true_edges", "parent_aid", "ancestor_aid", "oset_aid")


@dataclass(frozen=True)
class Task:
    suite: str
    run_seed: int
    spec: DatasetSpec
    method: str
    cap_s: float

    @property
    def key(self) -> str:
        """Identifies the task across runs; changes when the dataset's definition changes, so stale rows are not reused."""
        recipe = hashlib.sha256(repr((self.spec.kind, self.spec.args, self.spec.seed, self.spec.time_series)).encode())
        return f"{self.suite}|seed{self.run_seed}|{self.spec.name}|{self.method}|{recipe.hexdigest()[:8]}"


class TaskTimeout(BaseException):
    """Raised inside a task past its cap. A BaseException so that a library's `except Exception` cannot swallow it."""


@contextmanager
def time_cap(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (SIGALRM; only where the task runs in a process's main thread).

    joblib's process workers and the sequential path run tasks in the main thread; a Dask worker runs
    them in threads, where no cap is set (the cluster's own limits apply).
    """
    if seconds <= 0 or threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def _raise(signum, frame):
        raise TaskTimeout()

    old = signal.signal(signal.SIGALRM, _raise)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def _base_row(task: Task) -> dict[str, Any]:
    return {"task": task.key, "suite": task.suite, "run_seed": task.run_seed, "dataset": task.spec.name,
            "scenario": task.spec.scenario, "replicate": task.spec.replicate, "data_seed": task.spec.seed,
            "method": task.method, "status": None, "note": None, "n": None, "p": None,
            **{k: None for k in METRIC_KEYS}, "seconds": None, "algorithm": None, "parameters": None,
            "graph_type": None}


def run_task(task: Task) -> dict[str, Any]:
    """Build the dataset, run the method under the time cap, score the graph against the truth."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    row = _base_row(task)
    t0 = time.perf_counter()
    try:
        _warm_imports()
        built = build(task.spec)
        row["n"], row["p"] = int(built.frame.shape[0]), len(built.truth.nodes)
        t0 = time.perf_counter()
        with time_cap(task.cap_s):
            graph, info = _run_method(task, built)
        row["seconds"] = round(time.perf_counter() - t0, 3)
        row.update(score(graph, built.truth))
        row.update(status="ok", algorithm=graph.algorithm, graph_type=graph.graph_type,
                   parameters=json.loads(json.dumps(graph.parameters, default=str)), note=info or None)
    except TaskTimeout:
        row.update(status="timeout", seconds=round(time.perf_counter() - t0, 3),
                   note=f"stopped at the {task.cap_s:g} s cap")
    except Exception as exc:  # a method failing on a dataset is a result to record, not a crash
        row.update(status="error", seconds=round(time.perf_counter() - t0, 3),
                   note=f"{type(exc).__name__}: {exc}"[:500])
        row["traceback"] = traceback.format_exc(limit=5)[-2000:]
    return row


def _warm_imports() -> None:
    """Import the libraries before the clock starts, so that the first task in a worker is not charged for them."""
    import importlib

    from causalpilot.tools.registry import algorithms

    algorithms()
    for mod in ("causallearn.search.ConstraintBased.PC", "causallearn.search.ConstraintBased.FCI",
                "causallearn.search.ScoreBased.GES", "causallearn.search.FCMBased.lingam", "causalpilot.agent.planners.rules"):
        try:
            importlib.import_module(mod)
        except ImportError:
            pass


def _dataset(built, task: Task):
    from causalpilot.tools.loading import Dataset

    sha = hashlib.sha256(built.frame.to_csv(index=False).encode()).hexdigest()
    return Dataset(frame=built.frame, path=f"<{task.spec.name}>", sha256=sha, format="synthetic")


def _run_method(task: Task, built) -> tuple[Any, str]:
    from causalpilot.agent.loop import derive_seed, discovery_input, find_structure
    from causalpilot.agent.planners.base import Request
    from causalpilot.agent.planners.rules import RulesPlanner
    from causalpilot.tools.profile import profile_and_prepare
    from causalpilot.tools.registry import run_algorithm

    ds = _dataset(built, task)
    if task.method == AGENT:
        found = find_structure(ds, RulesPlanner(), Request(bootstrap=0), seed=task.run_seed,
                               time_series=built.time_series)
        return found.graph, f"chose {found.plan.algorithm}"
    prepared = profile_and_prepare(ds, seed=derive_seed(task.run_seed, "profile"), time_series=built.time_series)
    di = discovery_input(prepared, derive_seed(task.run_seed, "discovery"), None)
    return run_algorithm(task.method, di, {}), ""


# --------------------------------------------------------------------------- planning and resuming
def plan_tasks(suite: Suite, run_seed: int) -> tuple[list[Task], list[dict[str, Any]]]:
    """The tasks to run, and the rows recorded without running (unregistered or not attempted)."""
    from causalpilot.tools.registry import algorithms

    registered = set(algorithms())
    tasks, recorded = [], []
    for spec in suite.datasets:
        for method in (AGENT, *baselines_for(suite, spec)):
            task = Task(suite.name, run_seed, spec, method, suite.cap_s)
            if method != AGENT and method not in registered:
                row = _base_row(task)
                row.update(status="skipped", note=f"baseline '{method}' is not registered in this installation")
                recorded.append(row)
            elif (spec.scenario, method) in suite.not_attempted:
                row = _base_row(task)
                row.update(status="timeout", note="not attempted: " + suite.not_attempted[(spec.scenario, method)])
                recorded.append(row)
            else:
                tasks.append(task)
    tasks.sort(key=lambda t: -t.spec.cost())  # the biggest first, so that workers finish together
    return tasks, recorded


def read_partial(path: Path) -> dict[str, dict[str, Any]]:
    """Rows already finished (last one per task wins); a torn last line from a kill is ignored."""
    done: dict[str, dict[str, Any]] = {}
    if not path.exists():
        return done
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(row, dict) and "task" in row:
            done[row["task"]] = row
    return done


def _end_torn_line(path: Path) -> None:
    """A run killed mid-write leaves a last line without its newline; end it, so that the next row starts clean."""
    if path.exists() and path.stat().st_size > 0:
        with open(path, "rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                f.write(b"\n")


def _append(path: Path, row: dict[str, Any]) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(row, sort_keys=True) + "\n")
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def _backend(scheduler: str | None):
    if not scheduler:
        yield None
        return
    import joblib

    from causalpilot.tools.cluster import connect

    client = connect(scheduler)  # one sentence (exit 2) for a missing Dask or an unreachable scheduler
    try:
        with joblib.parallel_backend("dask"):
            yield client
    finally:
        client.close()


def run_suite(suite: Suite, out: str | Path, *, run_seed: int = 0, n_jobs: int = 1, scheduler: str | None = None,
              progress: bool = True, retry_errors: bool = True) -> list[dict[str, Any]]:
    """Run every task not yet in ``out/tasks.jsonl``; write results.json and results.md; return the rows.
    An effect suite (``suite.effect_cases``) runs its cases in order instead (evals.effects)."""
    from joblib import Parallel, delayed

    from causalpilot.tools.threads import in_worker, threads_per_process, workers

    if suite.effect_cases:
        from causalpilot.evals.effects import run_effect_suite

        return run_effect_suite(list(suite.effect_cases), out, run_seed=run_seed, progress=progress)

    from causalpilot.evals.results import write_results

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    partial = out / PARTIAL
    tasks, recorded = plan_tasks(suite, run_seed)
    _end_torn_line(partial)
    done = read_partial(partial)
    keep = {k for k, r in done.items() if not (retry_errors and r.get("status") == "error")}
    for row in recorded:
        if row["task"] not in keep:
            _append(partial, row)
    todo = [t for t in tasks if t.key not in keep]

    bar = _progress(len(todo), suite.name, progress)
    try:
        if todo:
            with _backend(scheduler):
                jobs = -1 if scheduler else n_jobs
                # BLAS/OpenMP threads x local workers <= cores; a Dask worker runs tasks in threads: one each
                task = in_worker(run_task, 1 if scheduler else threads_per_process(workers(n_jobs)))
                for row in Parallel(n_jobs=jobs, return_as="generator_unordered")(delayed(task)(t) for t in todo):
                    _append(partial, row)
                    bar.update(1)
                    bar.set_postfix_str(f"{row['dataset']} {row['method']} {row['status']}", refresh=False)
    finally:
        bar.close()

    wanted = {t.key for t in tasks} | {r["task"] for r in recorded}
    rows = [r for k, r in read_partial(partial).items() if k in wanted]
    order = {sc: i for i, sc in enumerate(dict.fromkeys(spec.scenario for spec in suite.datasets))}
    rows.sort(key=lambda r: (order.get(r["scenario"], len(order)), r["scenario"], r["replicate"], r["method"] != AGENT,
                             r["method"]))
    write_results(out, suite, rows)
    return rows


def _progress(total: int, name: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"eval {name}", unit="task", file=sys.stderr, disable=not enabled or total == 0,
                dynamic_ncols=True)


__all__ = ["AGENT", "Task", "TaskTimeout", "plan_tasks", "read_partial", "run_suite", "run_task", "time_cap"]
