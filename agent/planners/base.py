"""What every planner produces: a plan of tool calls, each decision written down with its reason.

The rules planner and the LLM planner implement the same :class:`Planner` interface, so the analysis
loop, ``run.json`` and the report do not care which one decided. A planner that runs the analysis
itself through the agent tools and writes a narrative (the LLM planner) implements
:class:`AssistedPlanner`, which the loop checks with ``isinstance``. Whether an algorithm fits the
data is the registry's check (:meth:`causalpilot.tools.registry.AlgorithmSpec.fits`);
:func:`fit_decisions` applies it to an algorithm the user forced.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from causalpilot.tools.decision import Decision
from causalpilot.tools.errors import InputError
from causalpilot.tools.profile import Profile
from causalpilot.tools.registry import AlgorithmSpec

if TYPE_CHECKING:
    from causalpilot.agent.agent_tools import AnalysisSession

__all__ = ["AssistedPlanner", "Decision", "DiscoveryPlan", "FIT_STEP", "Planner", "Request", "fit_decisions"]

FIT_STEP = "discovery.fit_check"


@dataclass
class Request:
    """What the user asked for: options from the CLI or the chat, all optional."""

    question: str | None = None
    treatment: str | None = None
    outcome: str | None = None
    algorithm: str | None = None  # forced by the user (e.g. "use FCI")
    params: dict[str, Any] = field(default_factory=dict)
    bootstrap: int | None = None  # number of bootstrap resamples; None = planner's choice
    time_budget_s: float | None = None
    effect_order: bool = True  # naming treatment and outcome assumes the outcome does not cause the treatment


@dataclass
class DiscoveryPlan:
    algorithm: str
    params: dict[str, Any]
    bootstrap: int
    decisions: list[Decision] = field(default_factory=list)
    portfolio: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # extra runs to compare
    orient: str | None = None  # "additive_noise": orient what the CPDAG leaves open by additive-noise models


class Planner(Protocol):
    name: str

    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        """Choose the discovery algorithm, its parameters and the bootstrap size from the profile."""
        ...


class AssistedPlanner(ABC):
    """A planner that runs the analysis itself (the LLM planner): through the agent tools
    (:mod:`causalpilot.agent.agent_tools`) it discovers graphs under names, reviews them, estimates
    effects and finishes with the graph the report uses; then it writes the report's narrative.

    Attributes the loop reads: ``name``; ``cfg`` (its configuration: ``share_data`` and ``public()``
    for run.json); ``fallback_reason``, why it stopped early (the rules then complete what it left
    undone), or None; ``errors``, the malformed or rejected calls it made."""

    name: str
    cfg: Any
    fallback_reason: str | None
    errors: list[str]

    @abstractmethod
    def plan_discovery(self, profile: Profile, request: Request) -> DiscoveryPlan:
        """As :meth:`Planner.plan_discovery` (for callers that only want a plan)."""

    @abstractmethod
    def analyse(self, session: "AnalysisSession") -> None:
        """Run the analysis through the tools bound to ``session``; on a failure set ``fallback_reason``
        and leave the session as the accepted calls made it."""

    @abstractmethod
    def narrative(self, question: str | None, facts: dict[str, Any]) -> Any:
        """The report's narrative from the run's checked facts (an object with ``model_dump()``), or None."""

    @abstractmethod
    def transcript_dict(self) -> dict[str, Any]:
        """What was exchanged with the model, for transcript.json."""


def fit_decisions(spec: AlgorithmSpec, profile: Profile, params: dict[str, Any]) -> list[Decision]:
    """Check an algorithm the user forced against the data (the registry's :meth:`AlgorithmSpec.fits`).

    Raises :class:`InputError` with one sentence when it cannot run on these data; otherwise returns
    one ``discovery.fit_check`` decision (by "data") per assumption the profile contradicts."""
    fit = spec.fits(profile, params)
    if not fit.ok:
        raise InputError(fit.refusal())
    return [Decision(FIT_STEP, "runs with a warning", f"{w[0].upper()}{w[1:]}.", fit.evidence, by="data")
            for w in fit.warnings]
