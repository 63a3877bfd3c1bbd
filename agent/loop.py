"""The analysis loop: load -> profile -> plan -> discover -> infer -> interpret -> report.

One function, :func:`run_analysis`, runs the steps in that order for the one-shot command; the chat
session and the evaluation runner call the same steps. Every step is timed, every decision is
recorded, and the run is saved to the keyed memory at the end in one transaction.
"""

from __future__ import annotations

import copy
import datetime as _dt
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from causalpilot.agent import __version__
from causalpilot.agent.outputs import check_out_dir, json_text, prepare_out_dir, write_atomic
from causalpilot.agent.planners.base import AssistedPlanner, Decision, DiscoveryPlan, Planner, Request
from causalpilot.agent.progress import Progress, duration, heartbeat, silent, skeleton_progress
from causalpilot.reports.decisions import discovery_decisions
from causalpilot.reports.numbers import number
from causalpilot.tools.background import Background, apply_to_graph, describe_background, resolve_background
from causalpilot.tools.bootstrap import BootstrapResult, annotate, bootstrap
from causalpilot.tools.budget import DEFAULT_BUDGET_S, fit_repetitions, time_budget
from causalpilot.tools.threads import workers as budget_workers
from causalpilot.tools.cluster import Cluster, using
from causalpilot.tools.cluster import active as active_cluster
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.loading import Dataset, load_table
from causalpilot.tools.profile import PreparedData, domain_codes, profile_and_prepare
from causalpilot.tools.registry import DiscoveryInput, deletes_testwise, get_algorithm, run_algorithm, uses_moments

LIBRARIES = ("numpy", "scipy", "pandas", "causal-learn", "dowhy", "tigramite", "networkx", "scikit-learn",
             "joblib", "jinja2", "pydantic", "langchain", "openai")


@dataclass
class AnalysisOptions:
    data: str
    out: str | None = None
    seed: int = 0
    planner: str = "rules"
    treatment: str | None = None
    outcome: str | None = None
    time_index: str | None = None
    time_series: bool = False
    domain_index: str | None = None
    no_domain: bool = False  # no column is a domain index, whatever its name or its data say (--no-domain)
    question: str | None = None
    background: Any = None  # a JSON/YAML file path, a mapping, or a Background
    algorithm: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    bootstrap: int | None = None
    n_jobs: int | None = None  # None: all cores once one run takes PARALLEL_AFTER_S, else 1
    quiet: bool = False
    memory_path: str | os.PathLike | bool | None = None  # None: the default store; False: record nothing
    command: str = "analyse"
    share_data: int | bool | None = None  # data rows the LLM may see (None: 5; 0: none; True: 50)
    replay: str | None = None  # a transcript.json whose recorded answers replace the LLM server (--replay)
    cate_by: list[str] | None = None  # covariates for heterogeneous effects (--cate-by)
    what_if: str | None = None  # "X=1.5": mean outcome under do(X=1.5) (--what-if)
    no_order: bool = False  # do not assume that the outcome does not cause the treatment (--no-order)
    time_budget: float | None = DEFAULT_BUDGET_S  # seconds for the repeated steps to fit in (None: no limit)
    # a Dask scheduler address, or a distributed.Client / cluster object (the Python API): the bootstrap
    # resamples, portfolio members and refuters' re-estimates run as its tasks (tools.cluster)
    scheduler: Any = None
    stream: bool | None = None  # read a Parquet/CSV file in batches: True, False, None (when it would not fit)
    sample_rows: int | None = None  # the sample a streamed file is profiled on (default tools.streaming.SAMPLE_ROWS)


@dataclass
class RunResult:
    run_id: str
    out: Path | None  # None when the run wrote no files (the Python API without ``out``)
    graph: CausalGraph
    effects: list[dict]
    run_info: dict[str, Any]
    found: "FoundStructure | None" = None  # what discovery produced, for a chat that only asks a new effect
    artifacts: dict[str, str | bytes] = field(default_factory=dict)  # file name -> content, as written to out


class Timer:
    def __init__(self) -> None:
        self.timings: dict[str, float] = {}

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(time.perf_counter() - t, 4)


def make_run_id(sha256: str) -> str:
    return f"{_dt.datetime.now().strftime('%Y%m%d-%H%M%S')}-{sha256[:8]}"


def default_out(run_id: str) -> Path:
    base = Path.cwd() / "causalpilot-out" / run_id
    p, k = base, 2
    while p.exists():
        p, k = base.with_name(f"{run_id}-{k}"), k + 1
    return p


def library_versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def get_planner(name: str) -> Planner:
    if name == "rules":
        from causalpilot.agent.planners.rules import RulesPlanner

        return RulesPlanner()
    if name == "llm":
        from causalpilot.agent.planners.llm import LLMPlanner

        return LLMPlanner()
    raise InputError(f"Unknown planner '{name}'; choose 'rules' or 'llm'.")


def discovery_input(prepared: PreparedData, seed: int, background: Background | None,
                    with_gaps: bool = False) -> DiscoveryInput:
    """What an algorithm runs on. ``with_gaps``: the data before imputation, NaN where a value is
    missing (for a CI test that deletes test-wise), when values were imputed."""
    kinds = {c.name: c.kind for c in prepared.profile.columns}
    dom = None
    if prepared.domain is not None:
        dom = domain_codes(prepared.domain).astype(float)
    gaps = with_gaps and prepared.with_gaps is not None
    X = prepared.with_gaps.to_numpy(dtype=float) if gaps else prepared.X
    streamed = prepared.streamed
    return DiscoveryInput(X=X, nodes=list(prepared.frame.columns), kinds=kinds, seed=seed,
                          background=background, domain=dom,
                          moments=None if streamed is None or gaps else streamed.moments,
                          time=None if prepared.time is None else
                          np.arange(len(prepared.frame), dtype=float) if prepared.grid is None else
                          np.asarray(prepared.grid, dtype=float))


def derive_seed(seed: int, stage: str) -> int:
    """A stable per-stage seed from the user's --seed (independent of Python's hash randomisation)."""
    tag = sum((i + 1) * ord(ch) for i, ch in enumerate(stage))
    return int(np.random.SeedSequence([seed, tag]).generate_state(1)[0])


PARALLEL_AFTER_S = 5.0  # a run this slow makes the resamples worth spreading over every core
BOOTSTRAP_SHARE = 0.6  # of the time budget left after one discovery run, the share the resamples may use
MIN_BUDGET_RESAMPLES = 5  # fewer resamples than this give no confidence worth showing: none are run


