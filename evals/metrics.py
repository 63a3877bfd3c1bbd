"""Scores of an estimated graph against a true DAG (or true lagged graph).

Strict scores (ours):
- skeleton precision/recall/F1: adjacencies, ignoring marks (for lagged graphs the lag is part of
  the adjacency);
- arrow precision/recall/F1: arrowheads. An estimated edge claims an arrowhead at b for
  ``a -> b``, ``a o-> b`` and both ends of ``a <-> b``; undirected and ``o-o`` edges claim none.
  A true edge ``a -> b`` holds one arrowhead, at b;
- SHD against the true DAG: a missing or extra adjacency costs 1; a shared adjacency whose marks are
  not exactly the true ``a -> b`` (reversed, undirected, bidirected, circle) costs 1. An equivalence
  class output therefore pays for directions the data cannot decide: honest, not flattering.

Copilot-style scores (``copilot_*``), as the Causal-Copilot evaluator computes them, so that our
figures compare with the paper's table: every undirected, partially directed, nondirected or
bidirected edge is first resolved to the orientation closest to the truth (the true direction when
the pair is adjacent in the truth, otherwise as listed), then precision/recall/F1 and SHD are taken
on the directed edges of that DAG. This is optimistic for equivalence classes by construction.

Adjustment identification distances (``parent_aid``, ``ancestor_aid``, ``oset_aid``): Henckel, Wuertzen
and Weichwald (2024), through the ``gadjid`` package: the share of ordered pairs (T, Y) for which the
estimated graph gives an adjustment set (parents, ancestors, or the optimal set of T) that is not valid
in the true DAG, or calls an effect identified / zero when the truth disagrees. 0 is perfect, 1 the
worst; they measure the graph by what it is for, effect estimation. Defined for DAG and CPDAG
estimates only: a PAG, a graph with a bidirected or circle mark, or a lagged graph gets None.
"""

from __future__ import annotations

from typing import Any

from causalpilot.tools.graph import CausalGraph, Edge


def _prf(est: set, true: set) -> tuple[float, float, float]:
    tp = len(est & true)
    prec = tp / len(est) if est else (1.0 if not true else 0.0)
    rec = tp / len(true) if true else 1.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0
    return prec, rec, f1


def _arrowheads(g: CausalGraph) -> set[tuple]:
    out = set()
    for e in g.edges:
        if e.type in ("directed", "partially_directed"):
            out.add((e.source, e.target, e.lag or 0))
        elif e.type == "bidirected":
            out.add((e.source, e.target, e.lag or 0))
            out.add((e.target, e.source, e.lag or 0))
    return out


def _key(e: Edge) -> tuple:
    return (frozenset((e.source, e.target)), e.lag or 0)


def shd(est: CausalGraph, truth: CausalGraph) -> int:
    t = {_key(e): e for e in truth.edges}
    s = {_key(e): e for e in est.edges}
    cost = len(set(t) ^ set(s))
    for k in set(t) & set(s):
        te, se = t[k], s[k]
        if not (se.type == "directed" and se.source == te.source and se.target == te.target):
            cost += 1
    return cost


def copilot_resolve(est: CausalGraph, truth: CausalGraph) -> set[tuple]:
    """Directed edges after resolving every non-directed mark to the orientation closest to truth."""
    true_dir = {_key(e): (e.source, e.target) for e in truth.edges}
    out = set()
    for e in est.edges:
        lag = e.lag or 0
        if e.type == "directed":
            out.add((e.source, e.target, lag))
        elif _key(e) in true_dir:
            a, b = true_dir[_key(e)]
            out.add((a, b, lag))
        else:
            out.add((e.source, e.target, lag))
    return out


def score(est: CausalGraph, truth: CausalGraph) -> dict[str, Any]:
    skel_est = {_key(e) for e in est.edges}
    skel_true = {_key(e) for e in truth.edges}
    sp, sr, sf = _prf(skel_est, skel_true)
    ap, ar, af = _prf(_arrowheads(est), _arrowheads(truth))
    true_dir = {(e.source, e.target, e.lag or 0) for e in truth.edges}
    resolved = copilot_resolve(est, truth)
    cp, cr, cf = _prf(resolved, true_dir)
    # SHD of the resolved DAG against the true DAG: extra + missing adjacencies + reversals
    res_skel = {(frozenset(x[:2]), x[2]) for x in resolved}
    true_skel = {(frozenset(x[:2]), x[2]) for x in true_dir}
    cshd = len(res_skel ^ true_skel) + sum(
        1 for x in resolved if (frozenset(x[:2]), x[2]) in true_skel and x not in true_dir)
    return {
        **adjustment_distances(est, truth),
        "shd": shd(est, truth),
        "skeleton_precision": round(sp, 4), "skeleton_recall": round(sr, 4), "skeleton_f1": round(sf, 4),
        "arrow_precision": round(ap, 4), "arrow_recall": round(ar, 4), "arrow_f1": round(af, 4),
        "copilot_precision": round(cp, 4), "copilot_recall": round(cr, 4), "copilot_f1": round(cf, 4),
        "copilot_shd": int(cshd),
        "n_edges": len(est.edges), "n_true_edges": len(truth.edges),
    }


def adjustment_distances(est: CausalGraph, truth: CausalGraph) -> dict[str, float | None]:
    """The normalised parent, ancestor and optimal-set adjustment identification distances of ``est``
    against the true DAG ``truth`` (gadjid; see the module docstring), each in [0, 1]; None where they
    are not defined (a PAG or lagged graph, a bidirected / circle mark, a directed cycle) or gadjid is
    not installed (the ``eval`` extra)."""
    none = {"parent_aid": None, "ancestor_aid": None, "oset_aid": None}
    if est.graph_type == "lagged" or truth.graph_type == "lagged" or est.graph_type == "PAG":
        return none
    if any(e.type not in ("directed", "undirected") for e in est.edges):
        return none
    try:
        import gadjid
        import numpy as np
    except ImportError:
        return none
    index = {v: k for k, v in enumerate(truth.nodes)}
    if set(est.nodes) != set(index):
        return none

    def matrix(g: CausalGraph) -> "np.ndarray":
        m = np.zeros((len(index), len(index)), dtype=np.int8)
        for e in g.edges:
            a, b = index[e.source], index[e.target]
            if e.type == "directed":
                m[a, b] = 1
            else:
                m[a, b] = m[b, a] = 2
        return m

    t, g = matrix(truth), matrix(est)
    out = {}
    try:
        for name, fn in (("parent_aid", gadjid.parent_aid), ("ancestor_aid", gadjid.ancestor_aid),
                         ("oset_aid", gadjid.oset_aid)):
            out[name] = round(float(fn(t, g, edge_direction="from row to column")[0]), 4)
    except BaseException:  # a directed cycle, or a pattern gadjid rejects (pyo3 raises PanicException)
        return none
    return out
