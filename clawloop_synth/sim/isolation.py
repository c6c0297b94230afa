"""The host side of isolated handlers: a pool of worker processes (:mod:`clawloop_synth.sim._worker`).

A call takes an idle worker (starting one when all are busy, up to :data:`MAX_WORKERS`), has it
compile the handler the first time this worker sees it (a request of its own, with its own
limits), sends the handler's key, the state and the arguments as JSON, and waits for the reply.
While waiting, the host watches the worker against the request's budget (:func:`cpu_budget`: the
call's CPU limit, plus the worker's own decoding and encoding, which scales with the bytes sent):
when the worker's CPU clock passes it (work inside one C call, which the worker's own timer cannot
interrupt), or the wall clock passes :func:`wall_seconds` of it (a worker starved or blocked), the
worker is killed and replaced; the call fails with a :class:`SandboxError`. The wall clock starts
once the worker has said it is ready, so a slow start on a busy machine is not charged to the call.
Workers that grew or hit a limit retire after their reply, so memory does not carry from one task
to the next; a retired or killed worker is replaced at once, so the next call finds one started.

Replies are parsed as bounded JSON (orjson: strict UTF-8, no lone surrogates, nesting under
1,024), and a reply larger than the limits allow ends the worker. The new state replaces the live
state's contents in place, so callers keep holding the same dict.

Thread-safe (each calling thread holds its worker for the call). A forked child starts with an
empty pool; the parent's workers are not touched.
"""

from __future__ import annotations

import atexit
import os
import pickle
import threading
from typing import TYPE_CHECKING, Any

import orjson

from clawloop_synth.sim import _protocol as proto
from clawloop_synth.sim._worker_process import WorkerDied, WorkerProcess
from clawloop_synth.sim.errors import HandlerError, SandboxError

if TYPE_CHECKING:
    from clawloop_synth.sim.sandbox import Handler, Limits

__all__ = ["CPU_GRACE", "MAX_WORKERS", "call", "compile_isolated", "cpu_budget", "shutdown", "wall_seconds",
           "workers_started"]

MAX_WORKERS = max(2, min(8, 2 * (os.cpu_count() or 1)))
# CPU seconds past the call's limit before the parent kills a worker stuck in one C call: the
# worker's timer has fired by then, so only its reply is missing; two polls cover the parent's
# reading of the worker's clock (estimated from the first poll) and the clock's own ticks.
CPU_GRACE = 0.1
# The worker decodes the state twice (live and pristine), compares and re-encodes it outside the
# handler's own timer; budgeted at a conservative 25 MB/s for the four passes together.
CODEC_BYTES_PER_SECOND = 25e6
# The wall clock: a worker that got less than a third of a core over its whole budget is starved
# (or blocked) and is stopped; at least WALL_MIN_SECONDS, since a scheduler may hold any process
# back for a while on a busy machine. (A legitimate call uses a few ms of its 0.5 s budget, so it
# is not stopped even on a machine loaded many times over.)
WALL_FACTOR = 3.0
WALL_MIN_SECONDS = 1.5
COMPILE_CPU_SECONDS = 2.0


def cpu_budget(cpu: float, payload_bytes: int = 0) -> float:
    """CPU seconds a worker may spend on one request before the parent kills it: the call's own
    limit, the worker's decoding and encoding of ``payload_bytes`` of state, and :data:`CPU_GRACE`."""
    return cpu + CPU_GRACE + payload_bytes / CODEC_BYTES_PER_SECOND


def wall_seconds(budget: float) -> float:
    """Wall-clock bound of one request, from its CPU budget: :data:`WALL_FACTOR` times it (the
    worker got less than 1/WALL_FACTOR of a core), at least :data:`WALL_MIN_SECONDS`."""
    return max(WALL_MIN_SECONDS, WALL_FACTOR * budget)


class _Pool:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.idle: list[WorkerProcess] = []
        self.count = 0
        self.started = 0

    def acquire(self) -> WorkerProcess:
        with self.cond:
            while not self.idle and self.count >= MAX_WORKERS:
                self.cond.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            worker = WorkerProcess()
        except BaseException:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise
        with self.cond:
            self.started += 1
        return worker

    def release(self, worker: WorkerProcess, keep: bool) -> None:
        if not keep:
            worker.kill()  # nothing in it is worth a clean exit; SIGKILL frees it at once
        with self.cond:
            if keep:
                self.idle.append(worker)
            else:
                self.count -= 1
            self.cond.notify()
        if not keep:
            self.spare()

    def spare(self) -> None:
        """Start a worker ahead of need (after one was retired), unless one is idle already."""
        with self.cond:
            if self.idle or self.count >= MAX_WORKERS:
                return
            self.count += 1
        try:
            worker = WorkerProcess()
        except SandboxError:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            return
        with self.cond:
            self.started += 1
            self.idle.append(worker)
            self.cond.notify()

    def close(self) -> None:
        with self.cond:
            idle, self.idle = self.idle, []
            self.count -= len(idle)
        for worker in idle:
            worker.retire()


_pool = _Pool()


def _forget_after_fork() -> None:
    """In a forked child the parent's workers are not ours: close our copies of their pipes."""
    global _pool
    for worker in _pool.idle:
        worker.close_pipes()
    _pool = _Pool()


os.register_at_fork(after_in_child=_forget_after_fork)
atexit.register(lambda: _pool.close())