@dataclass
class FirstRun:
    """One run of a plan's algorithm (with its portfolio reconciled), before any bootstrap: what
    :func:`discover` needs to add resamples to it without running the algorithm again."""

    graph: CausalGraph  # as the algorithm (and the portfolio's vote) left it: no confidences, no knowledge check
    params: dict[str, Any]  # the algorithm's parameters as run, which the resamples rerun
    seconds: float  # how long the one run of the algorithm took (the time budget and the workers read it)


def run_once(prepared: PreparedData, plan: DiscoveryPlan, seed: int, background: Background | None,
             say=None) -> FirstRun:
    """Run the planned algorithm once on the data (seeded by ``derive_seed(seed, "discovery")``) and
    reconcile its portfolio members (tools.portfolio), without a bootstrap."""
    di = discovery_input(prepared, derive_seed(seed, "discovery"), background,
                         with_gaps=deletes_testwise(plan.algorithm, plan.params))
    return _run_once(di, plan, say)


def _run_once(di: DiscoveryInput, plan: DiscoveryPlan, say) -> FirstRun:
    started = time.perf_counter()
    from causalpilot.tools.discovery.fast_pc import reporting

    with heartbeat(f"running {plan.algorithm}", say), reporting(skeleton_progress(say)):
        graph = run_algorithm(plan.algorithm, di, plan.params)
    took = time.perf_counter() - started
    params = dict(graph.parameters)
    if plan.portfolio:  # several methods when the profile is ambiguous: reconciled by vote (tools.portfolio)
        from causalpilot.tools.portfolio import run_portfolio

        graph = run_portfolio(graph, plan.portfolio, di)
    return FirstRun(graph, params, took)


def discover(prepared: PreparedData, plan: DiscoveryPlan, seed: int, background: Background | None,
             n_jobs: int | None = None, say=None, fit_budget: bool = True,
             first: FirstRun | None = None) -> tuple[CausalGraph, BootstrapResult, list[str]]:
    """Run the planned algorithm, its bootstrap, and the knowledge post-check.

    ``fit_budget``: the planned number of resamples is cut to what fits in the time budget in force
    (:mod:`causalpilot.tools.budget`); False when the user fixed the number. ``first``: the plan's
    algorithm already run once on these data with this seed and knowledge (:func:`run_once`; the
    session's graph that a bootstrap is now added to), used instead of running it again: the result
    is the same, as every step is seeded from ``seed``.

    With ``n_jobs`` None the resamples run in one process unless one run of the algorithm took
    PARALLEL_AFTER_S or more, then on every core: each resample has its own seed, so the result is
    the same either way and only the wall time changes.
    """
    di = discovery_input(prepared, derive_seed(seed, "discovery"), background,
                         with_gaps=deletes_testwise(plan.algorithm, plan.params))
    if first is None:
        first = _run_once(di, plan, say)
    else:  # the result below must not change the kept run (the orientation and knowledge steps edit graphs)
        first = copy.deepcopy(first)
    graph, params, took = first.graph, first.params, first.seconds
    if n_jobs is None:
        n_jobs = -1 if took >= PARALLEL_AFTER_S and plan.bootstrap > 1 else 1
    fit = fit_repetitions(plan.bootstrap, took, budget_workers(n_jobs), BOOTSTRAP_SHARE, "bootstrap resamples",
                          minimum=MIN_BUDGET_RESAMPLES) if fit_budget else None
    if fit is not None and fit.note:  # the budget binds: fewer resamples (a prefix of the planned ones: same seeds)
        plan.bootstrap = fit.granted
        plan.decisions.append(Decision("discovery.bootstrap_budget", fit.granted, fit.note + (
            "" if fit.granted else "; the edges carry no bootstrap confidence"), {"planned": fit.wanted,
                                                                                  "one_run_s": round(took, 1)}))
        if say is not None:
            say(f"      time budget: {fit.note}")
    if say is not None and took >= PARALLEL_AFTER_S and plan.bootstrap > 0:
        cluster = active_cluster()
        workers = cluster.describe()["workers"] if cluster is not None else budget_workers(n_jobs)
        minutes = took * plan.bootstrap / max(1, min(workers, plan.bootstrap)) / 60
        say(f"      one {plan.algorithm} run took {duration(took)}; {plan.bootstrap} bootstrap resamples on {workers} "
            f"{'cluster ' if cluster is not None else ''}worker(s) will take about {duration(minutes * 60)} "
            "(--bootstrap 0 skips them)")
    block = None
    if prepared.profile.value("time_series"):
        from causalpilot.tools.bootstrap import block_length

        block = block_length(len(prepared.frame), int(plan.params.get("tau_max") or 1))
    if plan.bootstrap > 0 and block is None and uses_moments(plan.algorithm, params, di):
        # a streamed file: Poisson-weighted resamples of all its rows, as weighted moments from one more pass
        from causalpilot.tools.bootstrap import weighted_bootstrap

        with heartbeat(f"drawing {plan.bootstrap} Poisson-weighted resamples in one pass over the file", say):
            resamples = prepared.streamed.table.poisson_moments(list(di.nodes), plan.bootstrap,
                                                                derive_seed(seed, "poisson"))
        progress = Progress("bootstrap", plan.bootstrap, say)
        boot = weighted_bootstrap(plan.algorithm, di, params, resamples, derive_seed(seed, "bootstrap"),
                                  n_jobs=n_jobs, progress=progress.update)
    else:
        progress = Progress("bootstrap", plan.bootstrap, say)
        boot = bootstrap(plan.algorithm, di, params, plan.bootstrap, derive_seed(seed, "bootstrap"),
                         n_jobs=n_jobs, block=block, progress=progress.update)
    progress.close()
    graph = annotate(graph, boot)
    if plan.orient == "additive_noise" and graph.graph_type == "CPDAG":
        from causalpilot.tools.discovery.additive_noise import orient_by_additive_noise

        graph, found = orient_by_additive_noise(graph, prepared.X, seed=derive_seed(seed, "orient"))
        graph.parameters["additive_noise"] = found
    notes: list[str] = []
    if background is not None:
        graph, notes = apply_to_graph(graph, background)
        if boot.replicates:  # the resamples honour the knowledge too (bootstrap._with_knowledge): the edges it
            # changed take the share of resamples with exactly that edge, not that of the edge it replaced
            from dataclasses import replace as _replace

            links = boot.link_frequency()
            graph = CausalGraph(graph.nodes, [
                _replace(e, confidence=boot.edge_frequency.get((e.source, e.target, e.type, e.lag), 0.0),
                         link_confidence=links.get((frozenset((e.source, e.target)), e.lag), 0.0))
                if e.oriented_by == "background" else e for e in graph.edges],
                graph.graph_type, graph.algorithm, dict(graph.parameters))
    return graph, boot, notes


