"""A worker process for the gate's task-only checks, so that judging overlaps the LLM path's HTTP I/O.

The LLM generator runs its chains on one event loop; the gate's ``verify`` and failure-exemplar mining
(:func:`~clawloop_synth.generate.gate.examine`) are pure CPU (~1.5 ms a candidate on the demo domain).
On a thread they would hold the GIL against the loop (and the sandbox lowers ``RLIMIT_AS``
process-wide while a handler runs); in their own process they run on the other core, in that
process's main thread (where the sandbox's CPU limit uses its ``SIGPROF`` timer).

The worker is ``python -m clawloop_synth.generate.workers``, speaking length-prefixed pickles over its
stdin and stdout: a first frame once it has imported the gate (``ready``), then one request
``(task, target_code)`` in, one ``(ok, verdict or error text)`` out, in order. A plain subprocess
rather than ``multiprocessing``: ``spawn`` would re-import the host's
``__main__`` (and run an unguarded script again), ``fork`` would copy the host's threads' locks.
It is started on first use, in the background, and reused by later runs in the same process. When it
cannot be started :func:`examiner` returns None; when it dies, pending and later calls raise
``BrokenExecutor`` and the caller judges on a thread instead.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Future
from pathlib import Path
from typing import IO, Any

__all__ = ["Examiner", "examiner", "examiners", "shutdown_examiner", "stop_examiner"]

_HEADER = 4


def _read_frame(stream: IO[bytes]) -> bytes | None:
    head = stream.read(_HEADER)
    if len(head) < _HEADER:
        return None
    size = int.from_bytes(head, "big")
    body = stream.read(size)
    return body if len(body) == size else None


def _frame(payload: Any) -> bytes:
    body = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
    return len(body).to_bytes(_HEADER, "big") + body


class Examiner:
    """The client side: :meth:`submit` returns a future of the worker's ``examine`` verdict."""

    def __init__(self) -> None:
        # the package's own root first, so the worker imports this very code (also from a source tree)
        root = str(Path(__file__).resolve().parents[2])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        self._proc = subprocess.Popen([sys.executable, "-m", "clawloop_synth.generate.workers"],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        self._pending: deque[Future[Any]] = deque()
        self._outbox: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self.broken = False
        self.ready: Future[None] = Future()  # the worker has imported the gate (its first frame)
        # both threads start now, before any sandbox call in this process lowers RLIMIT_AS
        self._writer = threading.Thread(target=self._write, name="examiner-writer", daemon=True)
        self._reader = threading.Thread(target=self._read, name="examiner-reader", daemon=True)
        self._writer.start()
        self._reader.start()

    def submit(self, task: Any, target_code: str | None) -> Future[Any]:
        """Queue ``examine(task, target_code)``; never blocks (a writer thread feeds the pipe)."""
        future: Future[Any] = Future()
        payload = _frame((task, target_code))
        with self._lock:
            if self.broken:
                raise BrokenExecutor("the gate worker process is gone")
            self._pending.append(future)
            self._outbox.put(payload)
        return future

    def _write(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        try:
            while (payload := self._outbox.get()) is not None:
                stdin.write(payload)
                stdin.flush()
        except OSError:
            self._fail()
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        if _read_frame(stdout) is None:
            self._fail()
            return
        self.ready.set_result(None)
        while (body := _read_frame(stdout)) is not None:
            ok, value = pickle.loads(body)
            with self._lock:
                future = self._pending.popleft()
            if ok:
                future.set_result(value)
            else:
                future.set_exception(RuntimeError(f"gate worker: {value}"))
        self._fail()

    def _fail(self) -> None:
        with self._lock:
            self.broken = True
            pending, self._pending = list(self._pending), deque()
        for future in [*pending, self.ready]:
            if not future.done():
                future.set_exception(BrokenExecutor("the gate worker process exited"))

    def close(self) -> None:
        self._outbox.put(None)
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._reader.join(timeout=10)


_LOCK = threading.Lock()
_EXAMINER: Examiner | None = None
_UNAVAILABLE = False
_FACTORY: Callable[[], Examiner] = Examiner


def examiner() -> Examiner | None:
    """The shared worker, started on the first call (not waited for: its first answer is); None when
    a worker process cannot be started here."""
    global _EXAMINER, _UNAVAILABLE
    with _LOCK:
        if _EXAMINER is not None and not _EXAMINER.broken:
            return _EXAMINER
        if _UNAVAILABLE and _FACTORY is Examiner:
            return None
        try:
            _EXAMINER = _FACTORY()
        except (OSError, RuntimeError):
            _UNAVAILABLE = True
            return None
        return _EXAMINER


@contextlib.contextmanager
def examiners(factory: Callable[[], Examiner]) -> Iterator[None]:
    """Within the block :func:`examiner` hands out ``factory()``'s examiner (one whose calls run on an
    engine's workers, :mod:`~clawloop_synth.generate.on_engine`); the process's own one afterwards."""
    global _EXAMINER, _FACTORY
    with _LOCK:
        saved = _FACTORY, _EXAMINER
        _FACTORY, _EXAMINER = factory, None
    try:
        yield
    finally:
        with _LOCK:
            current = _EXAMINER
            _FACTORY, _EXAMINER = saved
        if current is not None:
            current.close()


def stop_examiner(current: Examiner) -> None:
    """Kill ``current`` (stuck on a candidate): its pending calls fail with ``BrokenExecutor``
    and the next :func:`examiner` call starts a new worker."""
    global _EXAMINER
    with _LOCK:
        if _EXAMINER is current:
            _EXAMINER = None
    with contextlib.suppress(OSError):
        current._proc.kill()
    current._fail()


def shutdown_examiner() -> None:
    """Stop the shared worker (it also stops by itself when this process exits: its stdin closes)."""
    global _EXAMINER
    with _LOCK:
        current, _EXAMINER = _EXAMINER, None
    if current is not None:
        current.close()


def _serve() -> None:
    """The worker's loop: judge each request with ``gate.examine`` until stdin closes."""
    from clawloop_synth.agents import shortcut  # noqa: F401 - what examine imports on first use
    from clawloop_synth.generate import constraints  # noqa: F401
    from clawloop_synth.generate.gate import examine
    from clawloop_synth.sim import verify  # noqa: F401

    requests, answers = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answer stream
    answers.write(_frame((True, "ready")))  # imports done: the host's clocks start now
    answers.flush()
    while (body := _read_frame(requests)) is not None:
        task, target_code = pickle.loads(body)
        try:
            answer: tuple[bool, Any] = (True, examine(task, target_code))
        except Exception as exc:  # reported to the caller, like a failure on its own thread
            answer = (False, f"{type(exc).__name__}: {exc}")
        answers.write(_frame(answer))
        answers.flush()


if __name__ == "__main__":
    _serve()
