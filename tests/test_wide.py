"""Wide data (hundreds to thousands of variables): the profile's costs stay near O(n p^2), PC reports the
progress of its skeleton with the tests of each depth counted beforehand, and the report's figure gives
the size of a graph too large to draw."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from causalpilot.evals.generators import linear_sem
from causalpilot.tools.profile import checks
from causalpilot.tools.profile.parsing import encode_variables


def test_residuals_on_all_other_columns_from_one_inverse_match_the_regressions():
    rng = np.random.default_rng(0)
    X = checks._standardise(rng.normal(size=(400, 70)) @ rng.normal(size=(70, 70)))
    collinear = np.column_stack([X[:, :5], X[:, 0] + X[:, 1]])  # singular: the per-column fallback
    for data in (X, collinear):
        R = checks.residuals_on_the_rest(data)
        for j in (0, 3, data.shape[1] - 1):
            A = np.column_stack([np.ones(len(data)), np.delete(data, j, axis=1)])
            r = data[:, j] - A @ np.linalg.lstsq(A, data[:, j], rcond=None)[0]
            assert np.allclose(R[:, j], r, atol=1e-8)


def test_the_gaussianity_check_finds_the_one_non_gaussian_variable_among_many():
    rng = np.random.default_rng(1)
    df = pd.DataFrame(rng.normal(size=(300, 80)), columns=[f"v{i}" for i in range(80)])
    df["v3"] = rng.exponential(size=300)  # one clearly non-Gaussian variable
    found = checks.gaussianity_check(df)
    assert "v3" in found.evidence["non_gaussian"]


def test_encoding_a_thousand_columns_does_not_fragment_the_frame():
    df = pd.DataFrame(np.arange(20 * 1000, dtype=float).reshape(20, 1000), columns=[f"c{i}" for i in range(1000)])
    with warnings.catch_warnings():
        warnings.simplefilter("error", pd.errors.PerformanceWarning)
        work, repairs = encode_variables(df, {c: "continuous" for c in df.columns})
    assert work.shape == (20, 1000) and list(work.columns) == list(df.columns) and repairs == []
    assert work.equals(df)


def test_the_skeleton_reports_each_depth_with_its_tests_counted_beforehand():
    from causalpilot.tools.ci.fisherz import clear_caches
    from causalpilot.tools.discovery import fast_pc

    X = linear_sem(p=40, n=500, seed=3).data.to_numpy()
    calls: list[tuple[int, int, int]] = []
    clear_caches()
    with fast_pc.reporting(lambda d, done, planned: calls.append((d, done, planned))):
        _, res = fast_pc.pc(X, 0.05, return_stats=True)
    planned = {d: p for d, _, p in calls}
    assert sorted(planned) == list(range(res.depth_reached + 1))
    assert sum(planned.values()) == res.tests_run  # the count made before a depth runs is the tests it runs
    for d, p in planned.items():
        done = [x for dd, x, _ in calls if dd == d]
        assert done[0] == 0 and done[-1] == p and done == sorted(done)
    clear_caches()
    _, again = fast_pc.pc(X, 0.05, return_stats=True)  # nobody listening: the same skeleton
    assert (again.adjacency == res.adjacency).all()


def test_skeleton_progress_lines_name_the_depth_and_the_time_left():
    from causalpilot.agent.progress import skeleton_progress

    lines: list[str] = []
    update = skeleton_progress(lines.append, min_tests=100)
    update(0, 0, 50)  # too few tests to report
    update(1, 0, 400)
    update(1, 400, 400)
    update(1, 400, 400)  # a closed depth stays closed
    assert lines == ["      PC depth 1: 400 tests in 0.0 s"]
    assert skeleton_progress(None) is None


def test_a_graph_too_large_to_draw_gets_a_figure_of_its_size(monkeypatch):
    from causalpilot.reports import figures
    from causalpilot.tools.graph import CausalGraph, Edge

    monkeypatch.setattr(figures, "DRAW_MAX_NODES", 5)
    nodes = [f"n{i}" for i in range(8)]
    graph = CausalGraph(nodes, [Edge("n0", "n1", "directed")], "CPDAG", "pc")
    monkeypatch.setattr(figures, "layout", lambda g: (_ for _ in ()).throw(AssertionError("laid out")))
    png = figures.graph_png(graph)
    assert png.startswith(b"\x89PNG") and png == figures.graph_png(graph)
