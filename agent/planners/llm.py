"""The LLM planner: a langchain ReAct agent that runs the analysis through the agent tools.

The model is given the question, the variables, a compact profile, a seeded sample of rows
(``--share-data N``), the algorithms that fit the data (one line each) and what the rules planner
would run; then it works with the tools of :mod:`causalpilot.agent.agent_tools` (the contract's
"Agent tools"): it runs discovery under names, assesses stability, compares and queries graphs,
proposes knowledge, reviews edges, estimates effects and finishes with the graph the report uses.
Every observation it gets is a real result computed on the data; every argument is
pydantic-validated and checked against the registry and the data, and strong statistical evidence
wins over a proposal. With no rows shared, no category label and no value of the time index reaches
the model: not in the prompt, the tools' results or the narrative's facts
(:mod:`causalpilot.agent.llm_context`).

If the model fails (timeouts, 429/5xx after retries, malformed or endless tool calls, a spent
budget), everything accepted so far is kept and the rules planner completes only what is missing
(:func:`causalpilot.agent.agent_tools.complete_with_rules`), with a notice on stderr and a decision in
run.json. The narrative it writes is held to the results (:mod:`causalpilot.agent.narrative`); none
is asked for once the run has stopped talking to the model (no LLM configured, no server answering).
"""

from __future__ import annotations

import sys
import time
from typing import Any

from pydantic import ValidationError

from causalpilot.agent.agent_tools import AgentTools, AnalysisSession, algorithm_line, fitting_algorithms
from causalpilot.agent.llm_context import (compact_analyse_context, compact_profile, labelled_columns, model_view,
                                           sample_rows)
from causalpilot.agent.llm_runtime import (Counters, LLMConfig, LLMFailure, Transcript, call_model_text,
                                           make_chat_model, rows_to_share, run_agent)
from causalpilot.agent.narrative import (Narrative, check_narrative, compact_facts, parse_narrative,
                                         templated_narrative)
from causalpilot.agent.planners.base import AssistedPlanner, DiscoveryPlan, Request
from causalpilot.prompts import render_prompt
from causalpilot.tools.profile import Profile

__all__ = ["LLMPlanner", "Narrative", "parse_narrative"]


