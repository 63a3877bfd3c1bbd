"""A BIC for mixed data in which each variable is scored by the likelihood of its own type.

The covariance BIC that BOSS and the exact search optimise scores a 0/1 column as a Gaussian
measurement. The degenerate-Gaussian score (:mod:`.category_score`, Andrews, Ramsey & Cooper 2019)
does the same for a two-level variable: its one indicator column is its 0/1 code. A binary variable
whose probability follows its causes through a link (logistic, probit, a threshold) is then a
poor Gaussian child: the search is pushed to make it a parent instead, and a binary variable caused
by several measurements (a treatment given on income and age, an outcome caused by both and the
treatment) turns into a collider's parent, as in a case where the BIC on codes made a confounder a
common child of treatment and outcome.

Here a binary variable's local score is the log-likelihood of a logistic regression on its parents'
columns (a parent category as its indicators), with the same penalty per coefficient as the Gaussian
parts:

    score(v, S) = loglik(v | 1, B_S) - penalty (|B_S| + 1) log n          (v binary)

and every other variable keeps its degenerate-Gaussian score (continuous and ordinal codes as one
column, unordered categories as indicator blocks). This is the conditional, regression-based score
of mixed graphical models (each variable's distribution given its parents from its own family); it
is decomposable but not score-equivalent, so the search's best DAG is reported as its equivalence
class, as for the plain BIC. Logistic fits are batched Newton-Raphson (``tools.ci.mixed``).
"""

from __future__ import annotations

import numpy as np

from causalpilot.tools.ci.mixed import binary_logliks
from causalpilot.tools.discovery._util import BIC_PENALTY, standardise
from causalpilot.tools.discovery.category_score import CachedScore, CategoryScore, category_blocks

_CHUNK = 4_000_000  # design entries per batch of logistic fits (about 32 MB of float64)


class MixedScore(CachedScore):
    """The mixed BIC over the columns of X (n, p) with the given kinds (the interface BOSS's grow-shrink
    trees and the exact search use: ``data``, ``score``, ``score_nocache``, ``batch``)."""

    def __init__(self, X: np.ndarray, nodes: list[str], kinds: dict[str, str], penalty: float = BIC_PENALTY,
                 binary_penalty: float | None = None) -> None:
        X = np.asarray(X, dtype=float)
        blocks = category_blocks(X, nodes, kinds)
        Z, self.blocks = blocks if blocks is not None else (standardise(X), [np.array([j]) for j in range(X.shape[1])])
        self.data = X
        self.n = X.shape[0]
        self.penalty = float(penalty if binary_penalty is None else binary_penalty)  # for the logistic parts
        self.Z = np.column_stack([np.ones(self.n), Z])  # column 0: the intercept
        self.gauss = CategoryScore(X, Z, self.blocks, penalty)
        self.binary = {j: (X[:, j] == np.max(X[:, j])).astype(float) for j, name in enumerate(nodes)
                       if kinds.get(name) == "binary" and len(np.unique(X[:, j])) == 2}
        self._cache: dict[tuple[int, tuple[int, ...]], float] = {}

    def _columns(self, parents) -> np.ndarray:
        return np.concatenate([[0]] + [self.blocks[j] + 1 for j in parents]).astype(int)

    def score_nocache(self, i: int, parents: list[int]) -> float:
        if i not in self.binary:
            return self.gauss.score_nocache(i, parents)
        return float(self.batch(i, np.array([parents], dtype=np.int64).reshape(1, len(parents)))[0])

    def batch(self, i: int, sets: np.ndarray) -> np.ndarray:
        """``score_nocache(i, row)`` for every row of ``sets`` (parent sets of one size)."""
        if i not in self.binary:
            return self.gauss.batch(i, sets)
        cols = [self._columns(row) for row in sets]
        widths = np.array([len(c) for c in cols], dtype=int)
        out = np.empty(len(sets))
        for w in np.unique(widths):
            idx = np.nonzero(widths == w)[0]
            step = max(1, _CHUNK // (self.n * w))
            for start in range(0, len(idx), step):
                part = idx[start:start + step]
                A = self.Z[:, np.stack([cols[k] for k in part])].transpose(1, 0, 2)  # (m, n, w)
                out[part] = binary_logliks(self.binary[i], A) - self.penalty * w * np.log(self.n)
        return out
