"""The analysis loop: load -> profile -> plan -> discover -> infer -> interpret -> report.

One function, :func:`run_analysis`, runs the steps in that order for the one-shot command; the chat
session and the evaluation runner call the same steps. Every step is timed, every decision is
recorded, and the run is saved to the keyed memory at the end in one transaction.
"""

from __future__ import annotations

import datetime as _dt
import os
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from causalpilot.agent import __version__
from causalpilot.agent.outputs import json_text, prepare_out_dir, write_atomic
from causalpilot.agent.planners.base import AssistedPlanner, Decision, DiscoveryPlan, Planner, Request
from causalpilot.tools.background import Background, apply_to_graph, describe_background, resolve_background
from causalpilot.tools.bootstrap import BootstrapResult, annotate, bootstrap
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.loading import Dataset, load_table
from causalpilot.tools.profile import PreparedData, domain_codes, profile_and_prepare
from causalpilot.tools.registry import DiscoveryInput, run_algorithm

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
    share_data: bool = False  # let the LLM see more than 5 rows of data
    cate_by: list[str] | None = None  # covariates for heterogeneous effects (--cate-by)
    what_if: str | None = None  # "X=1.5": mean outcome under do(X=1.5) (--what-if)
    no_order: bool = False  # do not assume that the outcome does not cause the treatment (--no-order)


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


def discovery_input(prepared: PreparedData, seed: int, background: Background | None) -> DiscoveryInput:
    kinds = {c.name: c.kind for c in prepared.profile.columns}
    dom = None
    if prepared.domain is not None:
        dom = domain_codes(prepared.domain).astype(float)
    return DiscoveryInput(X=prepared.X, nodes=list(prepared.frame.columns), kinds=kinds, seed=seed,
                          background=background, domain=dom,
                          time=None if prepared.time is None else np.arange(len(prepared.frame), dtype=float))


def derive_seed(seed: int, stage: str) -> int:
    """A stable per-stage seed from the user's --seed (independent of Python's hash randomisation)."""
    tag = sum((i + 1) * ord(ch) for i, ch in enumerate(stage))
    return int(np.random.SeedSequence([seed, tag]).generate_state(1)[0])


PARALLEL_AFTER_S = 5.0  # a run this slow makes the resamples worth spreading over every core


def discover(prepared: PreparedData, plan: DiscoveryPlan, seed: int, background: Background | None,
             n_jobs: int | None = None, say=None) -> tuple[CausalGraph, BootstrapResult, list[str]]:
    """Run the planned algorithm, its bootstrap, and the knowledge post-check.

    With ``n_jobs`` None the resamples run in one process unless one run of the algorithm took
    PARALLEL_AFTER_S or more, then on every core: each resample has its own seed, so the result is
    the same either way and only the wall time changes.
    """
    di = discovery_input(prepared, derive_seed(seed, "discovery"), background)
    started = time.perf_counter()
    graph = run_algorithm(plan.algorithm, di, plan.params)
    took = time.perf_counter() - started
    if n_jobs is None:
        n_jobs = -1 if took >= PARALLEL_AFTER_S and plan.bootstrap > 1 else 1
    if say is not None and took >= PARALLEL_AFTER_S and plan.bootstrap > 0:
        workers = (os.cpu_count() or 1) if n_jobs == -1 else max(1, n_jobs)
        minutes = took * plan.bootstrap / min(workers, plan.bootstrap) / 60
        say(f"      one {plan.algorithm} run took {took:.0f} s; {plan.bootstrap} bootstrap resamples on {workers} "
            f"worker(s) will take about {minutes:.0f} min (--bootstrap 0 skips them)")
    params = dict(graph.parameters)
    if plan.portfolio:  # several methods when the profile is ambiguous: reconciled by vote (tools.portfolio)
        from causalpilot.tools.portfolio import run_portfolio

        graph = run_portfolio(graph, plan.portfolio, di)
    block = None
    if prepared.profile.value("time_series"):
        from causalpilot.tools.bootstrap import block_length

        block = block_length(len(prepared.frame), int(plan.params.get("tau_max") or 1))
    boot = bootstrap(plan.algorithm, di, params, plan.bootstrap, derive_seed(seed, "bootstrap"),
                     n_jobs=n_jobs, block=block)
    graph = annotate(graph, boot)
    if plan.orient == "additive_noise" and graph.graph_type == "CPDAG":
        from causalpilot.tools.discovery.additive_noise import orient_by_additive_noise

        graph, found = orient_by_additive_noise(graph, di.X, seed=derive_seed(seed, "orient"))
        graph.parameters["additive_noise"] = found
    notes: list[str] = []
    if background is not None:
        graph, notes = apply_to_graph(graph, background)
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

    @property
    def profile(self):
        return self.prepared.profile


def _change_evidence(graph) -> str:
    if graph.algorithm == "cdnod":
        return "CD-NOD: the context index is adjacent to a variable whose mechanism changes"
    alpha = graph.parameters.get("change_alpha", 0.05)
    text = ("the domain index stays adjacent to a variable unless some set of the variable's neighbours makes its "
            "linear-Gaussian mechanism the same in every domain: likelihood-ratio test of one regression for all rows "
            f"against one per domain, alpha {alpha}")
    oriented = graph.parameters.get("oriented_by_changes") or []
    if oriented:
        text += "; the changes orient " + ", ".join(oriented[:10]) + (" and more" if len(oriented) > 10 else "")
    return text


