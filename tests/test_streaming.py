"""Files larger than memory: read in batches (pyarrow datasets), the means and covariances of all rows from one
pass, the profile on a seeded sample; the same graph as the in-memory path on data that fit."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import causalpilot
from causalpilot.tools import streaming
from causalpilot.tools.loading import load_table
from causalpilot.tools.moments import Moments, slope_interval
from tests.helpers import run_cli


def _linear(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """x1 -> x3 <- x2, x3 -> x4 -> x5 <- x1, x5 -> x6: the effect of x3 on x5 is 0.7 * 0.5 = 0.35."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x3 = 0.8 * x1 - 0.6 * x2 + rng.normal(size=n)
    x4 = 0.7 * x3 + rng.normal(size=n)
    x5 = 0.5 * x4 + 0.4 * x1 + rng.normal(size=n)
    x6 = 0.5 * x5 + rng.normal(size=n)
    return pd.DataFrame({"x1": x1, "x2": x2, "x3": x3, "x4": x4, "x5": x5, "x6": x6})


def _edges(result) -> list[tuple]:
    return sorted((e.source, e.target, e.type) for e in result.graph.edges)


@pytest.fixture()
def files(tmp_path):
    df = _linear()
    pq, csv = tmp_path / "d.parquet", tmp_path / "d.csv"
    df.to_parquet(pq, row_group_size=700)
    df.to_csv(csv, index=False)
    return df, pq, csv


def test_merged_batch_moments_are_those_of_all_rows():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 4)) @ rng.normal(size=(4, 4)) + 50.0  # far from zero: the update must stay exact
    cols = list("abcd")
    acc = Moments.empty(cols)
    for part in np.array_split(X, 7):
        acc = acc.merge(Moments.of(part, cols))
    assert acc.n == 1000
    assert np.allclose(acc.mean, X.mean(axis=0), rtol=1e-12)
    assert np.allclose(acc.cov, np.cov(X.T, ddof=0), rtol=1e-10)
    assert np.allclose(acc.corr(), np.corrcoef(X.T), rtol=1e-10)
    w = rng.poisson(1.0, size=1000).astype(float)  # weights equal to copies of rows
    rows = np.repeat(X, w.astype(int), axis=0)
    weighted = Moments.empty(cols)
    for part, wp in zip(np.array_split(X, 3), np.array_split(w, 3)):
        weighted = weighted.merge(Moments.of(part, cols, wp))
    assert weighted.n == len(rows)
    assert np.allclose(weighted.cov, np.cov(rows.T, ddof=0), rtol=1e-10)


def test_least_squares_from_moments_match_ols_on_the_rows():
    import statsmodels.api as sm

    df = _linear(n=500)
    fit = sm.OLS(df["x5"], sm.add_constant(df[["x3", "x1"]])).fit()
    b, lo, hi, se, dof, p = slope_interval(Moments.of(df.to_numpy(), df.columns), "x3", "x5", ["x1"])
    assert b == pytest.approx(fit.params["x3"], rel=1e-9)
    assert se == pytest.approx(fit.bse["x3"], rel=1e-9)
    assert dof == fit.df_resid
    assert (lo, hi) == pytest.approx(tuple(fit.conf_int().loc["x3"]), rel=1e-9)
    assert p == pytest.approx(fit.pvalues["x3"], rel=1e-6, abs=1e-300)


@pytest.mark.parametrize("kind", ["parquet", "csv"])
def test_a_streamed_file_gives_the_graph_and_effect_of_the_in_memory_run(files, kind, tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 512)  # several blocks, so the pass merges batches
    _, pq, csv = files
    path = pq if kind == "parquet" else csv
    args = dict(treatment="x3", outcome="x5", bootstrap=0, memory=False)
    memory = causalpilot.analyse(path, stream=False, **args)
    streamed = causalpilot.analyse(path, stream=True, **args)
    assert _edges(streamed) == _edges(memory)
    assert ("x3", "x4", "directed") in _edges(memory) and ("x1", "x3", "directed") in _edges(memory)
    a, b = memory.effects_list[0], streamed.effects_list[0]
    for key in ("estimate", "ci_low", "ci_high"):
        assert b[key] == pytest.approx(a[key], abs=2e-6)
    assert b["ci_low"] < 0.35 < b["ci_high"]
    assert b["adjustment_set"] == a["adjustment_set"]
    info = streamed.run_info["data"]["streamed"]
    assert info == {"rows": 3000, "sample_rows": 3000, "complete_rows": 3000, "moments": True, "reason": None}
    assert "streamed" not in memory.run_info["data"]
    assert any("means and covariances of 3,000 rows" in n for n in b["notes"])


