"""causalpilot: an autonomous causal analysis agent (planners, the analysis loop, the CLI)."""

__version__ = "0.1.0"
