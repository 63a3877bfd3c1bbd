"""Time the batched Fisher-z PC engine against causal-learn's PC, in one process, on the same data.

Run by hand (not part of the test suite), from the repository root:

    python benchmarks/bench_pc.py            # p = 20, 50, 100 x n = 2000, 10000
    python benchmarks/bench_pc.py --quick    # p = 20, 50 x n = 2000 only
    python benchmarks/bench_pc.py --scale    # p = 1000, n = 2000, fast engine only

Each case draws a sparse linear-Gaussian SEM (``evals.generators.linear_sem``, expected degree 2),
runs causal-learn's ``pc(X, alpha, 'fisherz', stable=True)`` and ``tools.discovery.fast_pc.pc`` with a
cold p-value cache, checks that the endpoint matrices and separating sets are identical, and prints
the times and their ratio. causal-learn runs under a per-case time cap (``--cap``, SIGALRM), past
which the case is reported as capped and the ratio as a lower bound.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import signal
import sys
import time

import numpy as np


from causalpilot.evals.generators import linear_sem
from causalpilot.tools.ci import fisherz
from causalpilot.tools.discovery import fast_pc


class Capped(Exception):
    pass


def _alarm(signum, frame):
    raise Capped()


def _sepsets(cg):
    p = cg.sepset.shape[0]
    return {(i, j): [tuple(int(v) for v in S) for S in cg.sepset[i, j]]
            for i in range(p) for j in range(p) if cg.sepset[i, j] is not None}


def run_causallearn(X, alpha, cap):
    from causallearn.search.ConstraintBased.PC import pc

    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(int(cap))
    t = time.perf_counter()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            cg = pc(X, alpha, "fisherz", stable=True, uc_rule=0, uc_priority=2, show_progress=False)
        return cg, time.perf_counter() - t
    except Capped:
        return None, time.perf_counter() - t
    finally:
        signal.alarm(0)


def run_fast(X, alpha, repeat):
    best, cg, res = np.inf, None, None
    for _ in range(repeat):
        fisherz.clear_caches()  # cold cache: every test computed, as for a fresh data set
        t = time.perf_counter()
        cg, res = fast_pc.pc(X, alpha, return_stats=True)
        best = min(best, time.perf_counter() - t)
    return cg, res, best


def compare(ps, ns, alpha, cap, repeat, seed):
    print(f"{'p':>5} {'n':>6} {'edges':>6} {'tests':>8} {'causal-learn s':>15} {'fast s':>8} {'ratio':>8}  identical")
    for p in ps:
        for n in ns:
            X = linear_sem(p, n, expected_degree=2.0, seed=seed).data.to_numpy(dtype=float, copy=True)
            fast_cg, res, t_fast = run_fast(X, alpha, repeat)
            cl_cg, t_cl = run_causallearn(X, alpha, cap)
            if cl_cg is None:
                same, ratio = "capped", f">{t_cl / t_fast:.0f}"
                t_cl_s = f">{cap:.0f}"
            else:
                same = bool(np.array_equal(cl_cg.G.graph, fast_cg.G.graph) and _sepsets(cl_cg) == _sepsets(fast_cg))
                ratio, t_cl_s = f"{t_cl / t_fast:.1f}", f"{t_cl:.2f}"
            edges = int((np.triu(fast_cg.G.graph != 0)).sum())
            print(f"{p:>5} {n:>6} {edges:>6} {res.tests_run:>8} {t_cl_s:>15} {t_fast:>8.3f} {ratio:>8}  {same}",
                  flush=True)


def scale(p, n, alpha, seed):
    syn = linear_sem(p, n, expected_degree=2.0, seed=seed)
    X = syn.data.to_numpy(dtype=float, copy=True)
    fisherz.clear_caches()
    t = time.perf_counter()
    cg, res = fast_pc.pc(X, alpha, return_stats=True)
    elapsed = time.perf_counter() - t
    names = list(syn.data.columns)
    found = {frozenset((names[i], names[j])) for i, j in zip(*np.nonzero(np.triu(cg.G.graph != 0)))}
    truth = syn.truth.skeleton()
    tp = len(found & truth)
    print(f"scale: p={p} n={n} alpha={alpha}: {elapsed:.1f} s; depth reached {res.depth_reached}; "
          f"{res.tests_run} tests ({res.tests_computed} distinct); skeleton precision "
          f"{tp / max(len(found), 1):.3f}, recall {tp / max(len(truth), 1):.3f} ({len(truth)} true edges)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="p = 20, 50 and n = 2000 only")
    ap.add_argument("--scale", action="store_true", help="p = 1000, n = 2000 with the fast engine only")
    ap.add_argument("--alpha", type=float, default=0.05)
    ap.add_argument("--cap", type=float, default=600.0, help="seconds allowed to causal-learn per case")
    ap.add_argument("--repeat", type=int, default=3, help="fast-engine runs per case (best is kept)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--p", type=int, nargs="*", help="override the list of p")
    ap.add_argument("--n", type=int, nargs="*", help="override the list of n")
    args = ap.parse_args(argv)
    fast_pc.pc(np.random.default_rng(0).normal(size=(200, 5)), 0.05)  # imports and caches warm
    if args.scale:
        scale(args.p[0] if args.p else 1000, args.n[0] if args.n else 2000, args.alpha, args.seed)
        return
    ps = args.p or ([20, 50] if args.quick else [20, 50, 100])
    ns = args.n or ([2000] if args.quick else [2000, 10000])
    compare(ps, ns, args.alpha, args.cap, args.repeat, args.seed)


if __name__ == "__main__":
    main()
