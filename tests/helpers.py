"""Small helpers shared by tests: run the CLI in-process and capture its exit code and output; the contract's
agent tool names; a sitecustomize that blocks the LLM stack in child processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from causalpilot.agent.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Run `causalpilot ARGV` in this process; return (exit code, stdout, stderr)."""
    try:
        main([str(a) for a in argv])
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def read_json(path: Path):
    return json.loads(Path(path).read_text(encoding="utf-8"))


def collider_csv(path: Path, names: tuple[str, str, str, str], seed: int, n: int = 800) -> Path:
    """A CSV of a, b -> c <- (independent causes, effects 0.6 and 0.8), c -> d (0.7): every edge is compelled,
    so the graph (and each effect) is known. ``names``: the columns (a, b, c, d)."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    c = 0.8 * b + 0.6 * a + rng.normal(size=n)
    d = 0.7 * c + rng.normal(size=n)
    pd.DataFrame(dict(zip(names, (a, b, c, d)))).to_csv(path, index=False)
    return path


# the agent tools of docs/CONTRACT.md ("Agent tools")
CONTRACT_TOOLS = {"get_profile_finding", "list_algorithms", "test_independence", "run_discovery", "assess_stability",
                  "compare_graphs", "query_graph", "propose_background", "review_edge", "estimate_effect", "finish"}

# Loaded by every Python process started with its folder on PYTHONPATH (the CLI re-executes itself):
# an import of the LLM stack is written to $BLOCKED_IMPORTS_LOG and fails.
BLOCKER = """
import os, sys
BLOCKED = {"langchain", "langchain_core", "langchain_openai", "langgraph", "langsmith", "openai"}

class Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            with open(os.environ["BLOCKED_IMPORTS_LOG"], "a") as log:
                log.write(name + "\\n")
            raise ImportError(f"{name} is blocked: the offline product must not import it")
        return None

sys.meta_path.insert(0, Blocker())
"""


class NumericProfile:
    """A stand-in for a data profile in effect tests: every variable is continuous and the linearity
    finding is "linear"."""

    def value(self, name, default=None):
        return "linear" if name == "linearity" else default

    def kind_of(self, col):
        return "continuous"
