"""The agent tools of the contract (docs/CONTRACT.md, "Agent tools"), bound to one analysis session.

An :class:`AnalysisSession` holds what one analysis has made so far: the prepared data and its
profile, the knowledge in force (the user's, which always wins, and what the agent proposed and the
data accepted), every graph under its name with how it was planned and its bootstrap, the effects
estimated on them, the graph the analysis finished with, and a trail of every tool call.

:class:`AgentTools` exposes the contract's tools over a session. Each one takes pydantic-validated
arguments, checks their content against the registry and the data, acts on the session and returns
its real result as JSON text (``{"rejected": reason}`` for a refused call). Two kinds of refusal are
told apart: invalid arguments (an unknown column, algorithm or graph; reported to ``on_invalid``, which
the LLM planner counts against its error budget) and proposals the data or the user's knowledge
refuse (a removal of a strongly supported edge, an orientation that closes a cycle), which are
answers, not errors. The LLM planner calls the tools through langchain ``StructuredTool`` wrappers
(:meth:`AgentTools.langchain_tools`); :func:`complete_with_rules` calls the same methods as the rules
planner to finish what an agent left undone. The rules planner's own analysis is the same tools in a
fixed order (``agent.loop._structure_by_plan``: :meth:`AgentTools.run_planned`, ``assess_stability``,
:meth:`AgentTools.estimate_planned`, ``finish``), so its run has the same trail.

Methods: discovery through the registry (:mod:`causalpilot.tools.registry`) with the rules planner's
tuning (:mod:`causalpilot.agent.planners.rules`, :mod:`causalpilot.tools.tuning`), the bootstrap of
:mod:`causalpilot.tools.bootstrap`, IDA parent sets (Maathuis, Kalisch & Buehlmann 2009) for
adjustment, effects by :func:`causalpilot.tools.inference.run.run_inference`, CI tests from
causal-learn (Fisher-z, G-square).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Union

import networkx as nx
import numpy as np
from pydantic import BaseModel, Field, ValidationError

from causalpilot.reports.numbers import p_text
from causalpilot.agent.planners.base import FIT_STEP, Decision, DiscoveryPlan, Request
from causalpilot.prompts import quote_data
from causalpilot.tools.background import Background, parse_background
from causalpilot.tools.bootstrap import UNSTABLE_BELOW, BootstrapResult, unsettled_directions
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, Orientation, graph_diff
from causalpilot.tools.profile import PreparedData, Profile
from causalpilot.tools.registry import AlgorithmSpec, algorithms, check_ci_test, get_algorithm

STRONG_P = 1e-3  # a dependence this significant is "strong evidence": no proposal overrides it
MAX_REASON = 300  # characters of a reason kept in decisions and the trail
MAX_RESAMPLES = 200
MAX_EDGES_SHOWN = 150  # edges listed in one result; the rest are counted
MAX_PATHS, MAX_PATH_LENGTH = 20, 6
MAX_TAU = 30
SECONDS_CLASSES = (10, 60, 600)  # a discovery's time is told to the model in these classes (seconds_class)
GRAPH_NAME = r"[A-Za-z0-9_.-]{1,64}"
ABSENT_SUPPORT = 0.3  # an absent adjacency found in at least this share of resamples is worth a look
# string parameters a tool call may set, with their allowed values (besides the algorithm's default)
CHOICES = {"score_func": {"local_score_BIC", "local_score_BDeu"}, "measure": {"pwling", "kernel"},
           "lagged_fdr": {"none", "bh"}}
QUERIES = ("parents", "children", "ancestors", "descendants", "paths", "adjustment_sets")
_SYMBOL = {"directed": ("-->", "<--"), "undirected": ("---", "---"), "bidirected": ("<->", "<->"),
           "partially_directed": ("o->", "<-o"), "nondirected": ("o-o", "o-o")}


class Refused(Exception):
    """A well-formed proposal that the data or the user's knowledge refuse (an answer, not an error)."""


