"""Effects in a time series: per-lag total effects on simulated series with known coefficients."""

import numpy as np
import pandas as pd

from tests.helpers import read_json, run_cli
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.inference.lagged import lagged_effect


def _series(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    temp, ads, sales = np.zeros(n), np.zeros(n), np.zeros(n)
    for t in range(1, n):
        temp[t] = 0.8 * temp[t - 1] + rng.normal()
        ads[t] = 0.5 * ads[t - 1] + 0.3 * temp[t - 1] + rng.normal()  # temp confounds ads and sales
        sales[t] = 0.4 * sales[t - 1] + 0.6 * ads[t - 1] + 0.5 * temp[t] + rng.normal()
    return pd.DataFrame({"temperature": temp, "ad_spend": ads, "sales": sales})


TRUE_GRAPH = CausalGraph(
    ["temperature", "ad_spend", "sales"],
    [Edge("temperature", "temperature", "directed", None, 1), Edge("ad_spend", "ad_spend", "directed", None, 1),
     Edge("sales", "sales", "directed", None, 1), Edge("temperature", "ad_spend", "directed", None, 1),
     Edge("ad_spend", "sales", "directed", None, 1), Edge("temperature", "sales", "directed", None, 0)],
    "lagged", "truth", {"tau_max": 2})


def test_per_lag_total_effects_match_the_simulation():
    eff = lagged_effect(_series(), TRUE_GRAPH, "ad_spend", "sales")
    by_lag = {x.lag: x for x in eff.lags}
    assert set(by_lag) == {1, 2}  # no contemporaneous path; lag 2 runs through sales' own past
    # lag 1: the direct 0.6; lag 2: 0.6 * 0.4 through sales(t-1) plus 0.6 * 0.5 through ad_spend(t-1)
    assert by_lag[1].ci_low <= 0.6 <= by_lag[1].ci_high
    assert by_lag[2].ci_low <= 0.54 <= by_lag[2].ci_high
    assert "temperature(t-2)" in by_lag[1].adjustment_set  # the confounder, shifted with the treatment
    assert any("carries on beyond lag 2" in n for n in eff.notes)
    null = lagged_effect(_series(), TRUE_GRAPH, "sales", "ad_spend")
    assert null.structural_zero and null.estimate == 0.0


def test_analyse_estimates_a_lagged_effect_instead_of_calling_it_zero(tmp_path, capsys):
    frame = _series(n=700, seed=3)
    frame.insert(0, "date", pd.date_range("2023-01-01", periods=len(frame)).strftime("%d/%m/%Y"))
    csv = tmp_path / "daily.csv"
    frame.to_csv(csv, index=False)
    out = tmp_path / "out"
    code, _, err = run_cli(["analyse", csv, "--treatment", "ad_spend", "--outcome", "sales", "--bootstrap", "0",
                            "--out", out, "-q"], capsys)
    assert code == 0, err
    eff = read_json(out / "effects.json")[0]
    assert not eff.get("structural_zero")
    lag1 = next(x for x in eff["lags"] if x["lag"] == 1)
    assert lag1["ci_low"] <= 0.6 <= lag1["ci_high"]
    assert "1 step(s) later" in (out / "report.md").read_text()


def test_circle_marked_lagged_edges_count_as_paths_and_parents():
    # LPCMCI writes 'ad_spend o-> sales (lag 1)' when it cannot exclude a hidden common driver
    marks = {("ad_spend", "sales", 1): "partially_directed", ("temperature", "ad_spend", 1): "partially_directed"}
    graph = CausalGraph(TRUE_GRAPH.nodes, [Edge(e.source, e.target, marks.get((e.source, e.target, e.lag), e.type),
                                                None, e.lag) for e in TRUE_GRAPH.edges], "lagged", "lpcmci",
                        {"tau_max": 2})
    eff = lagged_effect(_series(), graph, "ad_spend", "sales")
    assert not eff.structural_zero
    lag1 = next(x for x in eff.lags if x.lag == 1)
    assert lag1.ci_low <= 0.6 <= lag1.ci_high and "temperature(t-2)" in lag1.adjustment_set


def test_report_renders_a_lag_with_several_adjustment_sets():
    """An undirected contemporaneous edge at the treatment gives each lag one fit per parent set: the entry
    has ``estimates`` and ``adjustment_set: null``, and the report (strict templates) renders it."""
    from causalpilot.reports.render import build_context, render
    from causalpilot.tools.loading import Dataset
    from causalpilot.tools.profile import profile_and_prepare

    edges = [e for e in TRUE_GRAPH.edges if not (e.source == "temperature" and e.target == "ad_spend")]
    graph = CausalGraph(TRUE_GRAPH.nodes, edges + [Edge("temperature", "ad_spend", "undirected", None, 0)], "lagged",
                        "truth", {"tau_max": 2})
    frame = _series(n=600)
    eff = lagged_effect(frame, graph, "ad_spend", "sales").to_dict()
    lag1 = next(x for x in eff["lags"] if x["lag"] == 1)
    assert lag1["adjustment_set"] is None and len(lag1["estimates"]) == 2 and lag1["estimate"] is None
    assert lag1["estimate_range"][0] <= 0.6 + 0.1 and lag1["ci_low"] <= 0.6 <= lag1["ci_high"]
    prepared = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="0", format="synthetic"), seed=0)
    ctx = build_context(run_id="r", version="0", seed=0, planner="rules", data_name="series.csv", data_sha256="0",
                        question=None, profile=prepared.profile.to_dict(), graph=graph, effects=[eff], decisions=[],
                        background_notes=[], graph_png=b"")
    md, html = render(ctx)
    row = next(line for line in md.splitlines() if line.startswith("| 1 |"))
    assert "one per orientation" in row and "one per orientation" in html