@dataclass
class FoundStructure:
    """What the agent's structure-finding steps produce: the prepared data, the plan and the graph."""

    prepared: PreparedData
    plan: DiscoveryPlan
    graph: CausalGraph
    boot: BootstrapResult
    notes: list[str]
    decisions: list[Decision]
    proposed_effect: tuple[str, str] | None = None  # (treatment, outcome) an LLM planner read from the question
    background: Background | None = None  # the knowledge discovery used (--background, merged with the LLM's)
    data_sha256: str | None = None  # the file it was found on (set by run_analysis)
    roots: list = field(default_factory=list)  # tools.knowledge.Root: variables nothing in the data can cause
    randomised: dict | None = None  # the treatment's randomisation check (tools.knowledge), when one was made
    agent: Any = None  # the LLM planner's AnalysisSession (agent.agent_tools): its named graphs and trail

    @property
    def profile(self):
        return self.prepared.profile


def _effect_pair(request: Request, prepared: PreparedData) -> tuple[str | None, str | None]:
    """(treatment, outcome) asked about: the --treatment/--outcome pair, else the one pair a --question
    names, else what was given (None where nothing was)."""
    if not (request.treatment and request.outcome) and request.question:
        from causalpilot.tools.inference.question import read_question

        pairs = read_question(request.question, list(prepared.frame.columns)).pairs
        if len(pairs) == 1:
            return pairs[0]
    return request.treatment, request.outcome


def _effect_order(background: Background | None, request: Request, prepared: PreparedData,
                  pair: tuple[str | None, str | None] | None = None) -> tuple[Background | None, str | None]:
    """The knowledge discovery uses once the effect asked about is known: "the outcome does not cause
    the treatment" is added for a --treatment/--outcome pair (or the one pair a --question names;
    ``pair``: that pair when the caller has read it, :func:`_effect_pair`), unless --no-order, the
    user's knowledge says otherwise, or the data are a time series (where the outcome's past may well
    drive the treatment)."""
    treatment, outcome = pair or _effect_pair(request, prepared)
    columns = list(prepared.frame.columns)
    if not (treatment and outcome) or treatment == outcome or not request.effect_order:
        return background, None
    if treatment not in columns or outcome not in columns:
        return background, None  # the inference step names the unknown column
    if prepared.time is not None or prepared.profile.value("time_series"):
        return background, (f"not assumed that {outcome} does not cause {treatment}: in a time series the outcome's "
                            "past may drive the treatment, so only the data orient that pair")
    from causalpilot.tools.background import with_effect_order

    return with_effect_order(background, treatment, outcome)


def profile_notes(profile) -> list[str]:
    """What profiling changed or found that the console should say at once: columns set aside for
    discovery (with the relation that determines them), calendar columns of a time series, series
    differenced because they are not stationary, gaps in the time index."""
    notes = [f"set aside for discovery: {r['column']} ({r['relation']}; it is determined by "
             f"{', '.join(r['of'])})" for r in profile.repairs if r.get("repair") == "set_aside"]
    notes += [f"set aside as a calendar column: {r['column']} ({r['reason'].split(': ', 1)[1].split(';')[0]})"
              for r in profile.repairs if r.get("repair") == "calendar"]
    stat = profile.findings.get("stationarity")
    if stat is not None and stat.value:
        notes.append(f"stationarity: {stat.summary}")
    grid = profile.findings.get("time_grid")
    if grid is not None and grid.value in ("gaps", "uneven"):
        notes.append(f"time index: {grid.summary}")
    return notes


def _missing_value_decisions(prepared: PreparedData, plan: DiscoveryPlan) -> list[Decision]:
    """Whether discovery saw the data with their gaps (test-wise deletion) or the imputed values, and why."""
    if prepared.with_gaps is None or any(d.step == "discovery.missing_values" for d in plan.decisions):
        return []
    repair = next(r for r in prepared.profile.repairs if r.get("repair") == "imputation")
    test = plan.params.get("indep_test")
    if deletes_testwise(plan.algorithm, plan.params):
        return [Decision("discovery.missing_values", "test-wise deletion", (
            f"{repair['rows']} rows have a missing value; {plan.algorithm} with {test} runs on the data with their gaps: "
            "each test uses the rows complete in its own variables, and nothing is imputed for discovery"),
            {"incomplete_rows": repair["rows"]}, by="data")]
    return [Decision("discovery.missing_values", "imputed before discovery", (
        f"{repair['rows']} rows have a missing value; {plan.algorithm} runs on the imputed values "
        f"({repair['method']}); PC or FCI with --indep-test mv_fisherz would delete test-wise instead"),
        {"incomplete_rows": repair["rows"]}, by="data")]


def _time_grid_decisions(profile, algorithm: str) -> list[Decision]:
    """How the chosen method treats the gaps of the time index (tools.discovery.time_series.gap_handling)."""
    grid = profile.findings.get("time_grid")
    if grid is None or grid.value != "gaps":
        return []
    from causalpilot.tools.discovery.time_series import gap_handling

    how = gap_handling(algorithm, grid.evidence)
    if how is None:
        return []
    return [Decision("discovery.time_gaps", how[0], how[1], {k: grid.evidence[k] for k in
                     ("step", "missing_steps", "gaps", "longest_regular_stretch")}, by="data")]


