"""What a domain index adds to an equivalence class: which mechanisms change, and the directions that tells.

CD-NOD's idea, applied to any CPDAG found on pooled data: the domain index C is an exogenous
variable, and C -> X exactly when X's mechanism (its distribution given its parents) differs across
domains. Like PC, C is kept adjacent to X unless some set S of X's neighbours makes them
independent; the test is the likelihood-ratio test of :mod:`causalpilot.tools.ci.domain` (one linear-Gaussian
regression of X on S for all rows against one per domain). Since nothing causes C, its edges are
oriented out of it, and an unshielded C -> X - Y gives either a collider C -> X <- Y (X not in the
set that separated C and Y) or, through Meek's rules, X -> Y: a changing cause with an invariant
effect. Meek's rules then propagate. Directions already in the CPDAG are kept; the ones added here
carry ``Orientation("domain_change", reason)``.
"""

from __future__ import annotations

from dataclasses import replace
from itertools import combinations
from typing import Any

import numpy as np

from causalpilot.tools.graph import CausalGraph, Orientation

MAX_FULL_SEARCH = 8  # neighbours up to which every subset is tried; beyond, subsets of size <= 3


def _subsets(nbrs: list[int]):
    sizes = range(len(nbrs) + 1) if len(nbrs) <= MAX_FULL_SEARCH else range(4)
    for k in sizes:
        yield from combinations(nbrs, k)


def apply_domain_changes(graph: CausalGraph, X: np.ndarray, domains: np.ndarray, alpha: float = 0.05,
                         categories=None) -> tuple[CausalGraph, dict[str, Any]]:
    """The CPDAG with the orientations the changing mechanisms imply, and what was found.

    ``categories`` (the expanded matrix and blocks of :func:`category_blocks`): unordered categories
    enter the test as their indicator columns, as in the score, not as alphabetical codes."""
    from causalpilot.tools.ci.domain import DomainTest
    from causalpilot.tools.discovery.fast_orient import _Graph, meek

    nodes = list(graph.nodes)
    p = len(nodes)
    Z, blocks = categories if categories is not None else (X, [[j] for j in range(p)])
    test = DomainTest(np.column_stack([Z, np.asarray(domains, dtype=float)]))
    G = np.pad(graph.endpoint_matrix(), ((0, 1), (0, 1)))  # a free last row and column for C
    adjacent = (G[:p, :p] != 0)
    c = p
    changing, sepsets, pvalues = [], {}, {}
    for v in range(p):
        nbrs = np.flatnonzero(adjacent[v]).tolist()
        best = 0.0
        for S in _subsets(nbrs):
            pv = test.invariance(list(blocks[v]), [int(k) for j in S for k in blocks[j]])
            best = max(best, pv)
            if pv > alpha:
                sepsets[v] = set(S)
                break
        pvalues[nodes[v]] = float(f"{best:.3g}")
        if v not in sepsets:
            changing.append(v)
    g = _Graph(G)
    for v in changing:  # C is exogenous: its edges point out of it
        G[v, c], G[c, v] = 1, -1
        g.adjust_dpath(c, v)
    demanded: dict[tuple[int, int], int] = {}
    for x in changing:
        for y in np.flatnonzero(adjacent[x]).tolist():
            if y in changing or x in sepsets.get(y, set()):
                continue
            demanded[(y, x)] = demanded.get((y, x), 0) + 1  # collider C -> x <- y
    collided = []
    for (y, x) in demanded:
        if (x, y) in demanded or not g.undirected(y, x):
            continue  # conflicting colliders, or a direction the CPDAG already fixed
        g.orient(y, x)
        collided.append((nodes[y], nodes[x]))
    before = {(a, b) for a in range(p) for b in range(p) if G[a, b] == -1 and G[b, a] == 1}
    meek(g)
    m = g.G[:p, :p]
    after = {(a, b) for a in range(p) for b in range(p) if m[a, b] == -1 and m[b, a] == 1}
    propagated = {(nodes[a], nodes[b]) for a, b in after - before}
    reasons = {(y, x): (f"the mechanism of {x} changes across domains, and that of {y} is the same in every domain "
                        f"given neighbours other than {x}: a collider, domain -> {x} <- {y}") for y, x in collided}
    reasons.update({pair: "by Meek's rules, from the directions the changing mechanisms fix" for pair in propagated})
    out = CausalGraph.from_endpoint_matrix(m, nodes, "CPDAG", graph.algorithm, dict(graph.parameters))
    out = CausalGraph(nodes, [replace(e, orientation=Orientation("domain_change", reasons[(e.source, e.target)]))
                              if e.type == "directed" and (e.source, e.target) in reasons else e for e in out.edges],
                      "CPDAG", out.algorithm, out.parameters)
    info = {"changing_modules": [nodes[v] for v in changing], "change_pvalues": pvalues,
            "change_alpha": alpha,
            "oriented_by_changes": sorted(f"{a} -> {b}" for a, b in propagated)
            + sorted(f"{a} -> {b}" for a, b in collided)}
    return out, info
