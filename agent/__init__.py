"""The agent: planners, the analysis loop, the Python API, the CLI and the chat."""

from causalpilot import __version__

__all__ = ["__version__"]