def find_structure(ds: Dataset, planner: Planner, request: Request, *, seed: int = 0, time_index: str | None = None,
                   time_series: bool = False, domain_index: str | None = None, keep: list[str] | None = None,
                   background: Any = None, n_jobs: int | None = None, timer: Timer | None = None,
                   say=None, no_domain: bool = False, memory_path: Any = None) -> FoundStructure:
    """Profile -> plan -> discover on a loaded dataset: the agent's graph exactly as `analyse` finds it.

    Shared by `analyse` and the evaluation runner (evals/), so that what is benchmarked is the agent.
    Both kinds of planner work through the agent tools on a session (agent.agent_tools), which
    ``FoundStructure.agent`` keeps with its trail: an :class:`AssistedPlanner` (the LLM planner) runs
    this part itself (:func:`_structure_by_agent`), any other planner's plan runs as a fixed sequence
    of the same tools (:func:`_structure_by_plan`). ``memory_path`` is where the tools read graphs of
    earlier runs.
    """
    timer = timer or Timer()
    say = say or silent
    with timer.step("profile"), heartbeat("profiling", say):
        unused = getattr(planner, "unused_checks", None)  # `discover`'s planner reads fewer findings
        prepared = profile_and_prepare(ds, seed=derive_seed(seed, "profile"), time_index=time_index,
                                       time_series=time_series, domain_index=domain_index, keep=list(keep or []),
                                       no_domain=no_domain, skip=unused(request) if unused else None)
    profile = prepared.profile
    say(f"[2/5] profiled in {duration(timer.timings['profile'])}: {profile.findings['data_type'].summary}; "
        f"{profile.findings['linearity'].summary}")
    for note in profile_notes(profile):
        say(f"      {note}")
    if ds.table is not None:  # a streamed file: one pass for the means and covariances of all its rows
        from causalpilot.tools.streaming import summarise

        with timer.step("stream"), heartbeat("streaming the file for means and covariances", say):
            prepared.streamed = summarise(ds, prepared)
        say(f"      {_streamed_decision(prepared.streamed, len(prepared.frame.columns)).reason}")

    background, given, roots, root_decisions = knowledge_in_force(ds, prepared, request, background)
    proposed_effect, session = None, None
    if isinstance(planner, AssistedPlanner):
        session = _structure_by_agent(prepared, planner, request, seed=seed, background=background, n_jobs=n_jobs,
                                      timer=timer, memory_path=memory_path)
        plan, graph, boot, bg_notes, background, decisions, proposed_effect = _agent_outcome(session, planner,
                                                                                             request, given)
        decisions += _time_grid_decisions(profile, plan.algorithm) + _missing_value_decisions(prepared, plan)
        say(f"[3/5] the agent made {len(session.graphs)} graph(s) and finished with '{session.final}' "
            f"({plan.algorithm})")
    else:
        session, plan, decisions = _structure_by_plan(prepared, planner, request, seed=seed, background=background,
                                                      n_jobs=n_jobs, timer=timer, say=say, memory_path=memory_path,
                                                      given=given)
        ng = next(iter(session.graphs.values()))  # the plan's one graph
        graph, boot, bg_notes = ng.graph, ng.boot, ng.notes
    grid = profile.findings.get("time_grid")
    if graph.graph_type == "lagged" and grid is not None and grid.value in ("regular", "gaps"):
        graph.parameters["lag_unit"] = grid.evidence["step"]
    found_steps = discovery_decisions(graph)  # what the graph's own steps found, in words (reports/)
    decisions.extend(found_steps)
    for d in found_steps:
        if d.step == "discovery.starts_budget":
            say(f"      time budget: {d.reason}")
    proposed_roots = [r for d in root_decisions if d.step == "discovery.roots" for r in d.evidence["proposed"]]
    if proposed_roots:
        from causalpilot.tools.knowledge import Root, edges_into_roots

        flagged = edges_into_roots(graph, [Root(**r) for r in proposed_roots])
        if flagged:
            decisions.append(Decision("discovery.edges_into_roots", len(flagged), "; ".join(flagged),
                                      {"edges": flagged}, by="data"))
    say(f"[4/5] discovered {len(graph.edges)} edges in {duration(timer.timings['discover'])}")
    randomised = next((d.evidence["check"] for d in root_decisions if d.step == "discovery.randomised_treatment"), None)
    return FoundStructure(prepared, plan, graph, boot, bg_notes, decisions, proposed_effect, background,
                          roots=roots, randomised=randomised, agent=session)


def knowledge_in_force(ds: Dataset, prepared: PreparedData, request: Request, background: Any
                       ) -> tuple[Background | None, list[Decision], list, list[Decision]]:
    """The knowledge discovery starts from, before any planner decides: the user's (``background``: a
    JSON/YAML path, a mapping or a Background; InputError for an unreadable file or an unknown column),
    the effect order of the pair asked about (:func:`_effect_order`) and the roots the data propose
    (:func:`_roots`). Returns (the merged knowledge, the decisions that record it, the roots applied,
    the roots' own decisions)."""
    background = resolve_background(background, prepared.profile.variables)
    user_background = background
    pair = _effect_pair(request, prepared)
    background, order_note = _effect_order(background, request, prepared, pair)
    background, roots, root_decisions = _roots(ds, prepared, request, background, user_background)
    given: list[Decision] = []
    if user_background is not None:
        given.append(Decision("discovery.background", user_background.to_dict(),
                              "knowledge from --background, passed to the algorithm where it accepts it and "
                              "enforced on the final graph", {}, by="user"))
    if order_note:
        given.append(Decision("discovery.effect_order", order_note.startswith("assumed"), order_note,
                              {"treatment": pair[0], "outcome": pair[1]}, by="user"))
    given.extend(root_decisions)
    return background, given, roots, root_decisions


def _streamed_decision(streamed, p: int) -> Decision:
    """What a streamed file's analysis runs on: the moments of all its rows, the sample, or both."""
    rows, sample = number(streamed.rows), number(streamed.sample_rows)
    if streamed.moments is None:
        reason = (f"the file's {rows} rows were read in batches, not into memory; the means and covariances of its "
                  f"rows cannot stand for these data ({streamed.reason}), so the profile, discovery and effects "
                  f"run on a seeded sample of {sample} rows")
    else:
        left = streamed.rows - streamed.complete_rows
        reason = (f"the file's {rows} rows were read in batches, not into memory: the means and covariances of the "
                  f"{p} analysis variables over {'all ' if not left else ''}{number(streamed.complete_rows)} rows"
                  + (f" ({number(left)} rows with a missing value left out)" if left else "")
                  + " come from one streaming pass and carry Fisher-z PC, the Gaussian BIC searches and linear "
                  f"effect estimates; the profile and every other method run on a seeded sample of {sample} rows")
    return Decision("data.streamed", streamed.moments is not None, reason, streamed.to_dict(), by="data")


def _stream_decisions(prepared: PreparedData, plan: DiscoveryPlan, background: Background | None) -> list[Decision]:
    """The data a streamed file's discovery and bootstrap ran on, as decisions (run.json and the report)."""
    streamed = prepared.streamed
    out = [_streamed_decision(streamed, len(prepared.frame.columns))]
    if streamed.moments is None:
        return out
    di = discovery_input(prepared, 0, background, with_gaps=deletes_testwise(plan.algorithm, plan.params))
    full = uses_moments(plan.algorithm, plan.params, di)
    sample = number(streamed.sample_rows)
    what = (f"{plan.algorithm} needs only the means and covariances, so it ran on all "
            f"{number(streamed.complete_rows)} rows" if full else
            f"{plan.algorithm} with these settings needs the rows, so it ran on the sample of {sample} rows")
    if plan.bootstrap:
        what += ("; its bootstrap resamples are Poisson(1) weights on every streamed row (weighted means and "
                 "covariances from one more pass, no copies of rows)" if full else
                 f"; its bootstrap resamples the sample of {sample} rows")
    members = [name for name, params in plan.portfolio if not uses_moments(name, params, di)]
    if members:
        what += f"; the portfolio member(s) {', '.join(members)} need the rows and ran on the sample"
    out.append(Decision("discovery.streamed", full, what, {"algorithm": plan.algorithm}, by="data"))
    return out


