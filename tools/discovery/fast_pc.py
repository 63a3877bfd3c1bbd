"""PC-stable with Fisher-z, batched: the same skeleton, separating sets and CPDAG as causal-learn's PC.

Why: causal-learn's stable PC runs every conditional-independence test one Python call at a time
(and in stable mode it runs *all* conditioning sets of a depth, it does not stop at the first
independence). The skeleton phase is where the time goes. Here, for each depth, every test that
causal-learn would run is enumerated at once from the adjacencies at the start of the depth, the
distinct tests are computed in stacks (:mod:`causalpilot.tools.ci.fisherz`, identical p-values), and the
decisions are replayed in causal-learn's order so that the separating sets come out the same.

Reproduced details of ``causallearn.utils.PCUtils.SkeletonDiscovery.skeleton_discovery`` (stable):
- the depth loop runs while ``max_degree - 1 > depth`` and stops past ``max_k``;
- a node x with fewer than ``depth - 1`` neighbours is skipped entirely (no sepset recorded);
- for each ordered pair (x, y), x ascending, y over x's neighbours ascending, every S in
  ``combinations(adj(x) minus y, depth)`` is tested; the recorded separating set is the union (a
  Python set, filled in test order) of all S with p > alpha, appended to ``sepset[x, y]`` and
  ``sepset[y, x]`` when (x, y) is in ``edge_removal`` at that moment, i.e. when x's own tests
  removed it, background knowledge bans it, or y < x and y's tests removed it (then the appended
  set may be empty);
- an edge forbidden in both directions by background knowledge is removed (its tests still run).
Orientation for the default PC settings (uc_rule=0, uc_priority=2, no background knowledge) is
replayed on matrices by :mod:`causalpilot.tools.discovery.fast_orient`; every other setting runs causal-learn's
own code (background-knowledge orientation, UCSepset, Meek) on a causal-learn ``CausalGraph``
carrying the fast skeleton and sepsets. :func:`cdnod` does the same for causal-learn's CD-NOD.
The result is a causal-learn ``CausalGraph``, so callers use ``cg.G.graph`` as with the library.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import comb
from typing import Callable, Iterator

import numpy as np

from causalpilot.tools.ci.fisherz import PValueCache, cache_for, fast_fisherz_cit, gpu_available

_ROWS_PER_BATCH = 1_000_000  # tests enumerated before a batch is computed


# who hears of the skeleton's progress: called (depth, tests done, tests planned at this depth) when a depth
# starts, after each batch and when it ends; set by :func:`reporting` (the analysis loop's progress lines)
_REPORT: ContextVar[Callable[[int, int, int], None] | None] = ContextVar("fast_pc_report", default=None)


@contextmanager
def reporting(callback: Callable[[int, int, int], None] | None) -> Iterator[None]:
    """Within the block, :func:`skeleton` calls ``callback(depth, done, planned)`` as its tests run: the
    tests of a depth are counted before they run, so the time left in the depth can be estimated."""
    token = _REPORT.set(callback)
    try:
        yield
    finally:
        _REPORT.reset(token)


@lru_cache(maxsize=256)
def _positions(L: int, depth: int) -> np.ndarray:
    """For each j < L, the combinations of size ``depth`` of range(L) without j: shape (L, c, depth)."""
    combos = list(combinations(range(L - 1), depth))
    comb = np.array(combos, dtype=np.int64).reshape(len(combos), depth)
    j = np.arange(L)[:, None, None]
    return comb[None, :, :] + (comb[None, :, :] >= j)


@dataclass
class SkeletonResult:
    adjacency: np.ndarray  # bool p x p
    sepset: np.ndarray  # object p x p, as causal-learn's cg.sepset
    tests_run: int = 0  # tests causal-learn would have called (with repeats)
    tests_computed: int = 0  # distinct tests actually computed (others from the cache)
    depth_reached: int = -1


def _banned_pairs(p: int, nodes, background_knowledge) -> np.ndarray:
    ban = np.zeros((p, p), dtype=bool)
    if background_knowledge is None:
        return ban
    for x in range(p):
        for y in range(x + 1, p):
            if background_knowledge.is_forbidden(nodes[x], nodes[y]) and \
                    background_knowledge.is_forbidden(nodes[y], nodes[x]):
                ban[x, y] = ban[y, x] = True
    return ban


def skeleton(data: np.ndarray, alpha: float, *, max_k: int | None = None, background_knowledge=None,
             nodes=None, cache: PValueCache | None = None, use_gpu: bool | None = None) -> SkeletonResult:
    """Stable-PC skeleton with Fisher-z; identical to causal-learn's ``skeleton_discovery``.

    ``nodes`` (causal-learn Node objects) are needed only with background knowledge.
    """
    assert 0 < alpha < 1
    report = _REPORT.get()
    p = data.shape[1]
    cache = cache if cache is not None else cache_for(data)
    use_gpu = gpu_available() if use_gpu is None else use_gpu
    adj = ~np.eye(p, dtype=bool)
    sepset = np.empty((p, p), object)
    ban = _banned_pairs(p, nodes, background_knowledge)
    result = SkeletonResult(adj, sepset)
    before = cache.computed
    depth = -1
    while p > 0 and int(adj.sum(axis=1).max()) - 1 > depth:
        depth += 1
        if max_k is not None and depth > max_k:
            break
        neigh = [np.flatnonzero(adj[x]) for x in range(p)]
        planned = sum(len(nx) * comb(len(nx) - 1, depth) for nx in neigh if len(nx) >= max(depth - 1, 1))
        tested = 0
        if report is not None:
            report(depth, 0, planned)
        removed = np.zeros((p, p), dtype=bool)
        skipped = np.zeros(p, dtype=bool)
        own_sets: dict[tuple[int, int], tuple] = {}
        pending: list[tuple[int, np.ndarray, np.ndarray]] = []  # (x, Nx, S_all (L, c, depth))
        pending_rows: list[np.ndarray] = []
        n_pending = 0

        def flush() -> None:
            """Test the pending nodes' pairs in one batch, then record their decisions."""
            nonlocal n_pending
            batch = np.concatenate(pending_rows) if pending_rows else np.empty((0, depth + 2), dtype=np.int64)
            nonlocal tested
            indep_all = cache.pvalues(batch, use_gpu=use_gpu, alpha=alpha) > alpha
            result.tests_run += batch.shape[0]
            tested += batch.shape[0]
            if report is not None:
                report(depth, min(tested, planned), planned)
            offset = 0
            for x, Nx, S_all in pending:
                L, c = S_all.shape[0], S_all.shape[1]
                ind = indep_all[offset:offset + L * c].reshape(L, c)
                offset += L * c
                any_ind = ind.any(axis=1)
                removed[x, Nx] = any_ind | ban[x, Nx]
                if depth > 0:  # at depth 0 every separating set is empty
                    for j in np.flatnonzero(any_ind).tolist():
                        sepsets = set()  # causal-learn: union of all separating S, in test order
                        for S in S_all[j][ind[j]]:
                            for s in S:
                                sepsets.add(s)
                        own_sets[(x, int(Nx[j]))] = tuple(sepsets)
            pending.clear()
            pending_rows.clear()
            n_pending = 0

        for x in range(p):
            Nx = neigh[x]
            L = Nx.size
            if L < depth - 1:
                skipped[x] = True  # causal-learn skips x entirely
                continue
            if L == 0 or L - 1 < depth:
                pending.append((x, Nx, np.empty((L, 0, depth), dtype=np.int64)))
                continue
            S_all = Nx[_positions(L, depth)]  # (L, c, depth), each S sorted ascending
            c = S_all.shape[1]
            lo = np.minimum(Nx, x)[:, None].repeat(c, axis=1)
            hi = np.maximum(Nx, x)[:, None].repeat(c, axis=1)
            pending.append((x, Nx, S_all))
            pending_rows.append(np.concatenate([lo[..., None], hi[..., None], S_all], axis=2).reshape(-1, depth + 2))
            n_pending += L * c
            if n_pending >= _ROWS_PER_BATCH:  # bounds memory on dense graphs
                flush()
        flush()
        if report is not None:
            report(depth, planned, planned)
        # (x, y) is in causal-learn's edge_removal when x handles it if x removed it, or y < x did
        record = (removed | np.tril(removed.T, -1)) & adj & ~skipped[:, None]
        xs, ys = np.nonzero(record)  # row-major: x ascending, then y ascending
        for x, y in zip(xs.tolist(), ys.tolist()):
            value = own_sets.get((x, y), ())
            for a, b in ((x, y), (y, x)):
                if sepset[a, b] is None:
                    sepset[a, b] = [value]
                else:
                    sepset[a, b].append(value)
        adj &= ~(removed | removed.T)
        result.depth_reached = depth
    result.tests_computed = cache.computed - before
    return result


