"""Keeping third-party libraries' chatter out of the user's way, for the duration of one call only.

causal-learn and tigramite print progress to stdout, DoWhy logs notes at INFO and WARNING and shows
tqdm progress bars, and most libraries warn about convergence. The context managers here silence
that within a ``with`` block and restore everything on exit (stdout, warning filters, logger levels,
DoWhy's progress-bar setting), so importing causalpilot or running an analysis never changes the
caller's logging or warnings configuration. Our own messages go to module loggers
(``logging.getLogger(__name__)``), which stay silent unless the caller configures logging.
"""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from collections.abc import Iterator


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence a library's prints (stdout) and warnings for the duration of a call."""
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def quiet_loggers(*names: str, level: int = logging.ERROR) -> Iterator[None]:
    """Within the block the named loggers (and their children that set no level of their own) pass
    only records at ``level`` or above; a logger the caller already set quieter stays so. Each
    logger's own level is restored on exit, even when the block raises."""
    loggers = [logging.getLogger(name) for name in names]
    saved = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(max(level, lg.getEffectiveLevel()))
    try:
        yield
    finally:
        for lg, lvl in zip(loggers, saved):
            lg.setLevel(lvl)
