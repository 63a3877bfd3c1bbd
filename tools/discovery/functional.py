"""Functional-causal-model methods beyond DirectLiNGAM: ICA-LiNGAM (causal-learn)."""

from __future__ import annotations

from typing import Any

import numpy as np

from causalpilot.tools.quiet import quiet
from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.registry import DiscoveryInput, algorithm


@algorithm(
    "ica_lingam", family="functional", output="DAG",
    profile="""ICA-LiNGAM: the original LiNGAM. Estimates the mixing matrix by FastICA, permutes and
    scales it to a lower-triangular causal order, and prunes small coefficients. Identifies a full
    DAG when relations are linear and noises non-Gaussian; assumes no hidden confounders. Faster
    than DirectLiNGAM on many variables but less reliable on small samples (ICA can converge to a
    local optimum; the seed fixes it). Cost roughly p^2 * n per ICA iteration.""",
    defaults={"max_iter": 1000, "w_threshold": 0.0},
    max_p=200,
)
def run_ica_lingam(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causallearn.search.FCMBased.lingam import ICALiNGAM

    model = ICALiNGAM(random_state=data.seed % (2**32), max_iter=int(params.get("max_iter", 1000)))
    with quiet():
        model.fit(data.X)
    B = np.asarray(model.adjacency_matrix_)  # B[i, j]: effect of j on i
    A = (np.abs(B.T) > float(params.get("w_threshold", 0.0))) & (B.T != 0)
    return CausalGraph.from_adjacency(A.astype(int), data.nodes)
