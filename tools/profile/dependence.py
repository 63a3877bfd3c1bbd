"""Exact functional relations among columns: sums, copies, rescalings, relabellings, monotone transforms.

A column that is an exact function of others (``total = a + b + c``, ``y = 10 x``, a category coded
twice under two names) violates faithfulness: given the columns that determine it, it is independent
of everything, and given it, those columns lose their dependences. CI tests then remove true edges
and scores reward spurious ones (the BIC of a determined column given its determinants is unbounded).
Such relations are found here and stated; one column of each relation is set aside for discovery,
with the relation as the reason, so that the search runs on variables that are not determined by
each other. Nothing is set aside silently, and a column the user named (``keep``) is never the one
set aside.

Pairwise |r| only sees copies: a sum of three columns correlates with each part at about 0.58. The
linear relations are found from the rank of the correlation matrix instead: its smallest eigenvalue
is zero (to rounding) exactly when some column is a linear combination of others, and a greedy pass
(columns the user named first, then in table order) names which (Gram-Schmidt on the correlation
matrix, the numerical-rank idea of a pivoted QR with a tolerance). Near-exact relations (R^2 above
:data:`NEAR_R2`) are reported and kept: noise, however small, keeps the relation faithful-testable.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from causalpilot.tools.profile.model import Finding

EXACT_TOL = 1e-6  # residual SD below this fraction of the column's SD: exact (rounding of written numbers)
NEAR_R2 = 0.9999  # R^2 above this (and not exact): a near-exact relation, reported and kept
MIN_RESIDUAL_DF = 5  # a relation among k columns needs n > k + 1 + this rows to be told from a small sample
MIN_ROWS_MONOTONE = 30  # two noisy measurements rarely rank 30+ rows identically by chance (see monotone_pairs)
MIN_LEVELS_MONOTONE = 10
RELABEL_KINDS = ("binary", "discrete", "categorical")


@dataclass
class Relation:
    """One exact relation: ``column`` is determined by ``of`` (in words: ``text``)."""

    column: str
    of: list[str]
    kind: str  # "linear" | "relabelling" | "monotone"
    text: str
    exact: bool = True
    r2: float = 1.0

    def to_dict(self) -> dict:
        return {"column": self.column, "of": list(self.of), "kind": self.kind, "relation": self.text,
                "exact": self.exact, "r2": round(float(self.r2), 8)}


def functional_dependence(work: pd.DataFrame, kinds: dict[str, str], keep: list[str]) -> tuple[Finding, list[dict]]:
    """The 'functional_dependence' finding and the repairs that set a column of each exact relation aside.

    ``work``: the numeric analysis variables (n rows, p columns, no missing values); ``kinds``: each
    column's kind; ``keep``: columns that must stay (treatment, outcome). Exact linear relations
    (:func:`linear_relations`), then exact copies under relabelling of discrete columns and strictly
    monotone functions between continuous columns (:func:`copies`) are searched in that order on the
    columns still in play; each relation sets aside one column (one not in ``keep``; of a linear
    relation a sum or mean of the others, a total of its parts, else the later one in the table).
    Near-exact linear relations (R^2 > :data:`NEAR_R2`) are reported and kept.

    Returns (finding, repairs): the finding's value lists every relation found (dicts of
    :meth:`Relation.to_dict`), its evidence says how it was searched and which columns were set
    aside; a repair per column set aside carries ``repair`` 'set_aside', the ``relation`` and the
    reason.

    Raises:
        InputError: an exact relation holds among columns that are all in ``keep`` (the effect of a
            column on its own function is a definition, not something data can estimate).
    """
    from causalpilot.tools.errors import InputError

    n, p = work.shape
    evidence: dict = {"method": "rank of the correlation matrix (greedy Gram-Schmidt, tolerance "
                                f"{EXACT_TOL:g} of a column's SD); identical row rankings / codings for copies",
                      "near_exact_r2": NEAR_R2}
    if p < 2 or n < 3:
        return Finding("functional_dependence", [], {**evidence, "tested": False}, "not tested"), []
    exact, near, untested = linear_relations(work, keep)
    left = [c for c in work.columns if c not in {r.column for r in exact}]
    exact += copies(work[left], kinds, keep, n)
    for r in exact:
        if r.column in keep:
            raise InputError(f"Columns {', '.join(repr(c) for c in [r.column, *r.of])} are exact functions of one "
                             f"another ({r.text}): the effect of one on another is a definition, not something the "
                             "data can estimate.")
    if untested:
        evidence["untested"] = (f"with {n} rows, relations among more than {untested} columns cannot be told from "
                                "chance and were not searched")
    repairs = [{"column": r.column, "repair": "set_aside", "relation": r.text, "of": list(r.of),
                "reason": (f"set aside for discovery: {r.text}{' exactly' if r.kind == 'linear' else ''}, so it is "
                           f"determined by "
                           f"{_names(r.of)}; a determined variable violates faithfulness (given "
                           f"{'them' if len(r.of) > 1 else 'it'}, it is independent of everything, and tests and "
                           "scores would invent or remove edges); it stays in the table, and its relation is stated "
                           "here")} for r in exact]
    found = [r.to_dict() for r in exact + near]
    evidence["set_aside"] = [r.column for r in exact]
    if exact or near:
        summary = "; ".join([f"{r.text} (exact: {r.column} set aside for discovery)" for r in exact]
                            + [f"{r.text} (near-exact, R^2 = {r.r2:.5f}; kept)" for r in near])
    else:
        summary = "no column is an exact function of others" + (" (searched among the first columns only)"
                                                                  if untested else "")
    return Finding("functional_dependence", found, evidence, summary), repairs


def linear_relations(work: pd.DataFrame, keep: list[str]) -> tuple[list[Relation], list[Relation], int | None]:
    """(exact relations, near-exact relations, the basis size beyond which none could be tested or None).

    A greedy pass over the columns (those in ``keep`` first, then in table order) keeps a basis of
    linearly independent columns; a column whose residual on the basis has SD below
    :data:`EXACT_TOL` (relative) is exactly determined by it. Of the columns with a nonzero
    coefficient in that combination, one is set aside (:func:`_set_aside`) and the column tested
    takes its place in the basis when it was not the one. Residuals are read from the correlation
    matrix; with n rows a basis grows only to n - 2 - :data:`MIN_RESIDUAL_DF` columns, as any
    column is an exact combination of n - 1 others. Near-exact relations are read from the inverse
    correlation matrix of the columns left (R^2_j = 1 - 1 / C^-1_jj).
    """
    cols = list(work.columns)
    n = len(work)
    X = work.to_numpy(dtype=float)
    sd = X.std(axis=0)
    use = [j for j in range(len(cols)) if sd[j] > 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        C = np.corrcoef(X[:, use], rowvar=False) if len(use) > 1 else np.ones((1, 1))
    C = np.nan_to_num(np.atleast_2d(C))
    names = [cols[j] for j in use]
    exact: list[Relation] = []
    limit = n - 2 - MIN_RESIDUAL_DF
    untested = None
    if len(names) > 1 and np.linalg.eigvalsh(C)[0] < 1e-8:
        order = sorted(range(len(names)), key=lambda j: (names[j] not in keep, j))
        basis: list[int] = []
        for j in order:
            if basis and len(basis) <= limit:
                beta, resid = _regress(C, j, basis)
                if resid < EXACT_TOL ** 2:
                    support = [b for b, w in zip(basis, beta) if abs(w) > 1e-8]
                    victim = _set_aside([j, *support], names, keep, work)
                    others = [k for k in [j, *support] if k != victim]
                    exact.append(_linear_relation(work, names[victim], [names[k] for k in sorted(others)]))
                    if victim != j:
                        basis = [j if b == victim else b for b in basis]
                    continue
            if len(basis) < limit:
                basis.append(j)
            elif untested is None:
                untested = limit
    near: list[Relation] = []
    rest = [j for j in range(len(names)) if names[j] not in {r.column for r in exact}]
    if 1 < len(rest) and n - len(rest) - 1 >= MIN_RESIDUAL_DF:
        sub = C[np.ix_(rest, rest)]
        try:
            r2 = 1.0 - 1.0 / np.diag(np.linalg.inv(sub))
        except np.linalg.LinAlgError:
            r2 = np.zeros(len(rest))
        for k in np.argsort(-r2, kind="stable"):
            j = rest[k]
            if r2[k] > NEAR_R2 and not any(names[j] in (r.column, *r.of) for r in near):
                beta, _ = _regress(C, j, [i for i in rest if i != j])
                others = [i for i, w in zip([i for i in rest if i != j], beta) if abs(w) > 0.01]
                if len(others) < 2:  # a near-duplicate pair: the collinearity finding reports it
                    continue
                rel = _linear_relation(work, names[j], [names[i] for i in others])
                rel.exact, rel.r2 = False, float(r2[k])
                rel.text = rel.text.replace(" = ", " ≈ ", 1)
                near.append(rel)
    return exact, near, untested


def copies(work: pd.DataFrame, kinds: dict[str, str], keep: list[str], n: int) -> list[Relation]:
    """Exact copies that are not linear: two discrete columns that code the same partition of the
    rows under different labels (identical codes by order of first appearance), and two continuous
    columns that rank every row the same way or exactly reversed (a strictly monotone function, e.g.
    ``y = exp(x)``; only with at least :data:`MIN_ROWS_MONOTONE` rows and
    :data:`MIN_LEVELS_MONOTONE` distinct values, since two noisy measurements correlated at 0.99
    still swap about 4% of the pairs of rows). Of each pair the later column is set aside, or the
    earlier one when the later is in ``keep``."""
    out: list[Relation] = []
    seen: dict[tuple, str] = {}  # a coding or ranking -> the column that holds it
    own: dict[str, tuple] = {}
    for c in work.columns:
        v = work[c]
        if kinds.get(c) in RELABEL_KINDS and v.nunique() <= max(2, n // 2):
            own[c] = ("codes", _digest(pd.factorize(v)[0]))
            probes = [(own[c], "relabelling", "the same categories as {o} under other labels")]
        elif kinds.get(c) == "continuous" and n >= MIN_ROWS_MONOTONE and v.nunique() >= MIN_LEVELS_MONOTONE:
            ranks = v.rank(method="dense").to_numpy()
            own[c] = ("ranks", _digest(ranks))
            probes = [(own[c], "monotone", "a strictly increasing function of {o}"),
                      (("ranks", _digest(ranks.max() + 1 - ranks)), "monotone", "a strictly decreasing function of {o}")]
        else:
            continue
        hit = next(((seen[key], how, words) for key, how, words in probes if key in seen), None)
        if hit is None:
            seen[own[c]] = c
            continue
        first, how, words = hit
        victim, other = (first, c) if c in keep and first not in keep else (c, first)
        out.append(Relation(victim, [other], how, f"{victim} is {words.format(o=other)}"))
        if victim == first:  # the column the user named stands for the pair from now on
            del seen[own[first]]
            seen[own[c]] = c
    return out


def _regress(C: np.ndarray, j: int, basis: list[int]) -> tuple[np.ndarray, float]:
    """Standardised coefficients of column j on the basis columns, and its residual variance (of 1)."""
    c = C[basis, j]
    beta = np.linalg.lstsq(C[np.ix_(basis, basis)], c, rcond=None)[0]
    return beta, float(max(C[j, j] - c @ beta, 0.0))


def _set_aside(members: list[int], names: list[str], keep: list[str], work: pd.DataFrame) -> int:
    """Which column of an exact linear relation to set aside: one not in ``keep`` if any; among those a
    sum or mean of the others (equal positive coefficients, no intercept: a total of its parts); then
    the later one in the table."""
    free = [k for k in members if names[k] not in keep] or members

    def is_total(k: int) -> bool:
        beta, scale = _fit(work, names[k], [names[m] for m in members if m != k])
        slopes = beta[1:]
        return bool(np.all(slopes > 0) and np.ptp(slopes) < 1e-6 * slopes.max() and abs(beta[0]) < 1e-9 * scale)

    return max(free, key=lambda k: (is_total(k), k))


def _fit(work: pd.DataFrame, column: str, of: list[str]) -> tuple[np.ndarray, float]:
    """Least squares of ``column`` on ``of`` with an intercept, in the data's units: (intercept and
    slopes, the column's largest absolute value)."""
    y = work[column].to_numpy(dtype=float)
    A = np.column_stack([np.ones(len(y))] + [work[c].to_numpy(dtype=float) for c in of])
    return np.linalg.lstsq(A, y, rcond=None)[0], float(max(np.abs(y).max(), 1e-300))


