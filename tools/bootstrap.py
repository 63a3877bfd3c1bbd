"""Bootstrap edge confidence: rerun an algorithm on resamples and count how often each edge returns.

Each replicate draws its own seed from ``numpy.random.SeedSequence(seed).spawn(B)``, so results do
not depend on how replicates are spread over workers (joblib), only on ``--seed``. Time series use
a moving-block bootstrap so that dependence between neighbouring rows survives resampling.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Callable

import numpy as np
from scipy.stats import binom

from causalpilot.tools.cluster import task_map
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.registry import DiscoveryInput, run_algorithm

log = logging.getLogger(__name__)

UNSTABLE_BELOW = 0.5
# orientations made after the resampled algorithm (the knowledge applied to the final graph, the
# additive-noise step, the LLM's review): the bootstrap has no say on them
FIXED_AFTER_RESAMPLING = ("background", "additive_noise", "llm_review")


@dataclass
class BootstrapResult:
    replicates: int
    edge_frequency: dict[tuple, float]  # (source, target, type, lag) -> frequency of that exact edge
    failures: int = 0

    def link_frequency(self) -> dict[tuple, float]:
        """(frozenset of the two nodes, lag) -> share of resamples with that adjacency, whatever its marks."""
        out: dict[tuple, float] = {}
        for (a, b, _type, lag), f in self.edge_frequency.items():
            key = (frozenset((a, b)), lag)
            out[key] = out.get(key, 0.0) + f
        return {k: min(v, 1.0) for k, v in out.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "replicates": self.replicates,
            "failures": self.failures,
            "edges": [{"source": k[0], "target": k[1], "type": k[2], "lag": k[3], "frequency": round(v, 4)}
                      for k, v in sorted(self.edge_frequency.items(), key=lambda kv: (-kv[1], str(kv[0])))],
        }


BLOCKS_PER_LAG = 5  # a block this many times the largest lag keeps >= 80% of the lagged pairs intact


def block_length(n: int, tau_max: int) -> int:
    """Moving-block length for a series of n rows analysed up to lag tau_max.

    Blocks are glued end to end, so a pair (t - k, t) survives resampling only when both rows fall
    in one block: a share (b - k) / b. Blocks of about 5 * tau_max keep at least 80% of the pairs at
    every lag examined (at tau_max + 1 a lag-14 link kept 1 pair in 15, and the bootstrap never found
    it again); at least 10 rows (or n / 20) for the autocorrelation, at most n / 4 so that a resample
    still mixes several blocks."""
    b = max(2, min(10, n // 20), BLOCKS_PER_LAG * max(int(tau_max), 1))
    return int(max(2, min(b, n // 4)))


def resample_indices(n: int, rng: np.random.Generator, block: int | None = None) -> np.ndarray:
    if not block or block <= 1:
        return rng.integers(0, n, size=n)
    starts = rng.integers(0, n - block + 1, size=int(np.ceil(n / block)))
    return np.concatenate([np.arange(s, s + block) for s in starts])[:n]


def _with_knowledge(graph: CausalGraph, data: DiscoveryInput) -> CausalGraph:
    """A resample's graph made to honour the background knowledge, as the final graph is
    (background.apply_to_graph, which the loop applies after the full-data run): otherwise an edge the
    knowledge orients would be counted against the resamples' undirected copies of it, and "this way
    round in 95%" would be the share left undirected, not the share pointing the other way."""
    if data.background is None or data.background.is_empty():
        return graph
    from causalpilot.tools.background import apply_to_graph

    return apply_to_graph(graph, data.background)[0]


def _one(data: DiscoveryInput, name: str, params: dict, seed_seq: np.random.SeedSequence, block: int | None):
    rng = np.random.default_rng(seed_seq)
    idx = resample_indices(data.X.shape[0], rng, block)
    sub = replace(data, X=data.X[idx],
                  domain=None if data.domain is None else data.domain[idx],
                  time=None if data.time is None else data.time[idx],
                  seed=int(seed_seq.generate_state(1)[0]))
    try:
        return _with_knowledge(run_algorithm(name, sub, params), data)
    except Exception as exc:  # a degenerate resample (e.g. a constant column) must not sink the run
        log.debug("bootstrap resample of %s failed (%s: %s); it is left out", name, type(exc).__name__, exc)
        return None


def bootstrap(name: str, data: DiscoveryInput, params: dict, B: int, seed: int, n_jobs: int = 1,
              block: int | None = None, progress: Callable[[int], None] | None = None) -> BootstrapResult:
    """Run ``name`` on B resamples in parallel and return edge frequencies.

    The resamples run as tasks (:func:`causalpilot.tools.cluster.task_map`): on the active Dask
    cluster, else in ``n_jobs`` local processes, each under a BLAS/OpenMP thread limit
    (:mod:`causalpilot.tools.threads`); each has its own seed, so the result is the same.

    ``progress``, if given, is called with the number of resamples finished so far after each one
    (in resample order when they run in parallel); it cannot change the result."""
    if B <= 0:
        return BootstrapResult(0, {})
    children = np.random.SeedSequence([seed, 0xB007]).spawn(B)
    return _frequencies(task_map(_one, data, [(name, params, s, block) for s in children], n_jobs), progress)