def _effect_order(background: Background | None, request: Request,
                  prepared: PreparedData) -> tuple[Background | None, str | None]:
    """The knowledge discovery uses once the effect asked about is known: "the outcome does not cause
    the treatment" is added for a --treatment/--outcome pair (or the one pair a --question names),
    unless --no-order, the user's knowledge says otherwise, or the data are a time series (where the
    outcome's past may well drive the treatment)."""
    treatment, outcome = request.treatment, request.outcome
    columns = list(prepared.frame.columns)
    if not (treatment and outcome) and request.question:
        from causalpilot.tools.inference.question import read_question

        pairs = read_question(request.question, columns).pairs
        if len(pairs) == 1:
            treatment, outcome = pairs[0]
    if not (treatment and outcome) or treatment == outcome or not request.effect_order:
        return background, None
    if treatment not in columns or outcome not in columns:
        return background, None  # the inference step names the unknown column
    if prepared.time is not None or prepared.profile.value("time_series"):
        return background, (f"not assumed that {outcome} does not cause {treatment}: in a time series the outcome's "
                            "past may drive the treatment, so only the data orient that pair")
    from causalpilot.tools.background import with_effect_order

    return with_effect_order(background, treatment, outcome)


def find_structure(ds: Dataset, planner: Planner, request: Request, *, seed: int = 0, time_index: str | None = None,
                   time_series: bool = False, domain_index: str | None = None, keep: list[str] | None = None,
                   background: Any = None, n_jobs: int | None = None, timer: Timer | None = None,
                   say=None, no_domain: bool = False) -> FoundStructure:
    """Profile -> plan -> discover on a loaded dataset: the agent's graph exactly as `analyse` finds it.

    Shared by `analyse` and the evaluation runner (evals/), so that what is benchmarked is the agent.
    """
    timer = timer or Timer()
    say = say or (lambda *_: None)
    with timer.step("profile"):
        prepared = profile_and_prepare(ds, seed=derive_seed(seed, "profile"), time_index=time_index,
                                       time_series=time_series, domain_index=domain_index, keep=list(keep or []),
                                       no_domain=no_domain)
    profile = prepared.profile
    say(f"[2/5] profiled: {profile.findings['data_type'].summary}; {profile.findings['linearity'].summary}")

    background = resolve_background(background, profile.variables)
    user_background = background
    background, order_note = _effect_order(background, request, prepared)
    llm = planner if isinstance(planner, AssistedPlanner) else None  # the LLM planner's extra steps
    if llm is not None:
        llm.bind(prepared)

    with timer.step("plan"):
        plan = planner.plan_discovery(profile, request)
        from causalpilot.tools.tuning import complete_plan  # tau_max, target and alpha need the data, not just the profile

        tuned = complete_plan(plan, discovery_input(prepared, derive_seed(seed, "discovery"), background),
                              profile=profile, outcome=request.outcome,
                              tune=planner.name == "rules" and "alpha" not in request.params)
    decisions: list[Decision] = list(plan.decisions) + list(tuned)
    if user_background is not None:
        decisions.append(Decision("discovery.background", user_background.to_dict(),
                                  "knowledge from --background, passed to the algorithm where it accepts it and "
                                  "enforced on the final graph", {}, by="user"))
    if order_note:
        decisions.append(Decision("discovery.effect_order", order_note.startswith("assumed"), order_note,
                                  {"treatment": request.treatment, "outcome": request.outcome}, by="user"))
    proposed_effect = None
    if llm is not None:
        background = llm.merged_background(background)
        proposed_effect = llm.effect
    say(f"[3/5] planned: {plan.algorithm} {plan.params} with {plan.bootstrap} bootstrap resamples")

    with timer.step("discover"):
        graph, boot, bg_notes = discover(prepared, plan, seed, background, n_jobs, say=say)
    if llm is not None:
        with timer.step("review"):
            graph, review = llm.review_graph(graph, request.question, background)
        decisions.extend(review)
    if graph.parameters.get("portfolio"):
        decisions.append(Decision("discovery.portfolio", graph.parameters["portfolio"]["members"],
                                  "the profile did not single out one method: the portfolio's graphs were reconciled "
                                  "by majority vote (confidence comes from the bootstrap of the first method)",
                                  graph.parameters["portfolio"]))
    if graph.parameters.get("changing_modules") is not None:
        changed = graph.parameters["changing_modules"]
        decisions.append(Decision("discovery.changing_modules", changed,
                                  ("the causal mechanisms of " + ", ".join(changed) + " change across "
                                   f"{graph.parameters.get('context', 'context')}s ({_change_evidence(graph)})")
                                  if changed else
                                  f"no mechanism was found to change with the context index ({_change_evidence(graph)})",
                                  {k: graph.parameters[k] for k in ("change_pvalues", "oriented_by_changes") if k in graph.parameters},
                                  by="data"))
    if graph.parameters.get("additive_noise"):
        found = graph.parameters["additive_noise"]
        decisions.append(Decision("discovery.orientation", found["oriented"], (
            f"{len(found['oriented'])} of the {len(found['tests'])} edges the equivalence class left undirected were "
            "oriented by additive-noise models: the direction in which the residual of a Gaussian-process fit is "
            f"independent of its inputs (KCI p > {found['alpha']}) while the other direction's is not (p <= "
            f"{found['alpha']}), on {found['rows']} rows"
            + (f"; Meek's rules then orient {', '.join(found['propagated'])}" if found["propagated"] else "")
            + "; the rest stay undirected. Assumes additive noise "
            "independent of the causes and no hidden common cause of the pair; the edges keep the bootstrap "
            "confidence of their adjacency"), found["tests"], by="data"))
    say(f"[4/5] discovered {len(graph.edges)} edges")
    return FoundStructure(prepared, plan, graph, boot, bg_notes, decisions, proposed_effect, background)


