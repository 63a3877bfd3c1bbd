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
        edges = CausalGraph.from_endpoint_matrix(np.asarray(cg.G.graph), names, "CPDAG").edges
    g = CausalGraph(list(data.nodes), edges, "CPDAG")
    g.parameters = {"markov_blanket": [data.nodes[i] for i in mb], "scope": "edges within the target's Markov blanket only"}
    return g
