"""The LLM planner: a langchain ReAct agent over the project's tools, checked by the data at every step.

What it adds to the rules planner: it reads the question and the column names to propose the
treatment, the outcome and background knowledge; it chooses among the registered algorithms with
the profile and their profiles in context; it reviews the edges the bootstrap finds uncertain; it
writes the narrative of the report. It never acts directly: every proposal goes through a tool
whose arguments are pydantic-validated and whose content is checked against the registry and the
data (a claimed independence or a forbidden edge is tested; strong statistical evidence wins).

If the model fails (timeouts, 429/5xx after retries, malformed or endless tool calls, a spent
budget), the run falls back to the rules planner with a notice on stderr and a decision in run.json.
"""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from typing import Any, Literal, Union

import numpy as np
from pydantic import BaseModel, Field, ValidationError

from causalpilot.agent.llm_context import compact_plan_context, labelled_columns, profile_for_prompt, sample_rows
from causalpilot.agent.llm_runtime import (Counters, LLMConfig, LLMFailure, Transcript, call_model_text, make_chat_model,
                                           rows_to_share, run_agent)
from causalpilot.agent.planners.base import FIT_STEP, AssistedPlanner, Decision, DiscoveryPlan, Request, fit_decisions
from causalpilot.agent.planners.rules import RulesPlanner
from causalpilot.prompts import quote_data, render_prompt
from causalpilot.tools.background import Background, parse_background
from causalpilot.tools.bootstrap import UNSTABLE_BELOW
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, Orientation
from causalpilot.tools.profile import PreparedData, Profile
from causalpilot.tools.registry import AlgorithmSpec, algorithms, check_ci_test, get_algorithm

STRONG_P = 1e-3  # a dependence this significant is "strong evidence": no LLM claim overrides it
MAX_REASON = 300
# string parameters the planner may set, with their allowed values (others keep their defaults)
CHOICES = {"score_func": {"local_score_BIC", "local_score_BDeu"}, "measure": {"pwling", "kernel"}}


# ------------------------------------------------------------------ tool argument schemas
class NoArgs(BaseModel):
    pass


class AlgorithmName(BaseModel):
    name: str = Field(description="a registered algorithm name, e.g. 'pc'")


class FindingName(BaseModel):
    name: str = Field(description="a profile finding, e.g. 'linearity', 'gaussianity', 'data_type'")


class IndependenceQuery(BaseModel):
    x: str = Field(description="a column name")
    y: str = Field(description="another column name")
    given: list[str] = Field(default_factory=list, description="columns to condition on")


class EdgePair(BaseModel):
    source: str
    target: str


class EffectProposal(BaseModel):
    treatment: str
    outcome: str
    reason: str = Field(max_length=2000)


class BackgroundProposal(BaseModel):
    tiers: list[list[str]] = Field(default_factory=list, description="earlier tiers cannot be caused by later ones")
    forbidden: list[EdgePair] = Field(default_factory=list, description="directed edges source -> target ruled out")
    required: list[EdgePair] = Field(default_factory=list, description="directed edges certain to exist")
    reason: str = Field(max_length=2000)


class PlanProposal(BaseModel):
    algorithm: str
    params: dict[str, Union[bool, int, float, str]] = Field(default_factory=dict,
                                                           description="parameters of that algorithm only")
    reason: str = Field(max_length=2000)


class EdgeFlag(BaseModel):
    source: str
    target: str
    action: Literal["orient", "remove", "keep"] = Field(description="orient source -> target, remove, or keep")
    reason: str = Field(max_length=2000)


class Narrative(BaseModel):
    """The structured narrative the model writes for the report."""

    summary: str = Field(min_length=1, max_length=3000)
    caveats: list[str] = Field(default_factory=list, max_length=8)


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= MAX_REASON else text[: MAX_REASON - 1] + "…"


def parse_narrative(text: str) -> Narrative:
    """Parse the model's JSON answer (tolerating prose or code fences around it) with pydantic."""
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise ValueError("no JSON object in the answer")
    return Narrative.model_validate(json.loads(text[start:end + 1]))


class DataChecks:
    """Conditional-independence tests on the prepared data, for checking the model's claims."""

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


