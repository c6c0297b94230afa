"""A disk cache of structured answers keyed by (model, messages, schema, params).

One small JSON file per key under ``DIR/ab/abcd...json``, written atomically (temp file + rename), so
concurrent writers and a process killed mid-write never leave a torn entry.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

__all__ = ["CacheWriter", "DiskCache", "cache_key"]


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


class CacheWriter:
    """Writes entries of one :class:`DiskCache` on a worker thread, awaited from an event loop.

    The file system calls of a write (temp file, write, rename; ~1 ms on a busy disk) would otherwise
    stall every other call on the loop. The thread starts on construction; where no thread may start
    (e.g. while a sandboxed handler has lowered ``RLIMIT_AS``) entries are written inline.
    """

    def __init__(self, cache: DiskCache) -> None:
        self.cache = cache
        self._pool: ThreadPoolExecutor | None = ThreadPoolExecutor(max_workers=1, thread_name_prefix="llm-cache")
        try:
            self._pool.submit(int).result()  # the thread starts now or not at all
        except RuntimeError:
            self._pool = None

    async def put(self, key: str, entry: dict[str, Any]) -> None:
        if self._pool is None:
            self.cache.put(key, entry)
            return
        await asyncio.get_running_loop().run_in_executor(self._pool, self.cache.put, key, entry)

    def close(self) -> None:
        """Stop the thread (no write is pending once every :meth:`put` was awaited)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False)