def test_lagged_effect_on_a_gapped_daily_series_counts_lags_in_days_not_rows():
    """y(t) = 0.8 x(t-1 day) + noise on a daily index with a 60-day hole and 40 missing days: shifting rows
    would pair values across the gaps (about 40 pairs in 300 unrelated), pulling the estimate towards 0."""
    import causalpilot

    rng = np.random.default_rng(4)
    days = 400
    x = rng.normal(size=days)
    y = np.r_[0.0, 0.8 * x[:-1]] + 0.3 * rng.normal(size=days)
    keep = np.ones(days, bool)
    keep[150:210] = False
    keep[rng.choice(np.flatnonzero(keep), 40, replace=False)] = False
    dates = pd.date_range("2024-01-01", periods=days, freq="D")
    df = pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "x": x, "y": y})[keep].reset_index(drop=True)
    res = causalpilot.analyse(df, time_index="date", treatment="x", outcome="y", bootstrap=0, memory=False)
    lag1 = res.effects[res.effects["lag"] == 1].iloc[0]
    assert lag1["ci_low"] <= 0.8 <= lag1["ci_high"], lag1.to_dict()
    assert lag1["ci_low"] > 0.72  # the row-shifted estimate (about 0.69) is excluded


def _weak_var(n, b, seed):
    """x -> y at lag 1 with weight b (weak), z -> y at lag 1; x and z are independent AR(1) drivers."""
    rng = np.random.default_rng(seed)
    x, y, z = np.zeros(n), np.zeros(n), np.zeros(n)
    for t in range(1, n):
        x[t] = 0.5 * x[t - 1] + rng.normal()
        z[t] = 0.5 * z[t - 1] + rng.normal()
        y[t] = 0.5 * y[t - 1] + b * x[t - 1] + 0.4 * z[t - 1] + rng.normal()
    return pd.DataFrame({"x": x, "y": y, "z": z})


# what a search that misses the weak x -> y link (lag 1) returns
MISSED = CausalGraph(["x", "y", "z"], [Edge("x", "x", "directed", None, 1), Edge("y", "y", "directed", None, 1),
                                       Edge("z", "z", "directed", None, 1), Edge("z", "y", "directed", None, 1)],
                     "lagged", "pcmci_plus", {"tau_max": 2})


def test_a_lagged_zero_is_checked_against_the_data():
    """No path from x to y in the graph is no evidence of no effect: the Granger-style check on the past of
    the series finds the weak true link (0.15) and its per-lag coefficients become the answer."""
    eff = lagged_effect(_weak_var(2000, 0.15, 1), MISSED, "x", "y")
    check = eff.zero_check
    assert check["test"] == "granger" and check["contradicted"] and check["p_value"] < 0.001
    assert not eff.structural_zero and eff.estimate is None
    lag1 = next(x for x in eff.lags if x.lag == 1)
    assert lag1.ci_low <= 0.15 <= lag1.ci_high and lag1.ci_low > 0
    assert "y(t-1..t-2)" in lag1.adjustment_set and "z(t-1..t-2)" in lag1.adjustment_set
    assert "the data disagree" in eff.notes[0]


def test_a_lagged_zero_the_data_agree_with_has_the_datas_interval_not_zero_zero():
    eff = lagged_effect(_weak_var(2000, 0.0, 1), MISSED, "x", "y")
    assert eff.structural_zero and eff.estimate == 0.0 and not eff.zero_check["contradicted"]
    assert eff.ci_low < 0 < eff.ci_high and (eff.ci_low, eff.ci_high) != (0.0, 0.0)
    assert eff.zero_check["p_value"] > 0.05
    assert any(n.startswith("The data agree") for n in eff.notes)


def test_analyse_reports_a_link_pcmci_missed_and_the_data_show(tmp_path, capsys):
    """PCMCI+ (seed 0) misses the weak x -> y link on this series; the report does not say "0 [0, 0]"."""
    csv = tmp_path / "weak.csv"
    _weak_var(400, 0.12, 0).to_csv(csv, index=False)
    out = tmp_path / "out"
    code, _, err = run_cli(["analyse", csv, "--time-series", "--treatment", "x", "--outcome", "y", "--bootstrap", "0",
                            "--out", out, "-q"], capsys)
    assert code == 0, err
    eff = read_json(out / "effects.json")[0]
    assert eff["zero_check"]["contradicted"] and not eff.get("structural_zero")
    lag1 = eff["lags"][0]
    assert lag1["lag"] == 1 and lag1["ci_low"] <= 0.12 <= lag1["ci_high"]
    report = (out / "report.md").read_text()
    assert "the graph most likely misses that link" in report and "[0, 0]" not in report
    steps = {d["step"]: d for d in read_json(out / "run.json")["decisions"]}
    assert steps["inference.zero_check"]["choice"] is True
