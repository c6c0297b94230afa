"""Where the work of a stage runs: on this machine (``local``, the default: this process plus a fork pool of
one process per CPU for the stages' CPU-bound pieces) or on a Ray cluster (``ray``).

A stage hands its independent pieces of work (files, traces, embedding batches, episodes, tasks, clusters'
candidates, tools' handler fits) to ``engine.map_ordered(fn, items, context=...)`` and gets the results back
in input order, so the output is the same whichever engine ran them; work that arrives one piece at a time
(the LLM chains' candidates) goes through ``engine.submit(fn, *args)``, a future per call. ``fn`` must be a
module-level function (the ray engine ships it by reference); ``context`` is what every call shares (sent to
the cluster once).

Ray is imported only when the ray engine is made (``clawloop_synth.engine.ray``): ``--help`` and the
local engine never import it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, Protocol, TypeVar

from clawloop_synth.engine.local import LocalEngine

__all__ = ["ENGINES", "Engine", "LocalEngine", "local_engine", "make_engine"]

ENGINES = ("local", "ray")
T = TypeVar("T")
R = TypeVar("R")


class Engine(Protocol):
    """Runs independent calls and hands their results back in input order."""

    name: str
    in_process: bool  # True: calls run in this process (stages keep their own in-process concurrency)

    def workers(self) -> int:
        """How many calls can run at the same time."""
        ...

    def map_ordered(self, fn: Callable[..., R], items: Iterable[T], *, context: Any = None,
                    batch: int = 1) -> Iterator[R]:
        """``fn(item)`` (or ``fn(context, item)`` when ``context`` is given) for every item, in input order;
        ``batch`` items go to a worker together (fewer, larger messages)."""
        ...

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        """``fn(*args)`` as one call on a worker, as soon as one is free; its result (or exception) in the
        future. For work that arrives out of order (the gate's checks on the LLM chains' candidates)."""
        ...

    def cancel(self, future: Future[Any]) -> None:
        """Stop the call behind ``future`` (one from :meth:`submit`) if it still runs: a call stuck past its
        bound gives its worker back."""
        ...

    def shared_budget(self, max_cost: float | None, max_requests: int | None, concurrency: int) -> Any:
        """An LLM budget and concurrency limit that hold across workers (None: one process, nothing to share)."""
        ...

    def close(self) -> None:
        """Release what the engine started (a local Ray instance it launched)."""
        ...


def local_engine(processes: int | None = None) -> LocalEngine:
    """The default: this machine, ``processes`` processes (default one per CPU; 1: this process alone)."""
    return LocalEngine(processes)


def make_engine(name: str = "local", address: str | None = None, workers: int | None = None) -> Engine:
    """``local`` (``workers`` processes on this machine, default one per CPU or ``CLAWLOOP_SYNTH_PROCESSES``;
    1: everything in this process), or ``ray`` on the cluster at ``address`` (``auto``: the one ``ray start``
    runs on this machine; ``ray://HOST:PORT``: a remote one through Ray Client; None: a new local Ray
    instance), ``workers`` calls at once (default: one per CPU of the cluster)."""
    from clawloop_synth.errors import InputError

    if workers is not None and workers < 1:
        raise InputError("--workers must be at least 1", field="workers")
    if name == "local":
        if address is not None:
            raise InputError("--address needs --engine ray", field="engine")
        return LocalEngine(workers)
    if name == "ray":
        try:
            from clawloop_synth.engine.ray import RayEngine
        except ImportError:
            raise InputError("the ray engine needs Ray: pip install 'clawloop-synth[ray]'", field="engine") from None
        return RayEngine(address, workers=workers)
    raise InputError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}", field="engine")
