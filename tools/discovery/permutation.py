"""Permutation-based searches from causal-learn: GRaSP and BOSS.

Both search over variable orders for the sparsest DAG that optimises a decomposable score (BIC
for continuous data, BDeu for discrete), then return its equivalence class. They draw random
orders from Python's global generator, which ``run_algorithm`` seeds from the run's seed before each call.

BOSS is a local search from one starting order (causal-learn's ``boss()`` always starts from the
column order), and it can stop in a local optimum: on simulated linear-Gaussian graphs a single
start sometimes ends far below the score of the true DAG. Like Tetrad's ``numStarts``, ``starts``
runs the search loop from seeded random orders and keeps the graph with the best score;
the score is the search's own objective, so nothing outside the data decides. The restarts stop once
the best score has been reached from ``confirm`` different orders (on held-out simulations: as
accurate as five fixed starts, at 2.3 runs on average for sparse graphs and 5.6 for dense ones), or when
the run's time budget (``--time-budget``) leaves too little for another (:data:`RESTART_SHARE`): the
best graph found so far is kept and the graph's ``starts_cut`` says so. With a domain index
the score is summed over domains (:class:`DomainScore`).

Each BOSS run is :func:`causalpilot.tools.discovery.fast_boss.boss_search`: causal-learn's loop
(``better_mutation`` over grow-shrink trees) with the candidate parent sets scored in stacks, the same
path, graph and score bit for bit (:func:`causallearn_boss_search` runs causal-learn's own code, the
reference the tests compare against). Every scorer goes through it: the covariance BIC and the
domain-summed BIC are batched, the category score and BDeu are called one set at a time.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from causalpilot.tools.budget import current as current_budget

from causalpilot.tools.discovery._util import BIC_PENALTY, dag_to_cpdag, standardise
from causalpilot.tools.discovery.fast_boss import boss_search, set_scorer, sweep
from causalpilot.tools.quiet import quiet
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.registry import DiscoveryInput, algorithm

# A restart of BOSS starts only when one run (the mean so far) takes at most this share of the time budget
# left: the bootstrap and the effects need the rest. The first run always runs.
RESTART_SHARE = 0.25
MIXED_BIC = "local_score_mixed_BIC"  # tools/discovery/mixed_score.py: binary variables scored by logistic likelihood
_SCORES = ("local_score_BIC_from_cov", "local_score_BIC", "local_score_BDeu", MIXED_BIC)


def _prepare(data: DiscoveryInput, params: dict[str, Any]):
    score = params["score_func"]
    if score not in _SCORES:
        from causalpilot.tools.errors import InputError

        raise InputError(f"Unknown score '{score}'; choose one of: {', '.join(_SCORES)}.")
    return (data.X if score == "local_score_BDeu" else standardise(data.X)), score


@algorithm(
    "grasp", family="permutation", output="CPDAG",
    profile="""GRaSP (greedy relaxations of the sparsest permutation): searches orders of the variables
    by covered-edge tucks of bounded depth and keeps the order whose DAG scores best (BIC, or BDeu
    for discrete data). Weaker assumptions than faithfulness (only 'u-frugality'), and among the most
    accurate methods on dense graphs, small samples and data with measurement error. Assumes causal
    sufficiency and linear-Gaussian (BIC) or discrete (BDeu) data; output is a CPDAG. Cost grows with
    density and depth; practical up to ~100 variables at depth 3.""",
    defaults={"score_func": "local_score_BIC_from_cov", "depth": 3},
    data_types=("continuous", "discrete"), max_p=100,
)
def run_grasp(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.PermutationBased.GRaSP import grasp

    X, score = _prepare(data, params)
    if score == MIXED_BIC:
        from causalpilot.tools.errors import InputError

        raise InputError(f"GRaSP takes causal-learn's scores only; {MIXED_BIC} runs with boss or exact_search.")
    with quiet():
        G = grasp(X, score_func=score, depth=int(params.get("depth", 3)), verbose=False, node_names=list(data.nodes))
    return CausalGraph.from_endpoint_matrix(G.graph, data.nodes, "CPDAG")


@algorithm(
    "boss", family="permutation", output="CPDAG",
    profile="""BOSS (best order score search): moves one variable at a time to its best position in the
    order (using grow-shrink trees to score parent sets) until no move improves the score. As
    accurate as GRaSP and usually faster, it scales to a few hundred variables with BIC. Assumes
    causal sufficiency and linear-Gaussian (BIC) or discrete (BDeu) data; output is a CPDAG.
    A good default score-based method when the density is unknown. The search is rerun from seeded
    random orders (one run can stop in a local optimum) until the best score has been reached
    'confirm' times, at most 'starts' runs; the best-scoring graph is kept.
    With a domain index, the score is summed over domains (one DAG, parameters free per domain) and
    the variables whose mechanism changes across domains are reported. Unordered categories in mixed
    data enter the BIC as indicator columns (degenerate-Gaussian score).""",
    defaults={"score_func": "local_score_BIC_from_cov", "penalty": BIC_PENALTY, "starts": 20, "confirm": 2},
    data_types=("continuous", "discrete", "mixed"), max_p=300,
)
def run_boss(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    X, score = _prepare(data, params)
    starts = max(1, int(params.get("starts", 1)))
    p = X.shape[1]
    domains = None if data.domain is None else np.asarray(data.domain)
    categories = categories_of(data, score)
    scorer = make_scorer(X, score, float(params.get("penalty", BIC_PENALTY)), domains, categories, data,
                         params.get("binary_penalty"))
    confirm = max(1, int(params.get("confirm", 2)))
    rng = np.random.default_rng(data.seed)
    best, best_score, hits, used = None, -np.inf, 0, 0
    budget, began, cut = current_budget(), time.monotonic(), None
    for k in range(starts):
        if k > 0 and budget is not None:  # the run's time budget (tools.budget): a restart must fit its share
            per_run = (time.monotonic() - began) / used
            if per_run > RESTART_SHARE * budget.left():
                cut = {"seconds_per_run": round(per_run, 2), "seconds_left": round(budget.left(), 1)}
                break
        start = np.arange(p) if k == 0 else rng.permutation(p)
        parents, total = boss_search(scorer, [int(v) for v in start], data.seed if k == 0 else int(rng.integers(2**31)))
        used += 1
        if total > best_score + 1e-9:  # ties keep the earlier start: deterministic
            best, best_score, hits = parents, total, 1
        elif total > best_score - 1e-9:
            hits += 1
        if hits >= confirm:  # the best score has been reached again from another order: stop
            break
    return parents_to_graph(best, best_score, data, X, domains, params, categories,
                            {"starts": starts, "starts_used": used, **({"starts_cut": cut} if cut else {})})


def make_scorer(X: np.ndarray, score: str, penalty: float, domains: np.ndarray | None, categories=None,
                data: DiscoveryInput | None = None, binary_penalty: float | None = None):
    """The local score the searches optimise: BOSS's, summed over domains when there are domains; with
    unordered categories (``categories``: the expanded matrix and blocks of ``category_blocks``, given by
    ``categories_of`` for the BIC only) the BIC scores each category by its indicator columns
    (``tools.discovery.category_score``). :data:`MIXED_BIC` scores binary variables by their logistic
    likelihood (``tools.discovery.mixed_score``; it reads ``data``'s values and column kinds), at
    ``binary_penalty`` per coefficient of a binary variable's regression when given, else ``penalty``."""
    if domains is not None:
        return DomainScore(X, domains, score, penalty, categories, data, binary_penalty)
    if score == MIXED_BIC:
        from causalpilot.tools.discovery.mixed_score import MixedScore

        return MixedScore(data.X, list(data.nodes), data.kinds, penalty, binary_penalty)
    if categories is not None:
        from causalpilot.tools.discovery.category_score import CategoryScore

        return CategoryScore(X, *categories, penalty)
    return _boss_scorer(X, score, penalty, None if data is None else data.moments)


def categories_of(data: DiscoveryInput, score: str):
    """(expanded matrix, blocks) when the BIC must score unordered categories by indicators, else None."""
    if score in ("local_score_BDeu", MIXED_BIC):  # BDeu takes categories as cells; the mixed score expands its own
        return None
    from causalpilot.tools.discovery.category_score import category_blocks

    return category_blocks(np.asarray(data.X, dtype=float), list(data.nodes), data.kinds)


def category_note(data: DiscoveryInput, categories) -> dict[str, Any]:
    if categories is None:
        return {}
    _, blocks = categories
    return {"categories_as_indicators": {name: int(len(b)) for name, b in zip(data.nodes, blocks) if len(b) > 1}}


def parents_to_graph(parents: dict[int, list[int]], total: float, data: DiscoveryInput, X: np.ndarray,
                     domains: np.ndarray | None, params: dict[str, Any], categories=None,
                     extra: dict[str, Any] | None = None) -> CausalGraph:
    """The equivalence class of the DAG a search found, with its score; with domains, the changing
    mechanisms are found and orient edges (``apply_domain_changes``)."""
    p = X.shape[1]
    adj = np.zeros((p, p), dtype=int)
    for v, pa in parents.items():
        adj[pa, v] = 1
    graph = dag_to_cpdag(adj, list(data.nodes))
    graph.parameters = {**(extra or {}), **category_note(data, categories), "score": round(float(total), 4)}
    if domains is not None:
        from causalpilot.tools.discovery.domain_changes import apply_domain_changes

        graph, found = apply_domain_changes(graph, X, domains, float(params.get("change_alpha", 0.05)), categories)
        graph.parameters.update(context="domain", score_by="domain", **found)
    return graph


def causallearn_boss_search(scorer, start: list[int], seed: int) -> tuple[dict[int, list[int]], float]:
    """One BOSS run from the order ``start``: causal-learn's own loop (its grow-shrink trees and
    ``better_mutation``), which its ``boss()`` always starts from the column order. Returns the
    parents of each variable and the total score (higher is better).

    The reference for :func:`causalpilot.tools.discovery.fast_boss.boss_search`, which ``run_boss``
    uses: the same result, bit for bit, faster (the tests and ``benchmarks/bench_boss.py`` compare them)."""
    from causallearn.search.PermutationBased.BOSS import better_mutation
    from causallearn.search.PermutationBased.gst import GST

    order = list(start)
    gsts = [GST(v, scorer) for v in range(len(order))]
    sweep(order, lambda v: better_mutation(v, order, gsts), seed)
    parents: dict[int, list[int]] = {v: [] for v in order}
    total = 0.0
    for i, v in enumerate(order):
        total += gsts[v].trace(order[:i], parents[v])
    return {v: sorted(pa) for v, pa in parents.items()}, float(total)


def _boss_scorer(X: np.ndarray, score: str, penalty: float = BIC_PENALTY, moments=None):
    """The local score as causal-learn's BOSS builds it: BIC from the covariance,
    -n/2 (1 + log s2) - penalty (|Pa| + 1) log n (see BIC_PENALTY), or BDeu. ``moments`` (a streamed
    file's, tools.moments.Moments): the BIC reads their correlation matrix and n instead of the
    covariance of the standardised ``X`` (then only its sample)."""
    from causallearn.score.LocalScoreFunction import local_score_BDeu, local_score_BIC_from_cov
    from causallearn.score.LocalScoreFunctionClass import LocalScoreClass

    if score == "local_score_BDeu":
        return LocalScoreClass(data=X, local_score_fun=local_score_BDeu, parameters=None)
    scorer = LocalScoreClass(data=X, local_score_fun=local_score_BIC_from_cov, parameters={"lambda_value": float(penalty)})
    if moments is not None:
        scorer.cov, scorer.n = moments.corr(), int(round(moments.n))
    return scorer


class DomainScore:
    """BOSS's local score summed over domains: one structure, every parameter free per domain.

    The model of pooled heterogeneous data (the one CD-NOD assumes): the DAG is shared, while each
    domain may have its own coefficients, means and noise scales. Scoring the pooled rows instead
    would judge a mixture of domains as if it were one linear model.
    """

    def __init__(self, X: np.ndarray, domains: np.ndarray, score: str, penalty: float = BIC_PENALTY, categories=None,
                 data: DiscoveryInput | None = None, binary_penalty: float | None = None) -> None:
        self.data = X  # causal-learn's grow-shrink trees read the number of variables from here
        # a domain needs more rows than variables for its covariance to score every parent set (a
        # bootstrap resample can leave a small domain with a handful); smaller ones are left out
        width = X.shape[1] if categories is None else categories[0].shape[1]
        keep = [g for g in np.unique(domains) if (domains == g).sum() > width + 1]

        def part(rows):
            if score == MIXED_BIC:
                from causalpilot.tools.discovery.mixed_score import MixedScore

                return MixedScore(data.X[rows], list(data.nodes), data.kinds, penalty, binary_penalty)
            if categories is None:
                return _boss_scorer(X[rows], score, penalty)
            from causalpilot.tools.discovery.category_score import CategoryScore

            return CategoryScore(X[rows], categories[0][rows], categories[1], penalty)

        self.parts = [part(domains == g) for g in keep] or [part(np.ones(len(X), dtype=bool))]
        self._set_scorers = [set_scorer(p) for p in self.parts]

    def score_nocache(self, i: int, parents: list[int]) -> float:
        return float(sum(part.score_nocache(i, parents) for part in self.parts))

    def score(self, i: int, parents: list[int]) -> float:
        return float(sum(part.score(i, parents) for part in self.parts))

    def score_sets(self, i: int, sets: np.ndarray) -> np.ndarray:
        """``score_nocache(i, row)`` for every row of ``sets`` (m x k parent sets), bit for bit: the
        domains' batched scores (``fast_boss.set_scorer``) summed in the same order."""
        return sum(f(i, sets) for f in self._set_scorers)
