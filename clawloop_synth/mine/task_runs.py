"""Runs grouped by task, kept on disk: what a failed run is contrasted with, for any number of runs.

Contrast looks up the other runs of a failed run's task, so every run with a task id has to be kept
until mining ends. Held in memory that grows with the traffic (about 1 KB a run in Python objects);
here it is a temporary SQLite file (removed when the object goes) with a small page cache, so the
driver's memory stays flat however many runs there are.

Worker processes forked from the driver read the same file: before any fork the buffered rows are
written and indexed (an ``os.register_at_fork`` hook), and a process that finds itself in a child opens
its own read-only connection by path (a SQLite connection must not be used across a fork). So the local
pool hands the runs to its workers without copying them (pickling the database was about 300 MB of
driver memory at a million traces). Pickling (for the ray engine's workers, which may be on other
machines) still ships the database's bytes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
import threading
import weakref
from typing import Any

import orjson

__all__ = ["Calls", "TaskRuns"]

Calls = tuple[tuple[int, str, dict[str, Any]], ...]  # (message index, tool, arguments) of calls that went through

_FLUSH = 4096  # rows buffered before one executemany

_OPEN: weakref.WeakSet[TaskRuns] = weakref.WeakSet()  # file-backed instances this process writes


def _before_fork() -> None:
    for runs in list(_OPEN):
        runs.seal()


os.register_at_fork(before=_before_fork)


def _remove(path: str, owner: int) -> None:
    if os.getpid() == owner:  # a forked child dropping its copy must not delete the driver's file
        with contextlib.suppress(OSError):
            os.unlink(path)


class TaskRuns:
    """task id -> the (trace id, calls) of its runs, in the order they were added.

    Pickles (for the ray engine's workers) as the database's bytes; the copy lives in the worker's memory.
    """

    _db: sqlite3.Connection | None  # None until the first runs are written

    def __init__(self) -> None:
        # The file is made when the first rows are written: the many empty contexts (the gate's, made in
        # pool workers that are terminated, so never cleaned up) leave no file behind.
        self._path: str | None = None  # also None for an unpickled copy, which lives in memory
        self._open(None, indexed=False)
        _OPEN.add(self)

    def _create(self) -> sqlite3.Connection:
        """The file-backed database, made on first use by the process that owns the object."""
        if self._db is not None:
            return self._db
        fd, path = tempfile.mkstemp(prefix="clawloop-task-runs-", suffix=".sqlite")
        os.close(fd)
        weakref.finalize(self, _remove, path, os.getpid())
        db = sqlite3.connect(path, check_same_thread=False)
        # Scratch data: nothing to recover after a crash, so no journal and no fsync.
        db.execute("PRAGMA journal_mode=OFF")
        db.execute("PRAGMA synchronous=OFF")
        db.execute("CREATE TABLE runs (task TEXT NOT NULL, trace TEXT NOT NULL, calls BLOB NOT NULL)")
        db.commit()
        self._db, self._path = db, path
        return db

    def _open(self, db: sqlite3.Connection | None, indexed: bool) -> None:
        self._db = db
        self._lock = threading.Lock()  # the gate may look runs up from several threads
        self._pending: list[tuple[str, str, bytes]] = []
        self._indexed = indexed
        self._memo: tuple[str, list[tuple[str, Calls]]] | None = None
        self._owner = os.getpid()
        self._read_only = False

    def _connection(self) -> sqlite3.Connection | None:
        """This process's connection (None while no run was written): in a child forked from the writer, a
        read-only one of its own."""
        if os.getpid() != self._owner:
            self._owner = os.getpid()
            if self._path is not None:
                if self._pending:
                    raise RuntimeError("runs were added but not written before the fork: the child cannot read them")
                self._inherited = self._db  # the parent's: kept, never used or closed here
                self._db = sqlite3.connect(f"file:{self._path}?mode=ro", uri=True, check_same_thread=False)
                self._read_only = True
        return self._db

    def add(self, task_id: str, trace_id: str, calls: Calls) -> None:
        """Keep one run of ``task_id``."""
        with self._lock:
            self._pending.append((task_id, trace_id, orjson.dumps(calls)))
            self._memo = None
            if len(self._pending) >= _FLUSH:
                self._flush()

    def _flush(self) -> None:
        if self._pending:
            if self._read_only:
                raise RuntimeError("a forked child's runs are read-only")
            db = self._create()
            db.executemany("INSERT INTO runs VALUES (?, ?, ?)", self._pending)
            db.commit()  # committed rows are what a forked child's connection reads
            self._pending.clear()

    def _index(self) -> None:
        if not self._indexed and self._db is not None:  # once, after the bulk insert: faster than on every row
            self._db.execute("CREATE INDEX runs_task ON runs (task)")
            self._db.commit()
            self._indexed = True

    def seal(self) -> None:
        """Write the buffered rows and the index (before a fork, so the children read every run)."""
        with self._lock:
            if os.getpid() == self._owner and not self._read_only:
                self._flush()
                self._index()

    def get(self, task_id: str) -> list[tuple[str, Calls]]:
        """(trace id, calls) of every run of ``task_id``, in the order added."""
        with self._lock:
            if self._memo is not None and self._memo[0] == task_id:  # detectors ask twice for one trace
                return self._memo[1]
            db = self._connection()
            if not self._read_only:
                self._flush()
                self._index()
                db = self._db
            if db is None:
                return []
            rows = db.execute("SELECT trace, calls FROM runs WHERE task = ? ORDER BY rowid", (task_id,))
            found = [(trace, tuple((int(i), str(name), args) for i, name, args in orjson.loads(calls)))
                     for trace, calls in rows]
            self._memo = (task_id, found)
            return found

    def __getstate__(self) -> dict[str, Any]:
        with self._lock:
            db = self._connection()
            if not self._read_only:
                self._flush()
                self._index()
                db = self._db
            return {"data": db.serialize() if db is not None else None}

    def __setstate__(self, state: dict[str, Any]) -> None:
        # An unpickled copy lives in memory (the ray engine's worker, maybe on another machine).
        self._path = None
        db = None
        if state["data"] is not None:
            db = sqlite3.connect(":memory:", check_same_thread=False)
            db.deserialize(state["data"])
        self._open(db, indexed=db is not None)