def _roots(ds: Dataset, prepared: PreparedData, request: Request, background: Background | None,
           user: Background | None) -> tuple[Background | None, list, list[Decision]]:
    """The variables nothing in the data can cause (tools.knowledge): a randomised treatment (when an
    effect is asked) and demographics fixed at birth, put in the first tier unless the user's tiers
    win. Not on a time series. Returns (knowledge, the roots applied, the decisions)."""
    from causalpilot.tools.knowledge import demographic_roots, randomisation_check, unit_column, with_roots

    if prepared.time is not None or prepared.profile.value("time_series"):
        return background, [], []
    frame = prepared.frame
    columns = list(frame.columns)
    decisions: list[Decision] = []
    proposed = []
    t, y = request.treatment, request.outcome
    if t and y and t in columns and y in columns and t != y:
        check = randomisation_check(frame, t, y)
        if check is not None:
            decisions.append(Decision("discovery.randomised_treatment", check.randomised, check.reason(),
                                      {"check": check.to_dict()}, by="data"))
            if check.randomised:
                from causalpilot.tools.knowledge import Root

                proposed.append(Root(t, check.reason(), "randomised"))
    units = None
    unit = unit_column(ds.frame)
    if unit is not None and len(ds.frame) == len(frame):
        units = ds.frame[unit].reset_index(drop=True)
    kinds = {c.name: c.kind for c in prepared.profile.columns}
    proposed += [r for r in demographic_roots(frame.reset_index(drop=True), kinds, units, exclude=(y,))
                 if r.name not in {p.name for p in proposed}]
    if not proposed:
        return background, [], decisions
    merged, applied, note = with_roots(background, proposed, columns, user)
    reason = note or ("first-tier roots (no edge may point into them): "
                      + "; ".join(r.reason for r in applied))
    decisions.append(Decision("discovery.roots", [r.name for r in applied], reason,
                              {"proposed": [{"name": r.name, "reason": r.reason, "kind": r.kind} for r in proposed]},
                              by="data"))
    return merged, applied, decisions


def _structure_by_plan(prepared: PreparedData, planner: Planner, request: Request, *, seed: int,
                       background: Background | None, n_jobs: int | None, timer: Timer, say, memory_path: Any,
                       given: list[Decision]) -> tuple[Any, DiscoveryPlan, list[Decision]]:
    """A planner's own plan (the rules', or the fixed one of `discover`) as a fixed sequence of the agent
    tools on a session (agent.agent_tools), the same tools the LLM planner calls: ``run_discovery`` on
    its plan, completed on the data (alpha tuned by BIC for the rules unless --alpha), kept as the graph
    named after the planner (``rules``, ``fixed``), then ``assess_stability`` with its number of resamples (none when that is
    0). A call that fails raises, as the planner has no one to tell. Returns (the session, whose trail
    goes to run.json's ``agent``; the plan as run; the decisions of the planning and the run, with the
    knowledge ``given``, in the order of the run's decisions)."""
    from causalpilot.agent.agent_tools import AgentTools, AnalysisSession

    session = AnalysisSession(prepared, request, seed=seed, background=background, n_jobs=n_jobs,
                              memory_path=memory_path, say=say)
    tools = AgentTools(session, by=planner.name, strict=True)
    profile = prepared.profile
    decisions: list[Decision] = []
    marks: dict[str, Any] = {}

    def planned(plan: DiscoveryPlan, tuned: list[Decision]) -> None:
        """Once the plan is complete and before the algorithm runs: its decisions and the console's lines."""
        marks["planned"], marks["decisions"] = time.perf_counter(), len(plan.decisions)
        decisions.extend(list(plan.decisions) + list(tuned) + given)
        if prepared.streamed is not None:
            decisions.extend(_stream_decisions(prepared, plan, background))
        say(f"[3/5] planned: {plan.algorithm} {plan.params} with {plan.bootstrap} bootstrap resamples")
        decisions.extend(_time_grid_decisions(profile, plan.algorithm) + _missing_value_decisions(prepared, plan))
        default_score = get_algorithm(plan.algorithm).defaults.get("score_func")
        for d in decisions:  # what the data made the plan do, beyond the method itself
            if d.step in ("discovery.missing_values", "discovery.time_gaps") or (
                    d.step == "discovery.score" and d.choice != default_score):
                say(f"      {d.step.split('.')[1].replace('_', ' ')}: {d.choice} ({d.reason})")

    started = time.perf_counter()
    plan = planner.plan_discovery(profile, request)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", planner.name)[:64] or "plan"  # a graph name (agent_tools.GRAPH_NAME)
    ng = tools.run_planned(plan, name, tune=planner.name == "rules" and "alpha" not in request.params,
                           on_planned=planned)
    if session.bootstrap_for(ng) > 0:
        tools.call("assess_stability", {"graph_name": ng.name})
    timer.timings["plan"] = round(marks["planned"] - started, 4)
    timer.timings["discover"] = round(time.perf_counter() - marks["planned"], 4)
    decisions += ng.plan.decisions[marks["decisions"]:]  # what the run itself changed in the plan (the time budget)
    return session, replace(ng.plan, bootstrap=ng.boot.replicates), decisions


def _structure_by_agent(prepared: PreparedData, llm: AssistedPlanner, request: Request, *, seed: int,
                        background: Background | None, n_jobs: int | None, timer: Timer, memory_path: Any):
    """The LLM planner's way to the final graph: it works through the agent tools on a session
    (agent.agent_tools.AnalysisSession) with the run's knowledge; the rules planner then completes what
    it left undone (the final choice, the bootstrap), keeping everything it had accepted. Returns the
    session, with every graph made in it, for the memory and the report's trail."""
    from causalpilot.agent.agent_tools import AnalysisSession, complete_with_rules

    session = AnalysisSession(prepared, request, seed=seed, background=background, n_jobs=n_jobs,
                              memory_path=memory_path)
    with timer.step("plan"):
        llm.analyse(session)
    with timer.step("discover"):
        complete_with_rules(session)
    return session


