"""Discovery algorithms wrapped from causal-learn: PC, FCI, GES, DirectLiNGAM.

The wrappers only translate: our inputs to causal-learn's arguments, and causal-learn's endpoint
matrices to a :class:`CausalGraph`. causal-learn prints progress and notes to stdout; that is
silenced so that the CLI's own output stays readable.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from causalpilot.tools.errors import InputError
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.quiet import quiet
from causalpilot.tools.registry import DiscoveryInput, algorithm


def _bk(data: DiscoveryInput):
    return None if data.background is None or data.background.is_empty() else data.background.to_causallearn(data.nodes)


def _fast_fisherz(params: dict[str, Any]) -> bool:
    """Whether to use the batched Fisher-z engine: ``engine`` 'fast' (default) or 'causal-learn'."""
    engine = params.get("engine", "fast")
    if engine not in ("fast", "causal-learn"):
        raise InputError(f"Unknown engine '{engine}'; choose 'fast' or 'causal-learn'.")
    return engine == "fast" and params.get("indep_test") == "fisherz"


def _ci_kwargs(params: dict[str, Any], data: DiscoveryInput | None = None) -> dict[str, Any]:
    """Extra arguments causal-learn's kernel tests accept, passed only when set; the column kinds for the
    mixed-data test (registered with causal-learn on first use)."""
    out = {k: params[k] for k in ("kernelX", "kernelY", "kernelZ", "approx", "num_f", "num_f2") if k in params}
    if params.get("indep_test") == "mixed_lrt":
        from causalpilot.tools.ci.mixed import register

        register()
        if data is not None:
            out["kinds"] = [data.kinds.get(name, "continuous") for name in data.nodes]
    return out


@algorithm(
    "pc", family="constraint", output="CPDAG",
    profile="""PC (stable, order-independent skeleton): removes edges by conditional-independence tests
    of growing order, then orients v-structures and applies Meek's rules. Assumes causal sufficiency
    (no hidden common causes), faithfulness and acyclicity. Works with any CI test, so it suits
    continuous (Fisher-z, KCI), discrete (chi-square, G-square) and mixed data. Output is a CPDAG:
    edges whose direction the data cannot decide stay undirected. Cost grows with graph density and
    the CI test: fast for sparse graphs with Fisher-z up to hundreds of variables.""",
    defaults={"alpha": 0.05, "indep_test": "fisherz", "depth": -1},
    data_types=("continuous", "discrete", "mixed"), supports_background=True,
)
def run_pc(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.ConstraintBased.PC import pc

    depth = params.get("depth", -1)
    if _fast_fisherz(params):  # same graph as causal-learn's PC, computed in batches (tools/discovery/fast_pc.py)
        from causalpilot.tools.discovery.fast_pc import pc as fast_pc

        m = data.moments  # a streamed file: the correlations of all its rows, data.X its sample
        with quiet():
            cg = fast_pc(data.X, alpha=float(params["alpha"]), background_knowledge=_bk(data),
                         node_names=list(data.nodes), max_k=None if depth is None or depth < 0 else int(depth),
                         corr=None if m is None else m.corr(), n=None if m is None else m.n)
        return CausalGraph.from_endpoint_matrix(cg.G.graph, data.nodes, "CPDAG")
    with quiet():
        cg = pc(data.X, alpha=float(params["alpha"]), indep_test=params["indep_test"], stable=True,
                background_knowledge=_bk(data), show_progress=False, node_names=list(data.nodes),
                max_k=None if depth is None or depth < 0 else int(depth), **_ci_kwargs(params, data))
    return CausalGraph.from_endpoint_matrix(cg.G.graph, data.nodes, "CPDAG")


@algorithm(
    "fci", family="constraint", output="PAG",
    profile="""FCI: like PC but allows hidden common causes and selection bias; returns a PAG whose
    circle marks say what the data cannot decide and whose bidirected edges signal latent
    confounding. Use when unmeasured confounders are plausible (observational data with few
    measured variables). Costlier than PC (possible-d-sep stage) and less informative per edge;
    needs more data for the same power.""",
    defaults={"alpha": 0.05, "indep_test": "fisherz", "depth": -1},
    data_types=("continuous", "discrete", "mixed"), supports_background=True,
)
def run_fci(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.ConstraintBased.FCI import fci

    test = params["indep_test"]
    if _fast_fisherz(params):  # causal-learn's FCI with a cheaper Fisher-z test object, same p-values
        from causalpilot.tools.ci.fisherz import FAST_FISHERZ, fast_fisherz_cit

        fast_fisherz_cit()
        test = FAST_FISHERZ
    with quiet():
        g, _ = fci(data.X, independence_test_method=test, alpha=float(params["alpha"]),
                   depth=int(params.get("depth", -1)), background_knowledge=_bk(data), show_progress=False,
                   node_names=list(data.nodes), verbose=False, **_ci_kwargs(params, data))
    return CausalGraph.from_endpoint_matrix(g.graph, data.nodes, "PAG")


@algorithm(
    "ges", family="score", output="CPDAG",
    profile="""GES: greedy equivalence search, adding then removing edges to optimise a decomposable
    score (BIC for linear-Gaussian data, BDeu for discrete). Assumes causal sufficiency; no CI
    thresholds to tune, often more accurate than PC on dense graphs and small samples. Output is a
    CPDAG. Cost grows quickly with the number of variables (practical up to ~50-100 with BIC).""",
    defaults={"score_func": "local_score_BIC"},
    data_types=("continuous", "discrete"), max_p=120,
)
def run_ges(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.ScoreBased.GES import ges

    kw: dict[str, Any] = {"score_func": params["score_func"], "node_names": list(data.nodes)}
    if params.get("max_parents") is not None:
        kw["maxP"] = int(params["max_parents"])
    X = data.X
    standardised = params["score_func"] == "local_score_BIC"
    if standardised:
        X = (X - X.mean(axis=0)) / np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
    if data.moments is not None:  # a streamed file: the covariance of all its rows (of the standardised data: R)
        kw.update(cov=data.moments.corr() if standardised else data.moments.cov, n=int(round(data.moments.n)))
    with quiet():
        record = ges(X, **kw)
    return CausalGraph.from_endpoint_matrix(record["G"].graph, data.nodes, "CPDAG")


@algorithm(
    "direct_lingam", family="functional", output="DAG",
    profile="""DirectLiNGAM: for linear relations with non-Gaussian noise the full causal order is
    identifiable, so every edge gets a direction (a DAG, not an equivalence class). Finds the order
    by repeatedly picking the most exogenous variable (pairwise likelihood ratio), then prunes edges
    by adaptive lasso. Wrong with Gaussian noise (directions become arbitrary) or strong
    nonlinearity; assumes no hidden confounders. Cost roughly p^3 * n; fine up to ~50 variables.""",
    defaults={"measure": "pwling", "w_threshold": 0.0},
    supports_background=True, max_p=100, assumes=("linear", "non-gaussian"), needs_n_above_p=True,
)
def run_direct_lingam(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.FCMBased.lingam import DirectLiNGAM

    pk = None
    if data.background is not None and not data.background.is_empty():
        pk = data.background.forbidden_matrix(data.nodes)
    model = DirectLiNGAM(random_state=data.seed, prior_knowledge=pk, measure=params["measure"])
    with quiet():
        model.fit(data.X)
    B = np.asarray(model.adjacency_matrix_)  # B[i, j]: effect of j on i
    A = (np.abs(B.T) > float(params["w_threshold"])) & (B.T != 0)
    return CausalGraph.from_adjacency(A.astype(int), data.nodes)
