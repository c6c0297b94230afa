"""The generate stage's append-only journal: every judged candidate, written (and fsynced) as it goes.

``WORKDIR/generate/journal.jsonl`` holds one JSON object per line:

- ``{"kind": "header", "config_hash": ...}`` first; a journal with another hash is started afresh;
- ``{"kind": "candidate", "id", "cluster", "accepted", "reason", "detail", "codes", "task"}`` per
  judged candidate, keyed by its deterministic id;
- ``{"kind": "cluster_done", "cluster", ...}`` when a cluster needs no more candidates.

Each line is flushed to the OS as it is written (a SIGKILL loses nothing) and fsynced in groups.

A process killed mid-write leaves at most one torn last line: it is cut off when the journal is
opened again, so the candidate is simply judged again. At the end of a run the stage consolidates the
journal into the ``tasks`` and ``rejects`` datasets.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict

from clawloop_synth.types import TaskSpec

__all__ = ["FSYNC_EVERY", "Entry", "Journal", "Reject"]

FSYNC_EVERY = 0.25  # seconds


class Reject(BaseModel):
    """A rejected candidate, kept with its reason (the ``rejects`` dataset)."""

    model_config = ConfigDict(extra="forbid")

    id: str
    cluster: str
    reason: str
    detail: str = ""
    codes: list[str] = []
    task: TaskSpec | None = None


@dataclass
class Entry:
    id: str
    cluster: str
    accepted: bool
    reason: str = ""
    detail: str = ""
    codes: list[str] = field(default_factory=list)
    task: dict[str, Any] | None = None

    def record(self) -> dict[str, Any]:
        return {"kind": "candidate", "id": self.id, "cluster": self.cluster, "accepted": self.accepted,
                "reason": self.reason, "detail": self.detail, "codes": self.codes, "task": self.task}


class Journal:
    """Open (or start) the journal at ``path`` for a run whose config hashes to ``config_hash``.

    ``fresh``: start afresh even when the journal is of the same config (a forced re-run).
    """

    def __init__(self, path: Path, config_hash: str, fresh: bool = False) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        self.order: list[str] = []
        self.done: dict[str, dict[str, Any]] = {}
        path.parent.mkdir(parents=True, exist_ok=True)
        good = self._read(config_hash) if path.exists() and not fresh else -1
        if good < 0:  # no journal, or one of another config: start afresh
            self.entries.clear()
            self.order.clear()
            self.done.clear()
            path.write_bytes(orjson.dumps({"kind": "header", "config_hash": config_hash}) + b"\n")
        else:
            with open(path, "r+b") as fh:  # drop a torn last line
                fh.truncate(good)
        self._fh = open(path, "ab")  # noqa: SIM115 - kept open for the run, closed in close()
        self._synced = time.monotonic()
        self.resumed = len(self.entries)

    def _read(self, config_hash: str) -> int:
        """Load the entries; returns the byte length of the intact prefix, or -1 for another config."""
        data = self.path.read_bytes()
        good = 0
        for n, line in enumerate(data.split(b"\n")):
            end = good + len(line) + 1
            if end > len(data):  # no newline: torn
                break
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError:
                break
            if n == 0:
                if record.get("kind") != "header" or record.get("config_hash") != config_hash:
                    return -1
            elif record.get("kind") == "candidate":
                entry = Entry(record["id"], record["cluster"], record["accepted"], record.get("reason", ""),
                              record.get("detail", ""), record.get("codes", []), record.get("task"))
                if entry.id not in self.entries:
                    self.order.append(entry.id)
                self.entries[entry.id] = entry
            elif record.get("kind") == "cluster_done":
                self.done[record["cluster"]] = record
            good = end
        return good if good else -1

    def _write(self, record: dict[str, Any]) -> None:
        # flush() hands every line to the OS at once: a killed process loses nothing. fsync (against a
        # machine crash) is grouped, at most every FSYNC_EVERY seconds and on close: one per line would
        # cost ~5 ms each, serialized, on the LLM path's critical path.
        self._fh.write(orjson.dumps(record) + b"\n")
        self._fh.flush()
        now = time.monotonic()
        if now - self._synced >= FSYNC_EVERY:
            os.fsync(self._fh.fileno())
            self._synced = now

    def add(self, entry: Entry) -> None:
        if entry.id in self.entries:
            return
        self.entries[entry.id] = entry
        self.order.append(entry.id)
        self._write(entry.record())

    def finish_cluster(self, cluster: str, info: dict[str, Any]) -> None:
        record = {"kind": "cluster_done", "cluster": cluster, **info}
        self.done[cluster] = record
        self._write(record)

    def accepted(self, cluster: str | None = None) -> list[Entry]:
        return [e for i in self.order if (e := self.entries[i]).accepted and (cluster is None or e.cluster == cluster)]

    def close(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
