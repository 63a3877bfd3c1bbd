"""Files as spreadsheets write them: the separator and decimal mark are read, not assumed; workbooks are read."""

import numpy as np
import pandas as pd
import pytest

from tests.helpers import run_cli
from causalpilot.tools.loading import load_table


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


def test_a_workbook_is_read_from_its_first_sheet(tmp_path):
    pytest.importorskip("openpyxl")
    frame = _frame(seed=3)
    path = tmp_path / "survey.xlsx"
    with pd.ExcelWriter(path) as xl:
        frame.to_excel(xl, sheet_name="data", index=False)
        pd.DataFrame({"notes": ["ignore me"]}).to_excel(xl, sheet_name="notes", index=False)
    ds = load_table(path)
    assert ds.format == "spreadsheet" and list(ds.frame.columns) == ["Alter", "Einkommen", "Region"]
    assert np.allclose(ds.frame["Einkommen"], frame["Einkommen"])


def test_a_broken_workbook_is_one_sentence_and_exit_2(tmp_path, capsys):
    path = tmp_path / "broken.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip archive")
    code, _, err = run_cli(["analyse", path, "--out", tmp_path / "o", "-q"], capsys)
    assert code == 2 and "broken.xlsx" in err and "Traceback" not in err
    assert "spreadsheet" in err or "Excel" in err
