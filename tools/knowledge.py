"""Plausibility of directions: variables that nothing in the data can cause, proposed as first-tier roots.

Two kinds of root are recognised from the data and its column names (issue #23, item 2):

- a **randomised treatment**: a binary or low-cardinality treatment that is independent of every other
  measured variable except the outcome. The check is a likelihood-ratio test of the logistic
  (multinomial-logistic for 3-5 levels) regression of the treatment on all the other covariates against
  the intercept-only model, at level :data:`RANDOMISATION_ALPHA` (0.01), with per-covariate
  likelihood-ratio tests, Holm-corrected, recorded as evidence. A treatment that passes is put in the first
  tier: no edge may point into it, and its effect is analysed as an experiment.
- **demographics fixed at birth**: a column whose whole name is a demographic word (sex, gender, male,
  female, race, ethnicity, black, white, hispanic, asian, age group, birth year...) AND that is binary or
  categorical (at most :data:`MAX_DEMOGRAPHIC_LEVELS` levels) or constant within the units of a panel.
  A continuous ``age`` in a cross-section is not taken: it may be age at measurement.

:func:`with_roots` turns the roots into knowledge (tiers and forbidden edges) unless the user's own
``--background`` has tiers, which win; :func:`edges_into_roots` lists the final graph's edges that still
point into a root, for the report to flag.

Sources: the balance ("randomisation") check follows the covariate-balance tests of randomised trials
(Imbens & Rubin 2015, *Causal Inference for Statistics, Social, and Biomedical Sciences*, ch. 14);
tiers of background knowledge as in causal-learn's ``BackgroundKnowledge`` (Spirtes, Glymour & Scheines 2000).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from causalpilot.tools.background import Background
from causalpilot.tools.graph import CausalGraph

RANDOMISATION_ALPHA = 0.01  # a joint test below this says the treatment is related to the covariates
MAX_TREATMENT_LEVELS = 5  # a treatment with more levels is a dose or a measurement, not an assignment
MIN_PER_ARM = 10  # rows each treatment level needs for the check to mean anything
MAX_DEMOGRAPHIC_LEVELS = 10

_DEMOGRAPHIC = re.compile(
    r"^(is_)?(sex|gender|male|female|race|ethnicity|ethnic|black|white|nonwhite|hispanic|hisp|asian)"
    r"(_?(cat|category|code|group|at_baseline|baseline|bl|0))?$"
    r"|^age_?(group|cat|category|band|bracket|at_baseline|baseline|bl|0)$|^age$"
    r"|^(birth_?year|year_?of_?birth|yob|birth_?cohort)$")
_UNIT = re.compile(r"^(id|unit|person|subject|patient|participant|respondent|individual|pid|household)(_?id)?$"
                   r"|^(person|subject|patient|participant|unit|individual)_?(no|num|number)$")


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


@dataclass
class RandomisationCheck:
    """The evidence that a treatment is (or is not) independent of the covariates.

    ``p_value``: the joint likelihood-ratio test's p-value (chi-square with ``df`` degrees of freedom);
    ``per_variable``: covariate -> Holm-adjusted p-value of its own likelihood-ratio test."""

    treatment: str
    outcome: str | None
    covariates: list[str]
    rows: int
    levels: int
    statistic: float
    df: int
    p_value: float
    per_variable: dict[str, float] = field(default_factory=dict)
    alpha: float = RANDOMISATION_ALPHA

    @property
    def randomised(self) -> bool:
        return bool(self.p_value > self.alpha)

    def to_dict(self) -> dict[str, Any]:
        return {"treatment": self.treatment, "outcome": self.outcome, "covariates": list(self.covariates),
                "rows": self.rows, "levels": self.levels, "test": "likelihood-ratio, logistic regression of the "
                "treatment on all covariates", "statistic": round(self.statistic, 4), "df": self.df,
                "p_value": round(self.p_value, 6), "alpha": self.alpha,
                "per_variable_holm": {k: round(v, 6) for k, v in self.per_variable.items()},
                "randomised": self.randomised}

    def reason(self) -> str:
        from causalpilot.reports.numbers import p_text

        worst = min(self.per_variable.items(), key=lambda kv: kv[1]) if self.per_variable else None
        worst_text = f"; the most imbalanced covariate is {worst[0]} (Holm-adjusted {p_text(worst[1])})" if worst else ""
        if self.randomised:
            return (f"{self.treatment} looks randomised: it is independent of all {len(self.covariates)} other "
                    f"covariates (likelihood-ratio test of a logistic regression of {self.treatment} on them, "
                    f"chi2 = {self.statistic:.2f} on {self.df} df, {p_text(self.p_value)}, above the level {self.alpha} "
                    f"this check uses){worst_text}. "
                    f"It is put in the first tier (no edge into it) and its effect is analysed as an experiment")
        return (f"{self.treatment} is not independent of the covariates (likelihood-ratio test, chi2 = "
                f"{self.statistic:.2f} on {self.df} df, {p_text(self.p_value)}, at or below the level {self.alpha} this "
                f"check uses){worst_text}: it is "
                "treated as observational, so confounding must be adjusted for")


def _design(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    X = frame[columns].astype(float)
    sd = X.std(ddof=0)
    X = X.loc[:, sd > 0]
    return (X - X.mean()) / X.std(ddof=0)


def _lr_test(codes: np.ndarray, X: pd.DataFrame, levels: int) -> tuple[float, int]:
    """(LR statistic, df) of the (multinomial) logit of ``codes`` on ``X`` against the intercept only.
    A perfect separation (a covariate that predicts the treatment exactly) gives an infinite statistic."""
    import warnings

    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import PerfectSeparationError

    exog = sm.add_constant(X.to_numpy(), has_constant="add")
    df = X.shape[1] * (levels - 1)
    counts = np.bincount(codes, minlength=levels) / len(codes)
    ll0 = float(np.sum(np.log(counts[codes])))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = sm.Logit(codes, exog) if levels == 2 else sm.MNLogit(codes, exog)
            fit = model.fit(disp=0, maxiter=200)
        ll1 = float(fit.llf)
    except (PerfectSeparationError, np.linalg.LinAlgError, ValueError):
        return float("inf"), df
    if not np.isfinite(ll1):
        return float("inf"), df
    return max(0.0, 2 * (ll1 - ll0)), df


def randomisation_check(frame: pd.DataFrame, treatment: str, outcome: str | None,
                        alpha: float = RANDOMISATION_ALPHA) -> RandomisationCheck | None:
    """Test whether ``treatment`` is independent of every column of ``frame`` but itself and ``outcome``.

    ``frame``: the analysis variables, numeric (n rows x p columns). Returns None when the check does not
    apply: a treatment with more than :data:`MAX_TREATMENT_LEVELS` levels or under :data:`MIN_PER_ARM` rows
    in a level, or no covariate left. The joint test is a likelihood-ratio test (chi-square) of the
    logistic regression (statsmodels ``Logit``/``MNLogit``) on all standardised covariates; each covariate
    alone gets the same test, Holm-corrected (statsmodels ``multipletests``)."""
    from scipy import stats
    from statsmodels.stats.multitest import multipletests

    if treatment not in frame.columns:
        return None
    t = frame[treatment]
    values = np.sort(t.dropna().unique())
    if not 2 <= len(values) <= MAX_TREATMENT_LEVELS:
        return None
    covs = [c for c in frame.columns if c not in (treatment, outcome)]
    data = frame[[treatment, *covs]].dropna()
    codes = np.searchsorted(values, data[treatment].to_numpy())
    if len(covs) == 0 or np.bincount(codes, minlength=len(values)).min() < MIN_PER_ARM:
        return None
    X = _design(data, covs)
    if X.shape[1] == 0:
        return None
    stat, df = _lr_test(codes, X, len(values))
    p = float(stats.chi2.sf(stat, df)) if np.isfinite(stat) else 0.0
    singles = []
    for c in X.columns:
        s, d = _lr_test(codes, X[[c]], len(values))
        singles.append(float(stats.chi2.sf(s, d)) if np.isfinite(s) else 0.0)
    holm = multipletests(singles, method="holm")[1]
    return RandomisationCheck(treatment, outcome, list(X.columns), int(len(data)), int(len(values)), float(stat),
                              int(df), p, {c: float(v) for c, v in zip(X.columns, holm)}, alpha)


@dataclass(frozen=True)
class Root:
    """A variable nothing in the data can cause, and why."""

    name: str
    reason: str
    kind: str  # "randomised" | "demographic"


def unit_column(frame: pd.DataFrame) -> str | None:
    """The column that names the units of a panel (id, person, subject, ...), if one repeats; else None."""
    for c in frame.columns:
        if _UNIT.match(_norm(c)) and frame[c].nunique(dropna=True) < frame[c].notna().sum():
            return str(c)
    return None


def demographic_roots(frame: pd.DataFrame, kinds: dict[str, str], units: pd.Series | None = None,
                      exclude: tuple[str | None, ...] = ()) -> list[Root]:
    """The columns of ``frame`` read as demographics fixed at birth: the whole (normalised) name is a
    demographic word AND the column is binary/categorical/discrete with at most
    :data:`MAX_DEMOGRAPHIC_LEVELS` levels, or constant within each unit of ``units`` (a panel's unit id,
    aligned with ``frame``'s rows). ``kinds``: column -> profile kind. Conservative: a continuous ``age``
    measured once per row is not taken. ``exclude``: columns never proposed (the outcome)."""
    roots = []
    for c in frame.columns:
        if c in exclude or not _DEMOGRAPHIC.match(_norm(c)):
            continue
        s = frame[c]
        is_age = _norm(c).startswith("age")
        levels = int(s.nunique(dropna=True))
        why = None
        if kinds.get(c) in ("binary", "categorical", "discrete") and levels <= MAX_DEMOGRAPHIC_LEVELS and (
                not is_age or kinds.get(c) == "categorical" or _norm(c) != "age"):
            why = f"{kinds.get(c)} with {levels} levels"
        if why is None and units is not None and len(units) == len(s):
            per_unit = s.groupby(units.to_numpy()).nunique(dropna=True)
            if len(per_unit) < len(s) and bool((per_unit <= 1).all()):
                why = f"constant within each of the {len(per_unit)} units"
        if why:
            roots.append(Root(str(c), f"{c} is a demographic fixed at birth ({why}): nothing measured later can "
                                      "cause it", "demographic"))
    return roots


def with_roots(bg: Background | None, roots: list[Root], columns: list[str],
               user: Background | None = None) -> tuple[Background | None, list[Root], str | None]:
    """Knowledge that puts ``roots`` in the first tier: every other column in a second tier, and no edge
    between a randomised root and another root. Returns (knowledge, the roots applied, a note).

    The user's own knowledge wins: with tiers in ``user`` (--background) nothing is added; a root that
    the user requires an edge into is left out. ``bg`` (the user's knowledge plus the effect order) is not
    changed; a new object is returned."""
    if not roots:
        return bg, [], None
    if user is not None and user.tiers:
        names = ", ".join(r.name for r in roots)
        return bg, [], (f"proposed {names} as first-tier roots, not applied: your background knowledge has tiers, "
                        "which win")
    base = bg or Background()
    required_into = {b for a, b in (user.required if user else [])}
    applied = [r for r in roots if r.name not in required_into and r.name in columns]
    if not applied:
        return bg, [], None
    first = [r.name for r in applied]
    rest = [c for c in columns if c not in first]
    forbidden = list(base.forbidden)
    randomised = [r.name for r in applied if r.kind == "randomised"]
    for t in randomised:
        forbidden += [(r, t) for r in first if r != t] + [(t, r) for r in first if r != t]
    merged = Background(list(base.required), list(dict.fromkeys(forbidden)), [first, rest], base.forbid_within_tiers)
    return merged, applied, None


def edges_into_roots(graph: CausalGraph, roots: list[Root]) -> list[str]:
    """A sentence for each edge of ``graph`` with an arrowhead at a root (directed into it, or <-> / o->)."""
    names = {r.name: r for r in roots}
    out = []
    for e in graph.edges:
        if e.lag:
            continue
        heads = []
        if e.type in ("directed", "partially_directed") and e.target in names:
            heads.append(e.target)
        elif e.type == "bidirected":
            heads += [n for n in (e.source, e.target) if n in names]
        for h in heads:
            out.append(f"the edge {e.describe()} points into {h}, which nothing in the data should cause "
                       f"({names[h].reason}); read it as an association, not a cause of {h}")
    return out


__all__ = ["RANDOMISATION_ALPHA", "RandomisationCheck", "Root", "demographic_roots", "edges_into_roots",
           "randomisation_check", "unit_column", "with_roots"]
