"""The regular grid behind a time index: its step, the gaps in it, and each row's place on it.

A lag means "so many steps of the clock", not "so many rows": in daily data with a 60-day hole, the
row after the hole is 61 days later, and a lag-1 model fitted on rows would pair values two months
apart as if they were one day apart. So the index's regular step is found (the most common
difference between consecutive times; calendar months, quarters and years by their calendar), each
row gets its position on that grid, and the gaps (steps with no row) are counted and named. The
time-series methods then count lags in grid steps: those that can leave out a lag window touching a
gap do so (tigramite's missing-value mask, Granger's regressions on complete windows), the others
run on the longest stretch without a gap (:func:`longest_stretch`).

An index whose steps are not multiples of one step (irregular sampling) cannot be placed on a
grid; the finding says so and lags stay counted in rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causalpilot.tools.profile.model import Finding

UNEVEN_SHARE = 0.05  # more than this share of steps off the grid: irregular sampling, not gaps
_UNITS = ((pd.Timedelta(seconds=1), "second"), (pd.Timedelta(minutes=1), "minute"), (pd.Timedelta(hours=1), "hour"),
          (pd.Timedelta(days=1), "day"), (pd.Timedelta(days=7), "week"))
_CALENDAR = {1: "month", 3: "quarter", 12: "year"}


@dataclass
class TimeGrid:
    """Where the rows (sorted by time) sit on the regular grid of their time index."""

    unit: str  # one step in words, singular: "day", "week", "month", "2 days", "index unit", "0.5 index units"
    positions: np.ndarray  # each row's grid position (0 = first time), int, shape (n,); arange when regular
    regular: bool  # every step is one grid step
    on_grid: bool  # every time falls on the grid (False: uneven sampling or repeated times; positions = rows)
    labels: list[str] = field(default_factory=list)  # each row's time as text, for naming gaps

    @property
    def n_steps(self) -> int:
        return int(self.positions[-1] + 1) if len(self.positions) else 0

    def gaps(self) -> list[tuple[int, int]]:
        """(row before the gap, steps missing) for every gap, in time order."""
        d = np.diff(self.positions)
        return [(int(i), int(d[i] - 1)) for i in np.nonzero(d > 1)[0]]


def time_grid(times: pd.Series) -> TimeGrid | None:
    """The grid of a sorted time index: datetime values (calendar months, quarters and years by their
    calendar; else the most common difference, in seconds to weeks) or numbers (the most common
    difference). None when fewer than three times parse."""
    t = times.reset_index(drop=True)
    if pd.api.types.is_datetime64_any_dtype(t):
        t = t.dropna()
        if len(t) < 3:
            return None
        labels = [str(v.date()) if v == v.normalize() else str(v) for v in t]
        months = _calendar_positions(t)
        if months is not None:
            step, pos = months
            return _grid(pos, step, lambda k: _CALENDAR.get(k, f"{k} months"), labels)
        ns = (t - t.iloc[0]).dt.total_seconds().to_numpy()
        return _grid(ns, None, _time_unit, labels)
    v = pd.to_numeric(t, errors="coerce").dropna().to_numpy(dtype=float)
    if len(v) < 3:
        return None
    return _grid(v - v[0], None, lambda step: "index unit" if step == 1 else f"{step:g} index units",
                 [f"{x:g}" for x in v])


def _grid(offsets: np.ndarray, step: float | None, name, labels: list[str]) -> TimeGrid:
    d = np.diff(offsets)
    n = len(offsets)
    if step is None:
        pos_d = d[d > 0]
        if not len(pos_d):
            return TimeGrid("row", np.arange(n), False, False, labels)
        vals, counts = np.unique(pos_d, return_counts=True)
        step = float(vals[np.argmax(counts)])
    k = d / step
    off = np.abs(k - np.round(k)) > 1e-6
    if (d <= 0).any() or off.mean() > UNEVEN_SHARE:
        return TimeGrid(name(step), np.arange(n), False, False, labels)
    pos = np.concatenate([[0], np.cumsum(np.maximum(np.round(k), 1))]).astype(int)
    return TimeGrid(name(step), pos, bool((np.diff(pos) == 1).all()), True, labels)


def _calendar_positions(t: pd.Series) -> tuple[int, np.ndarray] | None:
    """(months per step, month offsets) when every time is a date on the same day of its month (or
    every one a month end), at midnight, and consecutive dates are whole months apart; else None."""
    if (t != t.dt.normalize()).any():
        return None
    same_day = t.dt.day.nunique() == 1
    month_end = bool(t.dt.is_month_end.all())
    if not (same_day or month_end):
        return None
    m = (t.dt.year * 12 + t.dt.month).to_numpy()
    d = np.diff(m)
    if (d <= 0).any():
        return None
    vals, counts = np.unique(d, return_counts=True)
    step = int(vals[np.argmax(counts)])
    if step == 1 and (t.dt.day.iloc[0] > 28 and not month_end):
        return None
    return step, (m - m[0]).astype(float)


def _time_unit(seconds: float) -> str:
    td = pd.Timedelta(seconds=seconds)
    for unit, name in reversed(_UNITS):
        if td % unit == pd.Timedelta(0):
            k = int(td / unit)
            return name if k == 1 else f"{k} {name}s"
    return f"{seconds:g} seconds"


def longest_stretch(positions: np.ndarray) -> tuple[int, int]:
    """(first row, number of rows) of the longest run of rows one grid step apart (the earliest on a tie)."""
    if len(positions) == 0:
        return 0, 0
    breaks = np.nonzero(np.diff(positions) != 1)[0]
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks + 1, [len(positions)]])
    k = int(np.argmax(ends - starts))
    return int(starts[k]), int(ends[k] - starts[k])


def one(unit: str) -> str:
    """One step of ``unit`` in words: 'one day', '2 days', '0.5 index units'."""
    return unit if unit[0].isdigit() else f"one {unit}"


def plural(unit: str, k: int) -> str:
    """``k`` steps of ``unit`` in words: '1 day', '3 days', '2 x 0.5 index units'."""
    if unit[0].isdigit():  # "2 days": a multiple already
        return f"{k} x {unit}"
    return f"{k} {unit}" + ("" if k == 1 else "s")


def time_grid_finding(grid: TimeGrid | None, time_index: str) -> Finding:
    """The 'time_grid' finding: the index's step, its gaps and what the lagged analysis does with them.

    Value: 'regular', 'gaps' (rows missing from a regular grid: lags are counted in grid steps and
    windows across a gap are left out), 'uneven' (no regular step: lags are counted in rows) or None
    (the index could not be read)."""
    if grid is None:
        return Finding("time_grid", None, {"time_index": time_index},
                       f"the time index '{time_index}' could not be read")
    ev = {"time_index": time_index, "step": grid.unit, "rows": len(grid.positions)}
    if not grid.on_grid:
        return Finding("time_grid", "uneven", ev, (
            f"the times in '{time_index}' are not on a regular grid (the most common step is {grid.unit}, but the steps "
            "vary or repeat): lags are counted in rows, so a lag of one row is not a fixed span of time"))
    if grid.regular:
        return Finding("time_grid", "regular", ev, f"regular steps of {one(grid.unit)}: a lag of k is k steps of "
                       f"{one(grid.unit)}")
    gaps = grid.gaps()
    missing = sum(m for _, m in gaps)
    first, rows = longest_stretch(grid.positions)
    largest = sorted(gaps, key=lambda g: (-g[1], g[0]))[:3]
    ev.update({"grid_steps": grid.n_steps, "missing_steps": missing, "gaps": len(gaps),
               "largest_gaps": [{"after": grid.labels[i], "before": grid.labels[i + 1], "missing": m}
                                for i, m in largest],
               "longest_regular_stretch": {"from": grid.labels[first], "to": grid.labels[first + rows - 1],
                                           "rows": rows}})
    big = ", ".join(f"{plural(grid.unit, m)} between {grid.labels[i]} and {grid.labels[i + 1]}" for i, m in largest)
    return Finding("time_grid", "gaps", ev, (
        f"one step of '{time_index}' is {one(grid.unit)}, but {missing} of the {grid.n_steps} steps have no row, in "
        f"{len(gaps)} gap(s) (largest: {big}); lags are counted in steps of {one(grid.unit)} on that grid, not in rows "
        f"(the longest stretch without a gap has {rows} of {len(grid.positions)} rows, {grid.labels[first]} to "
        f"{grid.labels[first + rows - 1]})"))
