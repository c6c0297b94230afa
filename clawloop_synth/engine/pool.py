"""Ordered map over a few local processes: the local engine's way to use more than one core on CPU-bound,
deterministic per-item work (mine's traces, the gate's clusters, `sim verify`'s tasks).

The shared context is pickled once in the parent and unpickled once per worker (as the ray engine's
workers read it), so a worker never uses an object the parent opened (an SQLite connection) across the
fork. At most ``2 * processes`` batches are in flight, so the parent holds a bounded number of items and
results however long the input is; results come back in input order, so the output is the same as a
plain ``map``'s.

"""

from __future__ import annotations

import multiprocessing
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from typing import Any, TypeVar

__all__ = ["pool_map_ordered"]

T = TypeVar("T")
R = TypeVar("R")

_worker: dict[str, Any] = {}  # per worker process: the function and its context


def _init(fn: Callable[..., Any], context_blob: bytes) -> None:
    _worker["fn"] = fn
    _worker["context"] = pickle.loads(context_blob)


def _run_batch(items: list[Any]) -> list[Any]:
    fn, context = _worker["fn"], _worker["context"]
    return [fn(context, item) for item in items]


def pool_map_ordered(fn: Callable[[Any, T], R], items: Iterable[T], context: Any, processes: int,
                     batch: int = 64, inherit: bool = False) -> Iterator[R]:
    """``fn(context, item)`` for every item on ``processes`` worker processes, in input order (``processes``
    <= 1: in this process). ``fn`` must be a module-level function.

    ``inherit``: the workers use the parent's ``context`` object as the fork left it, not a pickled copy,
    for a context that holds nothing tied to the parent (no open connection) and whose objects key caches
    by identity (tasks: their compiled setups and episode memos), or is slow to pickle."""
    if processes <= 1:
        yield from (fn(context, item) for item in items)
        return
    # fork: the workers start at once and share the parent's imported modules; spawn would re-import them.
    start = multiprocessing.get_context("fork")
    if inherit:
        _worker.update(fn=fn, context=context)  # the workers are forked in Pool() (and any replacement later)
        pool = start.Pool(processes)
    else:
        pool = start.Pool(processes, _init, (fn, pickle.dumps(context)))
    try:
        source = iter(items)
        in_flight: deque[Any] = deque()
        while True:
            while len(in_flight) < 2 * processes and (chunk := list(islice(source, batch))):
                in_flight.append(pool.apply_async(_run_batch, (chunk,)))
            if not in_flight:
                return
            yield from in_flight.popleft().get()
    finally:
        pool.terminate()
        if inherit:
            _worker.clear()
