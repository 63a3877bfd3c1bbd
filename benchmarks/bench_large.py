"""Past one machine: a Parquet file far larger than the analysis needs in memory, and a Dask cluster.

    python benchmarks/bench_large.py                       # n = 10^7, p = 20 (about 1.8 GB) in /tmp
    python benchmarks/bench_large.py --rows 3000000        # a smaller file, as the README says when used
    python benchmarks/bench_large.py --wide                # PC at p = 1000: memory at n = 2000 and 8000

Run by hand from the repository root (not part of the test suite; no timing is asserted). Every file
goes to ``--dir`` (default /tmp/causalpilot-large), never into the repository. The steps, each a fresh
``causalpilot`` process whose peak resident memory (its own, and with its child processes) is sampled
from /proc every 0.2 s:

1. write ``n`` rows of a sparse linear-Gaussian SEM over 20 variables (1-2 parents each, coefficients
   +-0.4..0.9, unit noise; seeded) to Parquet in row groups of 250,000, unless the file is there;
2. ``causalpilot analyse FILE --stream --treatment x05 --outcome x15``: the file is read in batches;
3. the same on a seeded 10^6-row sample written to its own Parquet file, read into memory
   (``--no-stream``): the graph must be the same as the streamed run's (edges and their marks);
4. step 2 again with ``--scheduler`` pointing at a ``distributed.LocalCluster`` of 2 worker processes
   started here: graph.json and effects.json must be byte-identical to step 2's.
It prints one table (wall time, peak memory, edges, the effect) and the comparisons.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

P = 20
NAMES = [f"x{i + 1:02d}" for i in range(P)]
TREATMENT, OUTCOME = "x05", "x15"


def sem_weights(seed: int = 0):
    """W[i, j]: the coefficient of variable i in variable j's equation (i < j), 1-2 parents per variable."""
    import numpy as np

    rng = np.random.default_rng(seed)
    W = np.zeros((P, P))
    for j in range(1, P):
        for i in rng.choice(j, size=min(int(rng.integers(1, 3)), j), replace=False):
            W[i, j] = rng.choice([-1, 1]) * rng.uniform(0.4, 0.9)
    return W


