"""The run's time budget: one deadline that the long, repeatable steps read, so an analysis ends in time.

A user gives `--time-budget SECONDS` (default :data:`DEFAULT_BUDGET_S`; 0 for none). The steps that
repeat one computation many times (bootstrap resamples of discovery, the refuters' re-estimates)
time one repetition and run as many repetitions as fit in their share of what is left, down to
none, and say what they cut. A single run of a discovery algorithm is not cut short: its graph is
what the analysis stands on. Within the budget the outputs are the same for the same seed; only a
run that reaches the budget depends on the machine's speed, and its report says so.

The budget is held in a :class:`contextvars.ContextVar` for the duration of :func:`time_budget`, so the
steps read it without it being passed through every call.
"""

from __future__ import annotations

import contextvars
import math
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

DEFAULT_BUDGET_S = 300.0  # five minutes: `analyse` stays interactive on a laptop


@dataclass(frozen=True)
class Budget:
    """A time budget of ``seconds`` ending at ``deadline`` (``time.monotonic()`` clock)."""

    seconds: float
    deadline: float

    def left(self) -> float:
        """Seconds left before the deadline (0 when it has passed)."""
        return max(0.0, self.deadline - time.monotonic())


_CURRENT: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("causalpilot_time_budget", default=None)


@contextmanager
def time_budget(seconds: float | None) -> Iterator[Budget | None]:
    """Run the enclosed steps under a budget of ``seconds`` (None or 0: no budget)."""
    budget = Budget(float(seconds), time.monotonic() + float(seconds)) if seconds else None
    token = _CURRENT.set(budget)
    try:
        yield budget
    finally:
        _CURRENT.reset(token)


def current() -> Budget | None:
    """The budget in force, or None."""
    return _CURRENT.get()


@dataclass(frozen=True)
class Fit:
    """How many of ``wanted`` repetitions fit in the budget, and the sentence that says so when not all do."""

    wanted: int
    granted: int
    note: str | None  # None when every repetition fits


def fit_repetitions(wanted: int, one_s: float, n_workers: int, share: float, what: str,
                    minimum: int = 1) -> Fit:
    """How many of ``wanted`` repetitions, each taking about ``one_s`` seconds on one of ``n_workers``
    processes, fit in ``share`` (0-1) of the budget left. Fewer than ``minimum`` that fit means none.
    ``what`` names the repetitions in the sentence ("bootstrap resamples"). All of them when there is no
    budget or when they fit."""
    budget = current()
    if budget is None or wanted <= 0:
        return Fit(wanted, wanted, None)
    allowance = budget.left() * share
    need = one_s * math.ceil(wanted / max(1, n_workers))
    if need <= allowance:
        return Fit(wanted, wanted, None)
    granted = int(allowance // max(one_s, 1e-9)) * max(1, n_workers)
    granted = min(wanted, granted)
    if granted < minimum:
        granted = 0
    from causalpilot.reports.numbers import duration

    done = f"{granted} were run" if granted else "none were run"
    if allowance < 0.05:
        return Fit(wanted, granted, f"the time budget of {duration(budget.seconds)} (--time-budget) was spent "
                                    f"before the {wanted} {what}: {done}")
    return Fit(wanted, granted, (
        f"{wanted} {what} would take about {duration(need)} (one takes {duration(one_s)} on each of {n_workers} "
        f"worker(s)), more than the {duration(allowance)} left for them in the time budget of "
        f"{duration(budget.seconds)} (--time-budget): {done}"))
