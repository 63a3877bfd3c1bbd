"""The run's time budget: repeated steps run as many repetitions as fit, and say what they cut."""

import time

import numpy as np
import pandas as pd
import pytest

from causalpilot.tools.budget import current, fit_repetitions, time_budget


def test_repetitions_fit_in_the_share_of_the_budget_left(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    assert fit_repetitions(20, 3.0, 2, 0.5, "resamples").granted == 20  # no budget: all
    with time_budget(100):
        clock[0] += 40  # 60 s left, 30 s of them for this step: 10 rounds of 2 workers
        fit = fit_repetitions(50, 3.0, 2, 0.5, "bootstrap resamples", minimum=5)
        assert (fit.wanted, fit.granted) == (50, 20)
        assert "50 bootstrap resamples would take about 1 min 15 s" in fit.note and "20 were run" in fit.note
        assert fit_repetitions(8, 3.0, 2, 0.5, "resamples").note is None  # 12 s: fits
        clock[0] += 55  # 5 s left, 2.5 s for the step: not one repetition of 3 s
        fit = fit_repetitions(50, 3.0, 2, 0.5, "resamples", minimum=5)
        assert fit.granted == 0 and "none were run" in fit.note
    assert current() is None  # the budget ends with its block
    with time_budget(0):
        assert current() is None  # 0: no limit


def test_a_spent_budget_cuts_the_planned_bootstrap_but_not_one_the_user_fixed(tmp_path):
    import causalpilot

    rng = np.random.default_rng(0)
    x = rng.normal(size=600)
    y = x + rng.normal(size=600)
    df = pd.DataFrame({"x": x, "y": y, "z": y + rng.normal(size=600)})
    res = causalpilot.analyse(df, time_budget=1e-6, memory=False)
    cut = [d for d in res.decisions if d["step"] == "discovery.bootstrap_budget"]
    assert cut and cut[0]["choice"] == 0 and "time budget" in cut[0]["reason"]
    assert all(e.confidence is None for e in res.graph.edges)
    fixed = causalpilot.analyse(df, time_budget=1e-6, bootstrap=6, memory=False)
    assert not [d for d in fixed.decisions if d["step"] == "discovery.bootstrap_budget"]
    assert all(e.confidence is not None for e in fixed.graph.edges)


@pytest.mark.parametrize("value", [-1, "soon", True])
def test_a_bad_budget_is_refused_in_one_sentence(value):
    import causalpilot

    df = pd.DataFrame({"a": np.arange(30.0), "b": np.arange(30.0) % 7})
    with pytest.raises(causalpilot.InputError, match="time.budget"):
        causalpilot.analyse(df, time_budget=value, memory=False)


def test_a_spent_budget_stops_the_boss_restarts_and_the_best_graph_so_far_is_reported():
    """Dense peer data (p = 10, edge probability 0.5): without a budget BOSS runs from several orders until its
    best score comes back; with the budget spent it keeps the first run's graph, and the report says so."""
    import causalpilot
    from causalpilot.evals.generators import peer_sem

    df = peer_sem(p=10, edge_prob=0.5, seed=3).data
    free = causalpilot.analyse(df, algorithm="boss", bootstrap=0, time_budget=0, memory=False)
    assert free.graph.parameters["starts_used"] >= 2 and "starts_cut" not in free.graph.parameters
    spent = causalpilot.analyse(df, algorithm="boss", bootstrap=0, time_budget=1e-6, memory=False)
    assert spent.graph.parameters["starts_used"] == 1 and spent.graph.parameters["starts_cut"]["seconds_left"] == 0
    assert spent.graph.parameters["score"] <= free.graph.parameters["score"]  # the restarts can only improve it
    (d,) = [d for d in spent.decisions if d["step"] == "discovery.starts_budget"]
    assert d["choice"] == 1 and "stopped BOSS's restarts after 1 of at most" in d["reason"]
    assert "restarts after 1 of at most" in spent.report_html()
