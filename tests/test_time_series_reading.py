"""When rows are read as a time series: blocks of records and ties take the reading that needs no time order."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from causalpilot.tools.loading import load_table
from causalpilot.tools.profile import profile_and_prepare, time_series_check

SACHS = Path(__file__).resolve().parents[1] / "evals" / "data" / "sachs" / "sachs_cyto.csv.gz"


def _ar1(rng, n, phi):
    x = np.zeros(n)
    e = rng.normal(size=n)
    for t in range(1, n):
        x[t] = phi * x[t - 1] + e[t]
    return x


@pytest.mark.skipif(not SACHS.exists(), reason="the Sachs data ship with the checkout, not the wheel")
def test_sachs_cells_are_not_a_time_series_whatever_the_treatment():
    """7466 independent cells from 14 conditions stacked one after another: blocks, not dynamics.
    The compressed file loads as it is."""
    ds = load_table(SACHS)
    for keep in (None, ["PKC", "PKA"], ["praf", "pmek"]):
        f = profile_and_prepare(ds, keep=keep).profile.findings["time_series"]
        assert f.value is False
        assert f.evidence["blocks_of_rows"] and not f.evidence["serially_dependent"]
        assert f.summary.startswith("rows come in blocks")


def test_conditions_stacked_in_blocks_are_read_as_iid():
    rng = np.random.default_rng(3)
    parts = []
    for k in range(6):  # six conditions, 300 independent rows each, with shifted means
        x = rng.normal(size=300) + rng.normal(0, 1.5)
        y = 0.8 * x + rng.normal(size=300) + rng.normal(0, 1.5)
        z = 0.5 * y + rng.normal(size=300)
        parts.append(pd.DataFrame({"x": x, "y": y, "z": z}))
    f = time_series_check(pd.concat(parts, ignore_index=True), False, None)
    assert f.value is False and f.evidence["blocks_of_rows"]


def test_records_sorted_by_a_binary_column_are_read_from_the_continuous_columns():
    """People sorted by region: the binary column forms long runs; wages and schooling do not."""
    rng = np.random.default_rng(5)
    n = 2000
    region = np.sort(rng.integers(0, 2, n))
    city = np.repeat(rng.integers(0, 2, n // 50), 50)
    educ = rng.normal(13, 2, n) + region
    wage = 0.1 * educ + rng.normal(size=n)
    df = pd.DataFrame({"south": region, "city": city, "educ": educ, "lwage": wage})
    f = time_series_check(df, False, None, continuous=["educ", "lwage"])
    assert f.value is False and f.evidence["columns_read"] == 2
    assert "south" in time_series_check(df, False, None).evidence["serially_dependent"]  # the runs are there


def test_dynamics_are_still_a_time_series():
    rng = np.random.default_rng(7)
    n = 1500
    x = _ar1(rng, n, 0.7)
    y = np.zeros(n)
    for t in range(1, n):
        y[t] = 0.6 * y[t - 1] + 0.5 * x[t - 1] + rng.normal()
    walk = np.cumsum(rng.normal(size=n))
    f = time_series_check(pd.DataFrame({"x": x, "y": y, "walk": walk}), False, None)
    assert f.value is True and sorted(f.evidence["serially_dependent"]) == ["walk", "x", "y"]


def test_a_tie_takes_the_reading_without_a_time_order():
    rng = np.random.default_rng(11)
    n = 1500
    df = pd.DataFrame({"a": _ar1(rng, n, 0.6), "b": _ar1(rng, n, 0.6), "c": rng.normal(size=n), "d": rng.normal(size=n)})
    f = time_series_check(df, False, None)
    assert f.value is False and f.evidence["fraction_significant"] == 0.5
    assert "more than half" in f.summary
    df["e"] = _ar1(rng, n, 0.6)  # three of five: a majority
    assert time_series_check(df, False, None).value is True
    assert time_series_check(df.drop(columns=["a", "b", "e"]), True, None).value is True  # declared wins


def test_compressed_csv_loads_and_a_corrupt_one_is_refused(tmp_path):
    import gzip
    from causalpilot.tools.errors import InputError
    rows = "a,b\n" + "".join(f"{i},{2 * i + 1}\n" for i in range(30))
    good = tmp_path / "d.csv.gz"
    good.write_bytes(gzip.compress(rows.encode()))
    ds = load_table(good)
    assert ds.frame.shape == (30, 2) and ds.frame["b"].iloc[3] == 7
    bad = tmp_path / "e.csv.gz"
    bad.write_bytes(b"not gzip at all")
    with pytest.raises(InputError, match="could not be decompressed"):
        load_table(bad)
    body = bytearray(gzip.compress(("a,b\n" + "".join(f"{i},{i * 7 % 13}\n" for i in range(2000))).encode()))
    body[40:80] = bytes(b ^ 0xFF for b in body[40:80])  # a damaged stream: zlib's own error, not an OSError
    bad.write_bytes(bytes(body))
    with pytest.raises(InputError, match="not a whole, valid gz file"):
        load_table(bad)
