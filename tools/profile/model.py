"""What profiling hands on: each column's reading, the findings with their evidence, the prepared matrix.

The planner bases its choices on these findings and the report must be able to say why, so every
:class:`Finding` carries the evidence behind it (test, statistic, p-values, counts) and every change
made to the data is recorded in :attr:`Profile.repairs`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd


@dataclass
class ColumnProfile:
    """How one column of the user's table was read (kinds: :data:`causalpilot.tools.profile.columns.COLUMN_KINDS`)."""

    name: str
    kind: str
    n_unique: int
    missing_fraction: float
    evidence: str
    used: bool = True
    integer: bool = False  # every value a whole number (counts, codes)


@dataclass
class Finding:
    """A conclusion about the data with the evidence that supports it."""

    name: str
    value: Any
    evidence: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass
class Profile:
    """The whole reading of a table: its columns, findings, repairs and the variables discovery uses."""

    n_rows: int
    n_columns: int
    columns: list[ColumnProfile]
    findings: dict[str, Finding]
    repairs: list[dict]
    variables: list[str]  # the columns that enter discovery, in order
    time_index: str | None = None
    domain_index: str | None = None

    def kind_of(self, col: str) -> str:
        """The kind of column ``col``; raises StopIteration if the table has no such column."""
        return next(c.kind for c in self.columns if c.name == col)

    def labels_of(self, col: str) -> list[str] | None:
        """The text labels behind a coded column, in code order (0, 1, ...), or None if it was not coded."""
        coded = next((r for r in self.repairs if r.get("column") == col and r.get("repair") == "encoded"), None)
        return None if coded is None else [str(v) for v in coded["levels"]]

    def value(self, finding: str, default: Any = None) -> Any:
        """The value of finding ``finding`` ('linearity', 'gaussianity', ...), or ``default`` if absent."""
        f = self.findings.get(finding)
        return default if f is None else f.value

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-ready data (floats rounded to 6 decimals, non-finite values as None)."""
        return {
            "n_rows": self.n_rows,
            "n_columns": self.n_columns,
            "variables": list(self.variables),
            "time_index": self.time_index,
            "domain_index": self.domain_index,
            "columns": [asdict(c) for c in self.columns],
            "findings": {k: _plain(asdict(v)) for k, v in self.findings.items()},
            "repairs": _plain(self.repairs),
        }


@dataclass
class PreparedData:
    """The numeric matrix discovery runs on, with its profile."""

    frame: pd.DataFrame  # only the analysis variables, numeric, no missing values unless stated
    profile: Profile
    domain: pd.Series | None = None  # the domain/regime index column, if any
    time: pd.Series | None = None
    grid: np.ndarray | None = None  # each row's position on the time index's regular grid (int, shape (n,)), or None
    # the same rows and columns as ``frame`` before imputation (NaN where a value is missing), for methods that
    # delete test-wise; None when nothing was imputed
    with_gaps: pd.DataFrame | None = None
    # a file streamed in batches (tools.streaming.Streamed): ``frame`` is its seeded sample, and this holds
    # the means and covariances of all its rows where they can stand for the data; None: read into memory
    streamed: Any = None

    def grid_frame(self) -> pd.DataFrame:
        """The analysis variables on the regular time grid: one row per step of the time index, NaN rows
        for the steps with no data (so that shifting by k rows is k steps of time); the frame itself when
        there is no grid."""
        if self.grid is None:
            return self.frame
        out = pd.DataFrame(np.nan, index=pd.RangeIndex(int(self.grid[-1]) + 1), columns=self.frame.columns)
        out.iloc[self.grid] = self.frame.to_numpy(dtype=float)
        return out

    @property
    def X(self) -> np.ndarray:
        """The analysis variables as a float array of shape (n rows, p variables)."""
        return self.frame.to_numpy(dtype=float)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not np.isfinite(obj) else round(float(obj), 6)
    return obj
