"""What a user sees of the command line: usage errors before any work, --version, help, memory times."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pytest

from helpers import run_cli

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "health.csv"


@pytest.fixture()
def no_work(monkeypatch):
    """Every step that costs time raises if reached; the list records what was reached."""
    import causalpilot.agent.loop as loop

    reached: list[str] = []

    def trap(name):
        def step(*_a, **_k):
            reached.append(name)
            raise AssertionError(f"{name} was reached")
        return step

    for name in ("profile_and_prepare", "find_structure", "discover"):
        monkeypatch.setattr(loop, name, trap(name))
    return reached


@pytest.mark.parametrize("args, fragment", [
    (["--treatment", "smoking"], "--treatment was given without --outcome"),
    (["--outcome", "heart_risk"], "--outcome was given without --treatment"),
    (["--treatment", "smoking", "--outcome", "smoking"], "name the same column 'smoking'"),
    (["--algorithm", "magic"], "Unknown algorithm 'magic'"),
    (["--cate-by", "age"], "--cate-by needs a treatment and an outcome"),
    # a value of the wrong type is said in words, and the hint names the command's own help
    (["--time-budget", "abc"], "Invalid value for '--time-budget': expected a number. (Try 'causalpilot analyse --help'.)"),
    (["--jobs", "two"], "expected a whole number. (Try 'causalpilot analyse --help'.)"),
])
def test_usage_errors_that_need_no_data_exit_2_before_loading(args, fragment, no_work, monkeypatch, capsys):
    import causalpilot.agent.loop as loop

    monkeypatch.setattr(loop, "load_table", lambda *_: no_work.append("load") or pytest.fail("data were loaded"))
    code, _, err = run_cli(["analyse", "no/such/file.csv", *args, "-q"], capsys)
    assert code == 2 and fragment in err and not no_work, (err, no_work)


@pytest.mark.parametrize("args, fragment", [
    (["--treatment", "smokng", "--outcome", "heart_risk"], "Column 'smokng' is not in data file"),
    (["--treatment", "smoking", "--outcome", "heart_risk", "--cate-by", "age,sexx"], "Column 'sexx'"),
    (["--domain-index", "site"], "Column 'site'"),
    (["--time-index", "when"], "Column 'when'"),
    (["--treatment", "smoking", "--outcome", "heart_risk", "--what-if", "dose=1"], "--what-if column 'dose'"),
])
def test_unknown_columns_exit_2_before_profiling(args, fragment, no_work, capsys):
    code, _, err = run_cli(["analyse", EXAMPLE, *args, "-q"], capsys)
    assert code == 2 and fragment in err and not no_work, (err, no_work)
    assert len(err.strip().splitlines()) == 1


def test_a_question_whose_pair_cannot_be_read_is_answered_before_discovery(no_work, tmp_path, capsys):
    code, _, err = run_cli(["analyse", EXAMPLE, "--question", "Does the weather affect heart risk?", "-q",
                            "--out", tmp_path / "o"], capsys)
    assert code == 2 and not no_work and not (tmp_path / "o").exists()
    assert '"the weather" matches no column' in err and "--treatment COL --outcome COL" in err


def test_an_ambiguous_question_is_answered_before_discovery(no_work, tmp_path, capsys):
    import pandas as pd

    csv = tmp_path / "d.csv"
    pd.DataFrame({"blood_pressure": [1.0] * 12, "pressure_drop": [2.0] * 12, "dose": [3.0] * 12}).to_csv(csv, index=False)
    code, _, err = run_cli(["analyse", csv, "--question", "What is the effect of dose on pressure?", "-q"], capsys)
    assert code == 2 and not no_work
    assert '"pressure" could be any of blood_pressure, pressure_drop' in err


def test_a_question_that_asks_no_effect_is_no_error(tmp_path, capsys):
    """Only an effect question whose columns cannot be found is refused; others guide the plan."""
    code, _, err = run_cli(["analyse", EXAMPLE, "--question", "could a hidden confounder explain this?", "-q",
                            "-B", "0", "--out", tmp_path / "o", "--memory", tmp_path / "m.db"], capsys)
    assert code == 0, err


def test_version_and_bare_command(capsys):
    from causalpilot import __version__

    code, out, _ = run_cli(["--version"], capsys)
    assert code == 0 and out.strip() == f"causalpilot {__version__}"
    code, out, err = run_cli([], capsys)
    assert code == 0 and out.startswith("Usage: causalpilot") and "analyse" in out and not err


def test_help_and_algorithm_list_are_wrapped_not_cut(capsys):
    from causalpilot.tools.registry import algorithms

    code, out, _ = run_cli(["--help"], capsys)
    commands = out.split("Commands:")[1]
    assert code == 0 and "..." not in commands
    # the whole description of each command is there, across lines
    assert "discover the graph, estimate effects, write the report." in " ".join(out.split())
    code, out, _ = run_cli(["algorithms"], capsys)
    assert code == 0 and not re.search(r"\.\.\.$", out, flags=re.M)
    flat = " ".join(out.split())
    for spec in algorithms().values():
        assert " ".join(spec.profile.split()) in flat  # every profile in full


def test_memory_shows_when_a_run_was_made_in_iso_8601(tmp_path, capsys):
    db = tmp_path / "mem.sqlite3"
    code, _, err = run_cli(["analyse", EXAMPLE, "--out", tmp_path / "o", "--memory", db, "-B", "0", "-q",
                            "--algorithm", "pc"], capsys)
    assert code == 0, err
    run_id = json.loads((tmp_path / "o" / "run.json").read_text())["run_id"]
    code, out, _ = run_cli(["memory", "show", run_id, "--memory", db], capsys)
    shown = json.loads(out)  # still JSON
    when = dt.datetime.fromisoformat(shown["created_at"])
    assert when.tzinfo is not None and abs(when.timestamp() - shown["created"]) < 1
    code, out, _ = run_cli(["memory", "show", f"{run_id}/graph", "--memory", db], capsys)
    assert dt.datetime.fromisoformat(json.loads(out)["created_at"]).tzinfo is not None
    code, out, _ = run_cli(["memory", "list", "--memory", db], capsys)
    assert code == 0 and f"{run_id}  {shown['created_at']}  analyse" in out