def test_pc_and_ges_on_streamed_moments_find_the_in_memory_graph(files, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 1000)
    _, pq, _ = files
    for algorithm in ("pc", "ges"):
        args = dict(algorithm=algorithm, bootstrap=0, memory=False)
        memory = causalpilot.analyse(pq, stream=False, **args)
        streamed = causalpilot.analyse(pq, stream=True, **args)
        assert _edges(streamed) == _edges(memory), algorithm
        assert streamed.graph.parameters.get("alpha") == memory.graph.parameters.get("alpha")
        used = next(d for d in streamed.decisions if d["step"] == "discovery.streamed")
        assert used["choice"] is True, algorithm


def test_a_sample_smaller_than_the_file_is_stated_and_seeded(files, tmp_path, capsys):
    df, pq, _ = files
    out = tmp_path / "out"
    code, _, err = run_cli(["analyse", pq, "--stream", "--sample-rows", "500", "--treatment", "x3", "--outcome", "x5",
                            "--bootstrap", "0", "--out", out, "--memory", tmp_path / "m.db"], capsys)
    assert code == 0, err
    assert "streaming 3,000 rows" in err and "sample of 500 rows" in err
    run = json.loads((out / "run.json").read_text())
    assert run["data"]["rows"] == 3000 and run["data"]["streamed"]["sample_rows"] == 500
    assert run["profile"]["n_rows"] == 500
    report = (out / "report.md").read_text()
    assert "seeded sample of 500" in report and "3,000 rows" in report
    # the means and covariances still come from every row: the graph of the whole file
    assert ("x3", "x4", "directed") in [(e["source"], e["target"], e["type"])
                                        for e in json.loads((out / "graph.json").read_text())["edges"]]
    one = load_table(pq, stream=True, sample_rows=500, seed=9).frame
    two = load_table(pq, stream=True, sample_rows=500, seed=9).frame
    other = load_table(pq, stream=True, sample_rows=500, seed=10).frame
    pd.testing.assert_frame_equal(one, two)
    assert not one.equals(other)
    rows = [int(np.flatnonzero(df["x1"].to_numpy() == v)[0]) for v in one["x1"]]
    assert rows == sorted(rows) and len(set(rows)) == 500  # distinct rows, in file order


def test_poisson_weights_do_not_depend_on_how_the_file_is_split(tmp_path, monkeypatch):
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 300)
    df = _linear(n=1000)
    a, b = tmp_path / "a.parquet", tmp_path / "b.parquet"
    df.to_parquet(a, row_group_size=128)
    df.to_parquet(b, row_group_size=1000)
    cols = list(df.columns)
    ra = load_table(a, stream=True).table.poisson_moments(cols, 3, seed=4)
    rb = load_table(b, stream=True).table.poisson_moments(cols, 3, seed=4)
    for x, y in zip(ra, rb):
        assert x.n == y.n and np.allclose(x.cov, y.cov, rtol=1e-12)
    assert len({m.n for m in ra}) > 1  # resamples differ from one another
    assert all(abs(m.n - 1000) < 150 for m in ra)  # Poisson(1) weights: about n rows each


def test_the_bootstrap_of_streamed_moments_uses_poisson_weights(files):
    _, pq, _ = files
    r = causalpilot.analyse(pq, stream=True, bootstrap=4, memory=False)
    assert r.run_info["discovery"]["bootstrap"]["replicates"] == 4
    assert all(e.confidence is not None for e in r.graph.edges)
    used = next(d for d in r.decisions if d["step"] == "discovery.streamed")
    assert "Poisson(1) weights on every streamed row" in used["reason"]