def shutdown() -> None:
    """Stop the idle workers (new ones start on the next call)."""
    _pool.close()


def workers_started() -> int:
    """How many worker processes this process has started (a measure of kills and recycling)."""
    return _pool.started


def _reply(worker: WorkerProcess, budget: float, max_bytes: int) -> tuple[int, str, bytes, bool]:
    """The worker's reply to the request just sent: (status, text, state bytes, keep the worker)."""
    body = worker.receive(budget, wall_seconds(budget), max_bytes)
    size = int.from_bytes(body[2:6], "big") if len(body) >= 6 else -1
    if not 0 <= size <= len(body) - 6:
        worker.kill()
        raise WorkerDied("the sandbox worker sent a malformed reply")
    status, flags = body[0], body[1]
    return status, body[6:6 + size].decode("utf-8", "replace"), body[6 + size:], not flags & proto.RECYCLE


def _exchange(request: tuple[Any, ...], budget: float, max_bytes: int, key: str,
              compile_request: tuple[Any, ...] | None = None) -> tuple[int, str, bytes]:
    """Send one request to a worker and return (status, text, state bytes).

    ``compile_request`` goes first, with its own budget, when this worker has not compiled the
    handler yet (so compiling is never charged to the call). A worker found dead before it took
    a request is replaced once.
    """
    for attempt in range(2):
        worker = _pool.acquire()
        keep = False
        try:
            try:
                worker.wait_ready()
                if compile_request is not None and key not in worker.known:
                    worker.send(pickle.dumps(compile_request, protocol=pickle.HIGHEST_PROTOCOL))
                    status, text, _, keep = _reply(worker, cpu_budget(compile_request[5], len(compile_request[2])),
                                                   1 << 20)
                    if status != proto.COMPILED:
                        return status, text, b""
                    worker.known.add(key)
                    keep = False
                worker.send(pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL))
            except WorkerDied:
                if attempt == 0 and worker.proc.poll() is not None:
                    continue  # it died while idle (or never started): one more worker
                raise
            status, text, state, keep = _reply(worker, budget, max_bytes)
            if status == proto.UNKNOWN:
                worker.known.discard(key)
            elif status != proto.SANDBOX_ERROR:
                worker.known.add(key)
            return status, text, state
        except WorkerDied as exc:
            raise SandboxError(f"{exc} (handler {key[:12]})") from None
        finally:
            _pool.release(worker, keep)
    raise AssertionError("unreachable")


def compile_isolated(source: str, digest: str, filename: str, entry: str = "invoke") -> None:
    """Policy-check and compile ``source`` in a worker, within its limits; raises SandboxError."""
    from clawloop_synth.sim.sandbox import MEMORY_LIMIT

    key = f"{digest}:{entry}"
    request = ("compile", key, source, filename, entry, COMPILE_CPU_SECONDS, MEMORY_LIMIT)
    status, text, _ = _exchange(request, cpu_budget(COMPILE_CPU_SECONDS, len(source)), 1 << 20, key)
    if status != proto.COMPILED:
        raise SandboxError(text or "policy: the handler could not be compiled")


def _encode(value: Any, what: str) -> bytes:
    try:
        return orjson.dumps(value)
    except (TypeError, orjson.JSONEncodeError) as exc:
        raise SandboxError(f"{what} is not JSON: {exc}") from None


def _replace(state: Any, new: Any) -> None:
    if isinstance(state, dict) and isinstance(new, dict):
        state.clear()
        state.update(new)
    elif isinstance(state, list) and isinstance(new, list):
        state[:] = new
    else:
        raise SandboxError("the handler replaced the state with a value of another type")


def call(handler: Handler, state: Any, args: dict[str, Any], limits: Limits) -> tuple[Any, str]:
    """Run an isolated handler: the worker gets the state and arguments as JSON; the state's new
    contents (when it changed) replace the live state's in place."""
    cpu, memory, max_chars, max_state = limits.resolved(isolated=True)
    state_bytes = _encode(state, "the state")
    args_bytes = _encode(args, "the arguments")

    key = f"{handler.digest}:{handler.entry}"
    from clawloop_synth.sim.sandbox import MEMORY_LIMIT

    request = ("call", key, None, handler.filename, handler.entry, state_bytes, args_bytes, cpu, memory,
               max_chars, max_state)
    compile_request = ("compile", key, handler.source, handler.filename, handler.entry, COMPILE_CPU_SECONDS,
                       MEMORY_LIMIT)
    budget = cpu_budget(cpu, len(state_bytes) + len(args_bytes))
    max_bytes = 16 + 4 * max_chars + max_state + 4096
    for _ in range(2):  # UNKNOWN: the worker dropped the handler from its cache; compile it again
        status, text, new_state = _exchange(request, budget, max_bytes, key, compile_request)
        if status != proto.UNKNOWN:
            break
    try:
        if new_state:
            _replace(state, orjson.loads(new_state))
        if status == proto.OK_STR:
            return text, text
        if status == proto.OK_JSON:
            return orjson.loads(text), text
        if status == proto.HANDLER_ERROR:
            type_name, message, where = orjson.loads(text)
            raise HandlerError(str(type_name)[:100], str(message)[:600], str(where)[:200])
    except orjson.JSONDecodeError as exc:
        raise SandboxError(f"the sandbox worker sent invalid JSON ({exc}) (handler {handler.name})") from None
    raise SandboxError(text)
