"""Run one of the project's own functions in a single resource-limited child process.

Why. Fitting a pack replays thousands of candidate handler sources on recorded states. Those
sources are untrusted (they embed trace text), so the sandbox would send every replay to a worker
process with the whole state crossing the boundary per call: 11 minutes for the 200 airline
trajectories, against 8 s in-process. Marking the emitted sources trusted would let a hostile
trace's text run in the host. Instead the whole fit runs in one child process that is itself the
sandbox: it starts clean (minimal environment, ``/`` as its directory, no core dumps), lowers its own
``RLIMIT_AS`` and ``RLIMIT_CPU`` before it reads any input, and only then runs the fitting code,
which is the project's own; inside it every candidate still goes through the static policy and the
per-call CPU timer and memory guard, in-process. What the child can reach is what a sandbox worker
can reach (the same user, the same limits' kinds) plus the input it was given, which is the
caller's data anyway.

What crosses back is JSON only (parsed with orjson, size-capped, then checked field by field by
the caller), never a pickle: a compromised child must not be able to run code in the host. The
host also bounds the child's wall clock and kills it when the bound passes.

    result = run_contained("clawloop_synth.induce.fit:fit_request", payload, limits)
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.sim.errors import SandboxError

__all__ = ["ContainedLimits", "inside", "run_contained"]

_ROOT = str(Path(__file__).resolve().parents[2])
MAX_REPLY_BYTES = 512 * 2**20
_inside = False

# The child's entry: the package root first on the path, nothing from the caller's directory (-P).
_BOOT = "import sys; sys.path.insert(0, sys.argv[1]); from clawloop_synth.induce.contained import child_main; " \
        "child_main()"


def inside() -> bool:
    """Whether this process is a contained child (then a nested call runs here, not in a grandchild)."""
    return _inside


@dataclass(frozen=True)
class ContainedLimits:
    """The child's budget: CPU seconds, address space above its start size, wall-clock seconds."""

    cpu_seconds: float = 600.0
    memory_bytes: int = 4 * 2**30
    wall_seconds: float | None = None  # default: 3 x CPU + 60 s (the machine may be shared)

    def wall(self) -> float:
        return self.wall_seconds if self.wall_seconds is not None else 3 * self.cpu_seconds + 60


def run_contained(target: str, payload: Any, limits: ContainedLimits | None = None) -> Any:
    """Call ``target`` (``module:function`` of this package, taking and returning JSON values) with
    ``payload`` in a limited child process; returns its JSON result. An :class:`InputError` raised in
    the child is raised here with the same message; anything else becomes a :class:`SandboxError`."""
    limits = limits or ContainedLimits()
    request = orjson.dumps({"target": target, "payload": payload, "cpu": limits.cpu_seconds,
                            "memory": limits.memory_bytes})
    env = {"PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PATH": os.environ.get("PATH", "")}
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen([sys.executable, "-s", "-P", "-c", _BOOT, _ROOT], stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=errors, env=env, cwd="/", close_fds=True)
        except OSError as exc:
            raise SandboxError(f"cannot start the contained child process: {exc}") from None
        try:
            reply = _exchange(proc, request, limits.wall())
        finally:
            with contextlib.suppress(OSError):
                proc.kill()
            proc.wait()
        code = proc.returncode
        if not reply:
            errors.seek(0, os.SEEK_END)
            errors.seek(max(0, errors.tell() - 400))
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()
            why = {-9: "killed (out of memory or wall clock)", -24: "CPU time limit exceeded (RLIMIT_CPU)"}
            raise SandboxError(f"the contained child process ended without an answer: "
                               f"{why.get(code, f'exit status {code}')}" + (f" ({tail[-1][:200]})" if tail else ""))
    try:
        answer = orjson.loads(reply)
    except orjson.JSONDecodeError as exc:
        raise SandboxError(f"the contained child process sent invalid JSON ({exc})") from None
    if not isinstance(answer, dict) or not ("ok" in answer or "error" in answer):
        raise SandboxError("the contained child process sent a malformed answer")
    if "error" in answer:
        error = answer["error"]
        if not isinstance(error, dict):
            raise SandboxError("the contained child process sent a malformed error")
        fields = {name: str(error[name])[:500] if error.get(name) is not None else None
                  for name in ("file", "record", "field")}
        message = str(error.get("message", ""))[:2000]
        if error.get("kind") == "input":
            raise InputError(message, **fields)
        raise SandboxError(f"the contained child process failed: {message}")
    return answer["ok"]


def _exchange(proc: subprocess.Popen[bytes], request: bytes, wall: float) -> bytes:
    """Write the request, then read the reply until EOF, within the wall clock and the size cap."""
    assert proc.stdin is not None and proc.stdout is not None
    deadline = time.monotonic() + wall
    try:
        proc.stdin.write(request)
        proc.stdin.close()
    except OSError:
        return b""  # the child died before reading: its exit status says why
    chunks: list[bytes] = []
    size = 0
    fd = proc.stdout.fileno()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            proc.kill()
            raise SandboxError(f"the contained child process passed its wall-clock limit of {wall:g} s")
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            proc.kill()
            raise SandboxError(f"the contained child process's answer exceeds {MAX_REPLY_BYTES} bytes")
        chunks.append(chunk)


# ------------------------------------------------------------------------------------- the child


def _limit_self(cpu: float, memory: int) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with open("/proc/self/statm", "rb") as handle:
        size = int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (size + memory, size + memory))
    seconds = int(cpu) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 5))


def child_main() -> None:
    """The child: read the request, limit itself, run the target, write the JSON answer, exit."""
    import importlib

    out = os.dup(1)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)  # nothing but the answer reaches the host's pipe
    request = orjson.loads(sys.stdin.buffer.read())
    _limit_self(float(request["cpu"]), int(request["memory"]))
    from clawloop_synth.sim import trust

    trust.contain_this_process()
    global _inside
    _inside = True
    try:
        module, _, name = str(request["target"]).partition(":")
        answer: dict[str, Any] = {"ok": getattr(importlib.import_module(module), name)(request["payload"])}
    except InputError as exc:
        answer = {"error": {"kind": "input", "message": exc.message, "file": exc.file, "record": exc.record,
                            "field": exc.field}}
    except MemoryError:
        answer = {"error": {"kind": "limit", "message": f"memory limit of {int(request['memory']) // 2**20} MiB"
                                                        " exceeded"}}
    except Exception as exc:  # reported as one line by the host, not a traceback
        answer = {"error": {"kind": "internal", "message": f"{type(exc).__name__}: {str(exc)[:500]}"}}
    data = orjson.dumps(answer)
    view = memoryview(data)
    while view:
        view = view[os.write(out, view):]
    os.close(out)
