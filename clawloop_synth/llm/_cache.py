"""A disk cache of structured answers keyed by (model, messages, schema, params).

One small JSON file per key under ``DIR/ab/abcd...json``, written atomically (temp file + rename), so
concurrent writers and a process killed mid-write never leave a torn entry.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

import orjson

__all__ = ["DiskCache", "cache_key"]


def cache_key(**parts: Any) -> str:
    """A stable hash of JSON-able parts (dict keys sorted)."""
    blob = orjson.dumps(parts, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(blob).hexdigest()


class DiskCache:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._made: set[str] = set()  # shard directories known to exist (a mkdir per write costs ~1 ms)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            data = orjson.loads(self._path(key).read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        path = self._path(key)
        if key[:2] not in self._made:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._made.add(key[:2])
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(orjson.dumps(entry, default=str))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