def _agent_outcome(session: Any, llm: AssistedPlanner, request: Request, given: list[Decision]):
    """What the agent's session leaves for the report: (the final graph's plan as run, graph, bootstrap,
    knowledge notes, knowledge, decisions, the effect pair it estimated on that graph when none was
    asked for)."""
    from causalpilot.agent.agent_tools import final_decisions

    ng = session.graphs[session.final]
    completed = session.completed
    decisions: list[Decision] = []
    if llm.fallback_reason is not None:
        decisions.append(Decision("planner.fallback", "rules", (
            f"the LLM planner did not finish ({llm.fallback_reason}); what it had done and the data accepted is "
            f"kept, and the rules planner completed the rest" + (f": {'; '.join(completed)}" if completed else "")),
            {"llm_errors": list(llm.errors), "completed": completed}, by="rules"))
    elif completed:
        decisions.append(Decision("planner.completed", "rules", "the rules planner completed what the LLM left undone: "
                                  + "; ".join(completed), {"completed": completed}, by="rules"))
    decisions += final_decisions(session) + given
    proposed = None
    if not (request.treatment or request.outcome):
        proposed = next(((t, y) for (g, t, y) in session.effects
                         if g == ng.name and session.finished_by == "llm"), None)
        if proposed is not None:
            decisions.append(Decision("effect.pair", list(proposed), f"LLM: the effect it estimated on '{ng.name}'",
                                      {}, by="llm"))
    plan = replace(ng.plan, bootstrap=ng.boot.replicates)
    return plan, ng.graph, ng.boot, ng.notes, ng.background, decisions, proposed


def check_options(opts: AnalysisOptions) -> None:
    """The usage errors that need no data, raised as :class:`InputError` before anything is loaded:
    half an effect request, the same column as treatment and outcome, an unknown algorithm, an
    option that needs an effect with none asked for, an output path that is a file."""
    if bool(opts.treatment) != bool(opts.outcome):
        given, missing = ("--treatment", "--outcome") if opts.treatment else ("--outcome", "--treatment")
        raise InputError(f"Give both --treatment and --outcome to estimate an effect ({given} was given without "
                         f"{missing}).")
    if opts.treatment and opts.treatment == opts.outcome:
        raise InputError(f"--treatment and --outcome name the same column '{opts.treatment}'; an effect needs two.")
    if opts.algorithm:
        from causalpilot.tools.registry import get_algorithm

        get_algorithm(opts.algorithm)
    if not (opts.treatment or opts.question):
        if opts.cate_by:
            raise InputError("--cate-by needs a treatment and an outcome (--treatment/--outcome).")
        if opts.what_if:
            raise InputError("--what-if needs an outcome (--outcome, with --treatment).")
    if opts.time_budget is not None and not (0 <= opts.time_budget <= 7 * 24 * 3600):
        raise InputError(f"--time-budget must be a number of seconds between 0 (no limit) and 604800, got "
                         f"{opts.time_budget:g}.")
    if opts.out:
        check_out_dir(opts.out)


def check_columns(opts: AnalysisOptions, ds: Dataset, reads_question: bool) -> None:
    """The usage errors that need only the table's header, raised as :class:`InputError` before
    profiling: a treatment, outcome, --cate-by, --time-index, --domain-index or --what-if column the
    data lack, a malformed --what-if, and (``reads_question``: the rules planner, which has no other
    way to find the pair) a --question that asks for an effect whose treatment and outcome cannot be
    matched to columns (tools.inference.question.read_question)."""
    from causalpilot.tools.profile.prepare import did_you_mean  # the same suggestion the profile makes

    columns = [str(c) for c in ds.frame.columns]
    where = f"data file '{ds.path}'" if ds.path else "the DataFrame"
    for col in [opts.treatment, opts.outcome, opts.time_index, opts.domain_index, *(opts.cate_by or [])]:
        if col is not None and col not in columns:
            raise InputError(f"Column '{col}' is not in {where}{did_you_mean(col, columns)}.")
    resolve_background(opts.background, columns)  # an unreadable file or an unknown column in it
    if opts.what_if:
        from causalpilot.tools.inference.gcm_queries import parse_assignment

        parse_assignment(opts.what_if, columns)
    if reads_question and opts.question and not opts.treatment:
        from causalpilot.tools.inference.question import read_question

        reading = read_question(opts.question, columns)
        if reading.asked and not reading.pairs:
            raise InputError(f"Cannot read the effect asked about in --question: {reading.explain_failure()}; name "
                             "the pair with --treatment COL --outcome COL.")


def run_analysis(opts: AnalysisOptions, planner: Planner | None = None, structure: FoundStructure | None = None,
                 dataset: Dataset | None = None, write: bool = True, report: bool = True) -> RunResult:
    """The whole run under the options' time budget (:mod:`causalpilot.tools.budget`); see :func:`_run`."""
    with time_budget(opts.time_budget):
        return _run(opts, planner, structure, dataset, write, report)


def _run(opts: AnalysisOptions, planner: Planner | None, structure: FoundStructure | None,
         dataset: Dataset | None, write: bool, report: bool) -> RunResult:
    """The whole run: load -> profile -> plan -> discover -> infer -> report, then the memory.

    ``structure``: the profile, plan and graph of an earlier run on the same data with the same
    discovery settings (the chat's next effect question), used instead of discovering again.
    ``dataset``: data already loaded (the Python API's DataFrame) instead of reading ``opts.data``.
    ``write``: write the files into ``opts.out`` (or the default output folder); without it they are
    only kept in ``RunResult.artifacts``. ``report``: render the report and figure (``discover()``
    in Python needs only the graph). With ``opts.scheduler`` the bootstrap resamples, portfolio
    members and refuters' re-estimates run as tasks on that Dask cluster (tools.cluster), with the
    same results. Raises :class:`InputError` for unusable input (and an unreachable scheduler)."""
    timer = Timer()
    say = silent if opts.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    check_options(opts)  # usage errors first: none of them should cost a load, let alone a discovery
    planner = planner or get_planner(opts.planner)
    llm = planner if isinstance(planner, AssistedPlanner) else None  # the LLM planner's extra steps
    if opts.replay and llm is None:
        raise InputError("--replay replays an analysis made with the LLM planner; it cannot run with "
                         f"--planner {planner.name}.")
    if llm is not None:
        _configure_llm(llm, opts)  # a model the server does not serve is an InputError before any work
    with using(opts.scheduler) as cluster:  # an unreachable scheduler is a usage error, before the data are read
        return _analyse(opts, planner, llm, structure, dataset, write, report, timer, say, cluster)