def _one_weighted(data: DiscoveryInput, name: str, params: dict, moments, seed_seq: np.random.SeedSequence):
    sub = replace(data, moments=moments, seed=int(seed_seq.generate_state(1)[0]))
    try:
        return _with_knowledge(run_algorithm(name, sub, params), data)
    except Exception as exc:  # a degenerate resample must not sink the run
        log.debug("weighted resample of %s failed (%s: %s); it is left out", name, type(exc).__name__, exc)
        return None


def weighted_bootstrap(name: str, data: DiscoveryInput, params: dict, resamples: list, seed: int, n_jobs: int = 1,
                       progress: Callable[[int], None] | None = None) -> BootstrapResult:
    """Edge frequencies of ``name`` run on each of ``resamples``: the moments (tools.moments.Moments) of a
    streamed file's rows under Poisson(1) weights (tools.streaming.LazyTable.poisson_moments), for a
    method that needs nothing else (registry.uses_moments). Seeds, tasks and counting as :func:`bootstrap`."""
    if not resamples:
        return BootstrapResult(0, {})
    children = np.random.SeedSequence([seed, 0xB007]).spawn(len(resamples))
    return _frequencies(task_map(_one_weighted, data, [(name, params, m, s) for m, s in zip(resamples, children)],
                                 n_jobs), progress)


def _frequencies(runs, progress: Callable[[int], None] | None) -> BootstrapResult:
    """Each edge's share of the graphs ``runs`` yields (None: a failed resample, counted as a failure)."""
    graphs = []
    for g in runs:
        graphs.append(g)
        if progress is not None:
            progress(len(graphs))
    ok = [g for g in graphs if g is not None]
    edges: Counter = Counter()
    for g in ok:
        for e in g.edges:
            edges[(e.source, e.target, e.type, e.lag)] += 1
    m = max(len(ok), 1)
    return BootstrapResult(len(ok), {k: v / m for k, v in edges.items()},
                           failures=len(graphs) - len(ok))


def annotate(graph: CausalGraph, result: BootstrapResult) -> CausalGraph:
    """The graph with each edge's confidence set to its bootstrap frequency (0.0 if never seen), and its
    link confidence to that of the adjacency with any marks."""
    if result.replicates == 0:
        return graph
    return graph.with_confidence(result.edge_frequency, default=0.0, links=result.link_frequency())


DIRECTION_ALPHA = 0.05


def unsettled_directions(graph: CausalGraph, result: BootstrapResult, background=None) -> list[dict[str, Any]]:
    """Directed edges whose direction the bootstrap does not back by a clear majority.

    Among the m resamples that contain the pair at all, an edge's direction is settled when the k that
    have it that way round are a majority beyond the resampling's own chance: a one-sided binomial test
    of k out of m against one half at DIRECTION_ALPHA (with 20 resamples, at least 15 of 20; with 100,
    59 of 100). A bare majority of 20 (13 of 20, say) is as likely a coin flip, and an effect, or the
    claim that there is none, would rest on it. Directions that background knowledge (--background)
    allows one way only, and directions whose :class:`~causalpilot.tools.graph.Orientation` says they were
    set after the resampled algorithm (FIXED_AFTER_RESAMPLING: the knowledge, the additive-noise step's
    own test, the LLM's review), are left alone. Only DAGs and CPDAGs: a PAG's marks and a lagged graph's
    time order mean otherwise.
    """
    if result.replicates == 0 or graph.graph_type not in ("DAG", "CPDAG"):
        return []
    freq, links = result.edge_frequency, result.link_frequency()
    out = []
    for e in graph.edges:
        if e.type != "directed" or e.lag or e.oriented_by in FIXED_AFTER_RESAMPLING:
            continue
        if background is not None and (background.forbids(e.target, e.source)
                                       or (e.source, e.target) in background.required):
            continue
        together = links.get((frozenset((e.source, e.target)), e.lag), 0.0)
        this_way = freq.get((e.source, e.target, "directed", e.lag), 0.0)
        m = int(round(together * result.replicates))
        k = int(round(this_way * result.replicates))
        if m == 0 or binom.sf(k - 1, m, 0.5) <= DIRECTION_ALPHA:
            continue
        out.append({"edge": f"{e.source} -> {e.target}", "source": e.source, "target": e.target,
                    "this_way": round(this_way / together, 4),
                    "other_way": round(freq.get((e.target, e.source, "directed", e.lag), 0.0) / together, 4),
                    "resamples_with_edge": round(together, 4)})
    return out


def open_directions(graph: CausalGraph, unsettled: list[dict[str, Any]]) -> CausalGraph:
    """The graph with the given directed edges made undirected (a DAG becomes a PDAG read as a CPDAG)."""
    if not unsettled:
        return graph
    loose = {(u["source"], u["target"]) for u in unsettled}
    nodes = list(graph.nodes)
    edges = []
    for e in graph.edges:
        if (e.source, e.target) in loose and e.type == "directed":
            a, b = sorted((e.source, e.target), key=nodes.index)
            edges.append(replace(e, source=a, target=b, type="undirected", orientation=None))
        else:
            edges.append(e)
    return CausalGraph(nodes, edges, "CPDAG", graph.algorithm, dict(graph.parameters))