def _causallearn_graph(res: SkeletonResult, node_names: list[str] | None, data: np.ndarray,
                      graph: np.ndarray | None = None, dpath: np.ndarray | None = None,
                      cache: PValueCache | None = None):
    """A causal-learn CausalGraph holding our skeleton (or final graph), sepsets and a fast test (on the
    correlation matrix and sample size of ``cache``, by default those of ``data``).

    Built without ``CausalGraph.__init__``'s p^2/2 ``add_edge`` calls (seconds at p = 1000): the
    attributes are those ``__init__`` sets, with the endpoint matrix written directly (the same as
    removing undirected edges one by one, which leaves ``dpath`` alone).
    """
    from causallearn.graph.GeneralGraph import GeneralGraph
    from causallearn.graph.GraphClass import CausalGraph as CLGraph
    from causallearn.graph.GraphNode import GraphNode

    p = res.adjacency.shape[0]
    if node_names is None:
        node_names = [f"X{i + 1}" for i in range(p)]
    cg = CLGraph.__new__(CLGraph)
    cg.G = GeneralGraph([GraphNode(name) for name in node_names])
    if graph is None:
        graph = np.where(res.adjacency, -1, 0)
        np.fill_diagonal(graph, 0)
    cg.G.graph = np.asarray(graph, dtype=int)
    if dpath is not None:
        cg.G.dpath = dpath
    cg.test = None
    cache = cache if cache is not None else cache_for(data)
    test = fast_fisherz_cit(data, cache.corr)
    test.sample_size = cache.n
    cg.set_ind_test(test)  # used by uc_priority 3/4 and maxP rules
    cg.sepset = res.sepset
    cg.definite_UC, cg.definite_non_UC, cg.redundant_nodes = [], [], []
    cg.PC_elapsed = -1
    import networkx as nx
    cg.nx_graph, cg.nx_skel = nx.DiGraph(), nx.Graph()
    cg.labels, cg.prt_m = {}, {}
    return cg


