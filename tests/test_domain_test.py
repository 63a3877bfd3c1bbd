"""The domain-aware CI test behind CD-NOD and BOSS on pooled domains, and the within-domain profile checks."""

from __future__ import annotations

import numpy as np

from causalpilot.evals.generators import copilot_sem
from causalpilot.tools.ci.domain import DomainTest
from causalpilot.tools.profile import profile_and_prepare
from causalpilot.tools.loading import Dataset


def _two_domains(change_slope: float, change_noise: float, n: int = 600, seed: int = 0) -> np.ndarray:
    """x -> y in two domains; y's slope and noise scale may change in the second."""
    rng = np.random.default_rng(seed)
    rows = []
    for d, (b, s) in enumerate([(1.0, 1.0), (1.0 + change_slope, 1.0 + change_noise)]):
        x = rng.normal(size=n)
        y = b * x + s * rng.normal(size=n)
        rows.append(np.column_stack([x, y, np.full(n, d)]))
    return np.vstack(rows)


def test_a_change_in_slope_or_in_noise_scale_is_detected_and_an_invariant_mechanism_is_not():
    # columns: 0 = x, 1 = y, 2 = domain index (C)
    assert DomainTest(_two_domains(0.8, 0.0))(1, 2, [0]) < 1e-4  # slope changes
    assert DomainTest(_two_domains(0.0, 0.8))(1, 2, [0]) < 1e-4  # only the noise scale changes: Fisher-z misses it
    from causallearn.utils.cit import CIT

    data = _two_domains(0.0, 0.8)
    assert CIT(data, "fisherz")(1, 2, [0]) > 0.01
    assert DomainTest(_two_domains(0.0, 0.0))(1, 2, [0]) > 0.01  # same mechanism in both domains
    # x's own distribution is the same everywhere, whatever happens to y
    assert DomainTest(_two_domains(0.8, 0.8))(0, 2, []) > 0.01


def test_the_invariance_test_holds_its_level_under_the_null():
    pvals = [DomainTest(_two_domains(0.0, 0.0, n=300, seed=s))(1, 2, [0]) for s in range(200)]
    assert 0.02 < np.mean(np.array(pvals) < 0.05) < 0.09
    assert 0.4 < np.mean(pvals) < 0.6  # roughly uniform


def test_within_domain_independence_uses_every_domain():
    rng = np.random.default_rng(1)
    n = 500
    # x and y independent in domain 0, dependent in domain 1
    x = rng.normal(size=2 * n)
    y = rng.normal(size=2 * n) + np.r_[np.zeros(n), 0.5 * x[n:]]
    data = np.column_stack([x, y, np.r_[np.zeros(n), np.ones(n)]])
    assert DomainTest(data)(0, 1, [2]) < 1e-4
    data0 = np.column_stack([x, rng.normal(size=2 * n), np.r_[np.zeros(n), np.ones(n)]])
    assert DomainTest(data0)(0, 1, [2]) > 0.01


def test_pooled_domains_are_judged_linear_gaussian_within_domains():
    syn = copilot_sem(p=8, n=1500, edge_prob=0.3, seed=5, domains=3)
    ds = Dataset(frame=syn.data, path="<het>", sha256="x", format="synthetic")
    prof = profile_and_prepare(ds, seed=0).profile
    assert prof.domain_index == "domain"
    assert prof.value("linearity") == "linear" and prof.value("gaussianity") == "gaussian"
    assert "within each of 3 domains" in prof.findings["gaussianity"].summary
    # the same rows pooled, without the index, look non-Gaussian (a scale mixture is heavy-tailed)
    pooled = Dataset(frame=syn.data.rename(columns={"domain": "unnamed"}).drop(columns="unnamed"), path="<p>",
                     sha256="y", format="synthetic")
    assert profile_and_prepare(pooled, seed=0).profile.value("gaussianity") == "non-gaussian"


def _category_in_domains(change: bool, n: int = 600, seed: int = 0) -> np.ndarray:
    """x -> site (three levels, as two indicator columns) in two domains; the levels' log-odds given x
    may change in the second. Columns: x, site[b], site[c], domain."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(2):
        x = rng.normal(size=n)
        slope = np.array([0.0, 1.0, -1.0]) * (1 + (1.5 if change and d else 0))
        logits = np.outer(x, slope)
        pr = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
        site = (rng.random(n)[:, None] > pr.cumsum(1)).sum(1)
        rows.append(np.column_stack([x, site == 1, site == 2, np.full(n, d)]).astype(float))
    return np.vstack(rows)


def test_a_category_block_is_tested_as_one_multivariate_regression():
    assert DomainTest(_category_in_domains(True)).invariance([1, 2], [0]) < 1e-4
    pvals = [DomainTest(_category_in_domains(False, seed=s)).invariance([1, 2], [0]) for s in range(100)]
    assert np.mean(np.array(pvals) < 0.05) < 0.12  # holds its level under the null
    # one column: the same test as before
    data = _two_domains(0.3, 0.0)
    assert np.isclose(DomainTest(data).invariance([1], [0]), DomainTest(data)(1, 2, [0]))
