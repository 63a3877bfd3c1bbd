"""What every planner produces: a plan of tool calls, each decision written down with its reason.

The rules planner and the LLM planner implement the same :class:`Planner` interface, so the analysis
loop, ``run.json`` and the report do not care which one decided.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from causalpilot.tools.decision import Decision
from causalpilot.tools.profile import Profile

__all__ = ["Decision", "DiscoveryPlan", "Planner", "Request"]


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