def short(text: Any, limit: int = MAX_REASON) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ------------------------------------------------------------------ argument schemas (the contract's names)
class NoArgs(BaseModel):
    pass


class FindingArgs(BaseModel):
    name: str = Field(description="a profile finding, e.g. 'linearity', 'gaussianity', 'data_type'")


class IndependenceArgs(BaseModel):
    x: str = Field(description="a column name")
    y: str = Field(description="another column name")
    given: list[str] = Field(default_factory=list, description="columns to condition on")


class DiscoveryArgs(BaseModel):
    algorithm: str = Field(description="a registered algorithm from list_algorithms, e.g. 'pc'")
    params: dict[str, Union[bool, int, float, str, None]] = Field(
        default_factory=dict, description="parameters of that algorithm; those left out are tuned by the rules")
    graph_name: str = Field(description="a new name for the graph (letters, digits, '_', '.', '-')")


class StabilityArgs(BaseModel):
    graph_name: str
    resamples: int | None = Field(None, ge=2, le=MAX_RESAMPLES,
                                  description="bootstrap resamples; left out, the rules' number")


class CompareArgs(BaseModel):
    first: str = Field(description="a graph name")
    second: str = Field(description="another graph name")


class QueryArgs(BaseModel):
    graph_name: str
    query: Literal["parents", "children", "ancestors", "descendants", "paths", "adjustment_sets"]
    node: str = Field(description="a column; the treatment for adjustment_sets")
    other: str | None = Field(None, description="the second column for paths and adjustment_sets (the outcome)")


class EdgePair(BaseModel):
    source: str
    target: str


class BackgroundArgs(BaseModel):
    tiers: list[list[str]] = Field(default_factory=list, description="earlier tiers cannot be caused by later ones")
    forbidden: list[EdgePair] = Field(default_factory=list, description="directed edges source -> target ruled out")
    required: list[EdgePair] = Field(default_factory=list, description="directed edges certain to exist")
    reason: str = Field(max_length=2000)


class ReviewArgs(BaseModel):
    graph_name: str
    source: str
    target: str
    action: Literal["orient", "remove", "keep"] = Field(description="orient source -> target, remove, or keep")
    reason: str = Field(max_length=2000)


class EffectArgs(BaseModel):
    graph_name: str
    treatment: str
    outcome: str


class FinishArgs(BaseModel):
    graph_name: str
    summary: str = Field(max_length=3000, description="why this graph, in a sentence or two")


# ------------------------------------------------------------------ data checks
class DataChecks:
    """Conditional-independence tests on the prepared data, for checking claims: Fisher-z on
    standardised values, or G-square when every variable is discrete (causal-learn's ``CIT``)."""

    def __init__(self, prepared: PreparedData):
        self.nodes = list(prepared.frame.columns)
        discrete = prepared.profile.value("data_type") == "discrete"
        self.method = "gsq" if discrete else "fisherz"
        X = prepared.X
        if not discrete:
            X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        from causallearn.utils.cit import CIT

        self._cit = CIT(X, self.method)

    def pvalue(self, x: str, y: str, given: list[str] | tuple[str, ...] = ()) -> float:
        """The p-value of "x independent of y given ``given``"; InputError for an unknown or repeated column."""
        idx = {n: i for i, n in enumerate(self.nodes)}
        for c in (x, y, *given):
            if c not in idx:
                raise InputError(f"column '{c}' is not among the analysed variables")
        if x == y or x in given or y in given:
            raise InputError("x, y and the conditioning set must be distinct columns")
        return float(self._cit(idx[x], idx[y], sorted(idx[g] for g in given)))


def fitting_algorithms(profile: Profile) -> list[tuple[AlgorithmSpec, tuple[str, ...]]]:
    """The registered algorithms that can run on data of this profile, each with its fit warnings."""
    out = []
    for spec in algorithms().values():
        fit = spec.fits(profile)
        if fit.ok:
            out.append((spec, fit.warnings))
    return out


def algorithm_line(spec: AlgorithmSpec, warnings: tuple[str, ...] = ()) -> str:
    """One line for the model: name, family, output, parameters, the first sentence of its profile, warnings."""
    first = re.split(r"(?<!\bal)\.\s", spec.profile)[0].rstrip(".")  # its first sentence ("et al." is not an end)
    line = (f"{spec.name} [{spec.family}, returns a {spec.output}; parameters: {', '.join(spec.defaults) or 'none'}]: "
            f"{short(first, 170)}.")
    return line + (f" Warning: {'; '.join(warnings)}." if warnings else "")


def merge_knowledge(user: Background | None, proposed: Background | None) -> Background | None:
    """The user's knowledge plus the proposed knowledge the data accepted; the user's wins every conflict."""
    if proposed is None or proposed.is_empty():
        return user
    base = user or Background()
    forb = [e for e in proposed.forbidden if e not in base.required and e not in base.forbidden]
    req = [e for e in proposed.required if not base.forbids(*e) and e not in base.required]
    req = [e for e in req if e not in forb]
    return Background(required=list(base.required) + req, forbidden=list(base.forbidden) + forb,
                      tiers=[list(t) for t in base.tiers], forbid_within_tiers=base.forbid_within_tiers)


def check_params(spec: AlgorithmSpec, params: dict[str, Any], variables: list[str]) -> dict[str, Any]:
    """The parameters a tool call sets, checked against the algorithm's: InputError naming the first bad one."""
    from causalpilot.tools.discovery.time_series import TS_CI_TESTS

    def number(k: str, v: Any, lo: float, hi: float) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo < float(v) < hi:
            raise InputError(f"{k} must be a number between {lo:g} and {hi:g}, got {v!r}")
        return float(v)

    def whole(k: str, v: Any, lo: int, hi: int) -> int:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or not lo <= int(v) <= hi:
            raise InputError(f"{k} must be a whole number from {lo} to {hi}, got {v!r}")
        return int(v)

    clean: dict[str, Any] = {}
    for k, v in params.items():
        if k not in spec.defaults:
            raise InputError(f"algorithm '{spec.name}' takes no parameter '{k}' (it takes "
                             f"{', '.join(spec.defaults) or 'none'})")
        if v is None:
            continue  # left open: the rules choose
        if k == "alpha":
            v = number(k, v, 0, 0.5)
        elif k == "pc_alpha":
            v = number(k, v, 0, 1)
        elif k == "indep_test":
            v = check_ci_test(str(v))
        elif k == "ci_test":
            if str(v).lower() not in TS_CI_TESTS:
                raise InputError(f"ci_test must be one of {', '.join(TS_CI_TESTS)}, got {v!r}")
            v = str(v).lower()
        elif k == "depth":
            v = whole(k, v, -1, 50)
        elif k == "tau_max":
            v = whole(k, v, 1, MAX_TAU)
        elif k == "max_parents":
            v = whole(k, v, 1, 50)
        elif k == "target":
            if v not in variables:
                raise InputError(f"target must be one of the variables, got {v!r}")
        elif k in CHOICES:
            allowed = CHOICES[k] | {spec.defaults[k]}
            if v not in allowed:
                raise InputError(f"{k} must be one of {sorted(allowed)}, got {v!r}")
        else:
            d = spec.defaults[k]
            if isinstance(d, str) or d is None or isinstance(v, (bool, str)) != isinstance(d, (bool, str)) \
                    or (isinstance(d, int) and not isinstance(d, bool) and not isinstance(v, int)):
                raise InputError(f"parameter '{k}' cannot be set to {v!r}")
            if isinstance(v, (int, float)) and not isinstance(v, bool) and (not np.isfinite(v) or v < 0):
                raise InputError(f"parameter '{k}' must be a finite number >= 0, got {v!r}")
        clean[k] = v
    return clean


# ------------------------------------------------------------------ the session
@dataclass
class NamedGraph:
    """One graph of the session, with everything needed to report it or to rerun it on resamples."""

    name: str
    plan: DiscoveryPlan  # as run (parameters after tuning); ``bootstrap`` is the rules' number for it
    planned: dict[str, Any]  # the parameters before tuning on the data: with ``tune``, recognises the same run
    tune: bool  # whether alpha was left to the BIC tuning
    graph: CausalGraph
    boot: BootstrapResult
    notes: list[str]
    background: Background | None
    seconds: float
    warnings: tuple[str, ...]
    by: str  # "llm" or "rules": who ran it
    decisions: list[Decision]  # how it was planned: algorithm, parameters, fit check, tuning
    reviews: list[tuple[str, str, str, str]] = field(default_factory=list)  # accepted (action, source, target, why)
    review_decisions: list[Decision] = field(default_factory=list)
    stability: Decision | None = None  # how many resamples assess_stability ran, and why
    rules_bootstrap: Decision | None = None  # the rules' number of resamples for this plan, with its reason
    first: Any = None  # the algorithm's one run (agent.loop.FirstRun) that assess_stability adds resamples to


@dataclass
class TrailEntry:
    """One tool call: who made it, its arguments, whether it was accepted and its result in a phrase."""

    tool: str
    args: dict[str, Any]
    status: str  # "ok" | "rejected"
    result: str
    by: str

    def to_dict(self) -> dict[str, Any]:
        return {"tool": self.tool, "args": self.args, "status": self.status, "result": self.result, "by": self.by}


class AnalysisSession:
    """What one analysis made: knowledge, named graphs, effects, the final choice and the trail.

    ``background``: the user's knowledge (with the effect order) that every graph honours; knowledge
    proposed through ``propose_background`` is added to it for the graphs discovered afterwards.
    ``memory_path``: where graphs of earlier runs are read by key (``RUN/graph/NAME``); False: nowhere.
    ``say``: where discovery's progress lines go (the console of a rules run; None: nowhere)."""

    def __init__(self, prepared: PreparedData, request: Request, *, seed: int = 0,
                 background: Background | None = None, n_jobs: int | None = None, memory_path: Any = None,
                 say: Callable[[str], None] | None = None):
        self.prepared, self.profile, self.request = prepared, prepared.profile, request
        self.seed, self.n_jobs, self.memory_path, self.say = seed, n_jobs, memory_path, say
        self.user_background = background
        self.proposed: Background | None = None
        self.graphs: dict[str, NamedGraph] = {}
        self.effects: dict[tuple[str, str, str], tuple[list[dict], list[Decision]]] = {}
        self.decisions: list[Decision] = []  # accepted knowledge
        self.trail: list[TrailEntry] = []
        self.final: str | None = None
        self.summary: str | None = None
        self.finished_by: str | None = None
        self.completed: list[str] = []  # what the rules planner completed (complete_with_rules), in phrases
        self._checks: DataChecks | None = None
        self._rules_plan: DiscoveryPlan | None = None

    @property
    def variables(self) -> list[str]:
        return list(self.prepared.frame.columns)

    @property
    def background(self) -> Background | None:
        """The knowledge in force now: the user's, plus the accepted proposals where they do not conflict."""
        return merge_knowledge(self.user_background, self.proposed)

    @property
    def checks(self) -> DataChecks:
        if self._checks is None:
            self._checks = DataChecks(self.prepared)
        return self._checks

    def rules_plan(self) -> DiscoveryPlan:
        """The rules planner's plan for this request (a fresh copy: running a plan completes its parameters)."""
        if self._rules_plan is None:
            from causalpilot.agent.planners.rules import RulesPlanner

            self._rules_plan = RulesPlanner().plan_discovery(self.profile, self.request)
        return copy.deepcopy(self._rules_plan)

    def bootstrap_for(self, ng: NamedGraph) -> int:
        """Resamples for a graph's stability: the user's --bootstrap, else the rules' number for its method."""
        return ng.plan.bootstrap if self.request.bootstrap is None else int(self.request.bootstrap)

    def lookup(self, name: str) -> tuple[CausalGraph, NamedGraph | None]:
        """A graph by name: one of this session, else one of an earlier run by its memory key."""
        if name in self.graphs:
            return self.graphs[name].graph, self.graphs[name]
        if self.memory_path is not False and "/" in name:
            from causalpilot.memory.store import MemoryStore

            with MemoryStore(self.memory_path or None) as store:
                item = store.get(name)
            if item and item.get("kind") == "graph":
                g = CausalGraph.from_dict(item["payload"])
                if set(g.nodes) <= set(self.variables):
                    return g, None
                raise InputError(f"graph '{name}' is over other variables than these data")
        raise InputError(f"no graph named '{name}'; graphs of this run: {', '.join(self.graphs) or 'none yet'} "
                         "(run_discovery makes one; an earlier run's graph is read by its key RUN/graph/NAME)")

    def own(self, name: str) -> NamedGraph:
        """A graph this run made (InputError otherwise)."""
        self.lookup(name)
        if name not in self.graphs:
            raise InputError(f"'{name}' is a graph of an earlier run; only a graph of this run can be changed or "
                             "reported (run_discovery makes one)")
        return self.graphs[name]

    def keep(self, name: str, graph: CausalGraph, by: str = "user") -> NamedGraph:
        """Keep a graph made elsewhere (a chat turn, a test) under ``name``, as if discovered with no bootstrap."""
        if not re.fullmatch(GRAPH_NAME, name) or name in self.graphs:
            raise InputError(f"graph name '{name}' is taken or not of letters, digits, '_', '.', '-'")
        plan = DiscoveryPlan(graph.algorithm, dict(graph.parameters), 0)
        ng = NamedGraph(name, plan, dict(graph.parameters), False, graph, BootstrapResult(0, {}), [], self.background,
                        0.0, (), by, [])
        self.graphs[name] = ng
        return ng

    def free_name(self, base: str) -> str:
        name, k = base, 2
        while name in self.graphs:
            name, k = f"{base}-{k}", k + 1
        return name

    # ------------------------------------------------------------------ running a plan
    def run_plan(self, name: str, plan: DiscoveryPlan, *, decisions: list[Decision], by: str, tune: bool,
                 warnings: tuple[str, ...] = (),
                 on_planned: Callable[[DiscoveryPlan, list[Decision]], None] | None = None) -> NamedGraph:
        """Complete the plan on the data (tau_max, target, alpha by BIC when ``tune``), discover without a
        bootstrap and keep the graph under ``name``. ``on_planned`` is called with the completed plan and
        the tuning's decisions before the algorithm runs (the rules run's console and decisions)."""
        from causalpilot.agent.loop import derive_seed, discover, discovery_input, run_once
        from causalpilot.tools.registry import deletes_testwise
        from causalpilot.tools.tuning import complete_plan

        background = self.background
        planned = dict(plan.params)
        di = discovery_input(self.prepared, derive_seed(self.seed, "discovery"), background,
                             with_gaps=deletes_testwise(plan.algorithm, plan.params))
        tuned = complete_plan(plan, di, profile=self.profile, outcome=self.request.outcome, tune=tune)
        if on_planned is not None:
            on_planned(plan, list(tuned))
        started = time.perf_counter()
        first = run_once(self.prepared, plan, self.seed, background, self.say)
        graph, boot, notes = discover(self.prepared, replace(plan, bootstrap=0), self.seed, background, self.n_jobs,
                                      first=first)
        how = [d for d in decisions if d.step != "discovery.bootstrap"]
        ng = NamedGraph(name, plan, planned, tune, graph, boot, notes, background, time.perf_counter() - started,
                        tuple(warnings), by, [*how, *tuned],
                        rules_bootstrap=next((d for d in decisions if d.step == "discovery.bootstrap"), None),
                        first=first)
        self.graphs[name] = ng
        return ng

    def assess(self, ng: NamedGraph, resamples: int) -> None:
        """Add ``resamples`` bootstrap resamples to the graph's plan (the same graph, now with each edge's
        frequency; the algorithm's first run is reused, not repeated), then replay the reviews accepted
        on it. The time budget may cut the resamples unless the user fixed their number (--bootstrap)."""
        from causalpilot.agent.loop import discover

        plan = replace(ng.plan, bootstrap=resamples)
        graph, boot, notes = discover(self.prepared, plan, self.seed, ng.background, self.n_jobs, say=self.say,
                                      fit_budget=self.request.bootstrap is None, first=ng.first)
        for action, source, target, why in ng.reviews:
            graph = reviewed(graph, action, source, target, why)
        ng.graph, ng.boot, ng.notes = graph, boot, notes


def reviewed(graph: CausalGraph, action: str, source: str, target: str, why: str) -> CausalGraph:
    """The graph after one accepted review: the edge removed, or oriented source -> target with the
    provenance ``Orientation("llm_review", why)``; ``keep`` changes nothing."""
    e = graph.edge_between(source, target)
    if e is None or action == "keep":
        return graph
    params = dict(graph.parameters)
    if action == "remove":
        edges = [f for f in graph.edges if f is not e]
    else:
        edges = [replace(f, source=source, target=target, type="directed", orientation=Orientation("llm_review", why))
                 if f is e else f for f in graph.edges]
        # kept in graph.json for its readers; code reads each edge's Orientation
        params["oriented_by_review"] = [*params.get("oriented_by_review", []), f"{source} -> {target}"]
    return CausalGraph(graph.nodes, edges, graph.graph_type, graph.algorithm, params)


def seconds_class(seconds: float) -> str:
    """How long a run took, in classes ("under 10", "under 60", "under 600", "600 or more"): what the
    model needs to weigh a bootstrap, and the same on every run of the same call but one near a class
    boundary, so that a rerun asks the model the same question (the cache and --replay match requests)."""
    bound = next((b for b in SECONDS_CLASSES if seconds < b), None)
    return f"under {bound}" if bound is not None else f"{SECONDS_CLASSES[-1]} or more"


def edge_texts(graph: CausalGraph) -> list[str]:
    texts = [e.describe() for e in graph.edges[:MAX_EDGES_SHOWN]]
    extra = len(graph.edges) - MAX_EDGES_SHOWN
    return texts + ([f"... and {extra} more"] if extra > 0 else [])


def graph_bic(graph: CausalGraph, prepared: PreparedData) -> float | None:
    """The linear-Gaussian BIC (lower is better) of a DAG in the graph's class, on continuous data only."""
    if (prepared.profile.value("data_type") != "continuous" or graph.graph_type not in ("DAG", "CPDAG")
            or any(e.lag for e in graph.edges) or any(e.type not in ("directed", "undirected") for e in graph.edges)):
        return None
    from causalpilot.tools.graph import dag_extension
    from causalpilot.tools.tuning import gaussian_bic

    try:
        return round(gaussian_bic(prepared.X, dag_extension(graph)), 2)
    except (ValueError, np.linalg.LinAlgError):
        return None


def _step(graph: CausalGraph, a: str, b: str) -> str:
    e = graph.edge_between(a, b)
    forward, backward = _SYMBOL[e.type]
    return forward if (e.source == a) or e.symmetric else backward


def _possible_digraph(graph: CausalGraph) -> nx.DiGraph:
    """Directed edges forwards, open edges both ways: where a DAG of the class may have an arc."""
    g = nx.DiGraph()
    g.add_nodes_from(graph.nodes)
    for e in graph.edges:
        if e.lag:
            continue
        g.add_edge(e.source, e.target)
        if e.type in ("undirected", "nondirected"):
            g.add_edge(e.target, e.source)
    return g


# ------------------------------------------------------------------ the tools
@dataclass
class ToolSpec:
    name: str
    schema: type[BaseModel]
    description: str
    run: Callable[[Any], tuple[dict[str, Any], str]]


# The contract's tools: (name, argument schema, description, the AgentTools method that runs it). Kept at
# module level so that a front end (the MCP server, agent/mcp_server.py) can list them before any data exist.
TOOLS: tuple[tuple[str, type[BaseModel], str, str], ...] = (
    ("get_profile_finding", FindingArgs, "One finding of the data profile with its evidence.", "_get_profile_finding"),
    ("list_algorithms", NoArgs, "The discovery algorithms that can run on these data, one line each, with warnings "
     "where the data contradict an assumption.", "_list_algorithms"),
    ("test_independence", IndependenceArgs, "Test on the data whether x and y are independent given the listed "
     "columns; returns the test and its p-value.", "_test_independence"),
    ("run_discovery", DiscoveryArgs, "Run a discovery algorithm and keep its graph under a new name; parameters "
     "left out are tuned by the rules. Returns the edges, the BIC where one applies, seconds (a class: under 10, "
     "60, 600) and warnings.", "_run_discovery"),
    ("assess_stability", StabilityArgs, "Bootstrap a graph: each edge's frequency over resamples.",
     "_assess_stability"),
    ("compare_graphs", CompareArgs, "Edges only in each of two graphs, and edges whose marks differ.",
     "_compare_graphs"),
    ("query_graph", QueryArgs, "Read a graph: parents, children, ancestors, descendants, paths (node to other) or "
     "adjustment_sets (treatment node, outcome other).", "_query_graph"),
    ("propose_background", BackgroundArgs, "Propose knowledge certain from the domain (tiers, forbidden and "
     "required edges); tested on the data; applies to graphs discovered afterwards.", "_propose_background"),
    ("review_edge", ReviewArgs, "Orient (source -> target), remove or keep one edge of a graph from domain "
     "knowledge, with a reason; refused when it makes a cycle or the data strongly disagree.", "_review_edge"),
    ("estimate_effect", EffectArgs, "Estimate the causal effect of treatment on outcome on a graph: identified or "
     "not, estimate, interval, range, refutations.", "_estimate_effect"),
    ("finish", FinishArgs, "Choose the graph the report uses, with a short summary of why.", "_finish"),
)


class AgentTools:
    """The contract's tools (:data:`TOOLS`) over one :class:`AnalysisSession`.

    ``by``: who calls them (``llm`` or ``rules``), as recorded in the trail and the decisions.
    ``on_invalid``: called with a sentence for every call with invalid arguments (the LLM planner
    counts them; it may raise to end the agent's run). ``redact``: applied to every result before it
    is returned (the LLM planner takes category labels out when no rows are shared); the trail keeps
    the result as computed. Calls run one at a time; after :meth:`close` every call is refused, so a
    model abandoned mid-call cannot change the session afterwards. ``strict``: a call that fails is
    still recorded in the trail, then its error is raised (a planner with no model to tell: the rules).

    A planner's own plan runs through :meth:`run_planned` and :meth:`estimate_planned`: the same tools
    (``run_discovery``, ``estimate_effect``) and trail, with the plan and the effect request it made
    rather than arguments a model wrote."""

    def __init__(self, session: AnalysisSession, by: str = "llm", on_invalid: Callable[[str], None] | None = None,
                 redact: Callable[[Any], Any] | None = None, strict: bool = False):
        self.session, self.by, self.strict = session, by, strict
        self.on_invalid = on_invalid or (lambda what: None)
        self.redact = redact or (lambda result: result)
        self._lock = threading.Lock()
        self._closed = False
        self.specs: dict[str, ToolSpec] = {name: ToolSpec(name, schema, description, getattr(self, method))
                                           for name, schema, description, method in TOOLS}

    # ------------------------------------------------------------------ calling
    def call(self, name: str, args: dict[str, Any] | BaseModel | None = None) -> str:
        """Run tool ``name`` on ``args``; its result as JSON text (``{"rejected": reason}`` when refused)."""
        spec = self.specs.get(name)
        if spec is None:
            self.on_invalid(f"unknown tool {name!r}")
            return json.dumps({"rejected": f"no tool '{name}'; the tools are {', '.join(self.specs)}"})
        raw = args.model_dump() if isinstance(args, BaseModel) else dict(args or {})
        shown = [_plain_args(raw)]

        def work() -> tuple[dict[str, Any], str]:
            parsed = spec.schema.model_validate(raw)
            shown[0] = parsed.model_dump(exclude_none=True)
            return spec.run(parsed)

        return quote_data(self.redact(self._record(name, shown, work)), max_chars=30_000)

    def _record(self, name: str, shown: list[dict[str, Any]], work: Callable[[], tuple[dict[str, Any], str]]
                ) -> dict[str, Any]:
        """Run ``work`` as a call of tool ``name`` and add it to the trail with the arguments in ``shown[0]``
        (``work`` may replace them by the validated ones); its result, or ``{"rejected": reason}``."""
        with self._lock:
            if self._closed:
                return {"rejected": "the agent's turn is over; nothing was changed"}
            status, invalid, error = "ok", None, None
            try:
                result, phrase = work()
            except ValidationError as exc:
                invalid = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'arguments'}: {e['msg']}" for e in exc.errors())
                error = exc
            except InputError as exc:
                invalid, error = str(exc), exc
            except Refused as exc:
                result, phrase, status, error = {"rejected": str(exc)}, short(exc, 200), "rejected", exc
            except Exception as exc:  # a method that fails on these data: an answer for the model, not a crash
                what = f"{name} failed: {type(exc).__name__}: {short(exc, 300)}"
                result, phrase, status, error = {"rejected": what}, short(what, 200), "rejected", exc
            if invalid is not None:
                result, phrase, status = {"rejected": invalid}, short(invalid, 200), "rejected"
            self.session.trail.append(TrailEntry(name, shown[0], status, phrase, self.by))
        if error is not None and self.strict:
            raise error
        if invalid is not None:
            self.on_invalid(f"{name}: {short(invalid, 200)}")  # may raise (the error budget)
        return result

    def run_planned(self, plan: DiscoveryPlan, graph_name: str, *, tune: bool,
                    on_planned: Callable[[DiscoveryPlan, list[Decision]], None] | None = None) -> NamedGraph:
        """The ``run_discovery`` tool on a plan a planner made (its algorithm, parameters, portfolio and
        orientation step, with its decisions), kept under ``graph_name``: completed on the data (alpha
        by BIC when ``tune``) and run once without a bootstrap (:meth:`AnalysisSession.run_plan`, which
        calls ``on_planned`` before the algorithm runs). Recorded in the trail with the plan's algorithm
        and parameters as planned. Raises what the run raises when ``strict``; else None on failure."""
        s = self.session
        shown = [{"algorithm": plan.algorithm, "params": _plain_args(plan.params), "graph_name": graph_name}]
        made: list[NamedGraph] = []

        def work() -> tuple[dict[str, Any], str]:
            if not re.fullmatch(GRAPH_NAME, graph_name) or graph_name in s.graphs:
                raise InputError(f"graph name '{graph_name}' is taken or not of letters, digits, '_', '.', '-'")
            ng = s.run_plan(graph_name, plan, decisions=list(plan.decisions), by=self.by, tune=tune,
                            on_planned=on_planned)
            made.append(ng)
            return self._discovery_result(ng, {})

        self._record("run_discovery", shown, work)
        return made[0] if made else None

    def estimate_planned(self, graph_name: str, request: Any) -> tuple[list[dict], list[Decision]]:
        """The ``estimate_effect`` tool on a planner's effect request (a
        :class:`causalpilot.tools.inference.run.EffectRequest`: the pair, or the pairs a --question names,
        with --cate-by and --what-if) on a graph of this session: :func:`estimate` with that request, the
        effects as their effects.json entries and the inference decisions. Recorded in the trail with the
        request's fields; raises what the estimation raises when ``strict`` (else: no effects)."""
        s = self.session
        asked = {"treatment": request.treatment, "outcome": request.outcome, "question": request.question,
                 "cate_by": request.cate_by, "what_if": request.what_if}
        shown = [{"graph_name": graph_name, **{k: v for k, v in asked.items() if v not in (None, [])}}]
        out: list[tuple[list[dict], list[Decision]]] = []

        def work() -> tuple[dict[str, Any], str]:
            graph, ng = s.lookup(graph_name)
            effects, decisions = estimate(s, graph, ng, request=request)
            for e in effects:
                s.effects[(graph_name, e["treatment"], e["outcome"])] = (effects, decisions)
            out.append((effects, decisions))
            reading = next((d.reason for d in decisions if d.step == "inference.pairs" and not d.choice), None)
            return ({"graph_name": graph_name, "effects": [effect_observation(e, graph) for e in effects]},
                    "; ".join(effect_phrase(e) for e in effects) or short(reading or "no effect was estimated", 200))

        self._record("estimate_effect", shown, work)
        return out[0] if out else ([], [])

    def close(self) -> None:
        """Refuse every later call (waits for a call in progress to finish)."""
        with self._lock:
            self._closed = True

    def langchain_tools(self) -> list:
        """langchain ``StructuredTool`` wrappers whose observations are the JSON results inside <data> blocks
        (data for the model, never instructions)."""
        from langchain_core.tools import StructuredTool

        def wrap(name: str):
            def fn(**kwargs: Any) -> str:
                return f"<data>{self.call(name, kwargs)}</data>"
            return fn

        return [StructuredTool.from_function(func=wrap(s.name), name=s.name, description=s.description,
                                             args_schema=s.schema) for s in self.specs.values()]

    # ------------------------------------------------------------------ helpers
    def _column(self, name: str, what: str = "column") -> str:
        if name not in self.session.variables:
            raise InputError(f"'{name}' is not a {what} of the analysed variables "
                             f"({', '.join(self.session.variables)})")
        return name

    # ------------------------------------------------------------------ profile and tests
    def _get_profile_finding(self, a: FindingArgs):
        f = self.session.profile.findings.get(a.name)
        if f is None:
            raise InputError(f"no finding '{a.name}'; findings: {', '.join(self.session.profile.findings)}")
        return ({"name": a.name, "value": f.value, "summary": f.summary, "evidence": f.evidence},
                f"{a.name}: {short(f.value, 60)}")

    def _list_algorithms(self, a: NoArgs):
        lines = [algorithm_line(s, w) for s, w in fitting_algorithms(self.session.profile)]
        return {"algorithms": lines}, f"{len(lines)} algorithms fit these data"

    def _test_independence(self, a: IndependenceArgs):
        p = self.session.checks.pvalue(a.x, a.y, list(a.given))
        verdict = "dependent" if p < 0.05 else "no evidence of dependence"
        given = f" given {', '.join(a.given)}" if a.given else ""
        return ({"test": self.session.checks.method, "p_value": round(p, 6), "at_alpha_0.05": verdict},
                f"{a.x} vs {a.y}{given}: {p_text(p)} ({verdict})")

    # ------------------------------------------------------------------ discovery
    def _run_discovery(self, a: DiscoveryArgs):
        s = self.session
        if not re.fullmatch(GRAPH_NAME, a.graph_name) or a.graph_name in s.graphs:
            raise InputError(f"graph_name must be new and use letters, digits, '_', '.', '-' only (1-64); got "
                             f"'{a.graph_name}'" + (" (taken)" if a.graph_name in s.graphs else ""))
        spec = get_algorithm(a.algorithm)
        if s.request.algorithm and get_algorithm(s.request.algorithm).name != spec.name:
            raise Refused(f"the user asked for {get_algorithm(s.request.algorithm).name}; run that algorithm")
        asked = check_params(spec, dict(a.params), s.variables)
        fit_problems = spec.fits(s.profile, {**asked, **s.request.params}).problems
        if fit_problems:
            raise Refused(f"{spec.name} cannot run on these data: {'; '.join(fit_problems)}")
        plan, decisions, warnings = self._plan_for(spec, asked)
        tune = "alpha" not in asked and "alpha" not in s.request.params
        ng = s.run_plan(a.graph_name, plan, decisions=decisions, by=self.by, tune=tune, warnings=warnings)
        return self._discovery_result(ng, asked)

    def _discovery_result(self, ng: NamedGraph, asked: dict[str, Any]) -> tuple[dict[str, Any], str]:
        """What run_discovery answers about the graph it made: its edges, the parameters (those not asked
        for were set by the rules), what was tuned on the data, the BIC where one applies, the warnings."""
        plan, warnings = ng.plan, list(ng.warnings)
        tuned = {d.step.split(".", 1)[1]: d.choice for d in ng.decisions if d.by in ("tuning", "data")
                 and d.step != FIT_STEP}
        bic = graph_bic(ng.graph, self.session.prepared)
        result = {"graph_name": ng.name, "algorithm": plan.algorithm, "params": plan.params,
                  "set_by_rules": sorted(k for k in plan.params if k not in asked), "graph_type": ng.graph.graph_type,
                  "n_edges": len(ng.graph.edges), "edges": edge_texts(ng.graph),
                  **({"bic": bic} if bic is not None else {}), "seconds": seconds_class(ng.seconds),
                  "warnings": warnings, **({"tuned_on_the_data": tuned} if tuned else {}),
                  **({"knowledge_notes": ng.notes} if ng.notes else {})}
        phrase = (f"{plan.algorithm}: {ng.graph.graph_type}, {len(ng.graph.edges)} edges"
                  + (f", BIC {bic:g}" if bic is not None else "")
                  + (f"; warning: {'; '.join(warnings)}" if warnings else ""))
        return result, phrase

    def _plan_for(self, spec: AlgorithmSpec, asked: dict[str, Any]
                  ) -> tuple[DiscoveryPlan, list[Decision], tuple[str, ...]]:
        """The rules planner's plan for ``spec`` with the parameters asked for over its own; the decisions
        say who chose what. InputError (refusal) when the final parameters cannot run on these data."""
        from causalpilot.agent.planners.rules import RulesPlanner

        s = self.session
        base = RulesPlanner().plan_discovery(s.profile, Request(algorithm=spec.name, params=dict(s.request.params),
                                                                bootstrap=s.request.bootstrap))
        params = {**base.params, **{k: v for k, v in asked.items() if k not in s.request.params}}
        fit = spec.fits(s.profile, params)
        if not fit.ok:
            raise Refused(fit.refusal())
        decisions: list[Decision] = []
        for d in base.decisions:
            if d.step == FIT_STEP:
                continue  # checked again below, on the final parameters
            key = {"score": "score_func"}.get(d.step.split(".", 1)[-1], d.step.split(".", 1)[-1])
            if d.step == "discovery.algorithm" and not s.request.algorithm:
                decisions.append(Decision(d.step, spec.name, "", {"rules_choice": s.rules_plan().algorithm},
                                          by=self.by))
            elif key in asked and key not in s.request.params:
                decisions.append(Decision(d.step, asked[key], "", {"rules_choice": d.choice}, by=self.by))
            else:
                decisions.append(d)
        recorded = {d.step.split(".", 1)[-1] for d in decisions} | (
            {"score_func"} if any(d.step == "discovery.score" for d in decisions) else set())
        decisions += [Decision(f"discovery.{k}", v, "", {}, by=self.by) for k, v in asked.items()
                      if k not in recorded and k not in s.request.params]
        decisions[1:1] = [Decision(FIT_STEP, "runs with a warning", f"{w[0].upper()}{w[1:]}.", fit.evidence, by="data")
                          for w in fit.warnings]
        plan = DiscoveryPlan(spec.name, params, base.bootstrap, decisions, [], base.orient)
        return plan, decisions, fit.warnings

    def _assess_stability(self, a: StabilityArgs):
        s = self.session
        ng = s.own(a.graph_name)
        if s.request.bootstrap == 0:
            raise Refused("the user asked for no bootstrap (--bootstrap 0)")
        resamples = a.resamples or s.bootstrap_for(ng) or 20
        s.assess(ng, resamples)
        rules = ng.rules_bootstrap
        if a.resamples is None and rules is not None and rules.choice == resamples:
            ng.stability = rules
        else:
            ng.stability = Decision("discovery.bootstrap", resamples, (
                f"LLM: {resamples} resamples" if a.resamples and self.by == "llm" else f"{resamples} resamples"),
                {"rules_choice": None if rules is None else rules.choice}, by=self.by if a.resamples else "rules")
        present = {(frozenset((e.source, e.target)), e.lag) for e in ng.graph.edges}
        absent = sorted((sorted(k[0]), round(v, 2)) for k, v in ng.boot.link_frequency().items()
                        if v >= ABSENT_SUPPORT and k not in present)
        edges = [{"edge": e.describe(), "frequency": e.confidence,
                  **({"link_frequency": e.link_confidence} if e.link_differs() else {})}
                 for e in ng.graph.edges[:MAX_EDGES_SHOWN]]
        unstable = [e.describe() for e in ng.graph.edges
                    if e.adjacency_confidence is not None and e.adjacency_confidence < UNSTABLE_BELOW]
        result = {"graph_name": ng.name, "resamples": ng.boot.replicates, "failures": ng.boot.failures, "edges": edges,
                  "unstable": unstable, "absent_but_often_found": [{"pair": p, "frequency": f} for p, f in absent]}
        return result, f"{ng.boot.replicates} resamples; {len(unstable)} unstable edges"

    def _compare_graphs(self, a: CompareArgs):
        g1, _ = self.session.lookup(a.first)
        g2, _ = self.session.lookup(a.second)
        d = graph_diff(g1, g2)
        result = {"first": a.first, "second": a.second, "n_edges": [len(g1.edges), len(g2.edges)],
                  "only_in_first": d["only_in_first"], "only_in_second": d["only_in_second"],
                  "marks_differ": d["changed"],
                  "shared_same_marks": len(g1.skeleton() & g2.skeleton()) - len(d["changed"])}
        bics = [graph_bic(g, self.session.prepared) for g in (g1, g2)]
        if None not in bics:
            result["bic_lower_is_better"] = bics
        phrase = (f"{len(d['only_in_first'])} only in {a.first}, {len(d['only_in_second'])} only in {a.second}, "
                  f"{len(d['changed'])} with other marks")
        return result, phrase

    def _query_graph(self, a: QueryArgs):
        graph, _ = self.session.lookup(a.graph_name)
        node = a.node
        if node not in graph.nodes:
            raise InputError(f"'{node}' is not a node of graph '{a.graph_name}'")
        other = a.other
        if a.query in ("paths", "adjustment_sets"):
            if not other or other not in graph.nodes or other == node:
                raise InputError(f"query '{a.query}' needs 'other', a second node of graph '{a.graph_name}'")
        out: dict[str, Any] = {"graph_name": a.graph_name, "query": a.query, "node": node}
        direct = nx.DiGraph([(e.source, e.target) for e in graph.edges if e.type == "directed" and not e.lag])
        direct.add_nodes_from(graph.nodes)
        possible = _possible_digraph(graph)
        if a.query in ("parents", "children"):
            incoming = a.query == "parents"
            sure = sorted((e.source if incoming else e.target) for e in graph.edges if e.type == "directed"
                          and not e.lag and (e.target if incoming else e.source) == node)
            maybe = sorted({(e.source if e.target == node else e.target) for e in graph.edges if not e.lag
                            and node in (e.source, e.target) and (e.type in ("undirected", "nondirected")
                            or (e.type == "partially_directed" and (e.target == node) == incoming))})
            hidden = sorted({e.source if e.target == node else e.target for e in graph.edges
                             if e.type == "bidirected" and node in (e.source, e.target)})
            out.update({a.query: sure, f"possible_{a.query}": maybe, "hidden_common_cause_with": hidden})
            phrase = f"{a.query} of {node}: {', '.join(sure) or 'none'}" + (
                f" (possible: {', '.join(maybe)})" if maybe else "")
        elif a.query in ("ancestors", "descendants"):
            walk = nx.ancestors if a.query == "ancestors" else nx.descendants
            sure = sorted(walk(direct, node), key=graph.nodes.index)
            maybe = sorted(set(walk(possible, node)) - set(sure), key=graph.nodes.index)
            out.update({a.query: sure, f"possible_{a.query}": maybe})
            phrase = f"{a.query} of {node}: {', '.join(sure) or 'none'}" + (
                f" (possible: {', '.join(maybe)})" if maybe else "")
        elif a.query == "paths":
            skeleton = nx.Graph([(e.source, e.target) for e in graph.edges])
            skeleton.add_nodes_from(graph.nodes)
            paths = sorted(nx.all_simple_paths(skeleton, node, other, cutoff=MAX_PATH_LENGTH),
                           key=lambda p: (len(p), p))
            shown = []
            for p in paths[:MAX_PATHS]:
                text = p[0] + "".join(f" {_step(graph, x, y)} {y}" for x, y in zip(p, p[1:]))
                causal = all(direct.has_edge(x, y) for x, y in zip(p, p[1:]))
                shown.append({"path": text, "directed_from_node": causal})
            out.update({"other": other, "paths": shown, "n_paths": len(paths)})
            phrase = f"{len(paths)} paths between {node} and {other}"
        else:
            from causalpilot.tools.inference.graph_adapter import candidate_parent_sets

            sets = candidate_parent_sets(graph, node)
            valid = [st for st in sets if other not in st]
            out.update({"treatment": node, "outcome": other, "parent_adjustment_sets": valid,
                        "identified": len(sets) == 1 and bool(valid),
                        "explanation": ("the parents of the treatment block every back-door path; one set per "
                                        "orientation of the treatment's undirected edges that a DAG of the graph "
                                        "allows (IDA)") + (f"; in {len(sets) - len(valid)} orientation(s) {other} is "
                                                           f"a parent of {node}, so the effect is 0 there"
                                                           if len(valid) < len(sets) else "")})
            if graph.graph_type == "PAG":
                out["explanation"] += "; the graph is a PAG: this assumes no hidden confounder acts on the treatment"
            phrase = f"{len(valid)} adjustment set(s) for {node} -> {other}: " + "; ".join(
                "{" + ", ".join(st) + "}" for st in valid[:4])
        if graph.graph_type == "lagged":
            out["note"] = "a lagged graph: only contemporaneous edges are read"
        return out, phrase

    # ------------------------------------------------------------------ knowledge
    def _propose_background(self, a: BackgroundArgs):
        s = self.session
        variables = s.variables
        raw = {"tiers": a.tiers, "forbidden": [[e.source, e.target] for e in a.forbidden],
               "required": [[e.source, e.target] for e in a.required]}
        bg = parse_background(raw, variables, "the proposal")
        # tiers become forbidden edges (later tier -> earlier tier), so they merge with the user's knowledge
        forb = set(bg.forbidden) | {(x, y) for x in variables for y in variables if x != y and bg.forbids(x, y)}
        refused = []
        for x, y in sorted(forb):
            if (y, x) in forb and (x, y) < (y, x):
                p = s.checks.pvalue(x, y, [v for v in variables if v not in (x, y)])
                if p < STRONG_P:
                    refused.append(f"no edge between {x} and {y}: the data show a strong direct dependence "
                                   f"({p_text(p)} given all other variables)")
                    forb -= {(x, y), (y, x)}
        accepted_r = []
        for x, y in bg.required:
            p0 = s.checks.pvalue(x, y, [])
            p1 = s.checks.pvalue(x, y, [v for v in variables if v not in (x, y)])
            if p0 > 0.05 and p1 > 0.05:
                refused.append(f"required {x} -> {y}: the data show no dependence ({p_text(p0)} marginally, "
                               f"{p1:.2g} given the rest)")
                continue
            accepted_r.append((x, y))
        user = s.user_background
        overruled = [f"{x} -> {y}" for x, y in sorted(forb) if user is not None and (x, y) in user.required] + [
            f"{x} -> {y}" for x, y in accepted_r if user is not None and user.forbids(x, y)]
        if overruled:
            refused.append(f"the user's knowledge says otherwise about {', '.join(overruled)}")
        accepted_f = sorted(forb)
        old = s.proposed or Background()
        s.proposed = Background(required=sorted(set(old.required) | set(accepted_r)),
                                forbidden=sorted(set(old.forbidden) | set(accepted_f)))
        why = short(a.reason)
        s.decisions.append(Decision(
            "discovery.background.llm" if self.by == "llm" else "discovery.background.agent",
            {"required": [list(e) for e in accepted_r], "forbidden": [list(e) for e in accepted_f]},
            f"LLM: {why}" + (f"; refused by the data check: {'; '.join(refused)}" if refused else ""),
            {"tiers_proposed": a.tiers, "refused": refused}, by=self.by))
        result = {"accepted": {"forbidden": [list(e) for e in accepted_f], "required": [list(e) for e in accepted_r]},
                  "refused": refused, "applies_to": "graphs discovered from now on"}
        phrase = f"accepted {len(accepted_f)} forbidden and {len(accepted_r)} required edges" + (
            f"; refused: {'; '.join(refused)}" if refused else "")
        return result, phrase

    def _review_edge(self, a: ReviewArgs):
        s = self.session
        ng = s.own(a.graph_name)
        source, target = self._column(a.source), self._column(a.target)
        graph = ng.graph
        e = graph.edge_between(source, target)
        if e is None:
            raise InputError(f"graph '{ng.name}' has no edge between {source} and {target}")
        why = short(a.reason)
        user = s.user_background
        evidence: dict[str, Any] = {"was": e.describe(), "confidence": e.confidence}
        if a.action == "remove":
            if user is not None and ({(source, target), (target, source)} & set(user.required)):
                raise Refused(f"the user's knowledge requires an edge between {source} and {target}")
            nb = sorted({x for f in graph.edges for x in (f.source, f.target)
                         if {f.source, f.target} & {source, target}} - {source, target})
            p = s.checks.pvalue(source, target, nb)
            if p < STRONG_P:
                raise Refused(f"{source} and {target} are strongly dependent given their neighbours ({p_text(p)}); "
                              "the edge stays")
            why = f"{why} [data check: {p_text(p)} given {', '.join(nb) or 'nothing'}]"
            evidence["p_value"] = round(p, 6)
        elif a.action == "orient":
            self._check_orientation(ng, e, source, target, evidence)
        ng.reviews.append((a.action, source, target, why))
        ng.graph = reviewed(graph, a.action, source, target, why)
        choice = {"remove": f"remove {e.describe()}", "keep": f"keep {e.describe()}",
                  "orient": f"orient {source} --> {target}"}[a.action]
        ng.review_decisions.append(Decision("review.edge", choice, f"LLM: {why}", evidence, by=self.by))
        return {"graph_name": ng.name, "accepted": choice, "edges_now": len(ng.graph.edges)}, f"accepted: {choice}"

    def _check_orientation(self, ng: NamedGraph, e, source: str, target: str, evidence: dict[str, Any]) -> None:
        """Refuse an orientation that the knowledge forbids, that reverses a direction the data settled, that
        closes a directed cycle, or that makes a collider where the data show a chain or fork."""
        s, graph = self.session, ng.graph
        if ng.background is not None and ng.background.forbids(source, target) or (
                s.user_background is not None and s.user_background.forbids(source, target)):
            raise Refused(f"the background knowledge forbids {source} -> {target}")
        if e.type == "bidirected":
            raise Refused(f"the data mark a hidden common cause of {source} and {target} (<->), not a direction")
        if e.type == "partially_directed" and e.target == source:
            raise Refused(f"the data put an arrowhead at {source} ({e.describe()}): {source} does not cause {target}")
        if e.type == "directed" and e.source == target and e.oriented_by != "llm_review":  # a review may be revised
            if e.oriented_by == "background":
                raise Refused(f"the background knowledge orients {target} -> {source}")
            loose = {(u["source"], u["target"]) for u in unsettled_directions(graph, ng.boot, ng.background)}
            if (target, source) not in loose:
                basis = ("the bootstrap backs that direction" if ng.boot.replicates else
                         "no bootstrap has shown it unsettled (assess_stability first)")
                raise Refused(f"the data orient this edge {target} -> {source} ({e.oriented_by}; {basis})")
        directed = nx.DiGraph([(f.source, f.target) for f in graph.edges if f.type == "directed" and not f.lag
                               and f.pair() != e.pair()])
        directed.add_edge(source, target)
        try:
            cycle = nx.find_cycle(directed, source)
            raise Refused("it closes the directed cycle " + " -> ".join([c[0] for c in cycle] + [cycle[0][0]]))
        except nx.NetworkXNoCycle:
            pass
        for f in graph.edges:
            if f.type != "directed" or f.target != target or f.source == source or f.lag:
                continue
            x = f.source
            if graph.edge_between(x, source) is not None:
                continue
            p_marginal = s.checks.pvalue(source, x, [])
            p_given = s.checks.pvalue(source, x, [target])
            evidence.setdefault("collider_checks", []).append(
                {"with": x, "p_marginal": round(p_marginal, 6), "p_given_target": round(p_given, 6)})
            if p_marginal < STRONG_P and p_given > 0.05:
                raise Refused(f"{source} -> {target} <- {x} would be a collider, but the data show {source} and {x} "
                              f"strongly dependent ({p_text(p_marginal)}) and independent given {target} "
                              f"({p_text(p_given)}): a chain or fork through {target}")

    # ------------------------------------------------------------------ effects and the end
    def _estimate_effect(self, a: EffectArgs):
        s = self.session
        treatment, outcome = self._column(a.treatment, "treatment"), self._column(a.outcome, "outcome")
        if treatment == outcome:
            raise InputError("treatment and outcome must be two different columns")
        graph, ng = s.lookup(a.graph_name)
        effects, decisions = estimate(s, graph, ng, treatment, outcome)
        s.effects[(a.graph_name, treatment, outcome)] = (effects, decisions)
        e = effects[0]
        result = effect_observation(e, graph)
        result["graph_name"] = a.graph_name
        if e.get("identified") is False:
            from causalpilot.tools.inference.graph_adapter import open_neighbours

            result["blocking_edges"] = [f"{treatment} - {n}" for n in open_neighbours(graph, treatment)]
        return result, effect_phrase(e)

    def _finish(self, a: FinishArgs):
        s = self.session
        ng = s.own(a.graph_name)
        s.final, s.summary, s.finished_by = ng.name, short(a.summary, 1000), self.by
        pairs = [f"{t} -> {y}" for (g, t, y) in s.effects if g == ng.name]
        result = {"final": ng.name, "algorithm": ng.plan.algorithm, "graph_type": ng.graph.graph_type,
                  "n_edges": len(ng.graph.edges), "stability_assessed": ng.boot.replicates > 0,
                  "effects_estimated": pairs}
        return result, f"the report uses '{ng.name}' ({ng.plan.algorithm}, {len(ng.graph.edges)} edges)"


