"""Progress of long steps on stderr: elapsed time, and for counted work an estimate of the time left.

Two helpers, both silent when the run is quiet (``say`` is None):
- :class:`Progress` counts finished units (bootstrap resamples): a tqdm bar on a terminal, else one
  plain line at most every ``every_s`` seconds (logs and pipes get no carriage-return redraws), and
  one closing line with the total time.
- :func:`heartbeat` covers one long unit of unknown length (a discovery run, the effect estimation):
  a line every ``every_s`` seconds with the time elapsed so far.
What is printed never changes a result: it goes to stderr only.
"""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

from causalpilot.reports.numbers import duration  # noqa: F401  (re-exported: the progress lines use it)

Say = Callable[[str], None]
INDENT = "      "


def silent(*_: object) -> None:
    """The ``say`` of a quiet run: prints nothing, and the helpers below do no work for it."""


def _live(say: Say | None) -> Say | None:
    return None if say is None or say is silent else say


class Progress:
    """Finished units out of ``total``, with the elapsed time and the time left at the pace so far.

    ``say`` None (or :func:`silent`) makes it silent. ``clock`` (seconds, monotonic) and ``tty`` are for tests; by
    default time.perf_counter and whether stderr is a terminal."""

    def __init__(self, label: str, total: int, say: Say | None, unit: str = "resamples", every_s: float = 10.0,
                 clock: Callable[[], float] = time.perf_counter, tty: bool | None = None):
        self.label, self.total, self.unit, self.every_s, self.clock = label, total, unit, every_s, clock
        self.say = say = _live(say)
        self.start = self.last = clock()
        self.done = 0
        self.bar = None
        if say is not None and total > 0 and (sys.stderr.isatty() if tty is None else tty):
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=f"{INDENT}{label}", unit=unit.rstrip("s"), file=sys.stderr,
                            dynamic_ncols=True, leave=False)

    def line(self) -> str:
        """'bootstrap: 7/20 resamples, 14 s elapsed, about 26 s left'."""
        elapsed = self.clock() - self.start
        text = f"{self.label}: {self.done}/{self.total} {self.unit}, {duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            text += f", about {duration(elapsed / self.done * (self.total - self.done))} left"
        return text

    def update(self, done: int) -> None:
        """``done`` units are finished (a running count)."""
        step, self.done = done - self.done, done
        if self.say is None:
            return
        if self.bar is not None:
            self.bar.update(step)
        elif self.clock() - self.last >= self.every_s and done < self.total:
            self.last = self.clock()
            self.say(INDENT + self.line())

    def close(self) -> None:
        """The closing line: how many units, in how long."""
        if self.bar is not None:
            self.bar.close()
        if self.say is not None and self.total > 0:
            self.say(f"{INDENT}{self.label}: {self.done} {self.unit} in {duration(self.clock() - self.start)}")


SKELETON_PROGRESS_MIN_TESTS = 100_000  # a PC depth with fewer tests passes in seconds: no progress lines for it


def skeleton_progress(say: Say | None, min_tests: int = SKELETON_PROGRESS_MIN_TESTS
                      ) -> Callable[[int, int, int], None] | None:
    """A callback for :func:`causalpilot.tools.discovery.fast_pc.reporting`: a :class:`Progress` (tests
    done, time left at the pace so far) for each depth of the PC skeleton that plans ``min_tests`` or
    more tests. None when the run is quiet."""
    say = _live(say)
    if say is None:
        return None
    bars: dict[int, Progress | None] = {}

    def update(depth: int, done: int, planned: int) -> None:
        if planned < min_tests or bars.get(depth, False) is None:
            return
        if depth not in bars:
            bars[depth] = Progress(f"PC depth {depth}", planned, say, unit="tests")
        bars[depth].update(done)
        if done >= planned:
            bars[depth].close()
            bars[depth] = None  # closed

    return update


@contextmanager
def heartbeat(label: str, say: Say | None, every_s: float = 30.0) -> Iterator[None]:
    """While the block runs, say '<label>: 1 min 30 s so far' every ``every_s`` seconds (from a daemon
    thread, so a step that never returns to Python still reports)."""
    say = _live(say)
    if say is None:
        yield
        return
    stop = threading.Event()
    start = time.perf_counter()

    def beat() -> None:
        while not stop.wait(every_s):
            say(f"{INDENT}{label}: {duration(time.perf_counter() - start)} so far")

    thread = threading.Thread(target=beat, name="causalpilot-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
