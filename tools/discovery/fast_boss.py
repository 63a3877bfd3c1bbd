"""BOSS with grow-shrink trees, batched: the same search path, graph and score as causal-learn's BOSS.

The method: Andrews, Ramsey, Sanchez-Romero, Camchong & Kummerfeld (2023), "Fast scalable and accurate
discovery of DAGs using the best order score search and grow-shrink trees", NeurIPS. BOSS moves one
variable at a time to the position in the order where the total score is best (``better_mutation``),
sweeping the variables in a random order until no move improves the score by more than 1e-6; each
variable's parents given the variables before it are read from its grow-shrink tree (GST), a cache
of forward (grow) and backward (shrink) greedy steps that is built lazily and never changes.

Why: causal-learn's loop (``causallearn.search.PermutationBased.BOSS`` and ``.gst``) scores every
candidate parent set one Python call at a time (``local_score_BIC_from_cov``: ``np.ix_``, a small
``np.linalg.inv``); at p = 50 that is tens of thousands of calls and most of its run time, and its
tree walks rebuild lists and test membership in lists. Here the candidates of a grow step (every
available variable added to the node's parents) and of a shrink step (every parent left out) are
scored in one stack: the same covariance submatrices, inverted by the same LAPACK routine one matrix
at a time inside ``np.linalg.inv``, multiplied by the same BLAS calls inside ``matmul``, so every local
score is bit-for-bit the one causal-learn computes (tests check this). Bit-identity matters: moving a
variable past others it is not adjacent to often leaves the score unchanged in exact arithmetic, and
causal-learn then picks the position by the rounding of its sums; this engine adds the same numbers
in the same order, so it picks the same position and follows the same path. (A variant that scored
the candidates by Schur complements from one inverse per step, computing exact scores only where the
search adds them, was slower here: numpy's per-call overhead, not the tiny inverses, dominates at
these sizes, and the exact scores of the trees' leaves are still needed.)

Reproduced details of causal-learn 0.1.4.8:
- a tree node's candidates are the variables other than the tree's own, in index order, less every
  branch its ancestors examined up to and including the one taken (``trace`` removes each examined
  branch from ``available``); a candidate becomes a branch when it raises the node's score strictly,
  and branches are visited in descending score, ties in candidate order (a stable reverse sort);
- a trace follows the first branch whose variable is in the prefix, then shrinks once: in each round
  every parent is left out in turn (the parent list rotating as ``remove``/``append`` leave it, which
  fixes the order of the indices handed to the score) and the one whose removal scores best, strictly
  above the score so far (the first of equal ones), is removed, until no removal improves;
- ``better_mutation``'s forward and backward sums, its strict ``>`` over positions from the last one
  down, and its 1e-6 threshold; each sweep reshuffles the variables with ``random.Random(seed)``,
  the sequence of ``random.seed(seed)``, which the loop causalpilot ran on causal-learn's code used.

Scorers: the covariance BIC (causal-learn's ``LocalScoreClass`` with ``local_score_BIC_from_cov``) is
batched; any other scorer with ``score_nocache(i, parents)`` (BDeu, the category score) is called once
per parent set exactly as causal-learn's trees call it, and a scorer may offer ``score_sets(i, sets)``
(the domain-summed score does) to be batched too. The trees' walks are iterative over boolean prefix
masks instead of lists.
"""

from __future__ import annotations

import random
from typing import Callable

import numpy as np

_EPS = np.finfo(float).eps


