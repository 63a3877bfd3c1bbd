"""Delimited files as spreadsheets write them: the separator and decimal mark are read, not assumed."""

import numpy as np
import pandas as pd

from tools.loading import load_table


def _frame(n=50, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    return pd.DataFrame({"Alter": a.round(3), "Einkommen": (0.8 * a + rng.normal(size=n)).round(3),
                         "Region": rng.choice(["Nord", "Süd"], n)})


def test_semicolon_separated_with_decimal_commas(tmp_path):
    frame = _frame()
    path = tmp_path / "umfrage.csv"
    frame.to_csv(path, sep=";", decimal=",", index=False)
    ds = load_table(path)
    assert list(ds.frame.columns) == ["Alter", "Einkommen", "Region"]
    assert pd.api.types.is_float_dtype(ds.frame["Alter"]) and np.allclose(ds.frame["Alter"], frame["Alter"])
    assert ds.repairs and "semicolon-separated with decimal commas" in ds.repairs[0]["reason"]


def test_semicolon_separated_with_decimal_points_and_pipes(tmp_path):
    frame = _frame(seed=1)
    for sep, word in ((";", "semicolon"), ("|", "pipe")):
        path = tmp_path / f"data_{word}.csv"
        frame.to_csv(path, sep=sep, index=False)
        ds = load_table(path)
        assert np.allclose(ds.frame["Einkommen"], frame["Einkommen"])
        assert "decimal commas" not in ds.repairs[0]["reason"] and word in ds.repairs[0]["reason"]


def test_plain_comma_file_is_read_as_before(tmp_path):
    frame = _frame(seed=2)
    frame["note"] = "a; b"  # a semicolon inside a field is not a separator
    path = tmp_path / "plain.csv"
    frame.to_csv(path, index=False)
    ds = load_table(path)
    assert ds.repairs == [] and ds.frame.shape == (50, 4)
    assert np.allclose(ds.frame["Alter"], frame["Alter"])
