"""Time the batched BOSS engine against causal-learn's ``boss()``, in one process, on the same data.

Run by hand (not part of the test suite), from the repository root:

    python benchmarks/bench_boss.py            # p = 20, 50, 100 x n = 2000, 10000
    python benchmarks/bench_boss.py --quick    # p = 20, 50 x n = 2000 only
    python benchmarks/bench_boss.py --degree 4 # denser graphs

Each case draws a linear-Gaussian SEM (``evals.generators.linear_sem``, expected degree 2 unless
``--degree``), standardises it as ``run_boss`` does (in C order, the layout ``boss()`` copies its
input to: the covariance's last bits depend on it, and BOSS's path on them), and runs one BOSS search
from the column order with the same shuffle seed in each engine: causal-learn's ``boss(X,
'local_score_BIC_from_cov', {'lambda_value': penalty})`` after ``random.seed(seed)``, and
``tools.discovery.fast_boss.boss_search`` (best of ``--repeat``). It checks that the CPDAGs are
identical and prints the wall-clock times and their ratio, the ratio of the process CPU times
(steadier on a loaded machine), the edge count and the BIC of the DAG found (causal-learn's scale,
higher is better). ``run_boss s`` is the whole default ``boss`` algorithm with the fast engine
(restarts until the best score is confirmed; the runs it took in brackets). causal-learn runs under a
per-case cap (``--cap``, SIGALRM); a capped case prints ``>cap``.
"""

from __future__ import annotations

import argparse
import random
import signal
import time

import numpy as np

from causalpilot.evals.generators import linear_sem
from causalpilot.tools.discovery import fast_boss
from causalpilot.tools.discovery._util import BIC_PENALTY, standardise
from causalpilot.tools.discovery.permutation import _boss_scorer
from causalpilot.tools.registry import DiscoveryInput, run_algorithm


class Capped(Exception):
    pass


def _alarm(signum, frame):
    raise Capped()


def run_causallearn(X, penalty, seed, cap):
    """causal-learn's boss() as a user would call it: its CPDAG endpoint matrix (None if capped), the
    wall-clock and the CPU seconds."""
    from causallearn.search.PermutationBased.BOSS import boss

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(cap))
    random.seed(seed)
    t, c = time.perf_counter(), time.process_time()
    try:
        G = boss(X, score_func="local_score_BIC_from_cov", parameters={"lambda_value": penalty}, verbose=False)
        return G.graph, time.perf_counter() - t, time.process_time() - c
    except Capped:
        return None, time.perf_counter() - t, time.process_time() - c
    finally:
        signal.alarm(0)


def run_fast(X, penalty, seed, repeat):
    """The fast engine from the column order: (DAG adjacency, edges, BIC, best wall-clock seconds, best CPU
    seconds)."""
    best, best_cpu, result = np.inf, np.inf, None
    p = X.shape[1]
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fast_boss.boss_search(_boss_scorer(X, "local_score_BIC_from_cov", penalty), list(range(p)), seed)
        best, best_cpu = min(best, time.perf_counter() - t), min(best_cpu, time.process_time() - c)
    parents, total = result
    adj = np.zeros((p, p), dtype=int)
    for v, pa in parents.items():
        adj[pa, v] = 1
    return adj, int(adj.sum()), total, best, best_cpu


def _cpdag_matrix(adj):
    """causal-learn's endpoint matrix of the CPDAG of a DAG (adj[i, j] = 1: i -> j)."""
    from causallearn.graph.Dag import Dag
    from causallearn.graph.GraphNode import GraphNode
    from causallearn.utils.DAG2CPDAG import dag2cpdag

    nodes = [GraphNode(f"X{i + 1}") for i in range(adj.shape[0])]
    dag = Dag(nodes)
    for i, j in zip(*np.nonzero(adj)):
        dag.add_directed_edge(nodes[i], nodes[j])
    return dag2cpdag(dag).graph


def compare(ps, ns, degree, penalty, cap, repeat, seed, restarts):
    print(f"{'p':>5} {'n':>6} {'edges':>6} {'causal-learn s':>15} {'fast s':>8} {'ratio':>7} {'cpu ratio':>9} {'BIC':>14}"
          f" {'run_boss s':>11}  identical", flush=True)
    for p in ps:
        for n in ns:
            syn = linear_sem(p, n, expected_degree=degree, seed=seed)
            # C order, as boss() copies it (see the module docstring)
            X = np.ascontiguousarray(standardise(syn.data.to_numpy(dtype=float, copy=True)))
            adj, edges, total, t_fast, c_fast = run_fast(X, penalty, seed, repeat)
            cl, t_cl, c_cl = run_causallearn(X, penalty, seed, cap)
            if cl is None:
                same, ratio, c_ratio, t_cl_s = "capped", f">{t_cl / t_fast:.0f}", "", f">{cap:.0f}"
            else:
                same = bool(np.array_equal(cl, _cpdag_matrix(adj)))
                ratio, c_ratio, t_cl_s = f"{t_cl / t_fast:.1f}", f"{c_cl / c_fast:.1f}", f"{t_cl:.2f}"
            t_run = ""
            if restarts:
                data = DiscoveryInput(syn.data.to_numpy(float), list(syn.data.columns), {}, seed=seed)
                t = time.perf_counter()
                g = run_algorithm("boss", data, {"penalty": penalty})
                t_run = f"{time.perf_counter() - t:.2f} ({g.parameters['starts_used']})"
            print(f"{p:>5} {n:>6} {edges:>6} {t_cl_s:>15} {t_fast:>8.3f} {ratio:>7} {c_ratio:>9} {total:>14.4f} {t_run:>11}  {same}",
                  flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="p = 20, 50 and n = 2000 only")
    ap.add_argument("--degree", type=float, default=2.0, help="expected degree of the simulated DAG")
    ap.add_argument("--penalty", type=float, default=BIC_PENALTY, help="BIC penalty lambda (run_boss's default)")
    ap.add_argument("--cap", type=float, default=900.0, help="seconds allowed to causal-learn per case")
    ap.add_argument("--repeat", type=int, default=1, help="fast-engine runs per case (best is kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-restarts", action="store_true", help="skip timing the whole run_boss")
    ap.add_argument("--p", type=int, nargs="*", help="override the list of p")
    ap.add_argument("--n", type=int, nargs="*", help="override the list of n")
    args = ap.parse_args(argv)
    run_fast(standardise(np.random.default_rng(0).normal(size=(200, 5))), args.penalty, 0, 1)  # imports warm
    ps = args.p or ([20, 50] if args.quick else [20, 50, 100])
    ns = args.n or ([2000] if args.quick else [2000, 10000])
    compare(ps, ns, args.degree, args.penalty, args.cap, args.repeat, args.seed, not args.no_restarts)


if __name__ == "__main__":
    main()
