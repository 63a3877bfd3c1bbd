"""The failing inputs of shared/cases (replayed public bug reports of causal tools), copied into
tests/cases/ with their truth (TRUTH.txt): each must give its right outcome (issue #25)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "cases"


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "causalpilot", *args], capture_output=True, text=True, timeout=600,
                          cwd=cwd)


def edges(out: Path) -> set[tuple[str, str, str]]:
    return {(e["source"], e["type"], e["target"]) for e in json.loads((out / "graph.json").read_text())["edges"]}


@pytest.mark.parametrize("data", ["data.csv", "data_swapped.csv"])
def test_lingam_two_var_order(data, tmp_path):
    run = cli("discover", str(CASES / "lingam-two-var-order" / data), "--algorithm", "ica_lingam",
              "--out", str(tmp_path), "--quiet", "--memory", str(tmp_path / "m.sqlite3"))
    assert run.returncode == 0, run.stderr
    assert edges(tmp_path) == {("x", "directed", "y")}
