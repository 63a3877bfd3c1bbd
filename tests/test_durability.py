"""Durability: the memory store survives a process killed mid-write and concurrent writers."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

from causalpilot.memory.store import MemoryStore

WRITER = textwrap.dedent("""
    import sys, time
    from causalpilot.memory.store import MemoryStore
    db, prefix, count, stall = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    class Stalling(dict):
        # a payload whose JSON encoding (inside save_run's transaction, after the run row and the graph
        # item are written) announces itself and waits to be killed
        def items(self):
            print("inside", flush=True)
            time.sleep(120)
            return super().items()

    with MemoryStore(db) as store:
        for k in range(count):
            rid = f"{prefix}-{k}"
            profile = Stalling(k=k) if k == stall else {"k": k}
            store.save_run(rid, data_path="d.csv", data_sha256="s", command="analyse", status="done",
                           summary={"k": k}, items={f"{rid}/graph": ("graph", {"nodes": list(range(200))}),
                                                    f"{rid}/profile": ("profile", profile)})
            if k == 0:
                print("started", flush=True)
""")


def _writer(db, prefix, count, stall=-1):
    return subprocess.Popen([sys.executable, "-c", WRITER, str(db), prefix, str(count), str(stall)], stdout=subprocess.PIPE,
                            text=True)


def test_killed_writer_loses_no_committed_run(tmp_path):
    db = tmp_path / "m.sqlite3"
    with MemoryStore(db) as store:
        store.save_run("before", data_path="a.csv", data_sha256="s", command="analyse", status="done",
                       summary={}, items={"before/graph": ("graph", {"nodes": ["A"]})})
    proc = _writer(db, "w", 10, stall=3)
    assert proc.stdout.readline().strip() == "started"
    assert proc.stdout.readline().strip() == "inside"  # run w-3 is half written, inside its transaction
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    with MemoryStore(db) as store:
        assert store._conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert store.get("before/graph")["payload"] == {"nodes": ["A"]}
        runs = {r["run_id"] for r in store.list_runs(limit=1_000_000)}
        # the committed runs are whole, the one killed mid-transaction left nothing behind
        assert runs == {"before", "w-0", "w-1", "w-2"}
        for rid in runs - {"before"}:
            assert set(store.keys(rid)) == {f"{rid}/graph", f"{rid}/profile"}
        assert store.get("w-3/graph") is None and store.get("w-3") is None


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
