"""Inputs left degenerate by their repairs (one variable, fewer rows than variables): every algorithm,
forced or chosen, ends with a graph (exit 0) or one sentence (exit 2), in either column order."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from causalpilot.tools.registry import algorithms
from tests.helpers import run_cli


def _inputs(tmp, wide_columns: int = 15) -> list[tuple[str, pd.DataFrame, list[str]]]:
    """One variable left after the repairs, and fewer rows (12) than variables: 15 for the forced
    algorithms (NOTEARS alone took 45 s a run on 20, 3 s on 15), 20 for the planner's test."""
    rng = np.random.default_rng(8)
    a = np.cumsum(rng.normal(size=60))
    copy = pd.DataFrame({"a": a, "b": 3 - 2 * a, "k": 5.0})  # b is a function of a, k constant: one variable left
    k = wide_columns
    wide = pd.DataFrame(rng.normal(size=(12, k)) @ np.triu(np.ones((k, k))), columns=[f"v{i}" for i in range(k)])
    return [("copy", copy, ["--time-series"]), ("wide", wide, [])]


@pytest.mark.parametrize("algorithm", sorted(algorithms()))
def test_every_forced_algorithm_ends_in_a_graph_or_one_sentence(algorithm, tmp_path, capsys):
    for name, frame, extra in _inputs(tmp_path):
        for order in (frame.columns, frame.columns[::-1]):
            data = tmp_path / f"{name}.csv"
            frame[list(order)].to_csv(data, index=False)
            code, _, err = run_cli(["discover", data, "--algorithm", algorithm, *extra, "--quiet",
                                    "--out", tmp_path / "o", "--memory", tmp_path / "m.sqlite3"], capsys)
            assert code in (0, 2), f"{algorithm} on {name} ({list(order)[0]} first): exit {code}: {err}"
            if code == 2:
                assert len(err.strip().splitlines()) == 1 and err.startswith("causalpilot: error: "), err
            if name == "copy":  # nothing to discover on one variable, whichever column comes first
                relation = "b = -2·a + 3" if order[0] == "a" else "a = -0.5·b + 1.5"
                assert code == 2 and "one usable variable" in err and relation in err


def test_the_planner_runs_a_short_search_on_fewer_rows_than_variables(tmp_path, capsys):
    _, frame, _ = _inputs(tmp_path, wide_columns=20)[1]
    data = tmp_path / "wide.csv"
    frame.to_csv(data, index=False)
    code, _, err = run_cli(["analyse", data, "--out", tmp_path / "out", "--memory", tmp_path / "m.sqlite3"], capsys)
    assert code == 0, err
    decisions = {d["step"]: d for d in json.loads((tmp_path / "out" / "run.json").read_text())["decisions"]}
    assert decisions["discovery.algorithm"]["choice"] == "pc"
    assert "12 rows for 20 variables" in decisions["discovery.algorithm"]["reason"]
    assert decisions["discovery.depth"]["choice"] == 1 and "degrees of freedom" in decisions["discovery.depth"]["reason"]
