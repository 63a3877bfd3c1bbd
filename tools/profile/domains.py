"""The domain (regime, site, batch) index: finding it by name or from the data, coding it, testing within its domains.

A domain index is a column that names where each row comes from (a site, a batch, an environment,
a regime). It is not a variable of the causal graph: it is exogenous (nothing in the data causes
it), and pooled data are analysed per domain. A column is taken as one when its name says so
(:data:`DOMAIN_NAME`), or proposed from the data by :func:`domain_evidence` when it behaves like
one; an ordinary discrete cause (a binary treatment) also shifts its effects' means, so the data
evidence asks for more than shifts (see :func:`domain_evidence`).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.multitest import multipletests

from causalpilot.reports.numbers import p_text
from causalpilot.tools.profile.model import ColumnProfile, Finding

# domain, env, site, regime, batch, context, cohort, alone or with an index suffix (domain_index,
# site_id, batch_no, env-idx), and the names two well-known generators use (c_indx, group_id)
DOMAIN_NAME = re.compile(
    r"^(?:(?:domain|env|environment|site|regime|batch|context|cohort)"
    r"(?:[ _.-]?(?:index|indx|idx|id|no|nr|num|number|code|label))?"
    r"|c_indx|group_id)$", re.I)
MAX_DOMAIN_LEVELS = 10  # a data-proposed domain index has 2..10 levels
MIN_DOMAIN_ROWS = 20  # and at least this many rows in each
SHIFT_Q = 0.05  # Benjamini-Yekutieli FDR of the shift tests of one candidate
MIN_SHIFTED = 2  # a domain index shifts several variables
COLLIDER_ALPHA = 0.001  # conditional dependence given the candidate (Bonferroni over the pairs)
INDEPENDENT_ABOVE = 0.05  # marginal independence of such a pair


def infer_domain_index(columns: list[ColumnProfile], keep: list[str]) -> tuple[str, dict] | None:
    """The first discrete, binary or categorical column whose name marks a domain index (matches
    :data:`DOMAIN_NAME`: domain, domain_index, env, site_id, regime, batch, ...) and that is not in
    ``keep``, with the repair that records the choice; None when there is none."""
    cand = [c.name for c in columns if DOMAIN_NAME.match(c.name) and c.kind in ("discrete", "binary", "categorical")
            and c.name not in keep]
    if not cand:
        return None
    return cand[0], {"column": cand[0], "repair": "domain_index",
                     "reason": "its name marks it as a domain/regime index; used to model distribution shift, not as a variable"}


@dataclass
class DomainEvidence:
    """What the data say about one column as a domain index (see :func:`domain_evidence`)."""

    column: str
    levels: int
    runs: int  # maximal runs of equal values down the rows; == levels when each level is one block
    blocks: bool
    log10_p_blocks: float | None  # log10 probability of one block per level under a random row order
    mean_shift: list[str] = field(default_factory=list)  # variables whose location differs across its levels
    scale_shift: list[str] = field(default_factory=list)  # variables whose spread differs across its levels
    tested: int = 0  # variables tested for shifts
    collider: list[str] | None = None  # a pair independent without it and dependent given it
    proposed: bool = False  # behaves like a domain index: reported
    strong: bool = False  # strong enough to be used without being named
    reason: str = ""

    @property
    def shifted(self) -> list[str]:
        return list(dict.fromkeys(self.mean_shift + self.scale_shift))

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "shifted": self.shifted}


def domain_evidence(df: pd.DataFrame, columns: list[ColumnProfile], keep: list[str],
                    exclude: tuple[str | None, ...] = ()) -> list[DomainEvidence]:
    """The evidence for each low-cardinality column of ``df`` as a domain index, for the columns whose
    rows form blocks (only those are tested further).

    Candidates: integer or text columns (binary, discrete, categorical, or whole numbers) with 2 to
    :data:`MAX_DOMAIN_LEVELS` levels, at least :data:`MIN_DOMAIN_ROWS` rows per level and no missing
    value, not in ``keep`` (treatment, outcome) or ``exclude`` (the time index). Shifting other
    variables' distributions is not enough: a binary treatment shifts its effects' means too. What
    tells a domain index from a discrete cause, as read here:

    - **blocks**: pooled data are stacked one domain after another, so each level is one contiguous
      block of rows. Under a random row order (exchangeable rows, as for a measured variable) that has
      probability K! * prod(n_k!) / n! for K levels with n_k rows each (exact; 1.5e-11 for two levels of
      20 rows, 10^-426 for three of 300). A shuffled table hides a real domain index: then only
      its name or ``--domain-index`` finds it.
    - **shifts**: it changes the distribution of at least :data:`MIN_SHIFTED` numeric variables:
      location by Kruskal-Wallis, spread by Brown-Forsythe (Levene's test about the median), all
      p-values of one candidate Benjamini-Yekutieli corrected at :data:`SHIFT_Q` (scipy, statsmodels).
    - **exogenous**: nothing in the data causes it. One consequence is testable: it is no common
      effect, so no pair of the variables it shifts is independent without it (Fisher z, p >
      :data:`INDEPENDENT_ABOVE`) and dependent given it (correlation within levels, p below
      :data:`COLLIDER_ALPHA` over the number of pairs). A pair that is marks it as caused by both.

    A column with blocks, shifts and no collider is ``proposed`` (the report names it and how to use
    it); it is ``strong``, and used as the domain index without being named, only with three levels
    or more: a table sorted by a binary treatment also puts it in two blocks. Returns one
    :class:`DomainEvidence` per column with blocks, in column order (an empty list when none).
    """
    n = len(df)
    numeric = [c.name for c in columns if c.kind in ("continuous", "discrete", "binary")
               and pd.api.types.is_numeric_dtype(df[c.name]) and not pd.api.types.is_bool_dtype(df[c.name])]
    found = []
    for col in columns:
        if col.name in keep or col.name in exclude or not _low_cardinality(col) or col.missing_fraction > 0:
            continue
        values = df[col.name].astype("string").to_numpy()
        levels, counts = np.unique(values, return_counts=True)
        if not 2 <= len(levels) <= MAX_DOMAIN_LEVELS or counts.min() < MIN_DOMAIN_ROWS:
            continue
        runs = 1 + int(np.sum(values[1:] != values[:-1]))
        if runs != len(levels):
            continue
        ev = DomainEvidence(col.name, len(levels), runs, True, _log10_p_blocks(counts, n))
        _shifts(ev, df, [c for c in numeric if c != col.name], values)
        ev.collider = _collider(df, ev.shifted, values)
        ev.proposed = len(ev.shifted) >= MIN_SHIFTED and ev.collider is None
        ev.strong = ev.proposed and ev.levels >= 3
        ev.reason = _reason(ev)
        found.append(ev)
    return found


def heterogeneity_finding(work: pd.DataFrame, domain: pd.Series | None, column: str | None, found_by: str | None,
                          proposals: list[DomainEvidence], no_domain: bool = False) -> Finding:
    """The 'heterogeneity' finding: whether a domain index is used, how it was found (``found_by``:
    user, name, data) and what changes across its domains in the analysis variables ``work`` (n rows;
    ``domain`` one label per row): the variables whose location or spread shifts (as in
    :func:`domain_evidence`) and whether the covariance within domains is the same in every domain
    (Box's M test, statsmodels' ``test_cov_oneway``; equal covariances with shifted means is a shift of
    means only, different ones a change of mechanisms). ``proposals``: the data's evidence on
    columns not used (named in the summary so the user can pass ``--domain-index``)."""
    if domain is None:
        offered = [ev for ev in proposals if ev.proposed]
        evidence = {"domain_index": None, "n_domains": None, "columns_with_blocks": [ev.to_dict() for ev in proposals]}
        if no_domain:
            return Finding("heterogeneity", False, evidence, "no domain index (--no-domain)")
        if offered:
            ev = offered[0]
            return Finding("heterogeneity", False, {**evidence, "proposed": ev.column}, (
                f"no domain/regime index named; the data propose '{ev.column}': {ev.reason}. With two levels a sorted "
                f"binary cause looks the same, so it stays a variable: pass --domain-index {ev.column} if the rows "
                "pool several settings"))
        return Finding("heterogeneity", False, evidence, "no domain/regime index column (name one with "
                       "--domain-index if the data pools several settings)")
    values = domain.astype("string").fillna("NA").to_numpy()
    ev = DomainEvidence(str(column), int(pd.unique(values).size), 0, False, None)
    numeric = [c for c in work.columns if pd.api.types.is_numeric_dtype(work[c])]
    _shifts(ev, work, numeric, values)
    box = _equal_covariances(work[numeric].to_numpy(dtype=float), values)
    how = {"user": "named with --domain-index", "name": "its name marks it",
           "data": "found from the data"}[found_by or "user"]
    evidence = {"domain_index": column, "n_domains": ev.levels, "found_by": found_by, "mean_shift": ev.mean_shift,
                "scale_shift": ev.scale_shift, "variables_tested": ev.tested,
                "shift_tests": ("Kruskal-Wallis (location) and Brown-Forsythe (spread), "
                                f"Benjamini-Yekutieli q={SHIFT_Q}"),
                **box}
    changes = (f"means shift in {len(ev.mean_shift)} and spreads in {len(ev.scale_shift)} of {ev.tested} variables"
               if ev.tested else "no numeric variable to test")
    if box.get("box_m_p") is not None:
        changes += ("; the covariance within domains differs between domains (Box's M p = "
                    f"{box['box_m_p']:.2g}): mechanisms change" if box["box_m_p"] < SHIFT_Q else
                    f"; the covariance within domains is the same in every domain (Box's M {p_text(box['box_m_p'])})")
    return Finding("heterogeneity", True, evidence,
                   f"domain index '{column}' ({how}) with {ev.levels} domains: {changes}")


def _equal_covariances(X: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """Box's M test that the covariance of the columns of ``X`` (n, k) is the same within every level of
    ``values``; on the levels with more rows than 2k (others are left out), at least two of them."""
    k = X.shape[1]
    groups = [np.nonzero(values == lev)[0] for lev in pd.unique(values)]
    groups = [g for g in groups if len(g) > 2 * k + 2]
    if k < 1 or len(groups) < 2:
        return {"box_m_p": None}
    covs = [np.cov(X[g], rowvar=False, ddof=1).reshape(k, k) for g in groups]
    if any(np.linalg.matrix_rank(c) < k for c in covs):
        return {"box_m_p": None}
    from statsmodels.stats.multivariate import test_cov_oneway

    res = test_cov_oneway(covs, [len(g) for g in groups])
    return {"box_m_p": float(res.pvalue_chi2), "box_m_domains": len(groups)}


def _low_cardinality(col: ColumnProfile) -> bool:
    return col.kind in ("binary", "discrete", "categorical") or (col.kind == "continuous" and col.integer
                                                                 and col.n_unique <= MAX_DOMAIN_LEVELS)


def _log10_p_blocks(counts: np.ndarray, n: int) -> float:
    """log10 of K! * prod(n_k!) / n!: the probability that each of K levels forms one block of rows
    when the rows are in random order."""
    lg = math.lgamma
    return (lg(len(counts) + 1) + sum(lg(int(c) + 1) for c in counts) - lg(n + 1)) / math.log(10)


def _shifts(ev: DomainEvidence, df: pd.DataFrame, variables: list[str], values: np.ndarray) -> None:
    """Fill the variables whose location / spread differs across the levels in ``values``."""
    groups = [np.nonzero(values == lev)[0] for lev in pd.unique(values)]
    tests, pvals = [], []
    for v in variables:
        x = df[v].to_numpy(dtype=float)
        parts = [x[g][np.isfinite(x[g])] for g in groups]
        if min(len(p) for p in parts) < 3 or np.nanstd(x) == 0:
            continue
        if any(np.ptp(p) == 0 for p in parts):  # a variable constant within a level: its spread test is undefined
            pvals += [_pvalue(stats.kruskal, parts)]
            tests += [("mean", v)]
            continue
        pvals += [_pvalue(stats.kruskal, parts), _pvalue(lambda *a: stats.levene(*a, center="median"), parts)]
        tests += [("mean", v), ("scale", v)]
    ev.tested = len({v for _, v in tests})
    if not pvals:
        return
    reject = multipletests(np.array(pvals), alpha=SHIFT_Q, method="fdr_by")[0]
    ev.mean_shift = [v for (kind, v), r in zip(tests, reject) if r and kind == "mean"]
    ev.scale_shift = [v for (kind, v), r in zip(tests, reject) if r and kind == "scale"]


def _pvalue(test, parts) -> float:
    try:
        p = float(test(*parts).pvalue)
    except ValueError:  # all values identical
        return 1.0
    return p if np.isfinite(p) else 1.0


def _collider(df: pd.DataFrame, shifted: list[str], values: np.ndarray) -> list[str] | None:
    """A pair of ``shifted`` variables independent marginally and dependent within the levels of
    ``values`` (the candidate is then their common effect), or None."""
    if len(shifted) < 2:
        return None
    X = df[shifted].to_numpy(dtype=float)
    n, m = X.shape
    codes = pd.factorize(values)[0]
    D = np.column_stack([np.ones(n)] + [(codes == k).astype(float) for k in range(1, codes.max() + 1)])
    resid = X - D @ np.linalg.lstsq(D, X, rcond=None)[0]
    marginal = np.corrcoef(X, rowvar=False)
    within = np.corrcoef(resid, rowvar=False)
    pairs = m * (m - 1) // 2
    for i in range(m):
        for j in range(i + 1, m):
            if (_fisher_p(marginal[i, j], n, 0) > INDEPENDENT_ABOVE
                    and _fisher_p(within[i, j], n, D.shape[1] - 1) < COLLIDER_ALPHA / pairs):
                return [shifted[i], shifted[j]]
    return None


def _fisher_p(r: float, n: int, k: int) -> float:
    """Two-sided Fisher-z p-value of a (partial) correlation ``r`` given ``k`` conditioning variables."""
    if not np.isfinite(r) or n - k - 3 <= 0:
        return 1.0
    z = math.atanh(min(abs(r), 1 - 1e-12)) * math.sqrt(n - k - 3)
    return float(2 * stats.norm.sf(z))


def _reason(ev: DomainEvidence) -> str:
    shifted = ev.shifted
    blocks = (f"its {ev.levels} values form {ev.levels} contiguous blocks of rows (probability "
              f"10^{ev.log10_p_blocks:.0f} under a random row order)")
    if not ev.proposed:
        if ev.collider:
            return (f"{blocks}, but {ev.collider[0]} and {ev.collider[1]} are independent without it and dependent "
                    "given it: it is a common effect of variables, not an exogenous domain index")
        return (f"{blocks}, but it shifts {len(shifted)} of {ev.tested} variables (a domain index shifts at least "
                f"{MIN_SHIFTED})")
    what = ", ".join(shifted[:6]) + (", ..." if len(shifted) > 6 else "")
    return (f"{blocks}, it shifts the distribution of {len(shifted)} of {ev.tested} variables ({what}; "
            f"Kruskal-Wallis and Brown-Forsythe, BY-corrected), and no pair of them is independent without it "
            "and dependent given it (it is not their common effect)")


def domain_codes(domain: pd.Series) -> np.ndarray:
    """The domain index as integer codes 0..D-1, labels in sorted order (missing labels form a domain
    of their own, 'NA'); an array of shape (n rows,)."""
    return domain.astype("string").fillna("NA").factorize(sort=True)[0]


def domain_row_groups(n: int, groups: np.ndarray | None, min_rows: int) -> list[np.ndarray]:
    """Row indices to test on: all ``n`` rows, or each domain with at least ``min_rows`` rows.

    ``groups``: one domain code per row, shape (n,), or None. Pooled rows from domains whose mechanisms
    differ form a mixture: it looks nonlinear to RESET and heavy-tailed to a normality test even when
    every domain is linear-Gaussian, so with a domain index both checks are made within domains (their
    p-values corrected together). When no domain has ``min_rows`` rows, all rows are one group.
    """
    if groups is None:
        return [np.arange(n)]
    g = np.asarray(groups)
    parts = [np.nonzero(g == v)[0] for v in pd.unique(g)]
    parts = [rows for rows in parts if len(rows) >= min_rows]
    return parts or [np.arange(n)]
