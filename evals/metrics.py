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
        "shd": shd(est, truth),
        "skeleton_precision": round(sp, 4), "skeleton_recall": round(sr, 4), "skeleton_f1": round(sf, 4),
        "arrow_precision": round(ap, 4), "arrow_recall": round(ar, 4), "arrow_f1": round(af, 4),
        "copilot_precision": round(cp, 4), "copilot_recall": round(cr, 4), "copilot_f1": round(cf, 4),
        "copilot_shd": int(cshd),
        "n_edges": len(est.edges), "n_true_edges": len(truth.edges),
    }