class LLMPlanner(AssistedPlanner):
    """The :class:`AssistedPlanner` of :mod:`causalpilot.agent.planners.base`: a ReAct agent over the
    agent tools, and the grounded narrative."""

    name = "llm"

    def __init__(self, cfg: LLMConfig | None = None, model: Any = None, share_data: int | bool | None = None,
                 notice=None):
        self.cfg = cfg or LLMConfig.from_env()
        if share_data is not None:
            self.cfg.share_data = rows_to_share(share_data)
        self._model = model
        self.transcript = Transcript(config=self.cfg.public())
        self.fallback_reason: str | None = None
        self.errors: list[str] = []  # the malformed or rejected calls counted against the error budget
        self.refused_narratives: list[list[str]] = []  # why each refused narrative was refused
        self.view = lambda value: value  # what the model may see of a value (llm_context.model_view)
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

    def _counters(self) -> Counters:
        if self._run_deadline is None:
            self._run_deadline = time.monotonic() + self.cfg.run_budget_s
        return Counters(self.cfg, self._run_deadline)

    def _rows(self, session: AnalysisSession) -> list[dict[str, Any]]:
        """The seeded sample of rows the model may see (agent.llm_context), recorded as data_sent; with no
        rows, the category labels and the time index's values are kept from the model too."""
        rows, sent = sample_rows(session.prepared, self.cfg.share_data, self.cfg.data_seed)
        if rows:
            sent["labels"] = labelled_columns(session.profile)  # labels go out only with rows
        self.view = model_view(session.profile, private=not rows)
        self.transcript.data_sent = sent
        return rows

    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        """The rules' plan (the :class:`Planner` protocol); the LLM plans through :meth:`analyse`."""
        from causalpilot.agent.planners.rules import RulesPlanner

        return RulesPlanner().plan_discovery(profile, request)

    # ------------------------------------------------------------------ the analysis
    def context(self, session: AnalysisSession) -> dict[str, Any]:
        """What the analysing prompt shows, sized to the data: only the algorithms that fit, one line
        each, a compact profile, and the sampled rows (labels only with rows)."""
        req = session.request
        baseline = session.rules_plan()
        rows = self._rows(session)
        ctx = dict(question=req.question or "", variables=session.variables,
                   effect=[req.treatment, req.outcome] if req.treatment and req.outcome else None,
                   profile=compact_profile(session.profile, with_labels=bool(rows)), rows=rows,
                   algorithms=[algorithm_line(s, w) for s, w in fitting_algorithms(session.profile)],
                   baseline={"algorithm": baseline.algorithm, "params": baseline.params,
                             "bootstrap": baseline.bootstrap},
                   forced_algorithm=req.algorithm, no_bootstrap=req.bootstrap == 0)
        return self.view(ctx)

    def prompt(self, session: AnalysisSession) -> str:
        """The task as the model first reads it (``prompts/analyse.j2`` over :meth:`context`)."""
        return render_prompt("analyse", **self.context(session))

    def analyse(self, session: AnalysisSession) -> None:
        """Run the ReAct agent over the tools bound to ``session``. A failure sets ``fallback_reason`` and
        leaves the session as the accepted calls made it; the caller completes it with the rules."""
        try:
            counters = self._counters()
            model = self.model
        except LLMFailure as exc:
            self._failed(str(exc))
            return
        context = self.context(session)
        tools = AgentTools(session, by="llm", on_invalid=counters.error,
                           redact=self.view)
        try:
            run_agent(model, tools.langchain_tools(), system=render_prompt("system"),
                      prompt=render_prompt("analyse", **context), cfg=self.cfg, stage="analyse",
                      transcript=self.transcript, counters=counters,
                      compact=lambda: render_prompt("analyse", **compact_analyse_context(context)))
        except LLMFailure as exc:
            self._failed(str(exc))
        finally:
            tools.close()
            self.errors = list(counters.error_log)
        if self.fallback_reason is None and session.final is None:
            self._notice("the LLM did not finish with a graph; the rules planner chooses the one the report uses.")

    def _failed(self, reason: str) -> None:
        self.fallback_reason = reason
        reason = " ".join(reason.split())[:300]
        self._notice(f"the LLM planning step failed ({reason}); falling back to the rules planner for what it "
                     "left undone.")

    # ------------------------------------------------------------------ narrative
    def narrative(self, question: str | None, facts: dict[str, Any]) -> Narrative | None:
        """The report's narrative, held to the facts: a narrative whose figures are not among the results
        or that claims certainty about an unidentified or refuted effect is refused; one retry with the
        reasons, then the templated narrative. None (with a notice) when the model fails, and None without
        asking when the run stopped talking to the model before (no LLM configured, no server answering).
        With no rows shared the facts go out without category labels."""
        if self.transcript.stopped is not None:
            return None
        shown = self.view(facts)
        refused: list[str] = []
        for _attempt in range(2):
            prompt = render_prompt("narrative", question=question or "", facts=shown, refused=refused)
            try:
                text = call_model_text(self.model, render_prompt("system"), prompt, self.cfg, "narrative",
                                       self.transcript, self._counters().deadline,
                                       compact=lambda: render_prompt("narrative", question=question or "",
                                                                     facts=compact_facts(shown), refused=refused))
            except LLMFailure as exc:
                self._notice(f"the LLM narrative was not usable ({str(exc).splitlines()[0][:200]}); the report has "
                             "none.")
                return None
            try:
                story = parse_narrative(text)
                # the counts of the compact facts (after a context-size 400) are results too
                refused = check_narrative(story, {**shown, "compact": compact_facts(shown)}, question)
            except (ValueError, ValidationError) as exc:
                refused = [f"the answer was not the JSON object asked for ({str(exc).splitlines()[0][:200]})"]
            if not refused:
                return story
            self.refused_narratives.append(refused)
        self._notice(f"the LLM narrative did not hold to the results ({'; '.join(refused)[:200]}); the report shows "
                     "a narrative templated from the results instead.")
        return templated_narrative(facts)

    def transcript_dict(self) -> dict[str, Any]:
        d = self.transcript.to_dict()
        d["fallback"] = self.fallback_reason
        d["refused_narratives"] = self.refused_narratives
        return d
