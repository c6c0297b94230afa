"""The host's handle on one sandbox worker process (:mod:`clawloop_synth.sim._worker`).

It starts the process with an empty environment, waits for its ready byte, sends length-prefixed
frames and reads the reply while watching the worker's CPU clock (from ``/proc``) and the wall
clock, killing it when either passes the request's budget. The pool and the budgets live in
:mod:`clawloop_synth.sim.isolation`.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import time
from pathlib import Path

from clawloop_synth.sim.errors import SandboxError

__all__ = ["STARTUP_SECONDS", "WorkerDied", "WorkerProcess"]

STARTUP_SECONDS = 30.0  # a new worker's interpreter start, before any call's clock runs
_POLL = 0.05
_READY = b"R"
_ROOT = str(Path(__file__).resolve().parents[2])
_SCRIPT = str(Path(__file__).resolve().with_name("_worker.py"))
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


class WorkerDied(Exception):
    """The worker was killed or died; the message says why."""


class WorkerProcess:
    """One worker process: started, watched against a request's CPU and wall clocks, killed or retired."""


    __slots__ = ("known", "proc", "ready", "rfd", "wfd")

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
        self.ready = False

    def wait_ready(self) -> None:
        """Wait for the worker's first byte (it has imported its modules and set its limits)."""
        if self.ready:
            return
        ready, _, _ = select.select([self.rfd], [], [], STARTUP_SECONDS)
        byte = os.read(self.rfd, 1) if ready else b""
        if byte != _READY:
            if not ready:
                self.kill()
                raise WorkerDied(f"the sandbox worker did not start within {STARTUP_SECONDS:g} s")
            raise WorkerDied(self._death())
        self.ready = True

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
            raise WorkerDied(f"the sandbox worker is gone ({exc.strerror})") from None

    def receive(self, cpu: float, wall: float, max_bytes: int) -> bytes:
        """One reply frame; kills the worker when it spends ``cpu`` CPU seconds or ``wall``
        seconds first (``cpu`` is the whole request's budget, :func:`cpu_budget`)."""
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
                        raise WorkerDied(self._death())
                    buffer += chunk
                    continue
                # Nothing yet: check the worker's clocks.
                used = self.cpu_seconds()
                if cpu_start is None:
                    cpu_start = used - min(used, time.monotonic() - start)
                if used - cpu_start > cpu:
                    self.kill()
                    raise WorkerDied(f"CPU time limit exceeded ({cpu:.2g} s for the request; the worker was "
                                f"stopped in a C call)")
                if time.monotonic() - start > wall:
                    self.kill()
                    raise WorkerDied(f"wall-clock limit of {wall:.2g} s exceeded")
            if size is None:
                size = int.from_bytes(buffer[:4], "big")
                if size > max_bytes:
                    self.kill()
                    raise WorkerDied(f"the handler's reply of {size} bytes exceeds the limit of {max_bytes}")
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