def _analyse(opts: AnalysisOptions, planner: Planner, llm: AssistedPlanner | None, structure: FoundStructure | None,
             dataset: Dataset | None, write: bool, report: bool, timer: Timer, say, cluster: Cluster | None
             ) -> RunResult:
    """run_analysis from the data on, with the options checked and the cluster (if any) connected."""
    with timer.step("load"):
        ds: Dataset = dataset if dataset is not None else load_table(
            opts.data, stream=opts.stream, sample_rows=opts.sample_rows, seed=derive_seed(opts.seed, "sample"))
    check_columns(opts, ds, reads_question=llm is None)
    run_id = make_run_id(ds.sha256)
    replay = llm.cfg.replay if llm is not None else None
    if replay is not None:
        if replay.data_sha256 and replay.data_sha256 != ds.sha256:
            raise InputError(f"The transcript '{replay.path}' for --replay was recorded on other data "
                             f"(sha256 {replay.data_sha256[:12]}…), not on {ds.path or 'this DataFrame'}.")
        run_id = replay.run_id or run_id  # the replayed analysis keeps its id, so its report is the same
    data_label = ds.path or "a DataFrame"
    say(f"causalpilot {__version__}: run {run_id}")
    if ds.table is not None:
        say(f"[1/5] streaming {number(ds.n_rows)} rows x {number(ds.n_cols)} columns from {data_label} in batches; "
            f"a seeded sample of {number(len(ds.frame))} rows is profiled")
    else:
        say(f"[1/5] loaded {number(ds.n_rows)} rows x {number(ds.n_cols)} columns from {data_label}")

    keep = [c for c in (opts.treatment, opts.outcome) if c]
    request = Request(question=opts.question, treatment=opts.treatment, outcome=opts.outcome,
                      algorithm=opts.algorithm, params=dict(opts.params), bootstrap=opts.bootstrap,
                      effect_order=not opts.no_order)
    if structure is not None and structure.data_sha256 == ds.sha256:  # a file edited since is analysed anew
        found = structure
        say(f"[2-4/5] reusing the graph found earlier on this data ({found.graph.algorithm}, "
            f"{len(found.graph.edges)} edges)")
    else:
        found = find_structure(ds, planner, request, seed=opts.seed, time_index=opts.time_index,
                               time_series=opts.time_series, domain_index=opts.domain_index, keep=keep,
                               background=opts.background, n_jobs=opts.n_jobs, timer=timer, say=say,
                               no_domain=opts.no_domain, memory_path=opts.memory_path)
        found.data_sha256 = ds.sha256
    prepared, profile, graph, boot, bg_notes = found.prepared, found.profile, found.graph, found.boot, found.notes
    decisions: list[Decision] = list(found.decisions)
    if found.proposed_effect and not (opts.treatment or opts.outcome):
        opts.treatment, opts.outcome = found.proposed_effect
    # the output directory is made only once the input is known to be usable
    out = (prepare_out_dir(opts.out) if opts.out else prepare_out_dir(default_out(run_id))) if write else None

    effects: list[dict] = []
    with timer.step("infer"), heartbeat("estimating effects", say):
        from causalpilot.tools.inference.run import EffectRequest, run_inference

        request = EffectRequest(treatment=opts.treatment, outcome=opts.outcome, question=opts.question,
                                cate_by=opts.cate_by, what_if=opts.what_if, n_jobs=opts.n_jobs,
                                seed=derive_seed(opts.seed, "infer"))
        session = found.agent
        if llm is None and session is not None:  # a planner's own plan: its effect request and its end as tool calls
            from causalpilot.agent.agent_tools import AgentTools

            tools = AgentTools(session, by=planner.name, strict=True)
            name = session.final or next(iter(session.graphs))
            if opts.treatment or opts.question:
                effects, inf_decisions = tools.estimate_planned(name, request)
            else:  # nothing asked: no effect to estimate
                found_effects, inf_decisions = run_inference(prepared, graph, request, boot=boot,
                                                             background=found.background)
                effects = [e.to_dict() for e in found_effects]
            if session.final is None:
                tools.call("finish", {"graph_name": name, "summary": f"the {planner.name} planner's plan"})
        else:
            found_effects, inf_decisions = run_inference(prepared, graph, request, boot=boot,
                                                         background=found.background)
            effects = [e.to_dict() for e in found_effects]  # effects.json, the report and the chat read the dicts
        _as_experiment(effects, found, prepared)
        decisions.extend(inf_decisions)
        for d in inf_decisions:
            if d.step == "inference.pairs" and not d.choice:
                say(f"      {d.reason}")

    artifacts: dict[str, str | bytes] = {}
    decision_dicts = [d.to_dict() for d in decisions]
    if report:
        with timer.step("report"):
            from causalpilot.reports.figures import graph_png
            from causalpilot.reports.render import build_context, render

            png = graph_png(graph, seed=opts.seed)
            ctx = build_context(run_id=run_id, version=__version__, seed=opts.seed, planner=planner.name,
                                data_name=Path(ds.path).name if ds.path else "a DataFrame", data_sha256=ds.sha256,
                                question=opts.question, profile=profile.to_dict(), graph=graph, effects=effects,
                                decisions=decision_dicts, background_notes=bg_notes, graph_png=png,
                                forbidden=user_forbidden(opts.background, profile.variables))
            ctx["narrative"] = None
            if llm is not None:
                from causalpilot.agent.narrative import narrative_facts

                story = llm.narrative(opts.question, narrative_facts(ctx, effects))
                ctx["narrative"] = story.model_dump() if story else None
                ctx["llm_usage"] = {"model": llm.cfg.model, **llm.transcript.usage(llm.cfg)}
                if replay is not None and replay.unmatched:
                    print(f"causalpilot: notice: {replay.unmatched} request(s) of this run were not in the replayed "
                          "transcript (other options than the recorded run?); they got its remaining answers in "
                          "recorded order.", file=sys.stderr, flush=True)
                artifacts["transcript.json"] = json_text({**llm.transcript_dict(), "config": llm.cfg.public(),
                                                          "run_id": run_id, "data_sha256": ds.sha256})
            if found.agent is not None:  # after the narrative: the trail lists a narrative the results refused
                ctx["agent"] = agent_trail(found.agent, run_id, llm)
            md, html = render(ctx)
            artifacts.update({"graph.json": json_text(graph.to_dict()), "effects.json": json_text(effects),
                              "graph.png": png, "report.md": md, "report.html": html})

    run_info = {
        "version": __version__,
        "run_id": run_id,
        "command": opts.command,
        "seed": opts.seed,
        "planner": planner.name,
        "data": {"path": ds.path or None, "sha256": ds.sha256, "format": ds.format,
                 "rows": ds.n_rows, "columns": ds.n_cols,
                 **({"streamed": prepared.streamed.to_dict()} if prepared.streamed is not None else {})},
        "request": {"question": opts.question, "treatment": opts.treatment, "outcome": opts.outcome,
                    "time_index": opts.time_index, "time_series": opts.time_series,
                    "background": describe_background(opts.background)},
        "profile": profile.to_dict(),
        "decisions": decision_dicts,
        "discovery": {"algorithm": graph.algorithm, "parameters": graph.to_dict()["parameters"],
                      "graph_type": graph.graph_type, "n_edges": len(graph.edges), "bootstrap": boot.to_dict(),
                      "background_notes": bg_notes},
        "effects": effects,
        "timings": timer.timings,
        "libraries": library_versions(),
        # the string-hash salt some library code iterates by (agent.cli fixes it to 0 unless set)
        "environment": {"PYTHONHASHSEED": os.environ.get("PYTHONHASHSEED", "random")},
        **({"cluster": cluster.describe()} if cluster is not None else {}),
        **({"llm": {**llm.cfg.public(), "fallback": llm.fallback_reason, "usage": llm.transcript.usage(llm.cfg),
                    "data_sent": llm.transcript.data_sent}} if llm is not None else {}),
        **({"agent": agent_trail(found.agent, run_id, llm)} if found.agent is not None else {}),
        "files": (["graph.json", "effects.json", "report.md", "report.html", "graph.png", "run.json"]
                  + (["transcript.json"] if llm is not None else [])) if report else ["run.json"],
    }
    artifacts["run.json"] = json_text(run_info)
    if out is not None:
        for name, content in artifacts.items():
            write_atomic(out, name, content)
    if opts.memory_path is not False:
        # every graph made is kept under RUN/graph/NAME: the agent's by their names, the rules planner's as 'rules'
        named = {planner.name: graph} if found.agent is None else {n: g.graph for n, g in found.agent.graphs.items()}
        _remember(opts, run_id, out, ds, run_info, graph, effects, say, named)
    say(f"[5/5] report written: {out / 'report.html'}" if out is not None else "[5/5] done (no files written)")
    return RunResult(run_id, out, graph, effects, run_info, found, artifacts)


