"""The local engine: every call on this machine, results in input order.

With one process (``processes=1``, or ``CLAWLOOP_SYNTH_PROCESSES=1``) every call runs here, one after another.
With more (the default: one per CPU), :meth:`LocalEngine.map_ordered` hands a stage's independent,
CPU-bound pieces (the gate's candidates per cluster, ``sim verify``'s tasks) to a fork
pool of that many processes (:func:`~clawloop_synth.engine.pool.pool_map_ordered`) once the first pieces,
run here, took ``PROBE_SECONDS`` (a small stage stays in this process: the pool's start would cost more
than it saves), or from the first piece when the workers use the parent's context as
forked. Results still come back in input order, so the output is the one-process run's.
``submit`` always runs here: the LLM paths that use it keep their own overlap (an event loop and the
gate's worker process).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator, Sized
from concurrent.futures import Future
from itertools import chain, islice
from typing import Any, TypeVar

__all__ = ["PROBE_SECONDS", "PROCESSES_ENV", "LocalEngine", "default_processes"]

T = TypeVar("T")
R = TypeVar("R")

PROCESSES_ENV = "CLAWLOOP_SYNTH_PROCESSES"
PROBE_SECONDS = 1.0  # work run here before a pool is started for the rest: less than this never starts one


def default_processes() -> int:
    """``CLAWLOOP_SYNTH_PROCESSES`` if set, else the CPUs this process may run on."""
    from clawloop_synth.errors import InputError

    given = os.environ.get(PROCESSES_ENV, "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise InputError(f"{PROCESSES_ENV} must be a whole number of at least 1, not {given!r}",
                             field=PROCESSES_ENV)
        return int(given)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _call(fn: Callable[..., Any], item: Any) -> Any:
    return fn(item)  # a context-free map through the pool, which always passes a context


class LocalEngine:
    """The default engine. ``map_ordered`` is lazy: nothing runs before its first result is asked for,
    so a stage that streams keeps streaming. It stays in this process when there is one process or the
    items fit in one batch (a pool would only add its start-up)."""

    name = "local"
    in_process = True  # no remote workers: stages keep their own in-process paths and budgets

    def __init__(self, processes: int | None = None) -> None:
        self.processes = default_processes() if processes is None else max(1, processes)

    def workers(self) -> int:
        return self.processes

    def map_ordered(self, fn: Callable[..., R], items: Iterable[T], *, context: Any = None,
                    batch: int = 1, inherit: bool = False) -> Iterator[R]:
        """As :meth:`Engine.map_ordered`; ``inherit``: the pool's workers use ``context`` as the fork left it
        (:func:`~clawloop_synth.engine.pool.pool_map_ordered`), and the pool starts sooner, as it then
        costs only the fork."""
        if self.processes <= 1 or (isinstance(items, Sized) and len(items) <= max(1, batch)):
            if context is None:
                return map(fn, items)
            return (fn(context, item) for item in items)
        if inherit:
            return self._then_pool(fn, items, context, max(1, batch), inherit=True)
        if context is None:
            fn, context = _call, fn
        return self._then_pool(fn, items, context, max(1, batch))

    def _then_pool(self, fn: Callable[..., R], items: Iterable[T], context: Any, batch: int,
                   inherit: bool = False) -> Iterator[R]:
        """The first items here, for up to ``PROBE_SECONDS``, the rest (if any) on the pool: a stage whose
        whole work takes less never pays for a pool's start (the workers' imports, the context copied).
        An inherited context costs the pool only the fork, so it starts at once when there are two items
        or more: one item run here first could take seconds (a cluster of the gate) with a core idle."""
        from clawloop_synth.engine.pool import pool_map_ordered

        source = iter(items)
        if inherit:
            first = list(islice(source, 2))
            if len(first) < 2:
                yield from (fn(context, item) for item in first)
                return
            yield from pool_map_ordered(fn, chain(first, source), context, self.processes, batch=batch,
                                        inherit=True)
            return
        started = time.perf_counter()
        for item in source:
            yield fn(context, item)
            if time.perf_counter() - started >= PROBE_SECONDS:
                break
        else:
            return
        yield from pool_map_ordered(fn, source, context, self.processes, batch=batch)

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """Runs ``fn`` now, in this process; the future is done when this returns."""
        future: Future[R] = Future()
        try:
            future.set_result(fn(*args))
        except Exception as exc:  # handed to the caller through the future, as a worker's would be
            future.set_exception(exc)
        return future

    def cancel(self, future: Future[Any]) -> None:
        return None  # already done: submit ran it

    def shared_budget(self, max_cost: float | None, max_requests: int | None, concurrency: int) -> Any:
        return None

    def close(self) -> None:
        return None
