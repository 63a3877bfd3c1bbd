"""Statistical checks that steer the choice of method: linearity (Ramsey RESET) and Gaussian noise
(D'Agostino-Pearson), each with its p-values corrected for multiple testing by Benjamini-Yekutieli."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats
from statsmodels.stats.multitest import multipletests

from causalpilot.tools.profile.domains import domain_row_groups
from causalpilot.tools.profile.model import Finding

FDR_Q = 0.05  # false discovery rate of each check's tests


def fdr_rejections(pvalues: np.ndarray, q: float = FDR_Q) -> np.ndarray:
    """Which of the tests reject under the Benjamini-Yekutieli FDR procedure at level ``q``.

    ``pvalues``: shape (m,); a NaN p-value never rejects. Returns a boolean array of shape (m,).
    Benjamini & Yekutieli (2001), valid under any dependence between the tests (the pair tests share
    variables); computed by statsmodels' ``multipletests(method='fdr_by')``.
    """
    return multipletests(np.asarray(pvalues, dtype=float), alpha=q, method="fdr_by")[0]


def linearity_check(df: pd.DataFrame, rng: np.random.Generator, max_pairs: int = 100,
                    groups: np.ndarray | None = None, covariates: np.ndarray | None = None) -> Finding:
    """Ramsey RESET on up to ``max_pairs`` ordered pairs, Benjamini-Yekutieli corrected.

    ``df``: the continuous variables (n rows, p >= 2 columns); ``rng`` draws the pairs when there are
    more than ``max_pairs``. Data are called nonlinear when more than 10% of the tested pairs reject
    linearity. With ``groups`` (a domain code per row, shape (n,)) the pairs are tested within each
    domain of at least 30 rows.

    ``covariates`` (the discrete variables as a design matrix, shape (n, k)): a binary variable on a
    path between two measurements bends their marginal relation (treatment given at high income: spend
    against income is a linear part plus a logistic step) though every mechanism is linear, while
    adjusting for a binary common child bends the conditional one. A pair then counts as nonlinear only
    if RESET rejects both without and with the discrete variables as linear covariates (the larger
    p-value; an intersection-union test, so the level holds). RESET: Ramsey (1969), with the fitted
    values' squares and cubes as added regressors and an F test (:func:`reset_pvalues`).
    """
    raw = df.to_numpy(dtype=float)
    p = raw.shape[1]
    pairs = [(i, j) for i in range(p) for j in range(p) if i != j]
    if len(pairs) > max_pairs:
        pairs = [pairs[k] for k in sorted(rng.choice(len(pairs), size=max_pairs, replace=False))]
    parts = domain_row_groups(len(raw), groups, 30)
    tested, pvals = [], []
    for rows in parts:
        X = _standardise(raw[rows])
        C = None if covariates is None else _standardise(covariates[rows])
        if C is not None and C.shape[1] > len(rows) // 10:
            C = None  # too few rows to adjust for this many indicator columns
        tested += pairs
        plain = reset_pvalues(X, pairs)
        pvals += list(plain if C is None else np.maximum(plain, reset_pvalues(X, pairs, C)))
    rej = fdr_rejections(np.array(pvals))
    frac = float(rej.mean())
    nonlinear_pairs = list({(df.columns[i], df.columns[j]): None for (i, j), r in zip(tested, rej) if r})[:10]
    value = "nonlinear" if frac > 0.10 else "linear"
    where = f" within each of {len(parts)} domains" if groups is not None and len(parts) > 1 else ""
    evidence = {"test": "Ramsey RESET (powers 2, 3)" + where, "pairs_tested": len(tested), "rejected": int(rej.sum()),
                "fraction_rejected": round(frac, 4), "correction": f"Benjamini-Yekutieli q={FDR_Q}",
                "examples": [list(pair) for pair in nonlinear_pairs]}
    if covariates is not None:
        evidence["rule"] = ("a pair rejects only if RESET rejects both without and with the discrete variables "
                            "as linear covariates")
    return Finding("linearity", value, evidence,
                   f"{int(rej.sum())} of {len(tested)} pair tests{where} reject linearity (RESET, BY-corrected): {value}")


def gaussianity_check(df: pd.DataFrame, groups: np.ndarray | None = None) -> Finding:
    """D'Agostino-Pearson normality of each variable's residual on all the others, BY-corrected.

    ``df``: the continuous variables (n rows, p >= 2 columns). Residuals on all others estimate each
    variable's noise (mixed with its Markov blanket's) in the linear case; noise is called non-Gaussian
    when at least half of them reject normality (scipy's ``normaltest``; fewer than 20 rows never
    reject). With ``groups`` (a domain code per row, shape (n,)) the residuals are taken and tested
    within each domain of at least 30 rows. The residuals of all variables come from one inverse of
    the Gram matrix (:func:`residuals_on_the_rest`) and are tested in one vectorised call.
    """
    raw = df.to_numpy(dtype=float)
    p = raw.shape[1]
    parts = domain_row_groups(len(raw), groups, 30)
    pvals, var_of = [], []
    for rows in parts:
        R = residuals_on_the_rest(_standardise(raw[rows]))
        pvals += list(_normality_pvalues(R))
        var_of += list(range(p))
    rej = fdr_rejections(np.array(pvals))
    frac = float(rej.mean())
    value = "non-gaussian" if frac >= 0.5 else "gaussian"
    where = f" within each of {len(parts)} domains" if groups is not None and len(parts) > 1 else ""
    flagged = sorted({var_of[k] for k in range(len(rej)) if rej[k]})
    return Finding("gaussianity", value,
                   {"test": "D'Agostino-Pearson on regression residuals" + where, "variables_tested": p,
                    "tests": len(pvals), "rejected": int(rej.sum()), "fraction_rejected": round(frac, 4),
                    "non_gaussian": [df.columns[j] for j in flagged][:20]},
                   f"{int(rej.sum())} of {len(pvals)} residuals{where} reject normality (BY-corrected): {value} noise")


def indicator_columns(codes: np.ndarray) -> list[np.ndarray]:
    """An unordered category's codes (shape (n,)) as 0/1 float indicators (each shape (n,)) of every
    level but the most common, which is the reference (the smallest code on a tie)."""
    levels, counts = np.unique(codes, return_counts=True)
    reference = levels[int(np.argmax(counts))]
    return [(codes == lev).astype(float) for lev in levels if lev != reference]


def discrete_design(work: pd.DataFrame, discrete: list[str], unordered: set[str]) -> np.ndarray | None:
    """The discrete variables as linear covariates, shape (n rows, k), or None when there are none:
    binary and ordered codes as they are, the ``unordered`` ones as :func:`indicator_columns`."""
    blocks = []
    for c in discrete:
        v = work[c].to_numpy(dtype=float)
        blocks += indicator_columns(v) if c in unordered else [v]
    return np.column_stack(blocks) if blocks else None


def residuals_on_the_rest(X: np.ndarray) -> np.ndarray:
    """Each column's residual on all the other columns and an intercept: shape (n, p) from ``X`` (n, p).

    One Cholesky factorisation for all columns: with ``Xc`` the centred data and ``T = (Xc'Xc)^-1``,
    the residual of column j is ``Xc T[:, j] / T[j, j]`` (the regression identity behind partial
    correlations, e.g. Lauritzen 1996, sec. 5.1), the same least-squares residual as a separate
    ``lstsq`` per column. When the Gram matrix is near-singular (condition number above 1e8: an
    almost exact linear relation among columns) each column falls back to its own ``lstsq``, which
    handles rank deficiency.
    """
    n, p = X.shape
    Xc = X - X.mean(axis=0)
    G = Xc.T @ Xc
    try:
        if p and np.linalg.cond(G) < 1e8:
            T = scipy.linalg.cho_solve(scipy.linalg.cho_factor(G), np.eye(p))
            return Xc @ (T / np.diag(T))
    except (np.linalg.LinAlgError, scipy.linalg.LinAlgError):
        pass
    R = np.empty_like(Xc)
    for j in range(p):
        A = np.delete(Xc, j, axis=1)
        R[:, j] = Xc[:, j] - A @ np.linalg.lstsq(A, Xc[:, j], rcond=None)[0]
    return R


def _normality_pvalues(R: np.ndarray) -> np.ndarray:
    """D'Agostino-Pearson p-value of each column of ``R`` (n, p) (scipy's ``normaltest``, one call);
    1.0 for fewer than 20 rows and for a column that is constant (SD below 1e-12)."""
    out = np.ones(R.shape[1])
    ok = R.std(axis=0) >= 1e-12
    if len(R) >= 20 and ok.any():
        out[ok] = stats.normaltest(R[:, ok], axis=0).pvalue
    return out


def reset_pvalues(X: np.ndarray, pairs: list[tuple[int, int]], covariates: np.ndarray | None = None) -> np.ndarray:
    """Ramsey's RESET p-value for each ordered pair (i, j): is ``X[:, j]`` linear in ``X[:, i]``?

    ``X``: (n, p) standardised columns; ``covariates``: (n, k) columns added to both regressions, or
    None. For each pair: y = X[:, j] on A = [1, x, covariates] (residual sum of squares RSS0), then on
    A with the squares and cubes of the standardised fitted values added (RSS1); F = ((RSS0 - RSS1) /
    2) / (RSS1 / (n - k - 4)) on (2, n - k - 4) degrees of freedom (Ramsey 1969). Returns shape
    (len(pairs),); 1.0 where RSS1 is 0, where y is an exact linear function of A (RSS0 below 1e-24 of
    its sum of squares: the rest is rounding) or no degrees of freedom are left.

    Vectorised over the pairs that share a cause x (the design A is the same): one SVD of A per
    cause (its rank cut as ``numpy.linalg.lstsq`` cuts it), the fits of all their effects by one
    product, and the two added regressors orthogonalised against A and each other per pair (Frisch-
    Waugh-Lovell), instead of two ``lstsq`` calls per pair.
    """
    n = X.shape[0]
    out = np.ones(len(pairs))
    by_cause: dict[int, list[int]] = {}
    for k, (i, _j) in enumerate(pairs):
        by_cause.setdefault(i, []).append(k)
    for i, ks in by_cause.items():
        A = np.column_stack([np.ones(n), X[:, i]] + ([] if covariates is None else [covariates]))
        df2 = n - A.shape[1] - 2
        if df2 <= 0:
            continue
        Q = _orthonormal_basis(A)
        Y = X[:, [pairs[k][1] for k in ks]]
        fit = Q @ (Q.T @ Y)
        resid = Y - fit
        rss0 = _dot(resid, resid)
        f = fit / (fit.std(axis=0) + 1e-12)
        done: list[np.ndarray] = []  # the added regressors so far, orthonormal, per pair (n, m)
        for added in (f ** 2, f ** 3):  # each made orthogonal to A and to the one before, then projected out
            u = added - Q @ (Q.T @ added)
            for v in done:
                u = u - v * _dot(v, u)
            norm = np.sqrt(_dot(u, u))
            keep = norm > _RANK_TOL * np.sqrt(_dot(added, added))
            u = np.where(keep, u / np.where(keep, norm, 1.0), 0.0)
            resid = resid - u * _dot(u, resid)
            done.append(u)
        rss1 = _dot(resid, resid)
        with np.errstate(divide="ignore", invalid="ignore"):
            F = ((rss0 - rss1) / 2) / (rss1 / df2)
        exact = rss0 <= 1e-24 * _dot(Y, Y)  # a linear fit exact to rounding: what is left is rounding noise
        out[ks] = np.where((rss1 > 0) & ~exact, stats.f.sf(np.maximum(np.nan_to_num(F), 0.0), 2, df2), 1.0)
    return out


def _dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Column-wise inner products of two (n, m) arrays: shape (m,)."""
    return np.einsum("ij,ij->j", a, b)


_RANK_TOL = 1e-8  # an added regressor this close (relatively) to the span of the others adds nothing


def _orthonormal_basis(A: np.ndarray) -> np.ndarray:
    """Orthonormal columns spanning ``A`` (n, k): its left singular vectors whose singular values pass
    ``numpy.linalg.lstsq``'s default cut (machine epsilon x max(n, k) x the largest)."""
    U, s, _ = np.linalg.svd(A, full_matrices=False)
    if not len(s):
        return U
    return U[:, s > np.finfo(float).eps * max(A.shape) * s[0]]


def _standardise(X: np.ndarray) -> np.ndarray:
    sd = X.std(axis=0)
    sd[sd == 0] = 1.0
    return (X - X.mean(axis=0)) / sd
