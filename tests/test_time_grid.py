"""A time index's regular step, its gaps, and lags counted in steps of time rather than rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from causalpilot.tools.profile.dates import ISO_READING, parse_times
from causalpilot.tools.profile.time_grid import longest_stretch, time_grid, time_grid_finding
from tests.helpers import run_cli


def test_steps_units_and_gaps_are_read_from_the_index():
    weekly = pd.Series(pd.date_range("2021-01-04", periods=20, freq="7D")).drop([5, 6, 12]).reset_index(drop=True)
    g = time_grid(weekly)
    assert g.unit == "week" and g.on_grid and not g.regular
    assert g.gaps() == [(4, 2), (9, 1)] and longest_stretch(g.positions) == (10, 7)
    months = pd.Series(pd.date_range("2020-01-31", periods=24, freq="ME"))  # 28 to 31 days apart: still monthly
    assert time_grid(months).unit == "month" and time_grid(months).regular
    numbers = pd.Series([0.0, 0.5, 1.0, 2.5, 3.0])
    assert time_grid(numbers).unit == "0.5 index units" and list(time_grid(numbers).positions) == [0, 1, 2, 5, 6]
    uneven = pd.Series(np.cumsum(np.random.default_rng(0).exponential(size=60)))
    f = time_grid_finding(time_grid(uneven), "t")
    assert f.value == "uneven" and "counted in rows" in f.summary


def test_iso_dates_are_read_as_iso_never_month_first():
    parsed, how = parse_times(pd.Series(["2023-01-02", "2023-01-13", "2023-02-01"]))
    assert how == ISO_READING and list(parsed.dt.month) == [1, 1, 2]


def _weekly_with_gaps(seed: int = 3, weeks: int = 700) -> pd.DataFrame:
    """x drives y two weeks later; a third of the weeks are missing at random."""
    rng = np.random.default_rng(seed)
    x, y = np.zeros(weeks), np.zeros(weeks)
    for t in range(2, weeks):
        x[t] = 0.5 * x[t - 1] + rng.normal()
        y[t] = 0.3 * y[t - 1] + 0.9 * x[t - 2] + rng.normal()
    frame = pd.DataFrame({"week": pd.date_range("2010-01-03", periods=weeks, freq="7D").strftime("%Y-%m-%d"),
                          "x": x, "y": y})
    return frame[rng.random(weeks) > 1 / 3].reset_index(drop=True)


def test_lags_are_weeks_on_the_grid_not_rows(tmp_path, capsys):
    data = tmp_path / "weekly.csv"
    _weekly_with_gaps().to_csv(data, index=False)
    code, _, err = run_cli(["analyse", data, "--time-index", "week", "--bootstrap", "0", "--out", tmp_path / "out",
                            "--memory", tmp_path / "m.sqlite3"], capsys)
    assert code == 0, err
    graph = json.loads((tmp_path / "out" / "graph.json").read_text())
    info = json.loads((tmp_path / "out" / "run.json").read_text())
    assert info["profile"]["findings"]["time_grid"]["value"] == "gaps"
    assert graph["parameters"]["lag_unit"] == "week"
    cross = {(e["source"], e["target"], e["lag"]) for e in graph["edges"] if e["source"] != e["target"]}
    assert cross == {("x", "y", 2)}  # by rows, the two-week delay would be spread over lags 1 and 2
    assert "with a delay of 2 weeks" in (tmp_path / "out" / "report.md").read_text()
    assert "gap" in err
