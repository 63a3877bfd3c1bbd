"""NOTEARS (linear): structure learning as continuous optimisation with an acyclicity constraint.

Zheng, Aragam, Ravikumar & Xing (2018), "DAGs with NO TEARS: Continuous Optimization for Structure
Learning", NeurIPS. No maintained numpy-only package exists (the maintained ones need torch), so
this is a compact transcription of the authors' published linear algorithm: least-squares loss
with an l1 penalty, subject to h(W) = tr(exp(W * W)) - p = 0, solved by the augmented Lagrangian
with L-BFGS-B on the positive and negative parts of W. Small weights are thresholded afterwards
and, should any cycle survive the threshold, the weakest edge on it is dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize as sopt

from causalpilot.tools.graph import CausalGraph
from causalpilot.tools.registry import DiscoveryInput, algorithm


def notears_linear(X: np.ndarray, lambda1: float = 0.1, max_iter: int = 100, h_tol: float = 1e-8,
                   rho_max: float = 1e16, w_threshold: float = 0.3, forbidden: np.ndarray | None = None) -> np.ndarray:
    """Weighted adjacency W (W[i, j] != 0 meaning i -> j) by linear NOTEARS with least-squares loss.

    ``forbidden[i, j]`` True pins W[i, j] to zero (background knowledge), through the box bounds.
    """
    n, d = X.shape
    X = X - X.mean(axis=0, keepdims=True)
    w_est, rho, alpha, h = np.zeros(2 * d * d), 1.0, 0.0, np.inf
    fb = np.zeros((d, d), dtype=bool) if forbidden is None else np.asarray(forbidden, dtype=bool)
    bounds = [(0, 0) if i == j or fb[i, j] else (0, None) for _ in range(2) for i in range(d) for j in range(d)]

    def adj(w: np.ndarray) -> np.ndarray:
        return (w[: d * d] - w[d * d:]).reshape(d, d)

    def h_and_grad(W: np.ndarray) -> tuple[float, np.ndarray]:
        E = expm_small(W * W)
        return float(np.trace(E) - d), E.T * W * 2

    def objective(w: np.ndarray) -> tuple[float, np.ndarray]:
        W = adj(w)
        R = X - X @ W
        loss = 0.5 / n * float((R ** 2).sum())
        g_loss = -1.0 / n * X.T @ R
        hv, g_h = h_and_grad(W)
        obj = loss + 0.5 * rho * hv * hv + alpha * hv + lambda1 * w.sum()
        g_smooth = g_loss + (rho * hv + alpha) * g_h
        return obj, np.concatenate(((g_smooth + lambda1).ravel(), (-g_smooth + lambda1).ravel()))

    for _ in range(max_iter):
        w_new, h_new = w_est, h
        while rho < rho_max:
            sol = sopt.minimize(objective, w_est, method="L-BFGS-B", jac=True, bounds=bounds)
            w_new = sol.x
            h_new, _ = h_and_grad(adj(w_new))
            if h_new > 0.25 * h:
                rho *= 10
            else:
                break
        w_est, h = w_new, h_new
        alpha += rho * h
        if h <= h_tol or rho >= rho_max:
            break
    W = adj(w_est)
    W[np.abs(W) < w_threshold] = 0.0
    return break_cycles(W)


def expm_small(A: np.ndarray, terms: int = 18) -> np.ndarray:
    """Matrix exponential by scaling and squaring a Taylor series (relative error ~1e-14 here).

    scipy.linalg.expm is exact too but carries ~10 ms of overhead per call on small matrices, and
    NOTEARS calls it at every gradient evaluation; this is the same function, 50x faster.
    """
    norm = float(np.linalg.norm(A, 1))
    s = int(np.ceil(np.log2(norm / 0.5))) if norm > 0.5 else 0
    B = A / (2.0 ** s)
    E = np.eye(len(A))
    T = np.eye(len(A))
    for k in range(1, terms):
        T = T @ B / k
        E = E + T
    for _ in range(s):
        E = E @ E
    return E


def break_cycles(W: np.ndarray) -> np.ndarray:
    """Drop the weakest edge of any remaining cycle until the graph is a DAG."""
    import networkx as nx

    W = W.copy()
    while True:
        g = nx.DiGraph([(i, j) for i, j in zip(*np.nonzero(W))])
        try:
            cycle = nx.find_cycle(g)
        except nx.NetworkXNoCycle:
            return W
        i, j = min(cycle, key=lambda e: abs(W[e[0], e[1]]))[:2]
        W[i, j] = 0.0


def _forbidden(data: DiscoveryInput) -> np.ndarray | None:
    bg = data.background
    if bg is None or bg.is_empty():
        return None
    return np.array([[a != b and bg.forbids(a, b) for b in data.nodes] for a in data.nodes])


@algorithm(
    "notears", family="continuous", output="DAG",
    profile="""NOTEARS (linear): learns a weighted DAG by smooth optimisation of a penalised least-squares
    fit under a differentiable acyclicity constraint (Zheng et al. 2018). Returns every edge directed,
    but the directions come from the scale of the variables (it favours orders of increasing
    variance), so it is trustworthy only when variables are on their natural, comparable scales,
    never after arbitrary rescaling; assumes linear relations and no hidden confounders. Cost: one
    p x p matrix exponential per gradient step; fine up to ~30 variables.""",
    defaults={"lambda1": 0.1, "w_threshold": 0.3},
    supports_background=True, max_p=40, assumes=("linear",),
)
def run_notears(data: DiscoveryInput, params: dict[str, Any]) -> CausalGraph:
    from causalpilot.tools.threads import limit

    # thousands of tiny BLAS calls inside L-BFGS-B: a multi-threaded BLAS only adds contention
    with limit(1):
        W = notears_linear(data.X, lambda1=float(params.get("lambda1", 0.1)), w_threshold=float(params.get("w_threshold", 0.3)),
                           forbidden=_forbidden(data))
    return CausalGraph.from_adjacency((W != 0).astype(int), data.nodes)
