"""The domain (regime, site, batch) index: finding it by name, coding it, testing within its domains."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from causalpilot.tools.profile.model import ColumnProfile

DOMAIN_NAME = re.compile(r"^(domain|env|environment|site|regime|batch|context|c_indx|group_id|cohort)$", re.I)


def infer_domain_index(columns: list[ColumnProfile], keep: list[str]) -> tuple[str, dict] | None:
    """The first discrete, binary or categorical column whose name marks a domain index (matches
    :data:`DOMAIN_NAME`: domain, env, site, regime, batch, ...) and that is not in ``keep``, with the
    repair that records the choice; None when there is none."""
    cand = [c.name for c in columns if DOMAIN_NAME.match(c.name) and c.kind in ("discrete", "binary", "categorical")
            and c.name not in keep]
    if not cand:
        return None
    return cand[0], {"column": cand[0], "repair": "domain_index",
                     "reason": "its name marks it as a domain/regime index; used to model distribution shift, not as a variable"}


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