class CovBIC:
    """causal-learn's ``local_score_BIC_from_cov`` for many parent sets of one size at once.

    score(i, S) = -n/2 (1 + log s2) - penalty (|S| + 1) log n, s2 the residual variance of column i
    given the columns S, from the covariance matrix ``cov`` (p x p) of n rows. Bit-identical to
    the one-at-a-time function, operation for operation (inverse, then ``(y'X inv) @ X'y``).
    """

    def __init__(self, cov: np.ndarray, n: int, penalty: float) -> None:
        self.cov = np.asarray(cov, dtype=float)
        self.n = n
        self.penalty = penalty
        self._logn = np.log(n)

    def score_sets(self, i: int, sets: np.ndarray) -> np.ndarray:
        """Scores of ``i`` given each row of ``sets`` (int array m x k, k >= 1, the index order as
        causal-learn would pass it): float array of length m. A singular block sends the whole stack
        one set at a time through causal-learn's function (which falls back to a pseudo-inverse)."""
        S = np.asarray(sets, dtype=np.intp)
        k = S.shape[1]
        yX = self.cov[i, S][:, None, :]
        try:
            inv = np.linalg.inv(self.cov[S[:, :, None], S[:, None, :]])
        except np.linalg.LinAlgError:
            from causallearn.score.LocalScoreFunction import local_score_BIC_from_cov

            data, par = (self.cov, self.n), {"lambda_value": self.penalty}
            return np.array([local_score_BIC_from_cov(data, i, [int(u) for u in row], par) for row in S])
        sigma = self.cov[i, i] - ((yX @ inv) @ yX.transpose(0, 2, 1))[:, 0, 0]
        sigma = np.where(sigma <= 0, _EPS, sigma)
        return -0.5 * self.n * (1 + np.log(sigma)) - self.penalty * (k + 1) * self._logn


def set_scorer(scorer) -> Callable[[int, np.ndarray], np.ndarray]:
    """``f(i, sets)``: the scores of ``i`` given each row of ``sets`` (m x k, k >= 1), equal bit for bit
    to ``scorer.score_nocache(i, row)``: batched for the covariance BIC and for scorers with
    ``score_sets``, else one call per row."""
    fun = getattr(scorer, "local_score_fun", None)
    if fun is not None and fun.__name__ == "local_score_BIC_from_cov":
        par = scorer.parameters
        return CovBIC(scorer.cov, scorer.n, 0.5 if par is None else par["lambda_value"]).score_sets
    if hasattr(scorer, "score_sets"):
        return scorer.score_sets

    def one_by_one(i: int, sets: np.ndarray) -> np.ndarray:
        return np.array([scorer.score_nocache(i, [int(u) for u in row]) for row in sets], dtype=float)

    return one_by_one


class _Node:
    """A node of a grow-shrink tree: the parents ``parents`` (in the order they were added), its score,
    and, once grown, its branches (children in visiting order); once shrunk, the parents the shrink
    removes and the score after it. ``up`` and ``rank`` (its place among ``up``'s branches) give its
    candidates when it is grown."""

    __slots__ = ("add", "parents", "score", "up", "rank", "available", "branches", "removed", "shrink_score")

    def __init__(self, add, parents, score, up=None, rank=0, available=None):
        self.add = add
        self.parents = parents
        self.score = score
        self.up = up
        self.rank = rank
        self.available = available
        self.branches = None
        self.removed = None
        self.shrink_score = score


