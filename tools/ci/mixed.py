"""A CI test for mixed data: likelihood-ratio tests of regressions that fit each variable's type.

Fisher-z and the Gaussian BIC treat a 0/1 column as a Gaussian measurement. For a binary variable
whose probability follows its causes through a link (logistic, probit, a threshold), the linear
fit is misspecified both ways: as a response its variance depends on its parents, and a partial
correlation of zero is not what its conditional independence implies. Here each variable is
regressed the way its type calls for, as in Tsagris, Borboudakis, Lagani & Tsamardinos (2018),
"Constraint-based causal discovery with mixed data" (Int. J. Data Sci. Anal. 6:19-30):

- continuous (and ordered integer codes): linear regression, LR = m log(RSS_0 / RSS_1);
- binary: logistic regression, LR = 2 (loglik_1 - loglik_0);
- unordered category with k levels: multinomial logistic regression on its k - 1 indicator columns.

``X _||_ Y | S`` is tested by regressing Y on S with and without X (X entering as its indicator
columns when it is a category), LR chi-square with (levels of Y - 1) x (columns of X) degrees of
freedom; and the other way round. The symmetric test keeps the larger of the two p-values (the
paper's conservative 'max' combination: a dependence must show in both regressions). When both are
continuous the two regressions give the same statistic and one is fitted. Rows with a missing value
in X, Y or S are left out of that test only (test-wise deletion), so the test runs on data with gaps.

Logistic fits are Newton-Raphson (iteratively reweighted least squares) with a tiny ridge so that
perfectly separated data still converge to a finite log-likelihood.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import chi2

MIXED_LRT = "mixed_lrt"
RIDGE = 1e-6
MAX_NEWTON = 30
_CLASS = None


def _design(col: np.ndarray, kind: str) -> np.ndarray:
    """A variable as regressors: an unordered category's indicators (the most common level left out),
    else the standardised column; shape (m, width)."""
    if kind == "categorical":
        levels, counts = np.unique(col, return_counts=True)
        ref = levels[int(np.argmax(counts))]
        blocks = [(col == lev).astype(float) for lev in levels if lev != ref]
        return np.column_stack(blocks) if blocks else np.empty((len(col), 0))
    sd = col.std()
    return ((col - col.mean()) / (sd if sd > 0 else 1.0))[:, None]


def _gaussian_loglik(y: np.ndarray, A: np.ndarray) -> float:
    """Profile log-likelihood (up to a constant) of a linear regression: -m/2 log(RSS / m)."""
    beta = np.linalg.lstsq(A, y, rcond=None)[0]
    r = y - A @ beta
    return -0.5 * len(y) * math.log(max(float(r @ r) / len(y), 1e-300))


def binary_logliks(y: np.ndarray, A: np.ndarray) -> np.ndarray:
    """Maximised log-likelihoods of logistic regressions of one 0/1 response ``y`` (n,) on a stack of
    designs ``A`` (m, n, d; intercept included), all fitted at once by Newton-Raphson (IRLS) with a tiny
    ridge. Returns shape (m,)."""
    m, n, d = A.shape
    B = np.zeros((m, d))
    At = A.transpose(0, 2, 1)
    eye = RIDGE * np.eye(d)
    active = np.arange(m)  # the fits still moving
    for _ in range(MAX_NEWTON):
        a, at = A[active], At[active]
        eta = np.matmul(a, B[active][..., None])[..., 0]
        mu = 1.0 / (1.0 + np.exp(-eta))
        grad = np.matmul(at, (y[None, :] - mu)[..., None])[..., 0] - RIDGE * B[active]
        H = np.matmul(at * (mu * (1.0 - mu))[:, None, :], a) + eye
        try:
            step = np.linalg.solve(H, grad[..., None])[..., 0]
        except np.linalg.LinAlgError:
            step = np.stack([np.linalg.lstsq(h, g, rcond=None)[0] for h, g in zip(H, grad)])
        B[active] += step
        active = active[np.max(np.abs(step), axis=1) >= 1e-8]
        if not len(active):
            break
    eta = np.matmul(A, B[..., None])[..., 0]
    return (y[None, :] * eta - np.logaddexp(0.0, eta)).sum(axis=1)


def _multinomial_loglik(labels: np.ndarray, A: np.ndarray) -> float:
    """Maximised log-likelihood of a (multinomial) logistic regression of ``labels`` (codes 0..k-1,
    shape (m,)) on A (m, d, intercept included), by Newton-Raphson with a tiny ridge."""
    m, d = A.shape
    k = int(labels.max()) + 1
    if k < 2:
        return 0.0
    if k == 2:
        return float(binary_logliks(labels.astype(float), A[None])[0])
    Y = np.eye(k)[labels][:, 1:]  # level 0 is the reference
    q = k - 1
    B = np.zeros((d, q))
    for _ in range(MAX_NEWTON):
        eta = A @ B
        P = np.exp(eta - np.logaddexp.reduce(np.column_stack([np.zeros(m), eta]), axis=1)[:, None])
        grad = (A.T @ (Y - P)).T.reshape(-1) - RIDGE * B.T.reshape(-1)
        H = np.empty((q * d, q * d))
        for a in range(q):
            for b in range(q):
                w = P[:, a] * ((a == b) - P[:, b])
                H[a * d:(a + 1) * d, b * d:(b + 1) * d] = (A * w[:, None]).T @ A
        H += RIDGE * np.eye(q * d)
        try:
            step = np.linalg.solve(H, grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, grad, rcond=None)[0]
        B += step.reshape(q, d).T
        if np.max(np.abs(step)) < 1e-8:
            break
    eta = np.column_stack([np.zeros(m), A @ B])
    return float((eta[np.arange(m), labels] - np.logaddexp.reduce(eta, axis=1)).sum())


class MixedLRT:
    """The test on a data matrix (n, p) whose columns have the given kinds ('continuous', 'discrete',
    'binary', 'categorical'; NaN where a value is missing). Call with (x, y, S) for a p-value."""

    def __init__(self, data: np.ndarray, kinds: list[str]) -> None:
        self.data = np.asarray(data, dtype=float)
        if len(kinds) != self.data.shape[1]:
            raise ValueError(f"{len(kinds)} kinds for {self.data.shape[1]} columns")
        self.kinds = [k if k in ("binary", "categorical") else "continuous" for k in kinds]
        self.missing = bool(np.isnan(self.data).any())
        self._cache: dict[tuple, float] = {}

    def __call__(self, x: int, y: int, S=None) -> float:
        S = tuple(sorted({int(s) for s in (S or ())}))
        x, y = (int(x), int(y)) if x < y else (int(y), int(x))
        if x in S or y in S:
            raise AssertionError("X, Y cannot be in condition_set.")
        key = (x, y, S)
        if key not in self._cache:
            self._cache[key] = self._pvalue(x, y, S)
        return self._cache[key]

    def _pvalue(self, x: int, y: int, S: tuple[int, ...]) -> float:
        cols = [x, y, *S]
        D = self.data[:, cols]
        if self.missing:
            D = D[~np.isnan(D).any(axis=1)]
        if len(D) < len(cols) + 3:
            return 1.0  # too few complete rows to test: no evidence of dependence
        Z = [np.ones((len(D), 1))] + [_design(D[:, 2 + i], self.kinds[s]) for i, s in enumerate(S)]
        directions = [(1, 0)] if self.kinds[x] == self.kinds[y] == "continuous" else [(1, 0), (0, 1)]
        ps = []
        for r, e in directions:  # response column r of D, explanatory column e
            kind, other = self.kinds[cols[r]], _design(D[:, e], self.kinds[cols[e]])
            if other.shape[1] == 0:
                return 1.0
            A0 = np.column_stack(Z)
            A1 = np.column_stack([A0, other])
            if kind == "continuous":
                ll0, ll1, levels = _gaussian_loglik(D[:, r], A0), _gaussian_loglik(D[:, r], A1), 2
            else:
                labels = np.unique(D[:, r], return_inverse=True)[1].reshape(-1)
                levels = int(labels.max()) + 1
                if levels < 2:
                    return 1.0
                ll0, ll1 = _multinomial_loglik(labels, A0), _multinomial_loglik(labels, A1)
            df = (levels - 1) * other.shape[1]
            ps.append(float(chi2.sf(max(2.0 * (ll1 - ll0), 0.0), df)))
        return max(ps)


def register() -> str:
    """Register the test with causal-learn under :data:`MIXED_LRT` (once) and return the name; PC and
    FCI then take it by name with ``kinds=[...]`` (one kind per column) among their keyword arguments."""
    global _CLASS
    if _CLASS is None:
        from causallearn.utils.cit import CIT_Base, register_ci_test

        class MixedLRTCit(CIT_Base):
            def __init__(self, data, kinds=None, **kwargs):
                super().__init__(data, **kwargs)
                self.method = MIXED_LRT
                kinds = list(kinds or [])  # a column beyond the kinds given (CD-NOD's context index): continuous
                self._test = MixedLRT(np.asarray(data, dtype=float),
                                      kinds + ["continuous"] * (data.shape[1] - len(kinds)))

            def __call__(self, X, Y, condition_set=None):
                return self._test(X, Y, condition_set)

        register_ci_test(MIXED_LRT, MixedLRTCit)
        _CLASS = MixedLRTCit
    return MIXED_LRT
