"""CD-NOD (causal-learn): discovery from heterogeneous or nonstationary data with a context index.

The domain (or time) index is appended as an extra variable C; mechanisms that change across
domains show up as C -> X edges, and those changes orient edges that PC alone would leave
undirected. The returned CPDAG covers the data variables only; which variables changed is kept in
``parameters['changing_modules']`` so the report can say it.
"""

from __future__ import annotations

import contextlib
import io
from typing import Any

import numpy as np

from causalpilot.tools.discovery._util import renamed_background
from causalpilot.tools.discovery.causallearn_algos import _ci_kwargs
from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.quiet import quiet
from causalpilot.tools.registry import DiscoveryInput, algorithm


def context_index(data: DiscoveryInput) -> tuple[np.ndarray, str]:
    if data.domain is not None:
        return np.asarray(data.domain, dtype=float).reshape(-1, 1), "domain"
    if data.time is not None:
        return np.asarray(data.time, dtype=float).reshape(-1, 1), "time"
    raise InputError("CD-NOD needs a domain index (--domain-index COL) or a time index (--time-index COL).")


@algorithm(
    "cdnod", family="constraint", output="CPDAG",
    profile="""CD-NOD (causal discovery from nonstationary/heterogeneous data): PC on the variables plus
    a context index (domain or time), so that mechanisms changing across domains become C -> X
    edges; the changes orient further edges (a changing cause with an invariant effect mechanism).
    Needs a domain/regime or time index; assumes the changes are captured by that index and no
    hidden confounders otherwise. Use for pooled data from several sites, batches or regimes.
    Output: CPDAG over the data variables. Cost as PC with one extra variable.""",
    defaults={"alpha": 0.05, "indep_test": "fisherz"},
    data_types=("continuous", "discrete", "mixed"), supports_background=True, needs_context=True,
)
def run_cdnod(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.ConstraintBased.CDNOD import cdnod

    c, kind = context_index(data)
    p = data.X.shape[1]
    test = params["indep_test"]
    if test == "fisherz_domain":
        if kind != "domain":
            raise InputError("The fisherz_domain test needs a domain index (--domain-index COL), not a time index.")
        from causalpilot.tools.ci.domain import register

        test = register()
    names = [f"X{i + 1}" for i in range(p + 1)]  # causal-learn's default node names, C is the last
    bk = None
    if data.background is not None and not data.background.is_empty():
        bk = renamed_background(data.background, data.nodes, names[:p]).to_causallearn(names)
    with quiet(), contextlib.redirect_stderr(io.StringIO()):  # its skeleton step always shows a progress bar
        cg = cdnod(data.X, c, alpha=float(params["alpha"]), indep_test=test, stable=True,
                   background_knowledge=bk, show_progress=False, **_ci_kwargs(params))
    m = np.asarray(cg.G.graph)
    changing = [data.nodes[i] for i in range(p) if m[p, i] != 0 or m[i, p] != 0]
    g = CausalGraph.from_endpoint_matrix(m[:p, :p], data.nodes, "CPDAG")
    g.parameters = {"context": kind, "changing_modules": changing}
    return g
