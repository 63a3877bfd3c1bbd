"""causalpilot: an autonomous causal analysis agent, as a Python package.

The repository's top-level folders are this package's subpackages: ``causalpilot.tools`` (loading,
profiling, discovery, inference), ``causalpilot.agent`` (planners, the analysis loop, CLI, chat),
``causalpilot.reports``, ``causalpilot.memory``, ``causalpilot.prompts`` and ``causalpilot.evals``.

The Python API (``../shared/CONTRACT.md``, "Python API")::

    import causalpilot
    result = causalpilot.analyse(df, treatment="smoking", outcome="heart_risk", seed=0)
    result.graph.to_networkx(); result.effects; result.decisions; result.save("out/")
    graph = causalpilot.discover(df, "pc", alpha=0.01)

Importing this package is cheap: the analysis machinery (numpy, pandas, causal-learn, DoWhy) loads
on the first call.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from causalpilot.tools.errors import InputError

# Our modules log to logging.getLogger(__name__) (debug records only); they reach whatever handlers
# the caller configures and nothing else. Importing causalpilot changes no other logger and no warning filter.
logging.getLogger(__name__).addHandler(logging.NullHandler())

__version__ = "0.1.0"
__all__ = ["analyse", "analyze", "discover", "InputError", "AnalysisResult", "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from causalpilot.agent.api import AnalysisResult


def analyse(data: Any, **kwargs: Any) -> "AnalysisResult":
    """Profile, plan, discover, estimate and report, as ``causalpilot analyse`` does; see
    :func:`causalpilot.agent.api.analyse` for the arguments."""
    from causalpilot.agent.api import analyse as _analyse

    return _analyse(data, **kwargs)


analyze = analyse  # the American spelling, for convenience


def discover(data: Any, algorithm: str, **params: Any):
    """Run one discovery algorithm, no planning, as ``causalpilot discover`` does; see
    :func:`causalpilot.agent.api.discover`."""
    from causalpilot.agent.api import discover as _discover

    return _discover(data, algorithm, **params)


def __getattr__(name: str) -> Any:
    if name == "AnalysisResult":
        from causalpilot.agent.api import AnalysisResult

        return AnalysisResult
    raise AttributeError(f"module 'causalpilot' has no attribute {name!r}")
