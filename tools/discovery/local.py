"""Local discovery around one target: its Markov blanket by grow-shrink, then PC on the blanket.

When only one outcome matters, learning the whole graph wastes tests and power. Grow-shrink
(Margaritis & Thrun 2000) finds the Markov blanket of the target with the CI test; PC (causal-learn)
on the target and its blanket then separates parents/children from spouses and orients what the
local v-structures allow. Only edges within that neighbourhood are reported; the rest of the graph
is not claimed (absent edges elsewhere mean 'not examined', said in the parameters).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from causalpilot.tools.discovery.causallearn_algos import _ci_kwargs
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph, Edge
from causalpilot.tools.quiet import quiet
from causalpilot.tools.registry import DiscoveryInput, algorithm


def grow_shrink(cit, target: int, candidates: list[int], alpha: float) -> list[int]:
    """Markov blanket of ``target``: add dependent variables given the current blanket, then remove false ones."""
    mb: list[int] = []
    changed = True
    while changed:
        changed = False
        for v in candidates:
            if v not in mb and cit(target, v, mb) < alpha:
                mb.append(v)
                changed = True
    for v in list(mb):
        rest = [u for u in mb if u != v]
        if cit(target, v, rest) >= alpha:
            mb.remove(v)
    return mb


@algorithm(
    "markov_blanket", family="local", output="CPDAG",
    profile="""Local discovery for one target (parameter 'target'): grow-shrink finds the target's
    Markov blanket (parents, children and the children's other parents) with the CI test, then PC
    on the target plus its blanket separates neighbours from spouses and orients local
    v-structures. Use when the question is about one outcome and the graph is large. Assumes
    faithfulness and causal sufficiency, like PC. Output: a CPDAG over the neighbourhood only;
    the rest of the graph is not examined. Cost: O(p * |blanket|) tests for the blanket.""",
    defaults={"alpha": 0.05, "indep_test": "fisherz", "target": None},
    data_types=("continuous", "discrete", "mixed"), supports_background=True,
)
def run_markov_blanket(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.ConstraintBased.PC import pc
    from causallearn.utils.cit import CIT

    target = params.get("target")
    if target is None:
        raise InputError("markov_blanket needs a target variable (--target COL, or --outcome in analyse).")
    if target not in data.nodes:
        raise InputError(f"markov_blanket: target '{target}' is not one of the analysed variables.")
    t = data.nodes.index(target)
    alpha = float(params["alpha"])
    with quiet():
        cit = CIT(data.X, params["indep_test"], **_ci_kwargs(params, data))
        mb = grow_shrink(cit, t, [i for i in range(len(data.nodes)) if i != t], alpha)
    local = sorted([t, *mb])
    names = [data.nodes[i] for i in local]
    edges: list[Edge] = []
    if len(local) >= 2:
        bk = None
        if data.background is not None and not data.background.is_empty():
            from causalpilot.tools.background import Background

            keep = set(names)
            b = data.background
            bk = Background([e for e in b.required if set(e) <= keep], [e for e in b.forbidden if set(e) <= keep],
                            [[n for n in tier if n in keep] for tier in b.tiers], b.forbid_within_tiers)
            bk = None if bk.is_empty() else bk.to_causallearn(names)
        with quiet():
            cg = pc(data.X[:, local], alpha=alpha, indep_test=params["indep_test"], stable=True,
                    background_knowledge=bk, show_progress=False, node_names=names,
                    **_ci_kwargs(params, replace(data, nodes=names)))
        edges = local_orientation(np.asarray(cg.G.graph), cg.sepset, names, target)
    g = CausalGraph(list(data.nodes), edges, "CPDAG")
    g.parameters = {"markov_blanket": [data.nodes[i] for i in mb],
                    "scope": "edges within the target's Markov blanket only",
                    "directions": DIRECTIONS_NOTE}
    return g


DIRECTIONS_NOTE = ("only a collider at the target (two of its neighbours that the data separate without it) is "
                   "oriented from the data; every other edge is left undirected, because the variables outside the "
                   "blanket were left out of the local run, so its other orientations (and links between two blanket "
                   "members) may reflect a variable outside it")


def local_orientation(G: np.ndarray, sepset: Any, names: list[str], target: str) -> list[Edge]:
    """The edges of a PC run on the target and its blanket (causal-learn's endpoint matrix ``G`` and
    ``sepset`` over ``names``), oriented only where a local run can: a collider at the target.

    PC on a subset of the variables assumes that none left out is a common cause of two in it; the
    variables outside the blanket can be (in examples/health.csv bmi drives blood_pressure and
    cholesterol), so its v-structures away from the target and Meek's propagation can point edges
    the wrong way ("heart_risk -> age"). What stays valid: a variable is adjacent to the target iff no
    subset of the blanket separates them (the blanket holds every separating set the target needs),
    and for two neighbours X, Y of the target that some set S not containing the target separates, the
    path X - target - Y would be open given S unless the target is a collider there, so X -> target <- Y.
    Every other edge is undirected (Spirtes, Glymour & Scheines 2000, the collider rule, which holds
    with variables left out)."""
    n = len(names)
    t = names.index(target)
    adj = (G != 0) | (G.T != 0)
    into_target: set[int] = set()
    nbrs = [i for i in range(n) if i != t and adj[i, t]]
    for a in range(len(nbrs)):
        for b in range(a + 1, len(nbrs)):
            x, y = nbrs[a], nbrs[b]
            if adj[x, y]:
                continue
            seps = sepset[x, y] if sepset is not None else None
            if seps and all(t not in {int(v) for v in sep} for sep in seps):
                into_target.update((x, y))
    edges = []
    for i in range(n):
        for j in range(i + 1, n):
            if not adj[i, j]:
                continue
            if t in (i, j) and ({i, j} - {t}).pop() in into_target:
                edges.append(Edge(names[({i, j} - {t}).pop()], target, "directed"))
            else:
                edges.append(Edge(names[i], names[j], "undirected"))
    return edges
