"""A time series before PCMCI: calendar columns set aside, nonstationary series differenced, both said."""

import numpy as np
import pandas as pd

from causalpilot.agent.loop import profile_notes
from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import profile_and_prepare
from causalpilot.tools.profile.stationarity import calendar_columns, stationarity_check


def _quarterly(n=200, seed=0):
    """A macro-like quarterly table: year and quarter columns, a random walk with drift (gdp), a trending
    population, and two stationary AR(1) series (rate driven by the growth of gdp)."""
    rng = np.random.default_rng(seed)
    gdp = np.cumsum(0.5 + rng.normal(size=n))
    rate, infl = np.zeros(n), np.zeros(n)
    for t in range(1, n):
        infl[t] = 0.5 * infl[t - 1] + rng.normal()
        rate[t] = 0.5 * rate[t - 1] + 0.8 * (gdp[t - 1] - gdp[t - 2] if t > 1 else 0) + rng.normal()
    return pd.DataFrame({"year": 1959 + (np.arange(n) + 1) // 4, "quarter": np.arange(n) % 4 + 1, "gdp": gdp,
                         "pop": 170 + 0.3 * np.arange(n) + np.cumsum(rng.normal(0, 0.05, n)), "rate": rate,
                         "infl": infl})


def test_calendar_columns_are_counters_and_exact_cycles_only():
    frame = _quarterly()
    found = calendar_columns(frame)
    assert set(found) == {"year", "quarter"}
    assert "every 4 rows" in found["year"] and "repeats exactly every 4 rows" in found["quarter"]
    assert calendar_columns(frame, keep=["year"]).keys() == {"quarter"}
    counts = pd.DataFrame({"visits": np.random.default_rng(1).poisson(5, 200)})  # integers, not a calendar
    assert calendar_columns(counts) == {}


def test_adf_and_kpss_agree_on_a_random_walk_and_an_ar1():
    frame = _quarterly()
    f = stationarity_check(frame, ["gdp", "pop", "rate", "infl"])
    assert set(f.value) == {"gdp", "pop"}
    assert f.evidence["columns"]["infl"]["reading"] == "stationary"
    assert f.evidence["columns"]["gdp"]["adf_p"] > 0.05 and f.evidence["columns"]["gdp"]["kpss_p"] < 0.05


def test_a_trending_series_is_differenced_and_the_calendar_set_aside_with_reasons():
    frame = _quarterly()
    prep = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="0", format="synthetic"), seed=0)
    prof = prep.profile
    assert prof.findings["time_series"].value is True
    assert "year" not in prep.frame.columns and "quarter" not in prep.frame.columns
    repairs = {r["column"]: r for r in prof.repairs}
    assert repairs["year"]["repair"] == "calendar" and "not a causal variable" in repairs["year"]["reason"]
    assert repairs["gdp"]["repair"] == "differenced" and "change per step" in repairs["gdp"]["reason"]
    assert set(prof.findings["stationarity"].value) == {"gdp", "pop"}
    assert len(prep.frame) == len(frame) - 1
    assert np.allclose(prep.frame["gdp"], np.diff(frame["gdp"]))
    assert np.allclose(prep.frame["rate"], frame["rate"][1:])  # a stationary series is left as it is
    notes = profile_notes(prof)
    assert any(n.startswith("set aside as a calendar column: quarter") for n in notes)
    assert any(n.startswith("stationarity: 2 of 4") for n in notes)


def test_a_cross_section_keeps_its_year_column():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"year": np.repeat(np.arange(2000, 2010), 30), "x": rng.normal(size=300)})
    frame["y"] = frame["x"] + rng.normal(size=300)
    prep = profile_and_prepare(Dataset(frame=frame.sample(frac=1, random_state=0).reset_index(drop=True),
                                       path="<t>", sha256="0", format="synthetic"), seed=0)
    assert "year" in prep.frame.columns and "stationarity" not in prep.profile.findings


def test_tau_max_reason_has_no_python_none_when_the_var_cannot_be_fitted():
    from causalpilot.tools.discovery.time_series import choose_tau_max

    x = np.cumsum(np.random.default_rng(0).normal(size=300))
    tau, reason, evidence = choose_tau_max(np.column_stack([x, x, 2 * x]))  # collinear: the VAR is singular
    assert "var_order_error" in evidence
    assert "None" not in reason and "could not be fitted" in reason and tau >= 1


def test_a_link_no_resample_found_again_is_flagged_not_presented_plainly():
    """On macrodata PCMCI+ keeps realgdp --- cpi on the full data (the same code on the rows in order gives
    the same graph) while none of the 20 moving-block resamples finds it: the report says they disagree."""
    from causalpilot.reports.interpret import edge_sentence, graph_summary
    from causalpilot.tools.graph import CausalGraph, Edge

    never = Edge("realgdp", "cpi", "undirected", 0.0, 0)
    kept = Edge("unemp", "unemp", "directed", 1.0, 1)
    text = edge_sentence(never)
    assert "none of the bootstrap resamples" in text and "doubtful" in text and "0%" not in text
    assert "found in 100%" in edge_sentence(kept)
    summary = graph_summary(CausalGraph(["realgdp", "cpi", "unemp"], [never, kept], "lagged", "pcmci_plus", {}))
    assert "1 link(s) of the full-data graph appear in none of the resamples" in summary


def test_an_effect_on_a_differenced_series_says_it_is_about_changes():
    from causalpilot.tools.graph import CausalGraph, Edge
    from causalpilot.tools.inference.effects import infer

    frame = _quarterly(n=600, seed=4)
    prep = profile_and_prepare(Dataset(frame=frame, path="<t>", sha256="0", format="synthetic"), seed=0)
    nodes = list(prep.frame.columns)
    graph = CausalGraph(nodes, [Edge(c, c, "directed", None, 1) for c in ("rate", "infl", "pop")]
                        + [Edge("gdp", "rate", "directed", None, 1)], "lagged", "truth", {"tau_max": 1})
    eff = infer(prep, graph, "gdp", "rate")[0][0]
    lag1 = next(x for x in eff.lags if x.lag == 1)
    assert lag1.ci_low <= 0.8 <= lag1.ci_high  # rate responds to the growth of gdp, which is what is analysed
    assert any("a unit rise in the change of gdp on rate" in n for n in eff.notes)