def _orient(res: SkeletonResult, data: np.ndarray, alpha: float, node_names, uc_rule: int, uc_priority: int,
            background_knowledge, directed_from: int | None = None, cache: PValueCache | None = None):
    """Orientation as causal-learn's pc_alg / cdnod_alg do it: our replay where it is exact, else theirs."""
    from causallearn.utils.PCUtils import Meek, UCSepset
    from causallearn.utils.PCUtils.BackgroundKnowledgeOrientUtils import orient_by_background_knowledge

    from causalpilot.tools.discovery.fast_orient import orient_pc

    if background_knowledge is None and uc_rule == 0 and uc_priority == 2:
        graph, dpath = orient_pc(res.adjacency, res.sepset, directed_from)
        return _causallearn_graph(res, node_names, data, graph, dpath, cache)
    cg_1 = _causallearn_graph(res, node_names, data, cache=cache)
    if directed_from is not None:
        for node in cg_1.G.get_adjacent_nodes(cg_1.G.nodes[directed_from]):
            cg_1.G.add_directed_edge(cg_1.G.nodes[directed_from], node)
    bk = background_knowledge
    if bk is not None:
        orient_by_background_knowledge(cg_1, bk)
    if uc_rule == 0:
        cg_2 = UCSepset.uc_sepset(cg_1, uc_priority, background_knowledge=bk) if uc_priority != -1 \
            else UCSepset.uc_sepset(cg_1, background_knowledge=bk)
        return Meek.meek(cg_2, background_knowledge=bk)
    if uc_rule == 1:
        cg_2 = UCSepset.maxp(cg_1, uc_priority, background_knowledge=bk) if uc_priority != -1 \
            else UCSepset.maxp(cg_1, background_knowledge=bk)
        return Meek.meek(cg_2, background_knowledge=bk)
    if uc_rule == 2:
        cg_2 = UCSepset.definite_maxp(cg_1, alpha, uc_priority, background_knowledge=bk) if uc_priority != -1 \
            else UCSepset.definite_maxp(cg_1, alpha, background_knowledge=bk)
        return Meek.meek(Meek.definite_meek(cg_2, background_knowledge=bk), background_knowledge=bk)
    raise ValueError("uc_rule should be in [0, 1, 2]")