def _plain_args(raw: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(raw, default=str))


def estimate(session: AnalysisSession, graph: CausalGraph, ng: NamedGraph | None, treatment: str | None = None,
             outcome: str | None = None, request: Any = None) -> tuple[list[dict], list[Decision]]:
    """The effect of treatment on outcome on ``graph``, exactly as the analysis loop's inference step
    computes it for the report (the same :class:`EffectRequest` seed, bootstrap and knowledge); the
    effects as their effects.json entries (``Effect.to_dict``). ``request``: a whole EffectRequest
    (a question's pairs, --cate-by, --what-if) instead of the one pair. Raises InputError as
    :func:`causalpilot.tools.inference.run.run_inference` does."""
    from causalpilot.agent.loop import derive_seed
    from causalpilot.tools.inference.run import EffectRequest, run_inference

    if request is None:
        request = EffectRequest(treatment=treatment, outcome=outcome, n_jobs=session.n_jobs,
                                seed=derive_seed(session.seed, "infer"))
    found, decisions = run_inference(session.prepared, graph, request, boot=None if ng is None else ng.boot,
                                     background=None if ng is None else ng.background)
    return [e.to_dict() for e in found], decisions


def effect_observation(e: dict[str, Any], graph: CausalGraph) -> dict[str, Any]:
    """What the model is told of one effect: identification, estimate, interval, range, the contrasts of
    an unordered category's levels or the lags of a lagged effect, refutations."""
    out = {"treatment": e["treatment"], "outcome": e["outcome"], "identified": e.get("identified"),
           "estimand": e.get("estimand"), "method": e.get("method"), "estimate": e.get("estimate"),
           "interval_95": [e.get("ci_low"), e.get("ci_high")], "adjustment_set": e.get("adjustment_set")}
    if e.get("estimate_range") is not None:
        out["range_over_orientations"] = e["estimate_range"]
    if e.get("structural_zero"):
        out["structural_zero"] = True
    for key, fields in (("contrasts", ("level", "reference", "identified", "estimate", "ci_low", "ci_high",
                                       "estimate_range")), ("lags", ("lag", "estimate", "ci_low", "ci_high",
                                                                     "estimate_range"))):
        if e.get(key):  # an unordered category's levels against the most common one; a lagged effect's lags
            out[key] = [{k: c.get(k) for k in fields if c.get(k) is not None} for c in e[key][:12]]
    out["refutations"] = [{"name": r["name"], "passed": r.get("passed"), "p_value": r.get("p_value")}
                          for r in e.get("refutations", [])[:12]]
    out["notes"] = [short(n, 240) for n in e.get("notes", [])[:4]]
    return out


