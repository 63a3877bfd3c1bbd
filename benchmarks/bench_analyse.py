"""End-to-end speed: every stage of ``causalpilot analyse`` beside one plain causal-learn PC run.

    python benchmarks/bench_analyse.py                  # p = 10, 50, 200 at n = 2000, 5000, 10000 (a grid)
    python benchmarks/bench_analyse.py --quick          # p = 10, 50 at n = 2000, 5000
    python benchmarks/bench_analyse.py --p 50 --n 5000  # one case

For each case the script draws a sparse linear-Gaussian SEM (``evals.generators.linear_sem``,
expected degree 2, seed 0), writes it to a CSV and then, each as a whole fresh process:

- ``causalpilot analyse data.csv --treatment X1 --outcome Xp`` with its defaults (bootstrap, effect,
  report); the stage times (load, profile, plan, discover+bootstrap, infer, report) come from the
  run's ``run.json``; ``import`` is the process wall time minus the stages;
- ``causalpilot discover data.csv --algorithm pc``;
- a plain causal-learn script: read the CSV with pandas, ``pc(X, 0.05, 'fisherz', stable=True)``.

It prints one table with the walls and the ratios to the causal-learn script (a ratio is our time
over theirs, so < 1 is faster). No timing is asserted anywhere: the numbers go to benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CL_SCRIPT = """
import sys, io, contextlib, pandas as pd
from causallearn.search.ConstraintBased.PC import pc
X = pd.read_csv(sys.argv[1]).to_numpy(dtype=float)
with contextlib.redirect_stdout(io.StringIO()):
    pc(X, 0.05, "fisherz", stable=True, show_progress=False)
"""


def _run(argv: list[str], cap: float) -> tuple[float, int]:
    env = {**os.environ, "CAUSALPILOT_HOME": tempfile.mkdtemp(prefix="cp-bench-home-")}
    t = time.perf_counter()
    try:
        rc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=cap).returncode
    except subprocess.TimeoutExpired:
        return float("inf"), -1
    return time.perf_counter() - t, rc


def bench(p: int, n: int, cap: float) -> dict:
    from causalpilot.evals.generators import linear_sem

    work = Path(tempfile.mkdtemp(prefix=f"cp-bench-p{p}-n{n}-"))
    data = work / "data.csv"
    linear_sem(p=p, n=n, expected_degree=2.0, seed=0).data.to_csv(data, index=False)
    row: dict = {"p": p, "n": n}
    row["causal_learn_pc"], _ = _run([sys.executable, "-c", CL_SCRIPT, str(data)], cap)
    row["discover_pc"], rc = _run([sys.executable, "-m", "causalpilot", "discover", str(data), "--algorithm", "pc",
                                   "--out", str(work / "disc"), "--quiet"], cap)
    out = work / "analyse"
    wall, rc = _run([sys.executable, "-m", "causalpilot", "analyse", str(data), "--treatment", "X1",
                     "--outcome", f"X{p}", "--out", str(out), "--quiet"], cap)
    row["analyse"] = wall
    row["analyse_rc"] = rc
    if rc == 0:
        info = json.loads((out / "run.json").read_text())
        row["stages"] = info["timings"]
        row["stages"]["import+rest"] = round(wall - sum(info["timings"].values()), 2)
        row["algorithm"] = info["discovery"]["algorithm"]
        row["bootstrap"] = info["discovery"]["bootstrap"]["replicates"]
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--p", type=int, nargs="*")
    ap.add_argument("--n", type=int, nargs="*")
    ap.add_argument("--cap", type=float, default=900.0, help="seconds per process before it is stopped")
    args = ap.parse_args()
    if args.p or args.n:
        cases = [(p, n) for p in (args.p or [50]) for n in (args.n or [5000])]
    elif args.quick:
        cases = [(10, 2000), (50, 5000)]
    else:
        cases = [(10, 2000), (50, 5000), (50, 10000), (200, 2000)]
    print("|   p |     n | causal-learn PC s | discover pc s | ratio | analyse s | ratio | method | stages (s) |")
    print("|----:|------:|------------------:|--------------:|------:|----------:|------:|:-------|:-----------|")
    for p, n in cases:
        r = bench(p, n, args.cap)
        cl = r["causal_learn_pc"]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r.get("stages", {}).items())
        print(f"| {p:3d} | {n:5d} | {cl:17.2f} | {r['discover_pc']:13.2f} | {r['discover_pc'] / cl:5.2f} | "
              f"{r['analyse']:9.2f} | {r['analyse'] / cl:5.2f} | {r.get('algorithm', 'failed')} | {stages} |", flush=True)


if __name__ == "__main__":
    main()
