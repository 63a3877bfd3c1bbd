"""Every registered algorithm on generated data with a known graph: strict scores and seconds.

    python benchmarks/discovery_algorithms.py [--p 10] [--n 1000] [--seeds 0 1 2]

Tabular algorithms run on linear-Gaussian and linear-uniform (non-Gaussian) SEMs, CD-NOD on the
two-domain generator, time-series algorithms on a VAR(2) process (self-lags counted as edges).
Default parameters, tau_max from the data; nothing is tuned on the truth. markov_blanket is scored
against the whole graph although it claims only the target's neighbourhood, so its figures are low by design.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from causalpilot.evals.generators import heterogeneous_domains, linear_sem, var_process
from causalpilot.evals.metrics import score
from causalpilot.tools.registry import DiscoveryInput, algorithms, run_algorithm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--p", type=int, default=10)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = ap.parse_args()
    rows = []
    for name, spec in sorted(algorithms().items()):
        for setting in (("var",) if spec.time_series else ("domains",) if name == "cdnod" else ("gaussian", "uniform")):
            res = []
            for seed in args.seeds:
                if setting == "var":
                    s = var_process(p=5, n=args.n, seed=seed)
                    nodes = list(s.data.columns)
                    di = DiscoveryInput(X=s.data.to_numpy(), nodes=nodes, kinds={}, seed=seed)
                elif setting == "domains":
                    s = heterogeneous_domains(p=min(args.p, 8), n_per_domain=args.n // 2, seed=seed)
                    nodes = [c for c in s.data.columns if c != "domain"]
                    di = DiscoveryInput(X=s.data[nodes].to_numpy(), nodes=nodes, kinds={}, seed=seed,
                                        domain=s.data["domain"].to_numpy(dtype=float))
                else:
                    s = linear_sem(p=args.p, n=args.n, seed=seed, noise=setting)
                    nodes = list(s.data.columns)
                    di = DiscoveryInput(X=s.data.to_numpy(), nodes=nodes, kinds={}, seed=seed)
                params = {"target": nodes[0]} if "target" in spec.defaults else {}
                t = time.perf_counter()
                g = run_algorithm(name, di, params)
                sc = score(g, s.truth)
                res.append((sc["skeleton_f1"], sc["arrow_f1"], sc["shd"], time.perf_counter() - t))
            m = np.mean(res, axis=0)
            rows.append((name, setting, *m))
            print(f"{name:15s} {setting:9s} skeleton_f1 {m[0]:.3f}  arrow_f1 {m[1]:.3f}  shd {m[2]:5.1f}  {m[3]:6.2f}s",
                  flush=True)


if __name__ == "__main__":
    main()
