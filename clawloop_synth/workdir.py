"""The work directory: the only state stages share.

Layout: one ``datasets`` folder per stage output (``traces/``, ``failures/``, ``clusters/``,
``tasks/``, ...), one ``STAGE.json`` summary per stage, and ``manifest.json`` recording for each
finished stage its config hash and counts so that a re-run can skip finished work.

One run per work directory: :func:`workdir_lock` holds an ``fcntl.flock`` on ``.lock`` inside it
for as long as ``run`` or a stage command works there. A second command on the same folder stops
at once with one line naming the folder and the holder's pid. The kernel drops the lock when its
holder exits, however it exits (``kill -9`` included), so a lock left by a dead run never blocks.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not Unix: no lock
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "Manifest", "config_hash", "staging_dir", "workdir_lock", "write_json"]

LOCK_NAME = ".lock"
_held: dict[str, list[int]] = {}  # resolved work dir -> [fd, depth]: re-entrant within a process
_held_lock = threading.Lock()


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        text = ""
    pid, _, command = text.partition(" ")
    return f"pid {pid}" + (f", {command}" if command else "") if pid.isdigit() else "pid unknown"


@contextmanager
def workdir_lock(workdir: Path, command: str = "", create: bool = True) -> Iterator[None]:
    """Hold ``workdir``'s run lock for the block; raises :class:`InputError` when another process
    holds it. Re-entrant in one process (``run`` calls the stages under its own lock).

    ``create=False`` (commands that read an existing work directory): a missing folder is not
    created, and the block runs unlocked so that the command reports the folder missing itself.
    """
    workdir = Path(workdir)
    if not create and not workdir.is_dir():
        yield
        return
    try:
        workdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the work directory: {exc.strerror}", file=str(workdir)) from None
    key = str(workdir.resolve())
    with _held_lock:
        entry = _held.get(key)
        if entry is not None:
            entry[1] += 1
    if entry is not None or fcntl is None:
        try:
            yield
        finally:
            if entry is not None:
                with _held_lock:
                    entry[1] -= 1
        return
    path = workdir / LOCK_NAME
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise InputError(f"cannot open the run lock: {exc.strerror}", file=str(path)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise InputError(f"another run is using this work directory ({_holder(path)}); wait for it to "
                         "finish or choose another work directory", file=str(workdir)) from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {command or ' '.join(sys.argv[:2])}\n".encode(), 0)
    except OSError:
        pass  # the lock holds; only the holder's description is missing
    with _held_lock:
        _held[key] = [fd, 1]
    try:
        yield
    finally:
        with _held_lock:
            _held.pop(key, None)
        os.close(fd)  # releases the flock


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically (a temp file renamed into place), so readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def config_hash(config: Any) -> str:
    blob = json.dumps(config, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


@contextmanager
def staging_dir(final: Path) -> Iterator[Path]:
    """Yield a sibling temp folder; on success it replaces ``final``, on error it is removed."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.with_name(f".{final.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


class Manifest:
    """``manifest.json``: per stage, the config hash and counts of its last finished run."""

    def __init__(self, workdir: Path) -> None:
        self.path = workdir / "manifest.json"
        self.entries: dict[str, Any] = json.loads(self.path.read_text()) if self.path.exists() else {}

    def is_done(self, stage: str, config: Any) -> bool:
        entry = self.entries.get(stage) or {}
        return bool(entry.get("config_hash") == config_hash(config))

    def record(self, stage: str, config: Any, counts: dict[str, Any]) -> None:
        self.entries[stage] = {"config_hash": config_hash(config), "counts": counts}
        write_json(self.path, self.entries)
