"""Exact score-based search: the DAG with the best score over all DAGs, by dynamic programming.

BOSS and GES are local searches and can stop short of the best graph: on held-out simulations with
p = 10 (linear Gaussian, 50 data sets per scenario), BOSS even with restarts ended below the best
score in 2 of 50 data sets at edge probability 0.2 and in 18 of 50 at 0.5. For a handful of
variables the optimum can be found exactly (Silander & Myllymaki 2006): score every (variable,
parent set) pair, keep for each variable and each set of candidates its best parent subset, then
find the best order by a shortest path over the 2^p subsets. The cost doubles with every variable
(p * 2^(p-1) local scores), so it serves small p only.

causal-learn has this search (``bic_exact_search``), but with the standard BIC penalty fixed and
scored by least squares on the data; here it runs on the very scorer BOSS uses (causal-learn's
``local_score_BIC_from_cov`` with BOSS's penalty, summed over domains when there are domains, or
BDeu), so that the two search the same objective and the exact result can only score higher. A test
checks it against causal-learn's exact search under the standard penalty.
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

import numpy as np

from causalpilot.tools.discovery._util import BIC_PENALTY, standardise
from causalpilot.tools.discovery.permutation import _prepare, categories_of, make_scorer, parents_to_graph
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.registry import DiscoveryInput, algorithm

MAX_P = 18  # 18 * 2^17 local scores and a DP over 2^18 subsets: about 5 s and 250 MB; past this, use BOSS
# planners choose it unasked up to this p: under a second per fit at p = 16, so 20 bootstrap fits stay within
# ~15 s (each further variable doubles the cost)
PLANNED_MAX_P = 16


@algorithm(
    "exact_search", family="score", output="CPDAG",
    profile="""Exact search (dynamic programming over variable subsets, Silander & Myllymaki 2006):
    returns the equivalence class of the DAG with the best score over all DAGs, on the score BOSS
    uses (BIC from the covariance with BOSS's penalty, summed over domains when a domain index is
    given, or, with score_by 'domain_means', the pooled BIC of one model whose intercepts alone differ
    between domains; BDeu for discrete data; error_variance {variable: share} takes a variable's
    measurement error, as a share of its standardised variance, off the covariance). No local
    optimum: where a greedy or permutation search can stop short of the best graph, this cannot.
    Cost doubles with each variable: hundredths of a second at p = 10, about a second at p = 16,
    limited to p <= 18; a parent limit (max_parents) and background knowledge shrink the search.
    Assumes causal sufficiency and linear-Gaussian (BIC) or discrete (BDeu) data; unordered
    categories in mixed data enter the BIC as indicator columns (degenerate-Gaussian score, about
    four times slower); output is a CPDAG. The gold standard to check a greedy search against.""",
    defaults={"score_func": "local_score_BIC_from_cov", "penalty": BIC_PENALTY, "max_parents": None},
    data_types=("continuous", "discrete", "mixed"), supports_background=True, max_p=MAX_P,
    planned_max_p=PLANNED_MAX_P,
)
def run_exact(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    X, score = _prepare(data, params)
    p = X.shape[1]
    errors = params.get("error_variance") or {}
    if errors:  # variables measured with error: the search scores the covariance with their error taken off
        from causalpilot.tools.profile.measurement import corrected_feasibly

        if score != "local_score_BIC_from_cov" or data.domain is not None:
            raise InputError("error_variance takes the BIC on continuous data without a domain index.")
        shares = {data.nodes.index(name): float(v) for name, v in errors.items()}
        X = corrected_feasibly(X, shares)
    if p > MAX_P:
        raise InputError(f"Exact search handles at most {MAX_P} variables (this data has {p}); use BOSS.")
    domains = None if data.domain is None else np.asarray(data.domain)
    categories = categories_of(data, score)
    means_only = domains is not None and params.get("score_by") == "domain_means"
    if means_only and (categories is not None or score == "local_score_BDeu"):
        raise InputError("score_by 'domain_means' takes continuous or ordinal data without unordered categories.")
    scorer = make_scorer(within_domain_centred(X, domains) if means_only else X, score,
                         float(params.get("penalty", BIC_PENALTY)), None if means_only else domains, categories, data,
                         params.get("binary_penalty"))
    mp = params.get("max_parents")
    parents, total = exact_dag(scorer, p, _allowed_sets(data), None if mp is None else int(mp))
    if not np.isfinite(total):
        raise InputError("The background knowledge admits no DAG (its required edges and tiers contradict each other).")
    graph = parents_to_graph(parents, total, data, X, domains, params, categories)
    if means_only:
        graph.parameters["score_by"] = "domain_means"
    bg = data.background
    if bg is not None and bg.required:
        # required edges are in the searched DAG; keep them directed as the knowledge says
        from causalpilot.tools.background import apply_to_graph

        graph, _ = apply_to_graph(graph, bg)
    return graph


def within_domain_centred(X: np.ndarray, domains: np.ndarray) -> np.ndarray:
    """``X`` (n, p) with each column's mean taken out within every domain (``domains``: a code per
    row), then standardised: the data of one linear SEM shared by all domains whose intercepts alone
    differ. The BIC of a DAG on them is the pooled BIC of that model (the K - 1 extra intercepts per
    variable are the same for every DAG), so coefficients and noise are estimated on all rows, not
    per domain."""
    Z = np.array(X, dtype=float)
    for d in np.unique(domains):
        rows = domains == d
        Z[rows] -= Z[rows].mean(axis=0)
    return standardise(Z)


def _allowed_sets(data: DiscoveryInput):
    """A filter (v, parent-set bit masks) -> which sets background knowledge lets be v's parents (no
    forbidden parent, every required one); None without knowledge."""
    bg = data.background
    if bg is None or bg.is_empty():
        return None
    names = list(data.nodes)
    p = len(names)
    forbidden = np.zeros(p, dtype=np.int64)
    required = np.zeros(p, dtype=np.int64)
    for i, a in enumerate(names):
        for j, b in enumerate(names):
            if i != j and bg.forbids(a, b):
                forbidden[j] |= np.int64(1) << i
    for a, b in bg.required:
        required[names.index(b)] |= np.int64(1) << names.index(a)

    def allowed(v: int, sets: np.ndarray) -> np.ndarray:
        return ((sets & forbidden[v]) == 0) & ((sets & required[v]) == required[v])

    return allowed


def subset_sizes(p: int) -> np.ndarray:
    """|S| for every subset S of p variables, indexed by its bit mask: an int64 array of length 2^p.

    The sum of the p bits, so that it runs on every supported numpy (``np.bitwise_count`` is numpy
    2.0+; a test checks the two agree where it exists)."""
    masks = np.arange(1 << p, dtype=np.int64)
    size = np.zeros(masks.size, dtype=np.int64)
    for b in range(p):
        size += (masks >> b) & 1
    return size


def exact_dag(scorer, p: int, allowed=None, max_parents: int | None = None
              ) -> tuple[dict[int, list[int]], float]:
    """The parents of each variable in a DAG maximising the decomposable score, and that score
    (-inf when ``allowed``, a filter of parent sets, admits no DAG). No variable gets more than
    ``max_parents`` parents; larger sets are never scored.

    Ties are broken deterministically (by variable index and parent-set bit mask)."""
    full = 1 << p
    masks = np.arange(full, dtype=np.int64)
    # best[v, S]: the best score of v with parents inside S; arg[v, S]: the parent set (a bit mask)
    best = local_scores(scorer, p, max_parents)
    if allowed is not None:
        for v in range(p):
            best[v, ~allowed(v, masks)] = -np.inf
    arg = np.tile(masks, (p, 1))
    for v in range(p):
        free = masks[(masks >> v) & 1 == 0]  # sets not containing v
        for b in range(p):
            if b == v:
                continue
            sets = free[(free >> b) & 1 == 1]
            without = sets ^ (1 << b)
            better = best[v, without] > best[v, sets]
            best[v, sets[better]] = best[v, without[better]]
            arg[v, sets[better]] = arg[v, without[better]]
    # total[W]: the best score of a DAG over the variables in W; sink[W]: its last variable in order
    total = np.full(full, -np.inf)
    total[0] = 0.0
    sink = np.zeros(full, dtype=np.int64)
    size = subset_sizes(p)
    for k in range(1, p + 1):
        layer = masks[size == k]
        val = np.full(layer.size, -np.inf)
        last = np.zeros(layer.size, dtype=np.int64)
        for v in range(p):
            has = (layer >> v) & 1 == 1
            rest = layer[has] ^ (1 << v)
            cand = total[rest] + best[v, rest]
            up = cand > val[has]
            idx = np.flatnonzero(has)[up]
            val[idx], last[idx] = cand[up], v
        total[layer], sink[layer] = val, last
    if not np.isfinite(total[full - 1]):
        return {}, float("-inf")
    parents: dict[int, list[int]] = {}
    W = full - 1
    while W:
        v = int(sink[W])
        W ^= 1 << v
        parents[v] = [u for u in range(p) if int(arg[v, W]) >> u & 1]
    return {v: parents[v] for v in range(p)}, float(total[full - 1])


def local_scores(scorer, p: int, max_parents: int | None = None) -> np.ndarray:
    """scores[v, S] for every variable v and parent set S (a bit mask without v); -inf where v is in S
    or S has more than ``max_parents`` members (those are not scored at all).

    BIC parts (causal-learn's covariance-based local score) are computed in batches of equal-sized
    parent sets with the formula of ``local_score_BIC_from_cov``; any other score (BDeu) is asked
    set by set."""
    full = 1 << p
    out = np.full((p, full), -np.inf)
    parts = getattr(scorer, "parts", [scorer])
    batched = all(_bic_parameters(part) is not None for part in parts)
    blocks = not batched and all(hasattr(part, "batch") for part in parts)  # categories as indicator blocks
    for v in range(p):
        others = [u for u in range(p) if u != v]
        for k in range(p if max_parents is None else min(p, max_parents + 1)):  # larger sets stay -inf
            combos = list(combinations(others, k))  # k = 0: one empty set, a row of width 0
            sets = np.array(combos, dtype=np.int64).reshape(len(combos), k)
            bits = (np.int64(1) << sets).sum(axis=1)
            if batched:
                out[v, bits] = sum(_bic_batch(part, v, sets) for part in parts)
            elif blocks:
                out[v, bits] = sum(part.batch(v, sets) for part in parts)
            else:
                out[v, bits] = [scorer.score(v, [int(u) for u in row]) for row in sets]
    return out


def _bic_parameters(part):
    """(cov, n, penalty) of a causal-learn covariance BIC scorer, else None."""
    if getattr(part, "local_score_fun", None) is None or part.local_score_fun.__name__ != "local_score_BIC_from_cov":
        return None
    lam = 0.5 if part.parameters is None else float(part.parameters["lambda_value"])
    return part.cov, part.n, lam


def _bic_batch(part, v: int, sets: np.ndarray) -> np.ndarray:
    """causal-learn's local_score_BIC_from_cov for v and each row of ``sets`` (parent sets of one size)."""
    cov, n, lam = _bic_parameters(part)
    k = sets.shape[1]
    s2 = np.full(len(sets), cov[v, v], dtype=float)
    if k:
        C = cov[sets[:, :, None], sets[:, None, :]]
        c = cov[v, sets]
        try:
            s2 = s2 - np.einsum("mk,mk->m", c, np.linalg.solve(C, c[..., None])[..., 0])
        except np.linalg.LinAlgError:  # a singular block somewhere: the library's own (pinv) path for all
            return np.array([part.score_nocache(v, [int(u) for u in row]) for row in sets])
    s2 = np.where(s2 <= 0, np.finfo(float).eps, s2)
    return -0.5 * n * (1 + np.log(s2)) - lam * (k + 1) * np.log(n)
