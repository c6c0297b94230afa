"""The work directory: the only state stages share.

Layout: one ``datasets`` folder per stage output (``traces/``, ``failures/``, ``clusters/``,
``tasks/``, ...), one ``STAGE.json`` summary per stage, and ``manifest.json`` recording for each
finished stage its config hash and counts so that a re-run can skip finished work.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["Manifest", "config_hash", "staging_dir", "write_json"]


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