def test_missing_values_and_text_columns_in_a_streamed_file(tmp_path):
    df = _linear(n=1500)
    df.loc[::50, "x2"] = np.nan  # 30 rows with a gap: left out of the moments
    gaps = tmp_path / "gaps.parquet"
    df.to_parquet(gaps)
    r = causalpilot.analyse(gaps, stream=True, bootstrap=0, memory=False)
    info = r.run_info["data"]["streamed"]
    assert info["complete_rows"] == 1470 and info["moments"] is True
    assert "30 rows with a missing value left out" in next(d for d in r.decisions if d["step"] == "data.streamed")["reason"]
    text = _linear(n=800)
    text["x6"] = np.where(text["x6"] > 0, "high", "low")  # a category written as words
    words = tmp_path / "words.parquet"
    text.to_parquet(words)
    r = causalpilot.analyse(words, stream=True, bootstrap=0, memory=False)
    info = r.run_info["data"]["streamed"]
    assert info["moments"] is False and "'x6' is read from text" in info["reason"]
    assert not any(d["step"] == "discovery.streamed" for d in r.decisions)


def test_when_a_file_is_streamed(tmp_path, monkeypatch):
    pq = tmp_path / "d.parquet"
    _linear(n=200).to_parquet(pq)
    assert load_table(pq).table is None  # the default of load_table: in memory
    assert load_table(pq, stream=None).table is None  # fits easily
    monkeypatch.setattr(streaming, "available_memory", lambda: 20_000)  # 200 x 6 x 8 bytes > a quarter of it
    ds = load_table(pq, stream=None)
    assert ds.table is not None and ds.n_rows == 200 and len(ds.frame) == 200
    assert load_table(pq, stream=False).table is None
    xlsx = tmp_path / "d.xlsx"
    xlsx.write_bytes(b"not really a workbook")
    with pytest.raises(causalpilot.InputError, match="Parquet and CSV"):
        load_table(xlsx, stream=True)
    with pytest.raises(causalpilot.InputError, match="DataFrame is already in memory"):
        causalpilot.analyse(_linear(n=50), stream=True)


def test_a_folder_of_parquet_parts_is_one_table_in_memory_and_streamed(tmp_path, monkeypatch):
    """Spark/Dask write a table as part files beside markers: the parts are read in order as one table, the
    streamed pass and the in-memory read agree, and parts that disagree or a folder without any are one
    sentence."""
    monkeypatch.setattr(streaming, "CHUNK_ROWS", 512)
    df = _linear()
    folder = tmp_path / "events"
    (folder / "year=2025").mkdir(parents=True)
    df.iloc[:1000].to_parquet(folder / "part-000.parquet", row_group_size=300)
    df.iloc[1000:2200].to_parquet(folder / "part-001.parquet")
    df.iloc[2200:].to_parquet(folder / "year=2025" / "part-000.parquet")  # paths in order: "year=..." last
    (folder / "_SUCCESS").write_text("")
    df.iloc[:5].to_parquet(folder / ".part-002.parquet.tmp.parquet")  # a writer's hidden file: skipped
    whole = load_table(folder)
    pd.testing.assert_frame_equal(whole.frame, df)
    assert whole.format == "parquet" and any(r["repair"] == "parts" and "3 Parquet files" in r["reason"]
                                             for r in whole.repairs)
    streamed = load_table(folder, stream=True)
    assert streamed.table.rows == 3000 and len(streamed.frame) == 3000
    pd.testing.assert_frame_equal(streamed.frame, df)
    m, total = streamed.table.moments(list(df.columns))
    assert total == 3000 and np.allclose(m.cov, np.cov(df.to_numpy().T, ddof=0), rtol=1e-9)
    # the same graph and effect as one file of the same rows
    single = tmp_path / "one.parquet"
    df.to_parquet(single)
    args = dict(treatment="x3", outcome="x5", bootstrap=0, memory=False)
    a, b = causalpilot.analyse(single, **args), causalpilot.analyse(folder, stream=True, **args)
    assert _edges(a) == _edges(b)
    assert b.effects_list[0]["estimate"] == pytest.approx(a.effects_list[0]["estimate"], abs=2e-6)
    # the digest is the parts', whatever the folder is called
    (tmp_path / "renamed").mkdir()
    for f in folder.rglob("*"):
        if f.is_file():
            target = tmp_path / "renamed" / f.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(f.read_bytes())
    assert load_table(tmp_path / "renamed").sha256 == whole.sha256
    # parts with other columns, and a folder with no Parquet file, are one sentence each
    df[["x1", "x2"]].to_parquet(folder / "part-003.parquet")
    with pytest.raises(causalpilot.InputError, match="do not share their columns: '.*part-003.parquet' has 2"):
        load_table(folder)
    (tmp_path / "empty").mkdir()
    with pytest.raises(causalpilot.InputError, match="directory with no Parquet files"):
        load_table(tmp_path / "empty")
