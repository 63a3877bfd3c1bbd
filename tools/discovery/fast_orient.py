"""causal-learn's PC orientation (UCSepset priority 2, then Meek) replayed on numpy matrices.

Why: after a fast skeleton, causal-learn's orientation code dominates PC's run time at moderate p:
its triple finders loop over all pairs of adjacencies in Python (O(E^2)), every step deep-copies
the graph with its sepset array, and removing a directed edge rebuilds the ancestor matrix through
Edge objects. The orientation result depends on the order in which triples are visited and on
causal-learn's ancestor bookkeeping (``GeneralGraph.dpath``, which is *not* a full transitive
closure), so this module reproduces both exactly rather than computing "a" CPDAG:

- triples are listed in the order ``permutations(find_adj(), 2)`` yields them, with ``find_adj`` =
  ``find_tails() + find_arrow_heads()`` built from ``np.where`` as causal-learn does;
- ``dpath`` starts as the identity, ``adjust_dpath(i, j)`` copies row i into row j and marks i in
  the rows of j's recorded descendants, and removing a fully directed edge rebuilds ``dpath`` from
  the remaining edges in ``get_graph_edges`` order, popped from the end.
Only the path used by ``pc(..., uc_rule=0, uc_priority=2)`` without background knowledge is
covered; other settings fall back to causal-learn's own code (see :mod:`causalpilot.tools.discovery.fast_pc`).
Endpoint codes: G[i, j] = -1 (tail at i), 1 (arrow at i), 0 (no edge); i -> j is G[i,j]=-1, G[j,i]=1.
"""

from __future__ import annotations

import numpy as np


class _Graph:
    """Graph matrix plus causal-learn's ``dpath`` (dpath[a, b] == 1: b recorded as an ancestor of a).

    ``dpath`` is materialised lazily: removing a directed edge makes causal-learn rebuild it from
    every edge (O(E p) each time, and UCSepset does it once per re-oriented collider edge), but no
    rule reads it until Meek. So only the graph at the last rebuild and the ``adjust_dpath`` calls
    made since are kept; reading ``dpath`` replays them once, which gives the same matrix.
    """

    def __init__(self, G: np.ndarray):
        self.G = G
        self._base: np.ndarray | None = None  # graph of the last rebuild (None: identity dpath)
        self._pending: list[tuple[int, int]] = []
        self._dpath: np.ndarray | None = None

    @property
    def dpath(self) -> np.ndarray:
        if self._dpath is None:
            d = np.eye(self.G.shape[0], dtype=int)
            if self._base is not None:
                for i, j in _rebuild_order(self._base):
                    _adjust(d, i, j)
            for i, j in self._pending:
                _adjust(d, i, j)
            self._dpath, self._base, self._pending = d, None, []
        return self._dpath

    def fully_directed(self, i, j) -> bool:
        return self.G[i, j] == -1 and self.G[j, i] == 1

    def undirected(self, i, j) -> bool:
        return self.G[i, j] == -1 and self.G[j, i] == -1

    def adjust_dpath(self, i, j) -> None:
        if self._dpath is not None:
            _adjust(self._dpath, i, j)
        else:
            self._pending.append((i, j))

    def reconstitute_dpath(self) -> None:
        self._dpath, self._base, self._pending = None, self.G.copy(), []

    def orient(self, a, b) -> None:
        """remove_edge(get_edge(a, b)) then add_edge(a -> b), with causal-learn's dpath updates."""
        was_directed = self.fully_directed(a, b) or self.fully_directed(b, a)
        self.G[a, b] = self.G[b, a] = 0
        if was_directed:
            self.reconstitute_dpath()
        self.G[b, a] = 1
        self.G[a, b] = -1
        self.adjust_dpath(a, b)


def _adjust(d: np.ndarray, i: int, j: int) -> None:
    """``GeneralGraph.adjust_dpath(i, j)`` (its k-loop reads nothing it writes, the diagonal being 1)."""
    d[j, i] = 1
    row_i = d[i, :] == 1
    col_j = d[:, j] == 1
    d[j, row_i] = 1
    d[col_j, i] = 1


def _rebuild_order(G: np.ndarray) -> list[tuple[int, int]]:
    """The adjust_dpath calls of ``reconstitute_dpath(get_graph_edges())`` on graph G, in order."""
    lower = np.tril(G, -1).T  # lower[i, j] = G[j, i] for i < j
    ii, jj = np.nonzero((lower == 1) | (lower == -1))  # get_graph_edges order: i asc, then j asc
    calls = []
    for i, j in zip(ii[::-1].tolist(), jj[::-1].tolist()):  # popped from the end
        if G[j, i] == 1 and G[i, j] == -1:
            calls.append((i, j))
        elif G[i, j] == 1 and G[j, i] == -1:
            calls.append((j, i))
    return calls


