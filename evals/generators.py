"""Seeded data generators with a known causal graph, for tests and benchmark suites.

Every generator takes a seed and returns the data with the true graph, so scores are computed
against the truth and never tuned on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from causalpilot.tools.graph import CausalGraph, Edge


@dataclass
class Synthetic:
    data: pd.DataFrame
    truth: CausalGraph
    weights: np.ndarray | None = None  # weights[i, j]: coefficient of i in j's equation
    meta: dict = field(default_factory=dict)


def random_dag(p: int, edge_prob: float | None = None, expected_degree: float | None = None,
               rng: np.random.Generator | None = None) -> np.ndarray:
    """Erdos-Renyi DAG adjacency (upper triangular in a random order): adj[i, j] = 1 means i -> j."""
    rng = rng or np.random.default_rng(0)
    if edge_prob is None:
        edge_prob = min(1.0, (expected_degree or 2.0) / max(p - 1, 1))
    upper = np.triu(rng.random((p, p)) < edge_prob, k=1).astype(int)
    perm = rng.permutation(p)
    return upper[np.ix_(perm, perm)]


def topological_order(adj: np.ndarray) -> list[int]:
    p = adj.shape[0]
    indeg = adj.sum(axis=0).astype(int).copy()
    order, ready = [], [i for i in range(p) if indeg[i] == 0]
    while ready:
        i = ready.pop(0)
        order.append(i)
        for j in np.nonzero(adj[i])[0]:
            indeg[j] -= 1
            if indeg[j] == 0:
                ready.append(int(j))
    if len(order) != p:
        raise ValueError("adjacency has a cycle")
    return order


def _noise(kind: str, n: int, rng: np.random.Generator, scale: float) -> np.ndarray:
    if kind == "gaussian":
        return rng.normal(0, scale, n)
    if kind == "uniform":
        return rng.uniform(-scale * np.sqrt(3), scale * np.sqrt(3), n)
    if kind == "exponential":
        return (rng.exponential(1.0, n) - 1.0) * scale
    if kind == "laplace":
        return rng.laplace(0, scale / np.sqrt(2), n)
    raise ValueError(f"unknown noise {kind!r}")


def linear_sem(p: int = 10, n: int = 2000, *, edge_prob: float | None = None, expected_degree: float = 2.0,
               noise: str = "gaussian", noise_scale: float = 1.0, weight_range: tuple[float, float] = (0.5, 1.5),
               seed: int = 0, prefix: str = "X", nonlinear: bool = False, standardise: bool = False) -> Synthetic:
    """Linear (or additive nonlinear) SEM on a random DAG with known weights and noise."""
    rng = np.random.default_rng(seed)
    adj = random_dag(p, edge_prob, expected_degree, rng)
    W = adj * rng.uniform(*weight_range, size=(p, p)) * rng.choice([-1.0, 1.0], size=(p, p))
    X = np.zeros((n, p))
    for j in topological_order(adj):
        parents = np.nonzero(adj[:, j])[0]
        contrib = np.zeros(n)
        for i in parents:
            xi = X[:, i]
            if nonlinear:
                xi = (xi - xi.mean()) / (xi.std() + 1e-12)
                contrib += W[i, j] * (np.tanh(xi) * 1.5 if (i + j) % 2 else (xi ** 2 - 1) * 0.7)
            else:
                contrib += W[i, j] * xi
        X[:, j] = contrib + _noise(noise, n, rng, noise_scale)
        if standardise:
            X[:, j] = (X[:, j] - X[:, j].mean()) / X[:, j].std()
    names = [f"{prefix}{k + 1}" for k in range(p)]
    truth = CausalGraph.from_adjacency(adj, names, algorithm="truth")
    return Synthetic(pd.DataFrame(X, columns=names), truth, W,
                     {"p": p, "n": n, "noise": noise, "nonlinear": nonlinear, "seed": seed})


def var_process(p: int = 5, n: int = 1000, *, lags: tuple[int, ...] = (1, 2), n_edges: int = 6,
                coef_range: tuple[float, float] = (0.3, 0.5), noise_scale: float = 1.0, seed: int = 0,
                prefix: str = "X") -> Synthetic:
    """A stable VAR process with known lagged cross-edges (plus lag-1 self-dependence)."""
    rng = np.random.default_rng(seed)
    maxlag = max(lags)
    A = np.zeros((maxlag + 1, p, p))  # A[k, i, j]: effect of i at t-k on j at t
    for i in range(p):
        A[1, i, i] = 0.4
    edges: set[tuple[int, int, int]] = set()
    while len(edges) < n_edges:
        i, j = rng.choice(p, size=2, replace=False)
        k = int(rng.choice(lags))
        if not any((i, j, kk) in edges for kk in lags):
            edges.add((int(i), int(j), k))
    for i, j, k in edges:
        A[k, i, j] = rng.uniform(*coef_range) * rng.choice([-1.0, 1.0])
    burn = 200
    X = np.zeros((n + burn, p))
    for t in range(maxlag, n + burn):
        x = rng.normal(0, noise_scale, p)
        for k in range(1, maxlag + 1):
            x += X[t - k] @ A[k]
        X[t] = x
    X = X[burn:]
    names = [f"{prefix}{k + 1}" for k in range(p)]
    truth_edges = [Edge(names[i], names[j], "directed", None, k) for i, j, k in sorted(edges)]
    truth_edges += [Edge(names[i], names[i], "directed", None, 1) for i in range(p)]
    truth = CausalGraph(names, truth_edges, graph_type="lagged", algorithm="truth")
    return Synthetic(pd.DataFrame(X, columns=names), truth, None, {"p": p, "n": n, "lags": list(lags), "seed": seed})


# --------------------------------------------------------------------------- benchmark scenarios
def _graph_of(adj: np.ndarray, names: list[str]) -> CausalGraph:
    return CausalGraph.from_adjacency(adj, names, algorithm="truth")


def copilot_sem(p: int = 10, n: int = 1000, *, edge_prob: float = 0.2, noise: str = "gaussian",
                noise_scale: float = 0.1, nonlinear: bool = False, seed: int = 0, domains: int = 0,
                measurement_error: float = 0.0, discrete_fraction: float = 0.0, missing_fraction: float = 0.0,
                ) -> Synthetic:
    """One dataset of the Causal-Copilot simulation scenarios (see evals/README.md for each knob).

    Defaults follow its simulator: an Erdos-Renyi DAG with edge probability 0.2, linear mechanisms,
    Gaussian noise of scale 0.1. Variants, each applied on top of the same SEM:

    - ``domains = K``: K equal-sized domains share the DAG but each rescales every coefficient by a
      factor in [0.5, 1.5] and the noise scale by a factor in [0.5, 2]; a ``domain`` column names
      each row's domain (the profiler recognises it as a domain index, not a variable);
    - ``measurement_error = r``: each observed column is the latent variable plus Gaussian error
      with standard deviation r times the latent variable's standard deviation;
    - ``discrete_fraction = f``: round(f * p) variables are observed only through 2-4 quantile bins
      (coded 0..k-1), so the data are mixed discrete/continuous;
    - ``missing_fraction = m``: each cell is missing completely at random with probability m.
    """
    rng = np.random.default_rng(seed)
    adj = random_dag(p, edge_prob, None, rng)
    W = adj * rng.uniform(0.5, 1.5, size=(p, p)) * rng.choice([-1.0, 1.0], size=(p, p))
    names = [f"X{k + 1}" for k in range(p)]
    order = topological_order(adj)

    def simulate(m: int, Wd: np.ndarray, scale: float) -> np.ndarray:
        X = np.zeros((m, p))
        for j in order:
            contrib = np.zeros(m)
            for i in np.nonzero(adj[:, j])[0]:
                xi = X[:, i]
                if nonlinear:
                    xi = (xi - xi.mean()) / (xi.std() + 1e-12)
                    xi = np.tanh(xi) * 1.5 if (i + j) % 2 else (xi ** 2 - 1) * 0.7
                contrib += Wd[i, j] * xi
            X[:, j] = contrib + _noise(noise, m, rng, scale)
        return X

    domain = None
    if domains and domains > 1:
        sizes = [n // domains + (1 if k < n % domains else 0) for k in range(domains)]
        blocks = []
        for size in sizes:
            Wd = W * rng.uniform(0.5, 1.5, size=(p, p))
            blocks.append(simulate(size, Wd, noise_scale * rng.uniform(0.5, 2.0)))
        X = np.vstack(blocks)
        domain = np.repeat(np.arange(domains), sizes)
    else:
        X = simulate(n, W, noise_scale)
    if measurement_error > 0:
        X = X + rng.normal(0.0, 1.0, X.shape) * (measurement_error * X.std(axis=0, keepdims=True))
    frame = pd.DataFrame(X, columns=names)
    discrete: list[str] = []
    if discrete_fraction > 0:
        k_disc = max(1, int(round(discrete_fraction * p)))
        for j in sorted(rng.choice(p, size=k_disc, replace=False)):
            levels = int(rng.integers(2, 5))
            cuts = np.quantile(X[:, j], np.linspace(0, 1, levels + 1)[1:-1])
            frame[names[j]] = np.searchsorted(cuts, X[:, j]).astype(int)
            discrete.append(names[j])
    if missing_fraction > 0:
        mask = rng.random(frame.shape) < missing_fraction
        frame = frame.astype(float).mask(mask)
    if domain is not None:
        frame["domain"] = domain
    meta = {"p": p, "n": n, "edge_prob": edge_prob, "noise": noise, "noise_scale": noise_scale, "nonlinear": nonlinear,
            "domains": domains, "measurement_error": measurement_error, "discrete": discrete,
            "missing_fraction": missing_fraction, "seed": seed}
    return Synthetic(frame, _graph_of(adj, names), W, meta)


def stable_var_process(p: int, n: int, *, max_lag: int, n_edges: int, seed: int) -> Synthetic:
    """A VAR process whose cross-edges sit at lags 1..max_lag; redrawn (seed + k) until it is stable.

    Instability shows as an exploding series; a benchmark must not score methods on that.
    """
    for k in range(50):
        syn = var_process(p, n, lags=tuple(range(1, max_lag + 1)), n_edges=n_edges, seed=seed + 1000 * k)
        X = syn.data.to_numpy()
        if np.all(np.isfinite(X)) and np.abs(X).max() < 1e3:
            syn.meta["redraws"] = k
            return syn
    raise RuntimeError("no stable VAR process found")

def mean_shift_domains(p: int = 10, n: int = 1000, *, n_domains: int = 3, n_shifted: int = 3, edge_prob: float = 0.2,
                       noise_scale: float = 0.1, seed: int = 0, column: str = "domain_index") -> Synthetic:
    """Pooled domains as the Causal-Copilot simulator makes them: one linear-Gaussian SEM (its defaults:
    edge probability 0.2, weights in +-[0.5, 1.5], noise scale 0.1) whose mechanisms are identical in
    every domain, except that the means of the ``n_shifted`` least-connected variables (fewest
    adjacencies; ties by index) shift in each domain by +-[0.5, 2] of their standard deviation. The
    domain index ``column`` holds 1..K, the rows stacked domain after domain; ``meta['shifted']`` names
    the shifted variables, and the true graph is over the variables only.
    """
    rng = np.random.default_rng(seed)
    adj = random_dag(p, edge_prob, None, rng)
    W = adj * rng.uniform(0.5, 1.5, size=(p, p)) * rng.choice([-1.0, 1.0], size=(p, p))
    degree = adj.sum(axis=0) + adj.sum(axis=1)
    shifted = sorted(int(j) for j in np.argsort(degree, kind="stable")[:n_shifted])
    sizes = [n // n_domains + (1 if k < n % n_domains else 0) for k in range(n_domains)]
    domain = np.repeat(np.arange(1, n_domains + 1), sizes)
    X = np.zeros((n, p))
    for j in topological_order(adj):
        X[:, j] = X @ W[:, j] + rng.normal(0, noise_scale, n)
        if j in shifted:
            sd = X[:, j].std()
            offsets = rng.uniform(0.5, 2.0, n_domains) * rng.choice([-1.0, 1.0], n_domains) * sd
            X[:, j] += offsets[domain - 1]
    names = [f"X{k + 1}" for k in range(p)]
    frame = pd.DataFrame(X, columns=names)
    frame[column] = domain
    return Synthetic(frame, _graph_of(adj, names), W, {"p": p, "n": n, "domains": n_domains, "seed": seed,
                                                        "shifted": [names[j] for j in shifted]})


def heterogeneous_domains(p: int = 6, n_per_domain: int = 1000, *, n_domains: int = 2, n_changing: int = 2,
                          expected_degree: float = 2.0, noise: str = "gaussian", seed: int = 0,
                          prefix: str = "X", domain_column: str = "domain") -> Synthetic:
    """Pooled data from several domains sharing one DAG whose mechanisms change across domains.

    In every domain after the first, ``n_changing`` variables (chosen among those with parents, when
    possible) get new coefficients on their parents, a shifted mean and a rescaled noise: the
    distribution shift CD-NOD is built to exploit. The data frame carries the domain index in
    ``domain_column``; the true graph is over the variables only, and ``meta['changing']`` names the
    variables whose mechanism changes.
    """
    rng = np.random.default_rng(seed)
    adj = random_dag(p, None, expected_degree, rng)
    base = adj * rng.uniform(0.5, 1.5, size=(p, p)) * rng.choice([-1.0, 1.0], size=(p, p))
    with_parents = [j for j in range(p) if adj[:, j].any()]
    pool = with_parents if len(with_parents) >= n_changing else list(range(p))
    changing = sorted(int(j) for j in rng.choice(pool, size=min(n_changing, len(pool)), replace=False))
    order = topological_order(adj)
    frames = []
    for d in range(n_domains):
        W, shift, scale = base.copy(), np.zeros(p), np.ones(p)
        if d > 0:
            for j in changing:
                W[:, j] = base[:, j] * rng.uniform(1.5, 2.5, size=p)  # same sign: pooling does not cancel
                shift[j] = rng.choice([-1.0, 1.0]) * rng.uniform(1.0, 2.0)
                scale[j] = rng.uniform(1.5, 2.5)
        X = np.zeros((n_per_domain, p))
        for j in order:
            X[:, j] = X @ W[:, j] + shift[j] + _noise(noise, n_per_domain, rng, scale[j])
        f = pd.DataFrame(X, columns=[f"{prefix}{k + 1}" for k in range(p)])
        f.insert(0, domain_column, d)
        frames.append(f)
    names = [f"{prefix}{k + 1}" for k in range(p)]
    truth = CausalGraph.from_adjacency(adj, names, algorithm="truth")
    return Synthetic(pd.concat(frames, ignore_index=True), truth, base,
                     {"p": p, "n": n_per_domain * n_domains, "domains": n_domains,
                      "changing": [names[j] for j in changing], "seed": seed})


def peer_sem(p: int = 10, n: int = 1000, *, edge_prob: float = 0.2, noise: str = "gaussian", noise_scale: float = 0.1,
             domains: int = 1, measurement_error: bool = False, error_std: float = 0.3, error_rate: float = 0.5,
             weight_range: tuple[float, float] = (0.5, 2.0), noise_spread: float = 1.0,
             domain_variance: bool = False, nonlinear_links: int = 0, seed: int = 0) -> Synthetic:
    """One dataset made the way Causal-Copilot's simulator makes its tabular scenarios (facts read from
    its public ``data/simulator/dummy.py``; our own code), plus held-out families it does not have.

    The peer's way (the defaults):

    - an Erdos-Renyi DAG with exactly ``int(edge_prob * p * (p - 1) / 2)`` edges, oriented along a
      random order (so p = 50 at edge_prob 0.2 has 245 edges, a mean degree near 10);
    - linear mechanisms with weights uniform on +-``weight_range`` (sign 50/50);
    - noise ``noise_scale * N(0, 1)`` (``noise="gaussian"``) or ``U(-noise_scale, noise_scale)``
      (``"uniform"``; the peer does not rescale it to the Gaussian's variance);
    - ``domains = K > 1``: K blocks of n // K rows from the same mechanisms; the max(3, int(edge_prob * p))
      least-connected nodes get a mean shift of (k + 1) * (10 / K) * m in domain k (k = 0..K-1), added
      after simulation (it does not reach their children); m starts at 0.3 and grows by 1.5x (at most 5
      times) until the pooled data have more pairs with |r| > 0.7 than the unshifted data. The column
      ``domain_index`` holds 1..K (not in the true graph);
    - ``measurement_error``: Gaussian error of standard deviation ``error_std`` added to
      int(error_rate * p) columns drawn at random (a fixed SD, whatever the column's scale);
    - the rows are shuffled.

    Held-out families (none of the planner's rules were chosen on them):

    - ``weight_range = (0.1, 0.5)``: weak links;
    - ``noise_spread = s > 1``: each node's noise scale is ``noise_scale`` times a log-uniform factor in
      [1/s, s] (unequal noise scales);
    - ``domain_variance``: with domains, the shifted nodes' noise is also scaled by 1 + k / 2 in domain
      k, and the shift enters their equation, so it reaches their descendants (mean and variance shifts
      of the mechanism, unlike the peer's);
    - ``nonlinear_links = k``: k edges, drawn at random, enter through tanh(2 x) instead of x, in
      otherwise linear data.

    ``meta`` records every setting, the shifted nodes, the columns with error and the nonlinear edges.
    """
    if noise not in ("gaussian", "uniform"):
        raise ValueError(f"peer_sem draws the peer's noises, 'gaussian' or 'uniform', not {noise!r}")
    rng = np.random.default_rng(seed)
    m = int(edge_prob * p * (p - 1) / 2)
    pairs = [(i, j) for i in range(p) for j in range(i + 1, p)]
    chosen = rng.choice(len(pairs), size=min(m, len(pairs)), replace=False)
    order = rng.permutation(p)  # position in the causal order: an edge goes from the earlier node to the later
    adj = np.zeros((p, p), dtype=int)
    for k in chosen:
        a, b = order[pairs[k][0]], order[pairs[k][1]]
        adj[a, b] = 1
    lo, hi = weight_range
    W = adj * rng.uniform(lo, hi, size=(p, p)) * rng.choice([-1.0, 1.0], size=(p, p))
    scales = np.full(p, noise_scale)
    if noise_spread > 1:
        scales = noise_scale * np.exp(rng.uniform(-np.log(noise_spread), np.log(noise_spread), size=p))
    edges = np.argwhere(adj == 1)
    bent = {tuple(int(v) for v in edges[k]) for k in rng.choice(len(edges), size=min(nonlinear_links, len(edges)),
                                                                 replace=False)} if nonlinear_links else set()
    names = [f"X{k + 1}" for k in range(p)]
    topo = topological_order(adj)
    degree = adj.sum(axis=0) + adj.sum(axis=1)
    shifted = [int(k) for k in np.argsort(degree, kind="stable")[:max(3, int(edge_prob * p))]] if domains > 1 else []

    def draw(size: int, k_domain: int | None, shift: float) -> np.ndarray:
        X = np.zeros((size, p))
        for j in topo:
            x = np.zeros(size)
            for i in np.nonzero(adj[:, j])[0]:
                x += W[i, j] * (np.tanh(2.0 * X[:, i]) if (int(i), int(j)) in bent else X[:, i])
            scale = scales[j] * (1 + k_domain / 2 if domain_variance and k_domain is not None and j in shifted else 1)
            e = rng.normal(0.0, 1.0, size) if noise == "gaussian" else rng.uniform(-1.0, 1.0, size)
            X[:, j] = x + scale * e + (shift if domain_variance and j in shifted else 0.0)
        return X

    domain = None
    meta_shift = None
    if domains > 1:
        size = n // domains
        step = 10 / domains
        if domain_variance:
            blocks = [draw(size, k, (k + 1) * step * 0.3) for k in range(domains)]
            meta_shift = 0.3
        else:
            base = [draw(size, k, 0.0) for k in range(domains)]

            def strong_pairs(X: np.ndarray) -> int:
                r = np.corrcoef(X.T)
                return int((np.abs(r[np.triu_indices(p, 1)]) > 0.7).sum())

            before, mult = strong_pairs(np.vstack(base)), 0.3
            for _ in range(5):
                blocks = [b.copy() for b in base]
                for k, b in enumerate(blocks):
                    b[:, shifted] += (k + 1) * step * mult
                if strong_pairs(np.vstack(blocks)) > before:
                    break
                mult *= 1.5
            meta_shift = mult
        X = np.vstack(blocks)
        domain = np.repeat(np.arange(1, domains + 1), size)
    else:
        X = draw(n, None, 0.0)
    noisy: list[str] = []
    if measurement_error:
        cols = sorted(int(c) for c in rng.choice(p, size=int(error_rate * p), replace=False))
        X[:, cols] += rng.normal(0.0, error_std, (len(X), len(cols)))
        noisy = [names[c] for c in cols]
    frame = pd.DataFrame(X, columns=names)
    if domain is not None:
        frame["domain_index"] = domain
    frame = frame.iloc[rng.permutation(len(frame))].reset_index(drop=True)
    meta = {"p": p, "n": len(frame), "edge_prob": edge_prob, "n_edges": int(adj.sum()), "noise": noise,
            "noise_scale": noise_scale, "domains": domains, "shifted": [names[k] for k in shifted],
            "shift_multiplier": meta_shift, "measurement_error": noisy, "error_std": error_std if noisy else None,
            "weight_range": list(weight_range), "noise_spread": noise_spread, "domain_variance": domain_variance,
            "nonlinear_links": sorted(f"{names[a]}->{names[b]}" for a, b in bent), "seed": seed}
    return Synthetic(frame, _graph_of(adj, names), W, meta)