def write_file(path: Path, rows: int, seed: int = 0, block: int = 500_000) -> None:
    """``rows`` rows of the SEM, generated and written ``block`` rows at a time (bounded memory)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    W = sem_weights(seed)
    writer, done, b = None, 0, 0
    while done < rows:
        m = min(block, rows - done)
        rng = np.random.default_rng([seed, b])
        X = np.zeros((m, P))
        for j in range(P):
            X[:, j] = X @ W[:, j] + rng.normal(size=m)
        table = pa.table({name: X[:, j] for j, name in enumerate(NAMES)})
        if writer is None:
            writer = pq.ParquetWriter(path, table.schema, compression="snappy")
        writer.write_table(table, row_group_size=250_000)
        done, b = done + m, b + 1
    writer.close()


def true_effect(seed: int = 0) -> float:
    """The total effect of TREATMENT on OUTCOME in the SEM: [(I - W)^-1][t, y]."""
    import numpy as np

    W = sem_weights(seed)
    return float(np.linalg.inv(np.eye(P) - W)[NAMES.index(TREATMENT), NAMES.index(OUTCOME)])


def _tree_rss_kb(pid: int) -> tuple[int, int]:
    """(resident kB of the process, of it and all its descendants), from /proc."""
    def rss(p: int) -> int:
        try:
            with open(f"/proc/{p}/status") as f:
                return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
        except OSError:
            return 0

    children: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(d))
            except (OSError, IndexError, ValueError):
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss(p)
        todo += children.get(p, [])
    return rss(pid), total


def run(argv: list[str], log: Path) -> dict:
    """Run ``argv``; its wall time, exit code and peak memory (MB: the process, and with its children)."""
    env = {**os.environ, "CAUSALPILOT_HOME": tempfile.mkdtemp(prefix="cp-large-home-")}
    t = time.perf_counter()
    with open(log, "w") as err:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=err)
        peak = [0, 0]

        def watch() -> None:
            while proc.poll() is None:
                own, tree = _tree_rss_kb(proc.pid)
                peak[0], peak[1] = max(peak[0], own), max(peak[1], tree)
                time.sleep(0.2)

        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        rc = proc.wait()
        thread.join()
    return {"seconds": round(time.perf_counter() - t, 1), "rc": rc, "peak_mb": peak[0] // 1024,
            "peak_tree_mb": peak[1] // 1024}


def summary(out: Path) -> dict:
    graph = json.loads((out / "graph.json").read_text())
    eff = json.loads((out / "effects.json").read_text())[0]
    run_info = json.loads((out / "run.json").read_text())
    return {"algorithm": graph["algorithm"], "edges": sorted((e["source"], e["target"], e["type"]) for e in graph["edges"]),
            "estimate": eff.get("estimate"), "ci": (eff.get("ci_low"), eff.get("ci_high")),
            "timings": run_info["timings"], "streamed": run_info["data"].get("streamed"),
            "cluster": run_info.get("cluster")}


def analyse(data: Path, out: Path, *extra: str) -> dict:
    argv = [sys.executable, "-m", "causalpilot", "analyse", str(data), "--treatment", TREATMENT, "--outcome", OUTCOME,
            "--out", str(out), *extra]
    row = run(argv, out.with_suffix(".log"))
    if row["rc"] != 0:
        raise SystemExit(f"{' '.join(argv)} failed (exit {row['rc']}); see {out.with_suffix('.log')}")
    return {**row, **summary(out)}


def large(args) -> None:
    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    data = work / f"sem_n{args.rows}.parquet"
    if not data.exists():
        t = time.perf_counter()
        write_file(data, args.rows)
        print(f"wrote {data} ({data.stat().st_size / 2**30:.2f} GiB) in {time.perf_counter() - t:.0f} s", flush=True)
    size_mb = data.stat().st_size / 2**20
    rows = {}
    rows["streamed"] = analyse(data, work / "streamed", "--stream")
    print("streamed:", {k: v for k, v in rows["streamed"].items() if k != "edges"}, flush=True)

    sample = work / f"sample_{args.sample}.parquet"
    if not sample.exists():
        from causalpilot.tools.loading import load_table

        load_table(data, stream=True, sample_rows=args.sample, seed=1).frame.to_parquet(sample, row_group_size=250_000)
    rows["in_memory_sample"] = analyse(sample, work / "memory", "--no-stream")
    print("in memory:", {k: v for k, v in rows["in_memory_sample"].items() if k != "edges"}, flush=True)

    if not args.no_cluster:
        from distributed import LocalCluster

        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as lc:
            rows["cluster"] = analyse(data, work / "cluster", "--stream", "--scheduler", lc.scheduler_address)
        print("cluster:", {k: v for k, v in rows["cluster"].items() if k != "edges"}, flush=True)

    print(f"\nfile: {data} ({args.rows:,} rows x {P} columns, {size_mb:,.0f} MiB); true effect of {TREATMENT} on "
          f"{OUTCOME}: {true_effect():.4f}\n")
    print("| run | wall s | peak MB (process) | peak MB (with workers) | algorithm | edges | estimate [95% CI] |")
    print("|---|---:|---:|---:|---|---:|---|")
    for name, r in rows.items():
        ci = r["ci"]
        print(f"| {name} | {r['seconds']} | {r['peak_mb']} | {r['peak_tree_mb']} | {r['algorithm']} | {len(r['edges'])} "
              f"| {r['estimate']} [{ci[0]}, {ci[1]}] |")
    same = rows["streamed"]["edges"] == rows["in_memory_sample"]["edges"]
    print(f"\nsame graph, streamed {args.rows:,} rows vs in memory on a {args.sample:,}-row sample: {same}")
    if not same:
        a, b = set(rows["streamed"]["edges"]), set(rows["in_memory_sample"]["edges"])
        print("  only streamed:", sorted(a - b), " only in memory:", sorted(b - a))
    if "cluster" in rows:
        ident = all((work / "cluster" / f).read_bytes() == (work / "streamed" / f).read_bytes()
                    for f in ("graph.json", "effects.json"))
        print(f"LocalCluster (2 worker processes) graph.json and effects.json byte-identical to the local run: {ident}")
    print("timings (s):", json.dumps({k: r["timings"] for k, r in rows.items()}))


def wide(args) -> None:
    """PC (Fisher-z, the batched engine) at p = 1000 by ``causalpilot discover``: memory at two sample sizes."""
    from causalpilot.evals.generators import linear_sem

    work = Path(args.dir)
    work.mkdir(parents=True, exist_ok=True)
    print("| p | n | wall s | peak MB | edges |")
    print("|---:|---:|---:|---:|---:|")
    for n in (2000, 8000):
        data = work / f"wide_p1000_n{n}.parquet"
        if not data.exists():
            linear_sem(p=1000, n=n, expected_degree=2.0, seed=0).data.to_parquet(data)
        out = work / f"wide_{n}"
        r = run([sys.executable, "-m", "causalpilot", "discover", str(data), "--algorithm", "pc", "--alpha", "0.01",
                 "--out", str(out)], out.with_suffix(".log"))
        edges = len(json.loads((out / "graph.json").read_text())["edges"]) if r["rc"] == 0 else None
        print(f"| 1000 | {n} | {r['seconds']} | {r['peak_mb']} | {edges} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--sample", type=int, default=1_000_000, help="rows of the in-memory comparison run")
    ap.add_argument("--dir", default="/tmp/causalpilot-large")
    ap.add_argument("--no-cluster", action="store_true")
    ap.add_argument("--wide", action="store_true", help="PC at p = 1000 instead")
    args = ap.parse_args()
    wide(args) if args.wide else large(args)


if __name__ == "__main__":
    main()