def _adj_list(G: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``find_tails() + find_arrow_heads()`` as two arrays (first, second element of each pair)."""
    tr, tc = np.where(G == -1)
    hr, hc = np.where(G == 1)
    return np.concatenate([tc, hc]), np.concatenate([tr, hr])


def _pairs_through(G: np.ndarray):
    """Pairs (a, b) of ``permutations(find_adj(), 2)`` with a[1] == b[0] and a[0] != b[1], in order."""
    A0, A1 = _adj_list(G)
    by_first: dict[int, list[int]] = {}
    for idx, v in enumerate(A0.tolist()):
        by_first.setdefault(v, []).append(idx)
    A1l = A1.tolist()
    A0l = A0.tolist()
    for ia in range(len(A0l)):
        i, j = A0l[ia], A1l[ia]
        for ib in by_first.get(j, ()):
            k = A1l[ib]
            if i != k:
                yield i, j, k


def unshielded_triples(G: np.ndarray) -> list[tuple[int, int, int]]:
    return [(i, j, k) for i, j, k in _pairs_through(G) if G[i, k] == 0]


def triangles(G: np.ndarray) -> list[tuple[int, int, int]]:
    adjacent = (G == -1).T | (G == 1).T  # (i, k) in find_adj() iff G[k, i] in (-1, 1)
    return [(i, j, k) for i, j, k in _pairs_through(G) if adjacent[i, k]]


def kites(G: np.ndarray, tri: list[tuple[int, int, int]]) -> list[tuple[int, int, int, int]]:
    groups: dict[tuple[int, int], list[int]] = {}
    for idx, t in enumerate(tri):
        groups.setdefault((t[0], t[2]), []).append(idx)
    out = []
    for ia, a in enumerate(tri):
        for ib in groups[(a[0], a[2])]:
            b = tri[ib]
            if ib != ia and a[1] < b[1] and G[a[1], b[1]] == 0:
                out.append((a[0], a[1], b[1], a[2]))
    return out


def uc_sepset_priority2(g: _Graph, sepset: np.ndarray) -> None:
    """``UCSepset.uc_sepset(cg, priority=2)`` without background knowledge, in place."""
    UT = [(i, j, k) for (i, j, k) in unshielded_triples(g.G) if i < k]
    for x, y, z in UT:
        if all(y not in S for S in sepset[x, z]):
            if not g.fully_directed(y, x) and not g.fully_directed(y, z):
                g.orient(x, y)
                g.orient(z, y)


def meek(g: _Graph) -> None:
    """``Meek.meek(cg)`` without background knowledge, in place."""
    UT = unshielded_triples(g.G)
    Tri = triangles(g.G)
    Kite = kites(g.G, Tri)
    loop = True
    while loop:
        loop = False
        for i, j, k in UT:
            if g.fully_directed(i, j) and g.undirected(j, k):
                if g.dpath[j, k] == 1:  # k is an ancestor of j
                    continue
                g.orient(j, k)
                loop = True
        for i, j, k in Tri:
            if g.fully_directed(i, j) and g.fully_directed(j, k) and g.undirected(i, k):
                if g.dpath[i, k] == 1:
                    continue
                g.orient(i, k)
                loop = True
        for i, j, k, l in Kite:
            if g.undirected(i, j) and g.undirected(i, k) and g.fully_directed(j, l) \
                    and g.fully_directed(k, l) and g.undirected(i, l):
                if g.dpath[i, l] == 1:
                    continue
                g.orient(i, l)
                loop = True


def orient_pc(adjacency: np.ndarray, sepset: np.ndarray, directed_from: int | None = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """Endpoint matrix and dpath that causal-learn's PC (uc_rule=0, uc_priority=2, no BK) produces.

    ``directed_from``: CD-NOD's first step, every edge at this node (the domain index) is oriented
    out of it with ``add_directed_edge``, in ``get_adjacent_nodes`` order, before the colliders.
    """
    G = np.where(adjacency, -1, 0).astype(int)
    np.fill_diagonal(G, 0)
    g = _Graph(G)
    if directed_from is not None:
        c = int(directed_from)
        for i in np.flatnonzero((G[c, :] != 0) & (G[:, c] != 0)).tolist():
            G[i, c], G[c, i] = 1, -1
            g.adjust_dpath(c, i)
    uc_sepset_priority2(g, sepset)
    meek(g)
    return g.G, g.dpath