def effect_phrase(e: dict[str, Any]) -> str:
    """One phrase for the trail: the estimate or the range, and failed refutations."""
    t, y = e["treatment"], e["outcome"]
    if e.get("estimate") is not None:
        text = f"{t} -> {y}: {e['estimate']:.4g} [{e.get('ci_low'):.4g}, {e.get('ci_high'):.4g}]" if (
            e.get("ci_low") is not None and e.get("ci_high") is not None) else f"{t} -> {y}: {e['estimate']:.4g}"
    elif e.get("estimate_range"):
        lo, hi = e["estimate_range"]
        text = f"{t} -> {y}: not identified, {lo:.4g} to {hi:.4g}"
    else:
        text = f"{t} -> {y}: {e.get('estimand')}"
    failed = [r["name"] for r in e.get("refutations", []) if r.get("passed") is False]
    return text + (f"; failed: {', '.join(failed)}" if failed else "")


# ------------------------------------------------------------------ the rules complete what is missing
def complete_with_rules(session: AnalysisSession) -> list[str]:
    """Finish an agent's analysis as the rules planner would: choose the final graph when none was chosen
    (the rules' plan, reusing a graph of the same run if the agent made one), and assess its stability
    with the rules' number of resamples when nobody did. Returns what was completed, in phrases."""
    tools = AgentTools(session, by="rules")
    done: list[str] = []
    if session.final is None:
        plan = session.rules_plan()
        tune = "alpha" not in session.request.params
        same = next((g for g in session.graphs.values() if g.plan.algorithm == plan.algorithm
                     and g.planned == plan.params and g.tune == tune and g.plan.orient == plan.orient
                     and not plan.portfolio
                     and g.background == session.background), None)
        if same is None:
            name = session.free_name("rules")
            AgentTools(session, by="rules", strict=True).run_planned(plan, name, tune=tune)  # raises if it fails
            done.append(f"ran the rules' plan ({plan.algorithm}) as '{name}'")
        else:
            name = same.name
            done.append(f"chose '{name}', the agent's run of the rules' plan")
        tools.call("finish", {"graph_name": name, "summary": "the rules planner's choice"})
    ng = session.graphs[session.final]
    wanted = session.bootstrap_for(ng)
    if ng.boot.replicates == 0 and wanted > 0:
        tools.call("assess_stability", {"graph_name": ng.name})
        done.append(f"assessed the stability of '{ng.name}' on {ng.boot.replicates} resamples")
    session.completed = done
    return done


