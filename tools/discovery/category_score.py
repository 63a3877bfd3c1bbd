"""A BIC for mixed data with unordered categories: each category enters as its indicator columns.

The covariance BIC that BOSS and the exact search optimise treats every column as one number. For
an unordered category coded 0..k-1 in alphabetical order that is meaningless: 'east < north < south'
is an accident of spelling, and a linear fit on the codes misses any effect that is not monotone in
them. The degenerate-Gaussian score (Andrews, Ramsey & Cooper 2019, "Learning high-dimensional
directed acyclic graphs with mixed data-types") keeps the Gaussian BIC but lets a category with k
levels stand as its k-1 indicator columns (the most common level is the reference): as a parent it
adds k-1 regressors, as a child its log-likelihood is that of the block of indicators given the
parents' columns,

    score(v, S) = -n/2 (|B_v| + log det Cov(B_v | B_S)) - penalty |B_v| (|B_S| + 1) log n,

which, for one column and singleton parents, is exactly causal-learn's ``local_score_BIC_from_cov``
(so continuous and ordinal columns are scored as before). It stays score-equivalent, so the search
still returns a CPDAG; a two-level category is one indicator, the same as its 0/1 code.
"""

from __future__ import annotations

import numpy as np

from causalpilot.tools.discovery._util import BIC_PENALTY, standardise
from causalpilot.tools.profile import indicator_columns


def category_blocks(X: np.ndarray, nodes: list[str], kinds: dict[str, str]) -> tuple[np.ndarray, list[np.ndarray]] | None:
    """The expanded, standardised matrix and each variable's columns in it; None when no variable is an
    unordered category with three or more levels (then the plain score is the same)."""
    cats = [j for j, name in enumerate(nodes) if kinds.get(name) == "categorical" and len(np.unique(X[:, j])) > 2]
    if not cats:
        return None
    columns, blocks = [], []
    for j in range(X.shape[1]):
        block = indicator_columns(X[:, j]) if j in cats else [X[:, j].astype(float)]
        blocks.append(np.arange(len(columns), len(columns) + len(block)))
        columns.extend(block)
    return standardise(np.column_stack(columns)), blocks


class CachedScore:
    """``score(i, parents)``: a subclass's ``score_nocache`` remembered per (variable, parent set)."""

    _cache: dict[tuple[int, tuple[int, ...]], float]

    def score_nocache(self, i: int, parents: list[int]) -> float:
        raise NotImplementedError

    def score(self, i: int, parents: list[int]) -> float:
        key = (int(i), tuple(sorted(int(u) for u in parents)))
        if key not in self._cache:
            self._cache[key] = self.score_nocache(i, list(key[1]))
        return self._cache[key]


class CategoryScore(CachedScore):
    """The degenerate-Gaussian BIC over variables made of column blocks (the interface BOSS's
    grow-shrink trees and the exact search use: ``data``, ``score``, ``score_nocache``)."""

    def __init__(self, X: np.ndarray, Z: np.ndarray, blocks: list[np.ndarray], penalty: float = BIC_PENALTY) -> None:
        self.data = X  # one column per variable: causal-learn's grow-shrink trees read the count from here
        self.cov = np.cov(Z.T, ddof=0)
        self.n = Z.shape[0]
        self.blocks = blocks
        self.penalty = float(penalty)
        self._cache: dict[tuple[int, tuple[int, ...]], float] = {}

    def score_nocache(self, i: int, parents: list[int]) -> float:
        b = self.blocks[i]
        cols = np.concatenate([self.blocks[j] for j in parents]) if len(parents) else np.empty(0, dtype=int)
        S = self.cov[np.ix_(b, b)]
        if cols.size:
            C = self.cov[np.ix_(cols, cols)]
            c = self.cov[np.ix_(cols, b)]
            try:
                S = S - c.T @ np.linalg.solve(C, c)
            except np.linalg.LinAlgError:  # collinear parents (a constant indicator in a resample)
                S = S - c.T @ np.linalg.pinv(C) @ c
        sign, logdet = np.linalg.slogdet(S)
        if sign <= 0 or not np.isfinite(logdet):
            logdet = len(b) * np.log(np.finfo(float).eps)
        return float(-0.5 * self.n * (len(b) + logdet) - self.penalty * len(b) * (cols.size + 1) * np.log(self.n))

    def batch(self, i: int, sets: np.ndarray) -> np.ndarray:
        """``score_nocache(i, row)`` for every row of ``sets`` (parent sets of one size), for the exact
        search: sets whose indicator columns number the same are solved together."""
        b = self.blocks[i]
        cols = [np.concatenate([self.blocks[j] for j in row]) if len(row) else np.empty(0, dtype=int) for row in sets]
        widths = np.array([len(c) for c in cols], dtype=int)
        out = np.empty(len(sets))
        S0 = self.cov[np.ix_(b, b)]
        floor = len(b) * np.log(np.finfo(float).eps)
        for w in np.unique(widths):
            idx = np.nonzero(widths == w)[0]
            if w == 0:
                S = S0[None]
            else:
                J = np.stack([cols[k] for k in idx])
                C = self.cov[J[:, :, None], J[:, None, :]]
                c = self.cov[J[:, :, None], b[None, None, :]]
                try:
                    S = S0[None] - np.einsum("mwi,mwj->mij", c, np.linalg.solve(C, c))
                except np.linalg.LinAlgError:  # a singular block somewhere: one at a time, with its fallback
                    out[idx] = [self.score_nocache(i, [int(u) for u in sets[k]]) for k in idx]
                    continue
            sign, logdet = np.linalg.slogdet(S)
            logdet = np.where((sign > 0) & np.isfinite(logdet), logdet, floor)
            out[idx] = -0.5 * self.n * (len(b) + logdet) - self.penalty * len(b) * (w + 1) * np.log(self.n)
        return out
