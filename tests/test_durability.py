"""Durability: the memory store survives a process killed mid-write and concurrent writers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from causalpilot.memory.store import MemoryStore

WRITER = textwrap.dedent("""
    import sys
    from causalpilot.memory.store import MemoryStore
    db, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with MemoryStore(db) as store:
        for k in range(count):
            rid = f"{prefix}-{k}"
            store.save_run(rid, data_path="d.csv", data_sha256="s", command="analyse", status="done",
                           summary={"k": k}, items={f"{rid}/graph": ("graph", {"nodes": list(range(200))}),
                                                    f"{rid}/profile": ("profile", {"k": k})})
            if k == 0:
                print("started", flush=True)
""")


def _writer(db, prefix, count):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), prefix, str(count)], stdout=subprocess.PIPE,
                            text=True, env=env)


def test_killed_writer_loses_no_committed_run(tmp_path):
    db = tmp_path / "m.sqlite3"
    with MemoryStore(db) as store:
        store.save_run("before", data_path="a.csv", data_sha256="s", command="analyse", status="done",
                       summary={}, items={"before/graph": ("graph", {"nodes": ["A"]})})
    proc = _writer(db, "w", 100_000)
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.3)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with MemoryStore(db) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.get("before/graph")["payload"] == {"nodes": ["A"]}
        runs = {r["run_id"] for r in store.list_runs(limit=1_000_000)}
        # every run that was committed has both of its items: no half-written run survives
        for rid in runs - {"before"}:
            assert set(store.keys(rid)) == {f"{rid}/graph", f"{rid}/profile"}
        assert len(runs) > 1


def test_two_concurrent_writers_both_land(tmp_path):
    db = tmp_path / "m.sqlite3"
    MemoryStore(db).close()
    procs = [_writer(db, p, 40) for p in ("a", "b")]
    for p in procs:
        p.communicate(timeout=120)
        assert p.returncode == 0
    with MemoryStore(db) as store:
        runs = {r["run_id"] for r in store.list_runs(limit=1000)}
    assert runs == {f"{p}-{k}" for p in ("a", "b") for k in range(40)}