def _as_experiment(effects: list[dict], found: FoundStructure, prepared: PreparedData) -> None:
    """A randomised treatment's effect is also analysed as an experiment: the difference in means and the
    covariate-adjusted estimate go into its effects.json entry (``experiment``) and a note."""
    check = found.randomised
    if not check or not check.get("randomised"):
        return
    from causalpilot.tools.inference.experiment import experiment_estimates, experiment_note

    for eff in effects:
        if eff.get("contrasts"):  # a treatment read as categories has no slope: its contrasts are the answer
            continue
        if eff.get("treatment") == check["treatment"] and eff.get("outcome") == check["outcome"]:
            # on the values before imputation: experiment_estimates drops the rows with a missing value it uses
            exp = experiment_estimates(prepared.frame if prepared.with_gaps is None else prepared.with_gaps,
                                       eff["treatment"], eff["outcome"])
            eff["experiment"] = exp
            eff["notes"] = [*eff.get("notes", []), experiment_note(eff["treatment"], eff["outcome"], exp)]


def user_forbidden(spec: Any, columns: list[str]) -> list[tuple[str, str]]:
    """The edges the user's own background knowledge forbids (not those an LLM planner added)."""
    bg = resolve_background(spec, columns)
    return [] if bg is None else [tuple(e) for e in bg.forbidden]


def _configure_llm(llm: Any, opts: AnalysisOptions) -> None:
    """Give the LLM planner the run's data-sharing settings and replay, and settle its model.

    Raises InputError for an unreadable --replay transcript or a model the server does not serve
    (agent.llm_server.resolve_model), before any data is read."""
    from causalpilot.agent.llm_runtime import rows_to_share
    from causalpilot.agent.llm_server import resolve_model

    if opts.share_data is not None:
        rows = rows_to_share(opts.share_data)
        if not 0 <= rows <= 10_000:
            raise InputError(f"--share-data must be a number of rows between 0 and 10000, got {rows}.")
        llm.cfg.share_data = rows
    llm.cfg.data_seed = derive_seed(opts.seed, "llm-rows")
    if opts.replay:
        from causalpilot.agent.llm_cache import Replay

        Replay(opts.replay).configure(llm.cfg)
    resolve_model(llm.cfg)


def agent_trail(session: Any, run_id: str, llm: AssistedPlanner | None) -> dict[str, Any]:
    """The trail of the session's tool calls (agent.agent_tools.trail_context), with the narratives the
    results refused when an LLM planner (``llm``) worked in it; None: a planner's own plan."""
    from causalpilot.agent.agent_tools import trail_context

    trail = trail_context(session, run_id, assisted=llm is not None)
    for reasons in getattr(llm, "refused_narratives", []):
        trail["trail"].append({"tool": "narrative", "call": "narrative", "status": "rejected", "by": "llm",
                               "result": "the narrative was refused: " + "; ".join(reasons)})
    return trail


def _remember(opts: AnalysisOptions, run_id: str, out: Path, ds: Dataset, run_info: dict, graph: CausalGraph,
              effects: list[dict], say, named: dict[str, CausalGraph] | None = None) -> None:
    """Save the run to the keyed memory, with every named graph of an agent's run under RUN/graph/NAME;
    a memory failure is reported, never fatal to the analysis."""
    from causalpilot.memory.store import MemoryStore

    try:
        with MemoryStore(opts.memory_path) as store:
            store.save_run(
                run_id, data_path=str(Path(ds.path).resolve()) if ds.path else None, data_sha256=ds.sha256, command=opts.command,
                status="done",
                summary={"algorithm": graph.algorithm, "n_edges": len(graph.edges), "n_effects": len(effects),
                         "out": None if out is None else str(out)},
                items={f"{run_id}/profile": ("profile", run_info["profile"]),
                       f"{run_id}/graph": ("graph", graph.to_dict()),
                       f"{run_id}/effects": ("effects", effects),
                       f"{run_id}/decisions": ("decisions", run_info["decisions"]),
                       **{f"{run_id}/graph/{name}": ("graph", g.to_dict()) for name, g in (named or {}).items()}},
            )
    except Exception as exc:  # sqlite3 errors, permissions, a full disk
        say(f"warning: the run was not saved to memory ({type(exc).__name__}: {exc}); the files in --out are complete")
