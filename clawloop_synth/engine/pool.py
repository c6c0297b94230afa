"""Ordered map over a few local processes: the local engine's way to use more than one core on CPU-bound,
deterministic per-item work (mine's traces, the gate's clusters, `sim verify`'s tasks).

The shared context is pickled once in the parent and unpickled once per worker (as the ray engine's
workers read it), so a worker never uses an object the parent opened (an SQLite connection) across the
fork. At most ``2 * processes`` batches are in flight (``8 * processes`` while :func:`meanwhile` work is
pending), so the parent holds a bounded number of items and results however long the input is; results come back in input order, so the output is the same as a
plain ``map``'s. While the workers run, the parent does what :func:`meanwhile` left for it (the run's
later stages' imports), a piece at a time, instead of only waiting.
"""

from __future__ import annotations

import multiprocessing
import pickle
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from itertools import islice
from typing import Any, TypeVar

__all__ = ["forget_meanwhile", "meanwhile", "pool_map_ordered"]

T = TypeVar("T")
R = TypeVar("R")

_worker: dict[str, Any] = {}  # per worker process: the function and its context
_meanwhile: list[Callable[[], object]] = []


def meanwhile(*works: Callable[[], object]) -> None:
    """Have this process run each of ``works`` (once, in order) while it waits on a pool's workers: one
    piece of work each time the next result is not ready yet, so what a later step needs (its imports)
    gets done without a core idling for it, and never while a result waits. It runs on the waiting
    thread, not on a thread of its own: a thread that is importing when the pool forks (a library's
    fork hook waiting on it, or the child left holding its import lock) can hang the run."""
    _meanwhile.extend(works)


def forget_meanwhile(*works: Callable[[], object]) -> None:
    """Drop those of ``works`` that no wait has run yet."""
    for work in works:
        with suppress(ValueError):
            _meanwhile.remove(work)


def _run_one_meanwhile() -> None:
    work = _meanwhile.pop(0)
    with suppress(Exception):  # a head start only: whoever needs the work does it again and sees the error
        work()


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
            # more batches ahead while this process has its own work to do between results (the workers
            # must not run dry while it imports), else two per worker
            ahead = (8 if _meanwhile else 2) * processes
            while len(in_flight) < ahead and (chunk := list(islice(source, batch))):
                in_flight.append(pool.apply_async(_run_batch, (chunk,)))
            if not in_flight:
                return
            head = in_flight.popleft()
            while _meanwhile and not head.ready():
                _run_one_meanwhile()
            yield from head.get()
    finally:
        pool.terminate()
        if inherit:
            _worker.clear()