def run_analysis(opts: AnalysisOptions, planner: Planner | None = None, structure: FoundStructure | None = None,
                 dataset: Dataset | None = None, write: bool = True, report: bool = True) -> RunResult:
    """The whole run: load -> profile -> plan -> discover -> infer -> report, then the memory.

    ``structure``: the profile, plan and graph of an earlier run on the same data with the same
    discovery settings (the chat's next effect question), used instead of discovering again.
    ``dataset``: data already loaded (the Python API's DataFrame) instead of reading ``opts.data``.
    ``write``: write the files into ``opts.out`` (or the default output folder); without it they are
    only kept in ``RunResult.artifacts``. ``report``: render the report and figure (``discover()``
    in Python needs only the graph). Raises :class:`InputError` for unusable input."""
    timer = Timer()
    say = (lambda *_: None) if opts.quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))

    with timer.step("load"):
        ds: Dataset = dataset if dataset is not None else load_table(opts.data)
    run_id = make_run_id(ds.sha256)
    data_label = ds.path or "a DataFrame"
    say(f"causalpilot {__version__}: run {run_id}")
    say(f"[1/5] loaded {ds.n_rows} rows x {ds.n_cols} columns from {data_label}")

    keep = [c for c in (opts.treatment, opts.outcome) if c]
    planner = planner or get_planner(opts.planner)
    llm = planner if isinstance(planner, AssistedPlanner) else None  # the LLM planner's extra steps
    if llm is not None:
        llm.cfg.share_data = llm.cfg.share_data or opts.share_data
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
                               no_domain=opts.no_domain)
        found.data_sha256 = ds.sha256
    prepared, profile, graph, boot, bg_notes = found.prepared, found.profile, found.graph, found.boot, found.notes
    decisions: list[Decision] = list(found.decisions)
    if found.proposed_effect and not (opts.treatment or opts.outcome):
        opts.treatment, opts.outcome = found.proposed_effect
    # the output directory is made only once the input is known to be usable
    out = (prepare_out_dir(opts.out) if opts.out else prepare_out_dir(default_out(run_id))) if write else None

    effects: list[dict] = []
    with timer.step("infer"):
        from causalpilot.tools.inference.run import run_inference

        effects, inf_decisions = run_inference(prepared, graph, opts, derive_seed(opts.seed, "infer"),
                                               boot=boot, background=found.background)
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
                                decisions=decision_dicts, background_notes=bg_notes, graph_png=png)
            ctx["narrative"] = None
            if llm is not None:
                from causalpilot.agent.planners.llm import narrative_facts

                story = llm.narrative(opts.question, narrative_facts(ctx, effects))
                ctx["narrative"] = story.model_dump() if story else None
                artifacts["transcript.json"] = json_text(llm.transcript_dict())
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
                 "rows": ds.n_rows, "columns": ds.n_cols},
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
        **({"llm": {**llm.cfg.public(), "fallback": llm.fallback_reason}} if llm is not None else {}),
        "files": (["graph.json", "effects.json", "report.md", "report.html", "graph.png", "run.json"]
                  + (["transcript.json"] if llm is not None else [])) if report else ["run.json"],
    }
    artifacts["run.json"] = json_text(run_info)
    if out is not None:
        for name, content in artifacts.items():
            write_atomic(out, name, content)
    if opts.memory_path is not False:
        _remember(opts, run_id, out, ds, run_info, graph, effects, say)
    say(f"[5/5] report written: {out / 'report.html'}" if out is not None else "[5/5] done (no files written)")
    return RunResult(run_id, out, graph, effects, run_info, found, artifacts)


def _remember(opts: AnalysisOptions, run_id: str, out: Path, ds: Dataset, run_info: dict, graph: CausalGraph,
              effects: list[dict], say) -> None:
    """Save the run to the keyed memory; a memory failure is reported, never fatal to the analysis."""
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
                       f"{run_id}/decisions": ("decisions", run_info["decisions"])},
            )
    except Exception as exc:  # sqlite3 errors, permissions, a full disk
        say(f"warning: the run was not saved to memory ({type(exc).__name__}: {exc}); the files in --out are complete")
