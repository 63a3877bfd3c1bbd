"""A date column makes rows a time series only when the time order carries lagged dependence."""

import numpy as np
import pandas as pd

from causalpilot.evals.generators import linear_sem
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare


def _ds(frame: pd.DataFrame) -> Dataset:
    return Dataset(frame=frame, path="<test>", sha256="0" * 64, format="csv")


def test_independent_records_with_a_date_stamp_stay_independent():
    frame = linear_sem(p=5, n=800, edge_prob=0.4, seed=3).data.copy()
    frame.insert(0, "signup_date", pd.date_range("2024-01-01", periods=len(frame), freq="D").astype(str))
    prepared = profile_and_prepare(_ds(frame), seed=0)
    profile = prepared.profile
    assert profile.time_index is None and prepared.time is None
    assert profile.value("time_series") is False
    assert "signup_date" not in profile.variables
    dropped = next(r for r in profile.repairs if r.get("column") == "signup_date")
    assert "date stamp" in dropped["reason"] and "--time-index signup_date" in dropped["reason"]
    assert prepared.frame.shape == (800, 5)


def test_a_date_column_over_a_lagged_process_is_the_time_index():
    rng = np.random.default_rng(5)
    n, A = 600, np.array([[0.6, 0.0, 0.0], [0.5, 0.4, 0.0], [0.0, 0.5, 0.3]])
    X = np.zeros((n, 3))
    for t in range(1, n):
        X[t] = A @ X[t - 1] + rng.normal(size=3)
    frame = pd.DataFrame(X, columns=["u", "v", "w"])
    frame.insert(0, "day", pd.date_range("2020-01-01", periods=n, freq="D").astype(str))
    frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)  # rows arrive out of order
    prepared = profile_and_prepare(_ds(frame), seed=0)
    assert prepared.profile.time_index == "day" and prepared.profile.value("time_series") is True
    reason = next(r for r in prepared.profile.repairs if r.get("column") == "day")["reason"]
    assert "lag order" in reason
    assert np.allclose(prepared.frame["u"].to_numpy(), X[:, 0])  # sorted back into time order


def test_day_first_dates_keep_their_time_order():
    rng = np.random.default_rng(2)
    n = 400
    x = np.zeros(n)
    for t in range(1, n):
        x[t] = 0.7 * x[t - 1] + rng.normal()
    y = np.r_[0.0, 0.8 * x[:-1]] + rng.normal(size=n)
    days = pd.date_range("2023-01-01", periods=n, freq="D")
    frame = pd.DataFrame({"date": days.strftime("%d/%m/%Y"), "x": x, "y": y})
    prepared = profile_and_prepare(_ds(frame), seed=0)
    assert prepared.profile.time_index == "date"
    column = next(c for c in prepared.profile.columns if c.name == "date")
    assert "day-first" in column.evidence
    # per-value parsing would read 01/02/2023 as 2 January and put February's rows among January's
    assert np.allclose(prepared.frame["x"].to_numpy(), x)
    assert list(pd.to_datetime(prepared.time, dayfirst=True)) == list(days)
