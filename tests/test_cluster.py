"""Analyses on a Dask cluster: the bootstrap resamples, portfolio members and refuters' re-estimates run as
tasks on a real ``distributed.LocalCluster`` (two worker processes started here), with the same files as a
local run for the same seed, and the data sent to the workers once."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from distributed import LocalCluster

import causalpilot
from causalpilot.tools import cluster as cluster_mod
from causalpilot.tools.registry import DiscoveryInput
from tests.helpers import run_cli


@pytest.fixture(scope="module")
def local_cluster():
    with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as lc:
        yield lc


def _chain(n: int = 400, seed: int = 1) -> pd.DataFrame:
    """a -> b <- e, b -> c -> d: the effect of b on d is 0.7 * 0.6 = 0.42 through c."""
    rng = np.random.default_rng(seed)
    a, e = rng.normal(size=n), rng.normal(size=n)
    b = 0.8 * a - 0.8 * e + rng.normal(size=n)
    c = 0.7 * b + rng.normal(size=n)
    d = 0.6 * c + rng.normal(size=n)
    return pd.DataFrame({"a": a, "b": b, "c": c, "d": d, "e": e})


def test_analyse_on_a_cluster_writes_the_files_of_a_local_run(local_cluster, tmp_path):
    df = _chain()
    args = dict(treatment="b", outcome="d", bootstrap=6, seed=3, memory=False)
    local = causalpilot.analyse(df, out=tmp_path / "local", **args)
    remote = causalpilot.analyse(df, out=tmp_path / "cluster", scheduler=local_cluster.scheduler_address, **args)
    for name in ("graph.json", "effects.json"):
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    info = remote.run_info["cluster"]
    assert info["workers"] == 2
    # 6 resamples + 3 refuters x 50 re-estimates ran there; the discovery input and the effect's frame were each
    # scattered once, not shipped with every task
    assert info["tasks"] >= 6 + 150
    assert info["data_scattered"] == 2
    assert "cluster" not in local.run_info
    eff = remote.effects_list[0]
    assert eff["ci_low"] < 0.42 < eff["ci_high"]
    assert len(eff["refutations"]) == 4
    assert all(e.confidence is not None for e in remote.graph.edges)


def test_a_streamed_file_on_a_cluster_gives_the_local_files(local_cluster, tmp_path):
    pq = tmp_path / "d.parquet"
    _chain(n=600, seed=2).to_parquet(pq)
    args = dict(stream=True, treatment="b", outcome="d", bootstrap=6, seed=1, memory=False)
    causalpilot.analyse(pq, out=tmp_path / "local", **args)
    remote = causalpilot.analyse(pq, out=tmp_path / "cluster", scheduler=local_cluster.scheduler_address, **args)
    for name in ("graph.json", "effects.json"):
        assert (tmp_path / "cluster" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    assert remote.run_info["data"]["streamed"]["moments"] is True
    assert remote.run_info["cluster"]["tasks"] >= 6  # the Poisson-weighted resamples ran there


def test_portfolio_members_run_on_the_cluster_with_the_local_result(local_cluster):
    from causalpilot.tools.portfolio import run_portfolio
    from causalpilot.tools.registry import run_algorithm

    df = _chain(n=300, seed=4)
    di = DiscoveryInput(X=df.to_numpy(), nodes=list(df.columns), kinds={c: "continuous" for c in df.columns}, seed=2)
    main = run_algorithm("pc", di, {})
    members = [("boss", {}), ("ges", {})]
    here = run_portfolio(main, members, di)
    with cluster_mod.using(local_cluster.scheduler_address) as cl:
        there = run_portfolio(main, members, di)
        assert cl.tasks == 2 and cl.scattered == 1
    assert there.to_dict() == here.to_dict()
    assert there.parameters["portfolio"]["members"] == ["pc", "boss", "ges"]


def test_a_scheduler_that_cannot_be_reached_is_one_sentence_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAUSALPILOT_SCHEDULER_TIMEOUT", "1")
    csv = tmp_path / "d.csv"
    _chain(n=50).to_csv(csv, index=False)
    out = tmp_path / "out"
    code, stdout, err = run_cli(["analyse", csv, "--scheduler", "tcp://127.0.0.1:1", "--out", out], capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Cannot reach the Dask scheduler at 'tcp://127.0.0.1:1'" in lines[0], err
    assert "Traceback" not in err and not out.exists()
    code, _, err = run_cli(["analyse", csv, "--scheduler", "no-port-here", "--out", out], capsys)
    assert code == 2 and "no-port-here" in err and len(err.strip().splitlines()) == 1


def test_the_python_api_refuses_a_bad_scheduler_with_input_error():
    with pytest.raises(causalpilot.InputError, match="scheduler"):
        causalpilot.analyse(_chain(n=50), scheduler="", memory=False)
