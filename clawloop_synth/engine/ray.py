"""The ray engine: a stage's calls as Ray tasks on a cluster, results handed back in input order.

Calls go out in batches, at most a few per worker in flight (so the driver holds a bounded number of
results however many items there are), and come back in the order they were given. A worker that dies
mid-batch (killed, out of memory, node lost) is a system failure Ray retries (``max_retries``); the
driver takes each batch's result once, from the attempt that finished, so a retried batch adds no
duplicate. An exception the stage's own code raises (bad input) is not retried: it reaches the caller
as itself, so the CLI still prints its one line.

The LLM budget across workers lives in one actor (:class:`BudgetActor`): every HTTP request any worker
sends is reserved there first (the actor runs one call at a time, so the count cannot overspend), and
the concurrency limit is a set of leases it hands out.

Imported only by ``make_engine("ray")``: importing Ray costs seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from typing import Any, TypeVar

import ray

from clawloop_synth.llm._usage import Accountant

__all__ = ["KILL_ONCE_ENV", "BudgetActor", "RayEngine", "SharedBudget"]

T = TypeVar("T")
R = TypeVar("R")

# Fault injection for tests: the first batch to create this file (O_EXCL) SIGKILLs its own worker
# process after computing its results and before returning them, as a crash would.
KILL_ONCE_ENV = "CLAWLOOP_SYNTH_RAY_KILL_ONCE"
_IN_FLIGHT_PER_WORKER = 2
_RETRIES = 3


_context: dict[str, Any] = {}  # per worker process: the last context it read, by object id


def _resolve(holder: list[Any]) -> Any:
    """The shared context, read from the object store once per worker rather than once per batch (the
    reference comes wrapped in a list so that Ray does not resolve it on every call)."""
    ref = holder[0]
    key = ref.hex()
    if key not in _context:
        _context.clear()
        _context[key] = ray.get(ref)
    return _context[key]


def _run_batch(fn: Callable[..., Any], holder: list[Any] | None, items: list[Any],
               kill_once: str | None) -> list[Any]:
    if holder is None:
        results = [fn(item) for item in items]
    else:
        context = _resolve(holder)
        results = [fn(context, item) for item in items]
    if kill_once:
        try:
            os.close(os.open(kill_once, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            pass
        else:
            os.kill(os.getpid(), signal.SIGKILL)
    return results


def _apply(call: tuple[Callable[..., Any], tuple[Any, ...]]) -> Any:
    fn, args = call
    return fn(*args)


class RayEngine:
    """Ray tasks on the cluster at ``address`` (None: a new local instance, stopped by :meth:`close`)."""

    name = "ray"
    in_process = False

    def __init__(self, address: str | None = None, *, workers: int | None = None,
                 num_cpus: int | None = None) -> None:
        self._owned = False
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "configure_logging": False}
            if address is None:
                # "local" starts a new instance rather than joining whatever `ray start` left on this machine.
                ray.init(address="local", num_cpus=num_cpus, **kwargs)
            else:
                ray.init(address=address, **kwargs)
            self._owned = True
        cpus = max(1.0, float(ray.cluster_resources().get("CPU", 1)))
        # ``workers`` tasks at once: each asks for its share of the cluster's CPUs (default: one CPU each).
        self._workers = workers if workers is not None else int(cpus)
        remote = ray.remote(max_retries=_RETRIES, retry_exceptions=False)(_run_batch)
        self._remote = remote.options(num_cpus=cpus / workers) if workers is not None else remote
        self.address = address

    def workers(self) -> int:
        return self._workers

    def map_ordered(self, fn: Callable[..., R], items: Iterable[T], *, context: Any = None,
                    batch: int = 1) -> Iterator[R]:
        holder = [ray.put(context)] if context is not None else None
        kill_once = os.environ.get(KILL_ONCE_ENV) or None
        window = self.workers() * _IN_FLIGHT_PER_WORKER
        pending: deque[Any] = deque()
        source = iter(items)
        size = max(1, batch)

        def submit() -> bool:
            chunk = [item for _, item in zip(range(size), source, strict=False)]
            if not chunk:
                return False
            pending.append(self._remote.remote(fn, holder, chunk, kill_once))
            return True

        try:
            while len(pending) < window and submit():
                pass
            while pending:
                ref = pending.popleft()
                results = _get(ref)
                submit()
                yield from results
        finally:
            for ref in pending:  # closed early or failed: stop what is still queued
                ray.cancel(ref)

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        ref = self._remote.remote(_apply, None, [(fn, args)], os.environ.get(KILL_ONCE_ENV) or None)
        out: Future[R] = Future()
        out.ray_ref = ref  # type: ignore[attr-defined]  # for cancel

        def settle(inner: Future[Any]) -> None:
            try:
                out.set_result(inner.result()[0])
            except Exception as exc:
                out.set_exception(_cause(exc))

        ref.future().add_done_callback(settle)
        return out

    def cancel(self, future: Future[Any]) -> None:
        ref = getattr(future, "ray_ref", None)
        if ref is not None and not future.done():
            with contextlib.suppress(Exception):  # finished meanwhile
                ray.cancel(ref, force=True)

    def shared_budget(self, max_cost: float | None, max_requests: int | None, concurrency: int) -> SharedBudget:
        return SharedBudget(BudgetActor.remote(max_cost, max_requests, concurrency))  # type: ignore[attr-defined]

    def close(self) -> None:
        if self._owned and ray.is_initialized():
            ray.shutdown()
        self._owned = False


def _get(ref: Any) -> Any:
    """A task's result; the stage's own exception re-raised as itself (not wrapped in RayTaskError)."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        raise _cause(exc) from None