class LLMPlanner(AssistedPlanner):
    """The :class:`AssistedPlanner` of :mod:`causalpilot.agent.planners.base`: the plan, and the extra LLM
    steps the loop calls (knowledge, edge review, narrative)."""

    name = "llm"

    def __init__(self, cfg: LLMConfig | None = None, model: Any = None, share_data: int | bool | None = None,
                 notice=None):
        self.cfg = cfg or LLMConfig.from_env()
        if share_data is not None:
            self.cfg.share_data = rows_to_share(share_data)
        self._model = model
        self.transcript = Transcript(config=self.cfg.public())
        self.prepared: PreparedData | None = None
        self.checks: DataChecks | None = None
        self.fallback_reason: str | None = None
        self.background: Background | None = None  # accepted LLM knowledge (as forbidden/required edges)
        self.effect: tuple[str, str] | None = None
        self.extra_decisions: list[Decision] = []
        self._last_errors: list[str] = []
        self._run_deadline: float | None = None  # set at the first LLM stage of the analysis
        self._notice = notice or (lambda msg: print(f"causalpilot: notice: {msg}", file=sys.stderr, flush=True))

    # ------------------------------------------------------------------ plumbing
    @property
    def model(self):
        if self._model is None:
            if not self.cfg.configured():
                self.transcript.stopped = "no LLM configured"
                raise LLMFailure("no LLM configured (set OPENAI_API_KEY or OPENAI_BASE_URL)")
            self._model = make_chat_model(self.cfg, self.transcript)
        return self._model

    def bind(self, prepared: PreparedData) -> None:
        """Give the planner the prepared data, so the model's claims can be tested on it."""
        self.prepared = prepared
        self.checks = DataChecks(prepared)

    def _tool(self, fn, name: str, schema: type[BaseModel], description: str):
        from langchain_core.tools import StructuredTool

        return StructuredTool.from_function(func=fn, name=name, description=description, args_schema=schema)

    def _rows(self) -> list[dict[str, Any]]:
        """The seeded sample of rows the model may see (agent.llm_context); recorded as data_sent."""
        rows, sent = sample_rows(self.prepared, self.cfg.share_data, self.cfg.data_seed)
        if rows and self.prepared is not None:
            sent["labels"] = labelled_columns(self.prepared.profile)  # labels go out only with rows
        self.transcript.data_sent = sent
        return rows

    def _counters(self) -> Counters:
        import time

        if self._run_deadline is None:
            self._run_deadline = time.monotonic() + self.cfg.run_budget_s
        return Counters(self.cfg, self._run_deadline)

    def _fail(self, stage: str, reason: str) -> None:
        reason = " ".join(reason.split())[:300]
        self._notice(f"the LLM {stage} step failed ({reason}); falling back to the rules planner for it.")

    # ------------------------------------------------------------------ shared tools
    def _common_tools(self, profile: Profile, counters: Counters) -> list:
        def list_algorithms() -> str:
            return json.dumps([{"name": s.name, "family": s.family, "output": s.output,
                                "data_types": list(s.data_types), "defaults": s.defaults,
                                **({"warnings": list(w)} if w else {})}
                               for s, w in fitting_algorithms(profile)])

        def get_algorithm_profile(name: str) -> str:
            try:
                spec = get_algorithm(name)
                fit = spec.fits(profile)
                described = {**spec.describe(), "cannot_run": list(fit.problems), "warnings": list(fit.warnings)}
                return f"<data>{quote_data(described)}</data>"
            except InputError as exc:
                counters.error(str(exc))
                return f"error: {exc}"

        def get_profile_finding(name: str) -> str:
            f = profile.findings.get(name)
            if f is None:
                counters.error(f"unknown finding {name!r}")
                return f"error: no finding '{name}'; findings: {', '.join(profile.findings)}"
            return f"<data>{quote_data({'value': f.value, 'summary': f.summary, 'evidence': f.evidence}, 4000)}</data>"

        def test_independence(x: str, y: str, given: list[str] | None = None) -> str:
            if self.checks is None:
                return "error: no data bound to the planner"
            try:
                p = self.checks.pvalue(x, y, list(given or []))
            except InputError as exc:
                counters.error(str(exc))
                return f"error: {exc}"
            verdict = "dependent" if p < 0.05 else "no evidence of dependence"
            return json.dumps({"test": self.checks.method, "p_value": round(p, 6), "at_alpha_0.05": verdict})

        return [
            self._tool(list_algorithms, "list_algorithms", NoArgs,
                       "List the discovery algorithms that can run on these data, with warnings where the data "
                       "contradict an assumption."),
            self._tool(get_algorithm_profile, "get_algorithm_profile", AlgorithmName,
                       "Assumptions, suitable data and cost of one algorithm, and how it fits these data."),
            self._tool(get_profile_finding, "get_profile_finding", FindingName,
                       "One finding of the data profile with its evidence."),
            self._tool(test_independence, "test_independence", IndependenceQuery,
                       "Test whether x and y are independent given the listed columns, on the data (p-value)."),
        ]

    # ------------------------------------------------------------------ planning
    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        rules = RulesPlanner()
        baseline = rules.plan_discovery(profile, request)
        try:
            proposal = self._ask_plan(profile, request, baseline)
        except LLMFailure as exc:
            self.fallback_reason = str(exc)
            self._fail("planning", str(exc))
            return self._fallback_plan(baseline, str(exc))
        if proposal is None:
            reason = "the model proposed no valid plan"
            self.fallback_reason = reason
            self._fail("planning", reason)
            return self._fallback_plan(baseline, reason)
        algo, params, why = proposal
        if request.algorithm:
            forced = get_algorithm(request.algorithm).name  # the user's choice wins over the model's
            if forced != algo:
                params, why = {}, f"{why} (the model's parameters were for {algo}, not the forced {forced})"
            algo = forced
        try:
            base = baseline if algo == baseline.algorithm else rules.plan_discovery(
                profile, Request(algorithm=algo, params=dict(request.params), bootstrap=request.bootstrap))
        except InputError as exc:  # the rules' parameters for the model's algorithm do not fit the data
            return self._fallback_plan(baseline, str(exc))
        decisions: list[Decision] = []
        for d in base.decisions:
            if d.step == FIT_STEP:  # checked again below, on the final parameters
                continue
            key = {"score": "score_func"}.get(d.step.split(".", 1)[-1], d.step.split(".", 1)[-1])
            if d.step == "discovery.algorithm" and not request.algorithm:
                decisions.append(Decision(d.step, algo, f"LLM: {why}", {"rules_choice": baseline.algorithm}, by="llm"))
            elif key in params and key not in request.params:
                decisions.append(Decision(d.step, params[key], f"LLM: {why}", {"rules_choice": d.choice}, by="llm"))
            else:
                decisions.append(d)
        final = {**base.params, **{k: v for k, v in params.items() if k not in request.params}}
        recorded = {d.step.split(".", 1)[-1] for d in decisions} | ({"score_func"} if "discovery.score" in
                                                                      {d.step for d in decisions} else set())
        for k, v in params.items():
            if k not in recorded and k not in request.params:
                decisions.append(Decision(f"discovery.{k}", v, f"LLM: {why}", {}, by="llm"))
        try:
            decisions[1:1] = fit_decisions(get_algorithm(algo), profile, final)
        except InputError as exc:
            if request.algorithm:
                raise
            return self._fallback_plan(baseline, str(exc))
        decisions.extend(self.extra_decisions)
        self.extra_decisions = []
        return DiscoveryPlan(algorithm=algo, params=final, bootstrap=base.bootstrap, decisions=decisions,
                             orient=base.orient)

    def _fallback_plan(self, baseline: DiscoveryPlan, reason: str) -> DiscoveryPlan:
        # all or nothing: knowledge or an effect pair proposed before the failure is not used either
        self.effect, self.background, self.extra_decisions = None, None, []
        decisions = [Decision("planner.fallback", "rules",
                              f"the LLM planner did not finish ({reason}); the rules planner decided instead",
                              {"llm_errors": list(self._last_errors)}, by="rules"), *baseline.decisions]
        return DiscoveryPlan(baseline.algorithm, baseline.params, baseline.bootstrap, decisions, baseline.portfolio,
                             baseline.orient)

    def _ask_plan(self, profile: Profile, request: Request, baseline: DiscoveryPlan):
        model = self.model  # no LLM configured: fail before anything is prepared for it
        counters = self._counters()
        state: dict[str, Any] = {}
        variables = list(profile.variables)

        def propose_effect(treatment: str, outcome: str, reason: str) -> str:
            bad = [c for c in (treatment, outcome) if c not in variables]
            if bad or treatment == outcome:
                counters.error(f"propose_effect({treatment!r}, {outcome!r})")
                return f"rejected: treatment and outcome must be two different columns of {variables}"
            state["effect"] = (treatment, outcome, _short(reason))
            return "accepted"

        def propose_background(reason: str, tiers: list | None = None, forbidden: list | None = None,
                               required: list | None = None) -> str:
            return self._check_background(tiers or [], forbidden or [], required or [], reason, variables,
                                          counters, state)

        def propose_plan(algorithm: str, reason: str, params: dict | None = None) -> str:
            try:
                algo, clean, warnings = self._validate_plan(profile, algorithm, params or {})
            except InputError as exc:
                counters.error(str(exc))
                return f"rejected: {exc}"
            state["plan"] = (algo, clean, _short(reason))
            return f"accepted: {algo} {clean}" + (f"; warnings: {'; '.join(warnings)}" if warnings else "")

        tools = self._common_tools(profile, counters) + [
            self._tool(propose_effect, "propose_effect", EffectProposal,
                       "Propose the treatment and outcome columns the question asks about."),
            self._tool(propose_background, "propose_background", BackgroundProposal,
                       "Propose background knowledge (tiers, forbidden and required edges); it is tested on the data."),
            self._tool(propose_plan, "propose_plan", PlanProposal,
                       "Propose the discovery algorithm and its parameters; validated against the registry."),
        ]
        rows = self._rows()
        context = dict(question=request.question or "", variables=variables,
                       profile=profile_for_prompt(profile, with_labels=bool(rows)),
                       rows=rows, algorithms=[{k: v for k, v in a.describe().items() if k != "name"} | {"name": a.name}
                                              | ({"warnings": list(w)} if w else {})
                                              for a, w in fitting_algorithms(profile)],
                       baseline={"algorithm": baseline.algorithm, "params": baseline.params},
                       forced_algorithm=request.algorithm)
        try:
            run_agent(model, tools, system=render_prompt("system"), prompt=render_prompt("plan", **context),
                      cfg=self.cfg, stage="plan", transcript=self.transcript, counters=counters,
                      compact=lambda: render_prompt("plan", **compact_plan_context(context)))
        finally:
            self._last_errors = list(counters.error_log)
        if "effect" in state:
            t, o, why = state["effect"]
            self.effect = (t, o)
            self.extra_decisions.append(Decision("effect.pair", [t, o], f"LLM: {why}", {}, by="llm"))
        if "background" in state:
            self.background = state["background"]
        return state.get("plan")

    def _validate_plan(self, profile: Profile, algorithm: str, params: dict[str, Any]
                       ) -> tuple[str, dict, tuple[str, ...]]:
        """(algorithm, checked parameters, fit warnings); InputError when a parameter is invalid or the
        algorithm cannot run on these data (the registry's fit check)."""
        spec = get_algorithm(algorithm)  # InputError names the valid choices
        clean: dict[str, Any] = {}
        for k, v in params.items():
            if k not in spec.defaults:
                raise InputError(f"algorithm '{spec.name}' takes no parameter '{k}' (it takes {', '.join(spec.defaults) or 'none'})")
            if k == "alpha":
                if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 < float(v) < 0.5:
                    raise InputError(f"alpha must be a number between 0 and 0.5, got {v!r}")
                v = float(v)
            elif k == "indep_test":
                v = check_ci_test(str(v))
            elif k == "depth":
                if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v or int(v) < -1:
                    raise InputError(f"depth must be an integer >= -1, got {v!r}")
                v = int(v)
            elif k in CHOICES:
                if v not in CHOICES[k]:
                    raise InputError(f"{k} must be one of {sorted(CHOICES[k])}, got {v!r}")
            else:
                d = spec.defaults[k]
                if isinstance(d, str) or type(v) is not type(d) and not (isinstance(d, float) and isinstance(v, int)):
                    raise InputError(f"parameter '{k}' cannot be set by the planner to {v!r}")
            clean[k] = v
        fit = spec.fits(profile, clean)  # data types, time order, size, tests and scores against the data
        if not fit.ok:
            raise InputError(fit.refusal())
        return spec.name, clean, fit.warnings

    def _check_background(self, tiers: list, forbidden: list, required: list, reason: str, variables: list[str],
                          counters: Counters, state: dict) -> str:
        """Validate the knowledge's names and shape, then test its claims on the data."""
        pair = lambda e: [e["source"], e["target"]] if isinstance(e, dict) else [e.source, e.target]  # noqa: E731
        raw = {"tiers": tiers, "forbidden": [pair(e) for e in forbidden], "required": [pair(e) for e in required]}
        try:
            bg = parse_background(raw, variables, "the LLM proposal")
        except InputError as exc:
            counters.error(str(exc))
            return f"rejected: {exc}"
        # tiers become forbidden edges (later tier -> earlier tier), so they merge with the user's knowledge
        forb = set(bg.forbidden) | {(a, b) for a in variables for b in variables if a != b and bg.forbids(a, b)}
        accepted_f, accepted_r, refused = [], [], []
        for a, b in sorted(forb):
            if (b, a) in forb and (a, b) < (b, a) and self.checks is not None:
                rest = [v for v in variables if v not in (a, b)]
                p = self.checks.pvalue(a, b, rest)
                if p < STRONG_P:
                    refused.append(f"no edge between {a} and {b}: the data show a strong direct dependence "
                                   f"(p = {p:.2g} given all other variables)")
                    forb.discard((a, b))
                    forb.discard((b, a))
        for a, b in sorted(forb):
            accepted_f.append((a, b))
        for a, b in bg.required:
            if self.checks is not None:
                p0 = self.checks.pvalue(a, b, [])
                p1 = self.checks.pvalue(a, b, [v for v in variables if v not in (a, b)])
                if p0 > 0.05 and p1 > 0.05:
                    refused.append(f"required {a} -> {b}: the data show no dependence (p = {p0:.2g} marginally, "
                                   f"{p1:.2g} given the rest)")
                    continue
            accepted_r.append((a, b))
        why = _short(reason)
        merged = Background(required=accepted_r, forbidden=accepted_f)
        state["background"] = merged
        self.extra_decisions.append(Decision(
            "discovery.background.llm", {"required": [list(e) for e in accepted_r],
                                         "forbidden": [list(e) for e in accepted_f]},
            f"LLM: {why}" + (f"; refused by the data check: {'; '.join(refused)}" if refused else ""),
            {"tiers_proposed": tiers, "refused": refused}, by="llm"))
        msg = f"accepted {len(accepted_f)} forbidden and {len(accepted_r)} required edges"
        return msg + (f"; refused: {'; '.join(refused)}" if refused else "")

    # ------------------------------------------------------------------ merging with the user's knowledge
    def merged_background(self, user: Background | None) -> Background | None:
        """The user's knowledge plus the accepted LLM knowledge; the user's wins every conflict."""
        if self.background is None or self.background.is_empty():
            return user
        base = user or Background()
        forb = [e for e in self.background.forbidden if e not in base.required and e not in base.forbidden]
        req = [e for e in self.background.required if not base.forbids(*e) and e not in base.required]
        req = [e for e in req if e not in forb]
        return Background(required=list(base.required) + req, forbidden=list(base.forbidden) + forb,
                          tiers=[list(t) for t in base.tiers], forbid_within_tiers=base.forbid_within_tiers)

    # ------------------------------------------------------------------ reviewing uncertain edges
    def review_graph(self, graph: CausalGraph, question: str | None,
                     background: Background | None = None) -> tuple[CausalGraph, list[Decision]]:
        """Let the model orient or prune edges with bootstrap confidence < 0.5, each change data-checked."""
        uncertain = [e for e in graph.edges if e.confidence is not None and e.confidence < UNSTABLE_BELOW and not e.lag]
        if not uncertain or self.transcript.stopped is not None or self.prepared is None:
            return graph, []
        counters = self._counters()
        flags: dict[frozenset, tuple[str, str, str, str]] = {}

        def flag_edge(source: str, target: str, action: str, reason: str) -> str:
            e = graph.edge_between(source, target)
            if e is None or e not in uncertain:
                counters.error(f"flag_edge({source!r}, {target!r}) names no uncertain edge")
                return "rejected: only the uncertain edges listed may be flagged"
            if action == "remove" and self.checks is not None:
                nb = sorted({x for f in graph.edges for x in (f.source, f.target)
                             if {f.source, f.target} & {source, target}} - {source, target})
                p = self.checks.pvalue(source, target, nb)
                if p < STRONG_P:
                    return (f"refused: {source} and {target} are strongly dependent given their neighbours "
                            f"(p = {p:.2g}); the edge stays")
                reason = f"{reason} [data check: p = {p:.2g} given {', '.join(nb) or 'nothing'}]"
            if action == "orient" and background is not None and background.forbids(source, target):
                return f"refused: the background knowledge forbids {source} -> {target}"
            flags[e.pair()] = (action, _short(reason), source, target)
            return "accepted"

        tools = self._common_tools(self.prepared.profile, counters)[3:] + [
            self._tool(flag_edge, "flag_edge", EdgeFlag, "Orient, remove or keep one uncertain edge, with a reason.")]
        prompt = render_prompt("review", question=question or "", algorithm=graph.algorithm,
                               edges=[e.to_dict() for e in graph.edges], uncertain=[e.to_dict() for e in uncertain])
        try:
            run_agent(self.model, tools, system=render_prompt("system"), prompt=prompt, cfg=self.cfg,
                      stage="review", transcript=self.transcript, counters=counters)
        except LLMFailure as exc:
            self._fail("edge review", str(exc))
            return graph, [Decision("review.fallback", "graph unchanged",
                                    f"the LLM review of uncertain edges did not finish ({exc})", {}, by="rules")]
        edges, decisions = [], []
        for e in graph.edges:
            f = flags.get(e.pair())
            if f is None:
                edges.append(e)
                continue
            action, why, src, tgt = f
            if action == "remove":
                decisions.append(Decision("review.edge", f"remove {e.describe()}", f"LLM: {why}",
                                          {"confidence": e.confidence}, by="llm"))
                continue
            if action == "orient":
                edges.append(replace(e, source=src, target=tgt, type="directed",
                                     orientation=Orientation("llm_review", why)))
                decisions.append(Decision("review.edge", f"orient {src} --> {tgt}", f"LLM: {why}",
                                          {"was": e.describe(), "confidence": e.confidence}, by="llm"))
                continue
            edges.append(e)
            decisions.append(Decision("review.edge", f"keep {e.describe()}", f"LLM: {why}",
                                      {"confidence": e.confidence}, by="llm"))
        # a CPDAG with orientations added from knowledge stays typed CPDAG (a partially oriented class)
        params = dict(graph.parameters)
        oriented = [f"{f[2]} -> {f[3]}" for f in flags.values() if f[0] == "orient"]
        if oriented:  # kept in graph.json for its readers; code reads each edge's Orientation
            params["oriented_by_review"] = oriented
        return CausalGraph(graph.nodes, edges, graph.graph_type, graph.algorithm, params), decisions

    # ------------------------------------------------------------------ narrative
    def narrative(self, question: str | None, facts: dict[str, Any]) -> Narrative | None:
        """The report's narrative as a pydantic-validated object, or None (with a notice) on failure."""
        if self.transcript.stopped is not None:  # no LLM configured, or no server answered an earlier stage
            return None
        prompt = render_prompt("narrative", question=question or "", facts=facts)
        try:
            text = call_model_text(self.model, render_prompt("system"), prompt, self.cfg, "narrative", self.transcript,
                                   self._counters().deadline)
            return parse_narrative(text)
        except (LLMFailure, ValueError, ValidationError) as exc:
            self._notice(f"the LLM narrative was not usable ({str(exc).splitlines()[0][:200]}); the report has none.")
            return None

    def transcript_dict(self) -> dict[str, Any]:
        d = self.transcript.to_dict()
        d["fallback"] = self.fallback_reason
        return d


def narrative_facts(ctx: dict[str, Any], effects: list[dict]) -> dict[str, Any]:
    """The checked facts of a run that the narrative may draw on (no raw data)."""
    return {
        "algorithm": next((d["choice"] for d in ctx["decisions"] if d["step"] == "discovery.algorithm"), None),
        "graph": ctx["graph_summary"],
        "edges": [{"edge": e["text"], "confidence": e["conf"]} for e in ctx["edges"]],
        "effects": [{k: eff.get(k) for k in ("treatment", "outcome", "method", "estimate", "ci_low", "ci_high",
                                             "adjustment_set")} for eff in effects],
        "caveats": ctx["caveats"],
        "llm_decisions": [{"step": d["step"], "choice": d["choice_text"], "reason": d["reason"]}
                          for d in ctx["decisions"] if d.get("by") == "llm"],
    }
