"""Runs grouped by task, kept on disk: what a failed run is contrasted with, for any number of runs.

Contrast looks up the other runs of a failed run's task, so every run with a task id has to be kept
until mining ends. Held in memory that grows with the traffic (about 1 KB a run in Python objects);
here it is a private temporary SQLite database (deleted when closed) with a small page cache, so the
driver's memory stays flat however many runs there are.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import orjson

__all__ = ["Calls", "TaskRuns"]

Calls = tuple[tuple[int, str, dict[str, Any]], ...]  # (message index, tool, arguments) of calls that went through

_FLUSH = 4096  # rows buffered before one executemany


class TaskRuns:
    """task id -> the (trace id, calls) of its runs, in the order they were added.

    Pickles (for the ray engine's workers) as the database's bytes; the copy lives in the worker's memory.
    """

    def __init__(self) -> None:
        self._open(None)

    def _open(self, data: bytes | None) -> None:
        # "" is SQLite's private temporary database: on disk past its page cache, deleted on close.
        self._db = sqlite3.connect("", check_same_thread=False)
        if data is not None:
            self._db.deserialize(data)
        else:
            self._db.execute("CREATE TABLE runs (task TEXT NOT NULL, trace TEXT NOT NULL, calls BLOB NOT NULL)")
        self._lock = threading.Lock()  # the gate may look runs up from several threads
        self._pending: list[tuple[str, str, bytes]] = []
        self._indexed = data is not None
        self._memo: tuple[str, list[tuple[str, Calls]]] | None = None

    def add(self, task_id: str, trace_id: str, calls: Calls) -> None:
        """Keep one run of ``task_id``."""
        with self._lock:
            self._pending.append((task_id, trace_id, orjson.dumps(calls)))
            self._memo = None
            if len(self._pending) >= _FLUSH:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._db.executemany("INSERT INTO runs VALUES (?, ?, ?)", self._pending)
            self._pending.clear()

    def get(self, task_id: str) -> list[tuple[str, Calls]]:
        """(trace id, calls) of every run of ``task_id``, in the order added."""
        with self._lock:
            if self._memo is not None and self._memo[0] == task_id:  # detectors ask twice for one trace
                return self._memo[1]
            self._flush()
            if not self._indexed:  # built once after the bulk insert: faster than keeping it up on every row
                self._db.execute("CREATE INDEX runs_task ON runs (task)")
                self._indexed = True
            rows = self._db.execute("SELECT trace, calls FROM runs WHERE task = ? ORDER BY rowid", (task_id,))
            found = [(trace, tuple((int(i), str(name), args) for i, name, args in orjson.loads(calls)))
                     for trace, calls in rows]
            self._memo = (task_id, found)
            return found

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            self._flush()
            if not self._indexed:
                self._db.execute("CREATE INDEX runs_task ON runs (task)")
                self._indexed = True
            return {"data": self._db.serialize()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._open(state["data"])