def final_decisions(session: AnalysisSession) -> list[Decision]:
    """The decisions behind the final graph: how it was planned (a model's choices quote its summary),
    its bootstrap, the knowledge accepted, its reviews, and the choice of it among the session's graphs."""
    ng = session.graphs[session.final]
    why = f"LLM: {session.summary}" if session.finished_by == "llm" and ng.by == "llm" else None
    out = []
    for d in ng.decisions:
        if d.by == "llm" and not d.reason:
            d = replace(d, reason=why or f"LLM: chosen when running '{ng.name}'")
        out.append(d)
    bootstrap = ng.stability or ng.rules_bootstrap
    if bootstrap is not None:
        out.append(bootstrap)
    # what the time budget cut when the resamples ran (loop.discover records it on the graph's plan)
    out += [d for d in ng.plan.decisions if d.step == "discovery.bootstrap_budget"]
    out += session.decisions + ng.review_decisions
    others = {n: g.plan.algorithm for n, g in session.graphs.items()}
    out.append(Decision("agent.final_graph", ng.name, (
        f"LLM: {session.summary}" if session.finished_by == "llm" else
        "the rules planner's graph: the agent did not finish with one"),
        {"graphs": others}, by=session.finished_by or "rules"))
    return out


def _args_text(args: dict[str, Any]) -> str:
    return short(", ".join(f"{k}={json.dumps(v, sort_keys=True, default=str)}" for k, v in args.items()
                           if v not in (None, [], {})), 200)


