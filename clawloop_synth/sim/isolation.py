"""The host side of isolated handlers: a pool of worker processes (:mod:`clawloop_synth.sim._worker`).

A call takes an idle worker (starting one when all are busy, up to :data:`MAX_WORKERS`), sends the
handler's key (and its source the first time this worker sees it), the state and the arguments as
JSON, and waits for the reply. While waiting, the host watches the worker: when its CPU clock
passes the call's limit plus :data:`CPU_GRACE` (work inside one C call, which the worker's own
timer cannot interrupt), or the wall clock passes :func:`wall_seconds`, the worker is killed and
replaced; the call fails with a :class:`SandboxError`. Workers that grew or hit a limit retire
themselves after their reply, so memory does not carry from one task to the next.

Replies are parsed as bounded JSON (orjson: strict UTF-8, no lone surrogates, nesting under
1,024), and a reply larger than the limits allow ends the worker. The new state replaces the live
state's contents in place, so callers keep holding the same dict.

Thread-safe (each calling thread holds its worker for the call). A forked child starts with an
empty pool; the parent's workers are not touched.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pickle
import select
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from clawloop_synth.sim import _protocol as proto
from clawloop_synth.sim.errors import HandlerError, SandboxError

if TYPE_CHECKING:
    from clawloop_synth.sim.sandbox import Handler, Limits

__all__ = ["CPU_GRACE", "MAX_WORKERS", "call", "compile_isolated", "shutdown", "wall_seconds", "workers_started"]

MAX_WORKERS = max(2, min(8, 2 * (os.cpu_count() or 1)))
CPU_GRACE = 0.5  # CPU seconds past the limit before the parent kills a worker stuck in one C call
COMPILE_CPU_SECONDS = 2.0
_POLL = 0.05
_ROOT = str(Path(__file__).resolve().parents[2])
_SCRIPT = str(Path(__file__).resolve().with_name("_worker.py"))
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def wall_seconds(cpu: float) -> float:
    """Wall-clock bound of one call: generous, since the machine may be shared (CPU is watched too)."""
    return max(3.0, 4 * cpu) + 2.0


class _Dead(Exception):
    """The worker was killed or died; the message says why."""


class _Worker:
    __slots__ = ("known", "proc", "rfd", "wfd")

    def __init__(self) -> None:
        env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-s", "-P", _SCRIPT, _ROOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, env=env, cwd="/", bufsize=0, close_fds=True)
        except OSError as exc:
            raise SandboxError(f"cannot start a sandbox worker process: {exc}") from None
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        self.known: set[str] = set()

    def cpu_seconds(self) -> float:
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as handle:
                fields = handle.read().rsplit(b")", 1)[1].split()
        except (OSError, IndexError):
            return 0.0
        return (int(fields[11]) + int(fields[12])) / _TICK

    def send(self, payload: bytes) -> None:
        data = memoryview(len(payload).to_bytes(4, "big") + payload)
        try:
            while data:
                data = data[os.write(self.wfd, data):]
        except OSError as exc:
            raise _Dead(f"the sandbox worker is gone ({exc.strerror})") from None

    def receive(self, cpu: float, wall: float, max_bytes: int) -> bytes:
        """One reply frame; kills the worker when a limit passes first."""
        start = time.monotonic()
        cpu_start: float | None = None
        buffer = bytearray()
        need = 4
        size: int | None = None
        while True:
            while len(buffer) < need:
                ready, _, _ = select.select([self.rfd], [], [], _POLL)
                if ready:
                    chunk = os.read(self.rfd, max(need - len(buffer), 1 << 16))
                    if not chunk:
                        raise _Dead(self._death())
                    buffer += chunk
                    continue
                # Nothing yet: check the worker's clocks.
                used = self.cpu_seconds()
                if cpu_start is None:
                    cpu_start = used - min(used, time.monotonic() - start)
                if used - cpu_start > cpu + CPU_GRACE:
                    self.kill()
                    raise _Dead(f"CPU time limit of {cpu:g} s exceeded (the worker was stopped in a C call)")
                if time.monotonic() - start > wall:
                    self.kill()
                    raise _Dead(f"wall-clock limit of {wall:g} s exceeded")
            if size is None:
                size = int.from_bytes(buffer[:4], "big")
                if size > max_bytes:
                    self.kill()
                    raise _Dead(f"the handler's reply of {size} bytes exceeds the limit of {max_bytes}")
                need = 4 + size
                continue
            return bytes(buffer[4:need])

    def _death(self) -> str:
        try:
            code = self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.kill()
            return "the sandbox worker stopped answering"
        if code == -24:  # SIGXCPU: the kernel's RLIMIT_CPU backstop
            return "CPU time limit exceeded (RLIMIT_CPU)"
        if code == -9:
            return "the sandbox worker was killed (out of memory?)"
        if code < 0:
            return f"the sandbox worker crashed (signal {-code}, e.g. a C extension out of memory)"
        return f"the sandbox worker exited with status {code}"

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self.close_pipes()

    def close_pipes(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError):
                if stream is not None:
                    stream.close()

    def retire(self) -> None:
        """Let the worker exit on EOF; kill it if it does not."""
        with contextlib.suppress(OSError):
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.kill()
        self.close_pipes()


class _Pool:
    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.idle: list[_Worker] = []
        self.count = 0
        self.started = 0

    def acquire(self) -> _Worker:
        with self.cond:
            while not self.idle and self.count >= MAX_WORKERS:
                self.cond.wait()
            if self.idle:
                return self.idle.pop()
            self.count += 1
        try:
            worker = _Worker()
        except BaseException:
            with self.cond:
                self.count -= 1
                self.cond.notify()
            raise
        with self.cond:
            self.started += 1
        return worker

    def release(self, worker: _Worker, keep: bool) -> None:
        if not keep:
            if worker.proc.poll() is None:
                worker.retire()
            else:
                worker.close_pipes()
        with self.cond:
            if keep:
                self.idle.append(worker)
            else:
                self.count -= 1
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


def _exchange(build: Callable[[bool], tuple[Any, ...]], cpu: float, max_bytes: int,
              key: str) -> tuple[int, str, bytes]:
    """Send one request to a worker and return (status, text, state bytes).

    ``build(with_source)`` makes the request; the source goes along when this worker has not
    compiled the handler yet. A worker found dead before it took the request is replaced once.
    """
    for attempt in range(2):
        worker = _pool.acquire()
        keep = False
        try:
            try:
                worker.send(pickle.dumps(build(key not in worker.known), protocol=pickle.HIGHEST_PROTOCOL))
            except _Dead:
                if attempt == 0:
                    continue
                raise
            body = worker.receive(cpu, wall_seconds(cpu), max_bytes)
            size = int.from_bytes(body[2:6], "big") if len(body) >= 6 else -1
            if not 0 <= size <= len(body) - 6:
                worker.kill()
                raise _Dead("the sandbox worker sent a malformed reply")
            status, flags = body[0], body[1]
            keep = not flags & proto.RECYCLE
            if status == proto.UNKNOWN:
                worker.known.discard(key)
            elif status != proto.SANDBOX_ERROR:
                worker.known.add(key)
            return status, body[6:6 + size].decode("utf-8", "replace"), body[6 + size:]
        except _Dead as exc:
            raise SandboxError(f"{exc} (handler {key[:12]})") from None
        finally:
            _pool.release(worker, keep)
    raise AssertionError("unreachable")


def compile_isolated(source: str, digest: str, filename: str, entry: str = "invoke") -> None:
    """Policy-check and compile ``source`` in a worker, within its limits; raises SandboxError."""
    from clawloop_synth.sim.sandbox import MEMORY_LIMIT

    key = f"{digest}:{entry}"

    def build(with_source: bool) -> tuple[Any, ...]:
        return ("compile", key, source, filename, entry, COMPILE_CPU_SECONDS, MEMORY_LIMIT)

    status, text, _ = _exchange(build, COMPILE_CPU_SECONDS, 1 << 20, key)
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
    cpu, memory, max_chars, max_state = limits.resolved()
    state_bytes = _encode(state, "the state")
    args_bytes = _encode(args, "the arguments")

    key = f"{handler.digest}:{handler.entry}"

    def build(with_source: bool) -> tuple[Any, ...]:
        return ("call", key, handler.source if with_source else None, handler.filename, handler.entry,
                state_bytes, args_bytes, cpu, memory, max_chars, max_state)

    max_bytes = 16 + 4 * max_chars + max_state + 4096
    for _ in range(2):
        status, text, new_state = _exchange(build, cpu, max_bytes, key)
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
