"""The profile's vectorised checks give the per-regression answers (issue #21): residuals of every column on
the others from one factorisation, RESET for all pairs sharing a cause from one SVD; large tables are
checked on a stated seeded subsample, and `discover` skips the checks it never reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from causalpilot.tools.loading import Dataset
from causalpilot.tools.profile import checks, prepare, profile_and_prepare


def _reset_one(x, y, covariates=None) -> float:
    """RESET as one pair's two ``lstsq`` calls: the textbook reference the vectorised version must match."""
    n = len(x)
    A = np.column_stack([np.ones(n), x] + ([] if covariates is None else [covariates]))
    fit = A @ np.linalg.lstsq(A, y, rcond=None)[0]
    rss0 = float(np.sum((y - fit) ** 2))
    f = fit / (np.std(fit) + 1e-12)
    B = np.column_stack([A, f ** 2, f ** 3])
    rss1 = float(np.sum((y - B @ np.linalg.lstsq(B, y, rcond=None)[0]) ** 2))
    df2 = n - B.shape[1]
    return float(stats.f.sf(max(((rss0 - rss1) / 2) / (rss1 / df2), 0.0), 2, df2))


def _mixed_data(n: int = 600, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    b = a + rng.normal(size=n)
    c = np.sin(2 * b) + 0.3 * rng.normal(size=n)
    d = b ** 2 + rng.standard_t(3, size=n)
    e = rng.exponential(size=n) + 0.5 * a
    X = np.column_stack([a, b, c, d, e])
    C = np.column_stack([(a > 0).astype(float), rng.integers(0, 3, n), (a > 0).astype(float)])  # a repeated column
    return (X - X.mean(0)) / X.std(0), (C - C.mean(0)) / C.std(0)


@pytest.mark.parametrize("with_covariates", [False, True])
def test_reset_for_all_pairs_equals_one_regression_per_pair(with_covariates):
    X, C = _mixed_data()
    C = C if with_covariates else None
    pairs = [(i, j) for i in range(5) for j in range(5) if i != j]
    expected = np.array([_reset_one(X[:, i], X[:, j], C) for i, j in pairs])
    got = checks.reset_pvalues(X, pairs, C)
    assert np.allclose(got, expected, rtol=1e-7, atol=1e-12)
    assert (got < 1e-6).sum() >= 4  # the nonlinear pairs are there to be found


def test_reset_calls_an_exact_linear_relation_linear():
    x = np.linspace(-1, 1, 80)
    X = np.column_stack([x, 10 * x])
    X = (X - X.mean(0)) / X.std(0)
    assert list(checks.reset_pvalues(X, [(0, 1), (1, 0)])) == [1.0, 1.0]


def test_residuals_on_the_rest_equal_one_least_squares_fit_per_column():
    X, _ = _mixed_data()
    n, p = X.shape
    got = checks.residuals_on_the_rest(X)
    for j in range(p):
        A = np.column_stack([np.ones(n), np.delete(X, j, axis=1)])
        r = X[:, j] - A @ np.linalg.lstsq(A, X[:, j], rcond=None)[0]
        assert np.allclose(got[:, j], r, atol=1e-10)
    # an exact copy makes the Gram matrix singular: the per-column fallback gives zero residuals for both
    Y = np.column_stack([X, X[:, 0]])
    R = checks.residuals_on_the_rest(Y)
    assert np.abs(R[:, [0, p]]).max() < 1e-8  # each copy is fitted exactly by the other
    assert np.allclose(R[:, 1:p], got[:, 1:], atol=1e-8)  # the others' fits do not change


def test_gaussianity_reads_residuals_not_margins():
    rng = np.random.default_rng(3)
    n = 2000
    gauss = pd.DataFrame({"a": rng.normal(size=n)})
    gauss["b"] = 0.5 * gauss["a"] + rng.normal(size=n)
    assert checks.gaussianity_check(gauss).value == "gaussian"
    skewed = pd.DataFrame({"a": rng.exponential(size=n)})
    skewed["b"] = 0.5 * skewed["a"] + rng.exponential(size=n)
    finding = checks.gaussianity_check(skewed)
    assert finding.value == "non-gaussian" and finding.evidence["rejected"] == 2


def _dataset(frame: pd.DataFrame) -> Dataset:
    return Dataset(frame=frame, path="<t>", sha256="0" * 64, format="synthetic")


def test_large_tables_are_checked_on_a_stated_seeded_subsample(monkeypatch):
    monkeypatch.setattr(prepare, "CHECK_ROWS", 500)
    rng = np.random.default_rng(5)
    n = 1500
    x = rng.uniform(-2, 2, n)
    frame = pd.DataFrame({"x": x, "y": x ** 2 + 0.3 * rng.normal(size=n), "z": rng.normal(size=n)})
    one = profile_and_prepare(_dataset(frame), seed=4).profile
    again = profile_and_prepare(_dataset(frame), seed=4).profile
    assert json.dumps(one.to_dict()) == json.dumps(again.to_dict())
    for name in ("linearity", "gaussianity"):
        f = one.findings[name]
        assert f.evidence["rows_checked"].startswith("a seeded subsample of 500 of the 1500 rows")
        assert f.summary.endswith("(on a seeded subsample of 500 rows)")
    assert one.value("linearity") == "nonlinear"  # 500 rows still find the parabola
    small = profile_and_prepare(_dataset(frame.iloc[:400]), seed=4).profile
    assert "rows_checked" not in small.findings["linearity"].evidence


def test_discover_skips_the_checks_its_fixed_plan_never_reads(tmp_path, capsys):
    from causalpilot.evals.generators import linear_sem
    from tests.helpers import run_cli

    data = tmp_path / "d.csv"
    linear_sem(p=6, n=500, expected_degree=2.0, seed=0).data.to_csv(data, index=False)
    outs = {}
    for algorithm in ("pc", "direct_lingam"):
        out = tmp_path / algorithm
        code, _, err = run_cli(["discover", data, "--algorithm", algorithm, "--out", out, "--quiet",
                                "--memory", tmp_path / "m.sqlite3"], capsys)
        assert code == 0, err
        outs[algorithm] = json.loads((out / "run.json").read_text())["profile"]["findings"]
    pc, lingam = outs["pc"], outs["direct_lingam"]
    assert pc["measurement_error"]["value"] is None and pc["measurement_error"]["evidence"] == {"skipped": True}
    assert pc["gaussianity"]["evidence"] == {"skipped": True} and pc["gaussianity"]["summary"].startswith("not run: ")
    assert pc["linearity"]["value"] == "linear"  # the fit check reads it for PC's Fisher-z test
    # DirectLiNGAM rests on non-Gaussian noise: its fit check reads the Gaussianity finding, so it is run
    assert lingam["gaussianity"]["value"] == "gaussian" and "skipped" not in lingam["gaussianity"]["evidence"]
    assert lingam["measurement_error"]["evidence"] == {"skipped": True}
    with pytest.raises(ValueError):
        profile_and_prepare(_dataset(pd.DataFrame({"a": [1.0, 2.0] * 10, "b": range(20)})), skip={"linearity": "x"})
