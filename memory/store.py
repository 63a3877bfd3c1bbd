"""The keyed memory: an embedded SQLite database of past runs, their profiles, graphs and effects.

Keys are readable strings: a run id (``20261123-091500-ab12cd34``) names a run; ``RUN/graph``,
``RUN/profile``, ``RUN/effects`` (and ``RUN/graph/<name>`` for extra graphs of a chat session) name
items. Every run is written in one transaction in WAL mode, so a crash mid-run loses nothing that
was committed before, and two processes may write at once (SQLite serialises them; we wait).

Location: ``$CAUSALPILOT_HOME/memory.sqlite3`` if set, else the user's data directory
(``platformdirs.user_data_dir('causalpilot')``), else ``--memory PATH`` on the command line.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    data_path TEXT,
    data_sha256 TEXT,
    command TEXT,
    status TEXT NOT NULL,
    summary TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_data ON runs(data_sha256);
CREATE TABLE IF NOT EXISTS items (
    key TEXT PRIMARY KEY,
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    kind TEXT NOT NULL,
    created REAL NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS items_by_run ON items(run_id);
"""


def default_path() -> Path:
    home = os.environ.get("CAUSALPILOT_HOME")
    if home:
        return Path(home) / "memory.sqlite3"
    from platformdirs import user_data_dir

    return Path(user_data_dir("causalpilot", appauthor=False)) / "memory.sqlite3"


class MemoryStore:
    """A small keyed store over SQLite. Open, use, close; safe across processes."""

    def __init__(self, path: str | Path | None = None, timeout_s: float = 30.0):
        self.path = Path(path) if path else default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._conn.executescript(SCHEMA)

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "MemoryStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error: all of a write or none of it."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            self._conn.execute("COMMIT")

    # ------------------------------------------------------------------ writes
    def save_run(self, run_id: str, *, data_path: str | None, data_sha256: str | None, command: str,
                 status: str, summary: dict[str, Any], items: dict[str, tuple[str, Any]]) -> None:
        """Write a run and its items (key -> (kind, payload)) in one transaction."""
        now = time.time()
        with self.transaction() as c:
            c.execute(
                "INSERT INTO runs(run_id, created, data_path, data_sha256, command, status, summary) "
                "VALUES (?,?,?,?,?,?,?) ON CONFLICT(run_id) DO UPDATE SET status=excluded.status, "
                "summary=excluded.summary",
                (run_id, now, data_path, data_sha256, command, status, json.dumps(summary, sort_keys=True)),
            )
            for key, (kind, payload) in items.items():
                c.execute(
                    "INSERT INTO items(key, run_id, kind, created, payload) VALUES (?,?,?,?,?) "
                    "ON CONFLICT(key) DO UPDATE SET payload=excluded.payload, created=excluded.created",
                    (key, run_id, kind, now, json.dumps(payload, sort_keys=True)),
                )

    def put_item(self, run_id: str, key: str, kind: str, payload: Any) -> None:
        with self.transaction() as c:
            c.execute(
                "INSERT INTO items(key, run_id, kind, created, payload) VALUES (?,?,?,?,?) "
                "ON CONFLICT(key) DO UPDATE SET payload=excluded.payload, created=excluded.created",
                (key, run_id, kind, time.time(), json.dumps(payload, sort_keys=True)),
            )

    # ------------------------------------------------------------------ reads
    def list_runs(self, limit: int = 50) -> list[dict[str, Any]]:
        rows = self._conn.execute(
            "SELECT run_id, created, data_path, data_sha256, command, status, summary FROM runs "
            "ORDER BY created DESC, run_id DESC LIMIT ?", (limit,)).fetchall()
        return [_run_row(r) for r in rows]

    def runs_for_data(self, sha256: str) -> list[str]:
        return [r[0] for r in self._conn.execute(
            "SELECT run_id FROM runs WHERE data_sha256 = ? ORDER BY created DESC", (sha256,))]

    def keys(self, run_id: str) -> list[str]:
        return [r[0] for r in self._conn.execute("SELECT key FROM items WHERE run_id = ? ORDER BY key", (run_id,))]

    def get(self, key: str) -> dict[str, Any] | None:
        """A run (by run id) with its item keys, or an item (by item key) with its payload."""
        r = self._conn.execute("SELECT kind, run_id, created, payload FROM items WHERE key = ?", (key,)).fetchone()
        if r:
            return {"key": key, "kind": r[0], "run_id": r[1], "created": r[2], "created_at": iso_time(r[2]),
                    "payload": json.loads(r[3])}
        r = self._conn.execute(
            "SELECT run_id, created, data_path, data_sha256, command, status, summary FROM runs WHERE run_id = ?",
            (key,)).fetchone()
        return None if r is None else {**_run_row(r), "items": self.keys(key)}


def iso_time(epoch: float) -> str:
    """An epoch time (seconds) as ISO 8601 local time with its UTC offset, to the second
    (``2026-11-23T09:15:00+01:00``)."""
    import datetime as dt

    return dt.datetime.fromtimestamp(epoch).astimezone().isoformat(timespec="seconds")


def _run_row(r: tuple) -> dict[str, Any]:
    """A run as a dict: ``created`` in epoch seconds and ``created_at`` as ISO 8601 local time."""
    return {"run_id": r[0], "created": r[1], "created_at": iso_time(r[1]), "data_path": r[2], "data_sha256": r[3],
            "command": r[4], "status": r[5], "summary": json.loads(r[6] or "{}")}
