"""Every bad input in tests/bad_inputs gets its documented behaviour (see that folder's README):
exit 2 with one sentence naming the file and the problem, or a run with the repair recorded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.helpers import read_json, run_cli

BAD = Path(__file__).parent / "bad_inputs"

ERRORS = {
    "empty.csv": "is empty",
    "whitespace_only.csv": "is empty",
    "header_only.csv": "header but no data rows",
    "one_row.csv": "only 1 data row",
    "one_column.csv": "only 1 column",
    "duplicate_headers.csv": "duplicate column name 'a' (columns 1 and 3)",
    "empty_header.csv": "empty header for column 2",
    "undecodable.csv": "not UTF-8 text",
    "binary_garbage.csv": "not UTF-8 text",
    "all_text.csv": "0 usable column",
    "all_constant.csv": "0 usable column",
}


def _assert_one_sentence_error(code: int, err: str, fragment: str, name: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("causalpilot: error:")]
    assert len(lines) == 1, err
    assert fragment in lines[0] and name in lines[0], lines[0]


@pytest.mark.parametrize("name,fragment", sorted(ERRORS.items()))
def test_bad_file_exits_2_with_one_sentence(name, fragment, tmp_path, capsys):
    out = tmp_path / "out"
    code, _, err = run_cli(["analyse", BAD / name, "--out", out, "-q"], capsys)
    _assert_one_sentence_error(code, err, fragment, name)
    assert not out.exists(), "no output directory is made for unusable input"


def test_missing_file_and_directory(tmp_path, capsys):
    code, _, err = run_cli(["analyse", tmp_path / "nope.csv", "-q"], capsys)
    _assert_one_sentence_error(code, err, "does not exist", "nope.csv")
    code, _, err = run_cli(["analyse", tmp_path, "-q"], capsys)
    _assert_one_sentence_error(code, err, "is a directory", str(tmp_path))


def test_usage_errors_exit_2_without_traceback(capsys):
    for argv in (["analyse"], ["analyse", "x.csv", "--bogus"], ["analyse", "x.csv", "--seed", "abc"], ["frobnicate"]):
        code, _, err = run_cli(argv, capsys)
        assert code == 2 and "Traceback" not in err and err.startswith("causalpilot: error:"), (argv, err)


def test_unknown_column_suggests_the_right_one(capsys):
    example = Path(__file__).resolve().parents[1] / "examples" / "health.csv"
    code, _, err = run_cli(["analyse", example, "--treatment", "smokng", "--outcome", "heart_risk", "-q"], capsys)
    _assert_one_sentence_error(code, err, "did you mean 'smoking'?", "smokng")


def _repairs(out: Path) -> dict[str, list[str]]:
    reps: dict[str, list[str]] = {}
    for r in read_json(out / "run.json")["profile"]["repairs"]:
        reps.setdefault(r["repair"], []).append(r.get("column"))
    return reps


def test_constant_and_empty_columns_are_dropped_and_recorded(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = run_cli(["analyse", BAD / "constant_and_empty_columns.csv", "--out", out, "-B", "0", "-q"], capsys)
    assert code == 0, err
    assert sorted(_repairs(out)["dropped"]) == ["allnan", "const"]
    assert read_json(out / "graph.json")["nodes"] == ["x", "y", "z"]
    assert "every value is missing" in (out / "report.md").read_text()


def test_inf_and_mixed_types_become_missing_and_are_recorded(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = run_cli(["analyse", BAD / "inf_and_mixed_types.csv", "--out", out, "-B", "0", "-q"], capsys)
    assert code == 0, err
    reps = _repairs(out)
    assert reps["inf_to_missing"] == ["y"] and reps["non_numeric_to_missing"] == ["x"]
    assert "listwise_deletion" in reps
    assert read_json(out / "run.json")["profile"]["n_rows"] == 58


def test_many_categories_column_is_set_aside(tmp_path, capsys):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(10_000, 3)).round(3), columns=list("abc"))
    df["code"] = [f"c{i}" for i in range(10_000)]
    csv = tmp_path / "cats.csv"
    df.to_csv(csv, index=False)
    out = tmp_path / "o"
    code, _, err = run_cli(["analyse", csv, "--out", out, "-B", "0", "-q"], capsys)
    assert code == 0, err
    assert _repairs(out)["dropped"] == ["code"]


def test_huge_line_does_not_break_loading(tmp_path, capsys):
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(60, 3)).round(3), columns=list("abc")).astype(object)
    df.loc[10, "c"] = "x" * 2_000_000
    csv = tmp_path / "huge.csv"
    df.to_csv(csv, index=False)
    out = tmp_path / "o"
    code, _, err = run_cli(["analyse", csv, "--out", out, "-B", "0", "-q"], capsys)
    assert code == 0, err
    assert _repairs(out)["non_numeric_to_missing"] == ["c"]


def test_fewer_rows_than_variables_runs_with_a_warning(tmp_path, capsys):
    out = tmp_path / "o"
    code, _, err = run_cli(["analyse", BAD / "n_smaller_than_p.csv", "--out", out, "-B", "0", "-q"], capsys)
    assert code == 0, err
    assert "fewer than 5 per variable" in (out / "report.md").read_text()