class GrowShrinkTrees:
    """The grow-shrink trees of all p variables over one scorer (causal-learn's ``GST``, one per vertex)."""

    def __init__(self, scorer, p: int) -> None:
        self.scorer = scorer
        self.sets = set_scorer(scorer)
        self.roots = [_Node(None, (), float(scorer.score_nocache(v, [])), available=[u for u in range(p) if u != v])
                      for v in range(p)]

    def _grow(self, v: int, node: _Node) -> None:
        if node.available is None:
            up = node.up
            taken = {b.add for b in up.branches[:node.rank + 1]}
            node.available = [u for u in up.available if u not in taken]
        avail, base = node.available, node.parents
        if not avail:
            node.branches = []
            return
        S = np.empty((len(avail), len(base) + 1), dtype=np.intp)
        S[:, :len(base)] = base
        S[:, len(base)] = avail
        scores = self.sets(v, S).tolist()
        better = [t for t, s in enumerate(scores) if s > node.score]
        better.sort(key=scores.__getitem__, reverse=True)  # stable: ties keep the candidate order
        node.branches = [_Node(avail[t], base + (avail[t],), scores[t], node, r) for r, t in enumerate(better)]

    def _shrink(self, v: int, node: _Node) -> None:
        parents, removed, best_score = list(node.parents), [], node.score
        while parents:
            k = len(parents)
            if k == 1:
                scores = [float(self.scorer.score_nocache(v, []))]
            else:  # leaving out parents[t], the list rotated as causal-learn's remove/append leave it
                S = np.array([parents[t + 1:] + parents[:t] for t in range(k)], dtype=np.intp)
                scores = self.sets(v, S).tolist()
            best = None
            for t, s in enumerate(scores):
                if s > best_score:
                    best_score, best = s, t
            if best is None:
                break
            removed.append(parents.pop(best))
        node.removed, node.shrink_score = removed, best_score

    def trace(self, v: int, inprefix: list[bool]) -> float:
        """The score of ``v`` with the parents its tree picks among the variables marked in ``inprefix``."""
        node = self.roots[v]
        while True:
            if node.branches is None:
                self._grow(v, node)
            for b in node.branches:
                if inprefix[b.add]:
                    node = b
                    break
            else:
                if node.removed is None:
                    self._shrink(v, node)
                return node.shrink_score

    def parents(self, v: int, inprefix: list[bool]) -> tuple[list[int], float]:
        """The parents ``trace`` picks and their score."""
        node = self.roots[v]
        while True:
            if node.branches is None:
                self._grow(v, node)
            nxt = next((b for b in node.branches if inprefix[b.add]), None)
            if nxt is None:
                break
            node = nxt
        if node.removed is None:
            self._shrink(v, node)
        return [u for u in node.parents if u not in node.removed], node.shrink_score


def better_mutation(v: int, order: list[int], trees: GrowShrinkTrees) -> bool:
    """Move ``v`` to its best position in ``order`` (in place) if that raises the score by more than
    1e-6; returns whether it moved. causal-learn's ``better_mutation``, sums in the same order."""
    i = order.index(v)
    p = len(order)
    scores = [0.0] * (p + 1)
    inprefix = [False] * p
    trace = trees.trace
    total = 0.0
    for j, w in enumerate(order):
        scores[j] = trace(v, inprefix) + total
        if w != v:
            total += trace(w, inprefix)
            inprefix[w] = True
    scores[p] = trace(v, inprefix) + total
    best = p
    inprefix[v] = True
    total = 0.0
    for j in range(p - 1, -1, -1):
        w = order[j]
        if w != v:
            inprefix[w] = False
            total += trace(w, inprefix)
        scores[j] += total
        if scores[j] > scores[best]:
            best = j
    if scores[i] + 1e-6 > scores[best]:
        return False
    order.remove(v)
    order.insert(best - int(best > i), v)
    return True


def sweep(order: list[int], move: Callable[[int], bool], seed: int) -> None:
    """BOSS's outer loop (causal-learn's ``boss()``): visit every variable in an order shuffled by
    ``random.Random(seed)`` (the sequence ``random.seed(seed)`` gives), reshuffled each sweep, and
    ``move`` it, until a whole sweep moves none."""
    rng = random.Random(int(seed))
    variables = list(order)
    while True:
        improved = False
        rng.shuffle(variables)
        for v in variables:
            improved |= move(v)
        if not improved:
            return


def boss_search(scorer, start: list[int], seed: int) -> tuple[dict[int, list[int]], float]:
    """One BOSS run from the order ``start`` (a permutation of range(p)), sweeps shuffled by
    ``random.Random(seed)``: the parents of each variable (sorted lists) and the total score (higher is
    better), identical to causal-learn's loop (``permutation.causallearn_boss_search``).

    ``scorer``: causal-learn's ``LocalScoreClass`` or any object with ``data`` (n x p, for p) and
    ``score_nocache(i, parents)``; see the module docstring for which are batched.
    """
    p = scorer.data.shape[1]
    order = [int(v) for v in start]
    trees = GrowShrinkTrees(scorer, p)
    sweep(order, lambda v: better_mutation(v, order, trees), seed)
    parents: dict[int, list[int]] = {}
    inprefix = [False] * p
    total = 0.0
    for v in order:
        parents[v], s = trees.parents(v, inprefix)
        total += s
        inprefix[v] = True
    return {v: sorted(pa) for v, pa in parents.items()}, float(total)
