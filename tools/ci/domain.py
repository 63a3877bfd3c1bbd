"""A CI test for CD-NOD with a domain index: linear-Gaussian within each domain, any change across them.

CD-NOD appends the domain index C as a variable and runs PC. Plain Fisher-z then treats C as a
number and only sees changes in the *mean* of a variable that line up with the domains' codes; a
mechanism whose coefficients or noise scale change (the usual kind of heterogeneity) stays invisible,
so CD-NOD reports no changing modules and gains nothing over PC. This test gives C its meaning:

- ``C _||_ V | S`` (the mechanism of V given S is the same in every domain): a likelihood-ratio
  test of one linear-Gaussian regression of V on S for all rows (intercept, slopes, noise variance)
  against a separate one per domain; the statistic ``n log s2_pooled - sum_d n_d log s2_d`` is
  chi-square with ``(D - 1)(|S| + 2)`` degrees of freedom under the null.
- ``X _||_ Y | S + {C}``: Fisher-z within each domain (partial correlation given S), the squared z
  scores summed over domains, chi-square with D degrees of freedom.
- ``X _||_ Y | S`` without C: Fisher-z on the pooled rows, as causal-learn does.

Assumptions: within a domain the variables are jointly Gaussian (linear mechanisms); domains are
the categories of C (few, each with enough rows: a domain with no more than |S| + 3 rows is left
out of a test). Everything is computed from per-domain covariance matrices, so a test costs a few
small solves.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2, norm

DOMAIN_FISHERZ = "fisherz_domain"
_CLASS = None


def _residual_logdet(cov: np.ndarray, v: list[int], S: list[int]) -> float:
    """log det of the covariance of the columns V left after a linear regression on the columns S."""
    if len(v) == 1:
        return math.log(max(_residual_variance(cov, v[0], S), 1e-300))
    cvv = cov[np.ix_(v, v)]
    if S:
        csv = cov[np.ix_(S, v)]
        cvv = cvv - csv.T @ np.linalg.lstsq(cov[np.ix_(S, S)], csv, rcond=None)[0]
    sign, logdet = np.linalg.slogdet(cvv)
    return float(logdet) if sign > 0 else math.log(1e-300)


def _residual_variance(cov: np.ndarray, v: int, S: list[int]) -> float:
    """Variance of V left after a linear regression on S (from a covariance matrix, ddof = 0)."""
    if not S:
        return float(cov[v, v])
    css = cov[np.ix_(S, S)]
    csv = cov[S, v]
    try:
        beta = np.linalg.solve(css, csv)
    except np.linalg.LinAlgError:
        beta = np.linalg.lstsq(css, csv, rcond=None)[0]
    return float(cov[v, v] - csv @ beta)


def _partial_corr(cov: np.ndarray, x: int, y: int, S: list[int]) -> float:
    idx = [x, y, *S]
    sub = cov[np.ix_(idx, idx)]
    try:
        inv = np.linalg.inv(sub)
    except np.linalg.LinAlgError:
        inv = np.linalg.pinv(sub)
    denom = math.sqrt(abs(inv[0, 0] * inv[1, 1]))
    r = -inv[0, 1] / denom if denom > 0 else 0.0
    return float(min(max(r, -1 + 1e-12), 1 - 1e-12))


class DomainTest:
    """The three tests above over ``data`` whose last column is the domain index (any codes)."""

    def __init__(self, data: np.ndarray) -> None:
        self.data = data
        self.n, width = data.shape
        self.c = width - 1
        X = data[:, :-1]
        codes = data[:, -1]
        self.pooled = np.cov(X, rowvar=False, ddof=0).reshape(width - 1, width - 1)
        self.domains = []  # (code, rows, covariance) per domain
        for g in np.unique(codes):
            rows = codes == g
            m = int(rows.sum())
            cov = np.cov(X[rows], rowvar=False, ddof=0).reshape(width - 1, width - 1) if m > 1 else None
            self.domains.append((g, m, cov))
        self._cache: dict = {}

    def _usable(self, k: int) -> list[tuple]:
        """The domains with enough rows for a test with k conditioning variables."""
        return [d for d in self.domains if d[2] is not None and d[1] > k + 3]

    def __call__(self, x: int, y: int, condition_set=None) -> float:
        S = tuple(sorted(set(int(s) for s in (condition_set or ()))))
        x, y = int(x), int(y)
        key = (min(x, y), max(x, y), S)
        if key not in self._cache:
            self._cache[key] = self._pvalue(x, y, S)
        return self._cache[key]

    def _pvalue(self, x: int, y: int, S: tuple[int, ...]) -> float:
        if x in S or y in S:
            raise AssertionError("X, Y cannot be in condition_set.")
        rest = [s for s in S if s != self.c]
        if self.c in (x, y):
            return self._invariance(y if x == self.c else x, rest)
        if self.c in S:
            return self._within(x, y, rest)
        r = _partial_corr(self.pooled, x, y, rest)
        z = math.sqrt(max(self.n - len(rest) - 3, 1)) * math.atanh(r)
        return float(2 * norm.sf(abs(z)))

    def _invariance(self, v: int, S: list[int]) -> float:
        return self.invariance([v], S)

    def invariance(self, v: list[int], S: list[int]) -> float:
        """p-value of 'the regression of the columns v on the columns S is the same in every domain'.

        With several columns in v (an unordered category's indicators) the regression is multivariate
        and the statistic ``n log det R_pooled - sum_d n_d log det R_d`` (R: residual covariance) has
        ``(D - 1) |v| (|S| + 1 + (|v| + 1) / 2)`` degrees of freedom; for one column this is the test above.
        """
        used = self._usable(len(S) + len(v) - 1)
        if len(used) < 2:
            return 1.0
        n = sum(m for _, m, _ in used)
        if len(used) == len(self.domains):
            pooled = self.pooled
        else:  # pool only the domains that enter the test
            rows = np.isin(self.data[:, -1], [g for g, _, _ in used])
            pooled = np.cov(self.data[rows, :-1], rowvar=False, ddof=0).reshape(self.pooled.shape)
        stat = n * _residual_logdet(pooled, v, S) - sum(m * _residual_logdet(cov, v, S) for _, m, cov in used)
        k = len(v)
        df = (len(used) - 1) * (k * (len(S) + 1) + k * (k + 1) // 2)
        return float(chi2.sf(max(stat, 0.0), df))

    def _within(self, x: int, y: int, S: list[int]) -> float:
        used = self._usable(len(S))
        stat = sum((m - len(S) - 3) * math.atanh(_partial_corr(cov, x, y, S)) ** 2 for _, m, cov in used)
        return float(chi2.sf(stat, len(used))) if used else 1.0


def register() -> str:
    """Register the test with causal-learn under :data:`DOMAIN_FISHERZ` (once) and return the name."""
    global _CLASS
    if _CLASS is None:
        from causallearn.utils.cit import CIT_Base, register_ci_test

        class DomainFisherZ(CIT_Base):
            def __init__(self, data, **kwargs):
                super().__init__(data, **kwargs)
                self.method = DOMAIN_FISHERZ
                self._test = DomainTest(np.asarray(data, dtype=float))

            def __call__(self, X, Y, condition_set=None):
                return self._test(X, Y, condition_set)

        register_ci_test(DOMAIN_FISHERZ, DomainFisherZ)
        _CLASS = DomainFisherZ
    return DOMAIN_FISHERZ
