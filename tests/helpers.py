"""Small helpers shared by tests: run the CLI in-process and capture its exit code and output."""

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
