"""One decision of a run: what was chosen, why, on what evidence, and by whom.

Every step that chooses (the planners, tuning, the inference step, the LLM's reviewed proposals)
records a :class:`Decision`; the loop keeps them in order, ``run.json`` lists them and the report
quotes them. ``by`` says whose choice it is: ``rules`` (the deterministic planner), ``data`` (a
test on the data decided), ``tuning`` (a parameter chosen by a score on the data), ``user`` (an option or --background), ``llm`` (a validated proposal of
the model).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

By = Literal["rules", "data", "tuning", "user", "llm"]


@dataclass
class Decision:
    """One choice made during a run: ``step`` (dotted name, e.g. ``discovery.algorithm``), the
    ``choice`` (JSON-serialisable), the ``reason`` in a sentence, its ``evidence`` and who made it."""

    step: str
    choice: Any
    reason: str
    evidence: dict[str, Any] = field(default_factory=dict)
    by: str = "rules"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