def _checked(data) -> np.ndarray:
    data = np.asarray(data, dtype=float)
    if np.isnan(data).any() or np.isinf(data).any():
        raise ValueError("Input data contains NaN or Inf.")
    return data


def pc(data: np.ndarray, alpha: float = 0.05, *, stable: bool = True, uc_rule: int = 0, uc_priority: int = 2,
       background_knowledge=None, node_names: list[str] | None = None, max_k: int | None = None,
       use_gpu: bool | None = None, return_stats: bool = False, corr: np.ndarray | None = None,
       n: float | None = None):
    """Drop-in for ``causallearn...PC.pc(data, alpha, 'fisherz', stable=True, ...)``: the same CausalGraph.

    Only the stable variant is implemented (the non-stable one depends on test order by design).
    ``corr`` (p x p) and ``n``: the correlation matrix and sample size to test on instead of those of
    ``data`` (the moments of a file streamed in batches; ``data`` is then only its sample).
    """
    if not stable:
        raise ValueError("the fast PC engine implements the stable (order-independent) variant only")
    data = _checked(data)
    p = data.shape[1]
    if node_names is None:
        node_names = [f"X{i + 1}" for i in range(p)]
    nodes = None
    if background_knowledge is not None:
        from causallearn.graph.GraphNode import GraphNode
        nodes = [GraphNode(name) for name in node_names]
    cache = None if corr is None else PValueCache(np.asarray(corr, dtype=float), int(round(n)))
    res = skeleton(data, alpha, max_k=max_k, background_knowledge=background_knowledge, nodes=nodes,
                   cache=cache, use_gpu=use_gpu)
    cg = _orient(res, data, alpha, node_names, uc_rule, uc_priority, background_knowledge, cache=cache)
    return (cg, res) if return_stats else cg


def cdnod(data: np.ndarray, c_indx: np.ndarray, alpha: float = 0.05, *, stable: bool = True, uc_rule: int = 0,
          uc_priority: int = 2, background_knowledge=None, use_gpu: bool | None = None):
    """Drop-in for ``causallearn...CDNOD.cdnod(data, c_indx, alpha, 'fisherz', ...)``: the same CausalGraph.

    As in causal-learn, the domain/time index is appended as the last variable (named X{p+1}), the
    skeleton ignores background knowledge and depth, and edges at the index are oriented out of it.
    """
    if not stable:
        raise ValueError("the fast engine implements the stable (order-independent) variant only")
    data_aug = _checked(np.concatenate((data, np.asarray(c_indx).reshape(len(data), -1)), axis=1))
    res = skeleton(data_aug, alpha, use_gpu=use_gpu)
    return _orient(res, data_aug, alpha, None, uc_rule, uc_priority, background_knowledge,
                   directed_from=data_aug.shape[1] - 1)