def _linear_relation(work: pd.DataFrame, column: str, of: list[str]) -> Relation:
    """The relation ``column = b0 + sum b_k of_k`` in the data's units (least squares with an
    intercept), written with 4 significant digits; R^2 of that fit."""
    beta, scale = _fit(work, column, of)
    y = work[column].to_numpy(dtype=float)
    resid = y - np.column_stack([np.ones(len(y))] + [work[c].to_numpy(dtype=float) for c in of]) @ beta
    r2 = 1.0 - float(resid @ resid) / max(float(((y - y.mean()) ** 2).sum()), 1e-300)
    terms = []
    for b, c in zip(beta[1:], of):
        coef = "" if abs(b - 1) < 1e-6 else "-" if abs(b + 1) < 1e-6 else f"{b:.4g}·"
        terms.append(f"{coef}{c}" if coef != "-" else f"-{c}")
    text = " + ".join(terms).replace("+ -", "- ")
    if abs(beta[0]) > 1e-9 * scale:
        text += f" {'+' if beta[0] > 0 else '-'} {abs(beta[0]):.4g}"
    return Relation(column, list(of), "linear", f"{column} = {text}", True, r2)


def _names(cols: list[str]) -> str:
    return cols[0] if len(cols) == 1 else ", ".join(cols[:-1]) + " and " + cols[-1]


def _digest(values) -> str:
    return hashlib.blake2b(np.ascontiguousarray(np.asarray(values, dtype=float)).tobytes(), digest_size=16).hexdigest()