def trail_context(session: AnalysisSession, run_id: str, assisted: bool = True) -> dict[str, Any]:
    """The agent's trail for the report and run.json: every tool call with its result in a phrase, the
    graphs made (with their memory keys), and where the rules planner would have chosen differently.
    ``assisted``: an LLM worked in the session (its conversation is in transcript.json); without one
    (the rules planner ran its own plan) there is no transcript and nothing to compare with the rules."""
    ng = session.graphs.get(session.final) if session.final else None
    differ = []
    if ng is not None and assisted:
        baseline = session.rules_plan()
        if ng.plan.algorithm != baseline.algorithm:
            why = next((d.reason for d in baseline.decisions if d.step == "discovery.algorithm"), "")
            differ.append(f"The rules planner would have run {baseline.algorithm} rather than {ng.plan.algorithm} "
                          f"({short(why, 220)}).")
        else:
            for k in sorted(set(baseline.params) | set(ng.planned)):
                if baseline.params.get(k) != ng.planned.get(k):
                    differ.append(f"The rules planner would have set {k} to {baseline.params.get(k)!r} rather than "
                                  f"{ng.planned.get(k)!r}.")
            if ng.tune != ("alpha" not in session.request.params):
                differ.append("The rules planner would have tuned alpha by the BIC on the data.")
        if session.request.bootstrap is None and ng.boot.replicates != baseline.bootstrap:
            differ.append(f"The rules planner would have run {baseline.bootstrap} bootstrap resamples rather than "
                          f"{ng.boot.replicates}.")
        for action, source, target, why in ng.reviews:
            if action != "keep":
                differ.append(f"The rules planner would not have made the review '{action} {source} - {target}' "
                              f"({short(why, 160)}).")
        if session.proposed is not None and not session.proposed.is_empty():
            differ.append("The rules planner would have used only your knowledge, not the knowledge the agent "
                          "proposed.")
    trail = [{"tool": t.tool, "call": f"{t.tool}({_args_text(t.args)})", "status": t.status, "result": t.result,
              "by": t.by} for t in session.trail]
    graphs = [{"name": g.name, "algorithm": g.plan.algorithm, "n_edges": len(g.graph.edges), "by": g.by,
               "resamples": g.boot.replicates, "key": f"{run_id}/graph/{g.name}", "final": g.name == session.final}
              for g in session.graphs.values()]
    return {"trail": trail, "graphs": graphs, "final": session.final, "summary": session.summary,
            "finished_by": session.finished_by, "rules_differ": differ,
            "transcript": "transcript.json" if assisted else None,
            "rejected": sum(t["status"] == "rejected" for t in trail)}