def _cause(exc: BaseException) -> BaseException:
    """The stage's own exception inside a RayTaskError (``exc`` itself when it is Ray's own failure)."""
    cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) else None
    if isinstance(cause, Exception) and not isinstance(cause, ray.exceptions.RayError):
        return cause
    return exc


# Not restarted: a fresh actor would have forgotten what was spent.
@ray.remote(num_cpus=0, max_restarts=0)
class BudgetActor:
    """The one owner of an LLM budget shared by every worker: requests reserved, cost recorded, leases
    on the concurrency limit. An async actor: its methods run on one event loop, so the check and the
    count of ``reserve`` are one step (no worker can slip a request in between)."""

    def __init__(self, max_cost: float | None, max_requests: int | None, concurrency: int) -> None:
        self.accountant = Accountant("shared", max_cost, max_requests)
        self.concurrency = max(1, concurrency)
        self.leases: dict[int, float] = {}
        self.next_lease = 0
        self.freed = asyncio.Event()

    async def reserve(self, stage: str) -> str | None:
        """Count one request about to be sent; the reason instead when the budget is spent."""
        from clawloop_synth.llm._config import BudgetExceeded

        try:
            self.accountant.reserve(stage)
        except BudgetExceeded as exc:
            return str(exc)
        return None

    async def record(self, stage: str, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        usage = self.accountant.stage(stage)
        usage.prompt_tokens += prompt_tokens
        usage.completion_tokens += completion_tokens
        usage.cost += cost

    async def acquire(self, lease_seconds: float) -> int:
        """A lease on one of ``concurrency`` slots; a lease older than ``lease_seconds`` (its worker died
        holding it) is taken back."""
        while True:
            now = time.monotonic()
            for token, since in list(self.leases.items()):
                if now - since > lease_seconds:
                    del self.leases[token]
            if len(self.leases) < self.concurrency:
                self.next_lease += 1
                self.leases[self.next_lease] = now
                return self.next_lease
            self.freed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.freed.wait(), timeout=1.0)

    async def release(self, token: int) -> None:
        self.leases.pop(token, None)
        self.freed.set()

    async def requests(self) -> int:
        return self.accountant.total.requests

    async def summary(self) -> dict[str, Any]:
        return self.accountant.summary()


class SharedBudget:
    """A picklable handle on a :class:`BudgetActor`, carried in ``LLMConfig.shared_budget`` to every worker."""

    def __init__(self, actor: Any) -> None:
        self.actor = actor

    async def reserve(self, stage: str) -> None:
        """Raise :class:`BudgetExceeded` when the shared budget is spent, else count the request."""
        from clawloop_synth.llm._config import BudgetExceeded

        reason = await self.actor.reserve.remote(stage)
        if reason is not None:
            raise BudgetExceeded(reason)

    def record(self, stage: str, prompt_tokens: int, completion_tokens: int, cost: float) -> None:
        self.actor.record.remote(stage, prompt_tokens, completion_tokens, cost)  # no need to wait

    async def acquire(self, lease_seconds: float) -> int:
        token: int = await self.actor.acquire.remote(lease_seconds)
        return token

    def release(self, token: int) -> None:
        self.actor.release.remote(token)

    def requests(self) -> int:
        return int(ray.get(self.actor.requests.remote()))

    def summary(self) -> dict[str, Any]:
        result: dict[str, Any] = ray.get(self.actor.summary.remote())
        return result
