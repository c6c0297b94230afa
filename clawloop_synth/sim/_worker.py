"""The sandbox's worker process: compiles and runs isolated handlers, one request at a time.

Started by :mod:`clawloop_synth.sim.isolation` as ``python -s -P _worker.py <package root>``.
It imports only the sandbox's own modules (empty parent packages are put in ``sys.modules`` so
neither ``clawloop_synth/__init__`` nor ``clawloop_synth/sim/__init__`` runs: startup stays tens
of milliseconds, which matters because a worker is replaced after every kill).

Protocol on stdin/stdout: once started, the worker writes one byte ``R`` (ready); then one frame
each way per request (4-byte big-endian length, then body). Requests are pickles from the host
(trusted direction). Replies are never pickles (the host must not unpickle what a compromised
worker wrote): one status byte, one flags byte, a 4-byte length, that many bytes of UTF-8 text,
then the new state's JSON (empty when the state did not change).
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

GROWTH_LIMIT = 64 * 2**20  # address space a worker may keep above its start size
CPU_GRACE = 1  # whole seconds of RLIMIT_CPU past the call's own CPU limit (the kernel's backstop)
_CODE_CACHE = 512


def _bootstrap(root: str) -> None:
    here = os.path.dirname(__file__)
    sys.path[:] = [root, *[p for p in sys.path if p and p != root and os.path.abspath(p) != here]]
    for name, sub in (("clawloop_synth", "clawloop_synth"), ("clawloop_synth.sim", "clawloop_synth/sim")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(root, sub)]
        sys.modules.setdefault(name, module)


if __name__ == "__main__":  # a worker process: the package can be imported once bootstrapped
    _bootstrap(sys.argv[1])
from clawloop_synth.sim._protocol import (  # noqa: E402 - after the bootstrap
    COMPILED,
    HANDLER_ERROR,
    OK_JSON,
    OK_STR,
    RECYCLE,
    SANDBOX_ERROR,
    UNKNOWN,
)


def _read_exact(fd: int, size: int) -> bytes | None:
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class _Server:
    """The worker's state between requests: its limits, its compiled handlers, whether it grew."""

    def __init__(self) -> None:
        import resource
        from collections import OrderedDict

        import orjson

        from clawloop_synth.sim import boundary, sandbox

        self.resource, self.orjson, self.sandbox, self.boundary = resource, orjson, sandbox, boundary
        # Nothing but the protocol may reach the host's pipe: fd 1 becomes /dev/null.
        self.out = os.dup(1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.statm = os.open("/proc/self/statm", os.O_RDONLY)
        self.as_hard = resource.getrlimit(resource.RLIMIT_AS)[1]
        self.cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
        self.base = self.address_space()  # fixed: the same call gets the same headroom every time
        self.codes: OrderedDict[str, tuple[Any, str, str, str]] = OrderedDict()
        self.grown = False
        # The state after the last clean call, its exact encoding and an untouched copy: when the
        # next call brings the same bytes (an episode on this worker), it is reused, not decoded.
        self.live: Any = None
        self.live_bytes = b""
        self.pristine: Any = None

    def address_space(self) -> int:
        return int(os.pread(self.statm, 64, 0).split()[0]) * self.page

    def memory_enter(self, headroom: int) -> bool:
        limit = self.base + headroom
        if self.as_hard != self.resource.RLIM_INFINITY:
            limit = min(limit, self.as_hard)
        self.resource.setrlimit(self.resource.RLIMIT_AS, (limit, self.as_hard))
        return True

    def memory_exit(self) -> None:
        self.resource.setrlimit(self.resource.RLIMIT_AS, (self.as_hard, self.as_hard))

    def hit_memory(self) -> None:
        self.grown = True

    def backstop(self, cpu: float) -> None:
        """RLIMIT_CPU a little past this call's limit: the kernel kills the worker (SIGXCPU) if
        even the parent's watch fails."""
        used = self.resource.getrusage(self.resource.RUSAGE_SELF)
        limit = int(used.ru_utime + used.ru_stime + cpu) + 1 + CPU_GRACE
        if self.cpu_hard != self.resource.RLIM_INFINITY:
            limit = min(limit, self.cpu_hard)
        self.resource.setrlimit(self.resource.RLIMIT_CPU, (limit, self.cpu_hard))

    def reply(self, status: int, text: str, state: bytes = b"") -> None:
        flags = RECYCLE if self.grown or self.address_space() > self.base + GROWTH_LIMIT else 0
        encoded = text.encode("utf-8", "backslashreplace")
        body = bytes((status, flags)) + len(encoded).to_bytes(4, "big") + encoded + state
        _write_all(self.out, len(body).to_bytes(4, "big") + body)

    def compile(self, key: str, source: str, filename: str, entry: str, cpu: float, memory: int) -> None:
        sandbox = self.sandbox
        timer = sandbox._limits.cpu_timer
        self.memory_enter(memory)
        try:
            timer.arm(cpu, True)
            try:
                code = sandbox.compile_code(source, filename, entry)
            finally:
                sandbox._settle(timer, True)
        except sandbox._limits.Timeout:
            sandbox._settle(timer, True)
            self.grown = True
            raise sandbox.SandboxError(f"policy: compiling the handler exceeded the CPU time limit of {cpu:g} s") \
                from None
        except MemoryError:
            self.grown = True
            raise sandbox.SandboxError(f"policy: compiling the handler exceeded the memory limit of "
                                       f"{memory // 2**20} MiB") from None
        finally:
            self.memory_exit()
        self.codes[key] = (code, key[:12], filename, entry)
        while len(self.codes) > _CODE_CACHE:
            self.codes.popitem(last=False)

    def call(self, key: str, source: str | None, filename: str, entry: str, state_bytes: bytes,
             args_bytes: bytes, cpu: float, memory: int, max_chars: int, max_state: int) -> None:
        orjson, boundary, sandbox = self.orjson, self.boundary, self.sandbox
        if key not in self.codes:
            if source is None:
                self.reply(UNKNOWN, "")
                return
            self.compile(key, source, filename, entry, cpu, memory)
        self.codes.move_to_end(key)
        code, name, filename, entry = self.codes[key]
        if self.live is not None and state_bytes == self.live_bytes:
            state, pristine = self.live, self.pristine
        else:
            state, pristine = orjson.loads(state_bytes), orjson.loads(state_bytes)
        self.live = None  # until this call ends cleanly
        args = orjson.loads(args_bytes)

        def new_state() -> bytes:
            # Inside the limits, and in this order: comparing with the pristine copy is bounded by
            # that copy's size (a DAG or cycle the handler added differs where the copy ends); the
            # walk bounds depth, values and size before any encoder runs.
            # Equal to a tree, so encoding it is bounded; equal is not identical (1 == 1.0).
            if state == pristine and orjson.dumps(state) == state_bytes:
                return b""
            boundary.check_json(state, "the state", max_bytes=max_state)
            try:
                encoded: bytes = orjson.dumps(state)
            except (TypeError, orjson.JSONEncodeError) as exc:
                raise boundary.BoundaryError(f"the state is not JSON: {str(exc)[:200]}") from None
            if len(encoded) > max_state:
                raise boundary.BoundaryError(f"the state of {len(encoded)} bytes exceeds the limit of {max_state}")
            return encoded

        def body(invoke: Any) -> tuple[int, str, bytes]:
            try:
                value = invoke(state, **args)
            except (MemoryError, RecursionError):
                raise  # limits, not the handler's answer
            except Exception as exc:  # the handler's own error: the writes before it still count
                error = sandbox.handler_error(exc, name, filename)
                text = orjson.dumps([error.type_name, error.message, error.where]).decode()
                return HANDLER_ERROR, text, new_state()
            text = boundary.encode_result(value, max_chars)
            return (OK_STR if isinstance(value, str) else OK_JSON), text, new_state()

        status, text, changed = sandbox.run_code(
            code, name, filename, body, cpu=cpu, memory=memory, memory_enter=self.memory_enter,
            memory_exit=self.memory_exit, on_memory_error=self.hit_memory, entry=entry)
        self.reply(status, text, changed)
        if changed:
            self.live, self.live_bytes, self.pristine = state, changed, orjson.loads(changed)
        else:
            self.live, self.live_bytes, self.pristine = state, state_bytes, pristine

    def serve(self) -> None:
        import pickle

        from clawloop_synth.sim.errors import HandlerError, SandboxError

        while True:
            head = _read_exact(0, 4)
            frame = None if head is None else _read_exact(0, int.from_bytes(head, "big"))
            if frame is None:
                return  # the host closed the pipe
            request = pickle.loads(frame)
            try:
                self.backstop(request[-2] if request[0] == "compile" else request[7])
                if request[0] == "compile":
                    self.compile(*request[1:])
                    self.reply(COMPILED, "")
                else:
                    self.call(*request[1:])
            except HandlerError as exc:  # raised at the module's top level, outside invoke
                self.reply(HANDLER_ERROR, self.orjson.dumps([exc.type_name, exc.message, exc.where]).decode())
            except SandboxError as exc:
                if "CPU time limit" in str(exc):
                    self.grown = True  # an interrupted call may leave garbage behind: start clean
                self.reply(SANDBOX_ERROR, str(exc))
            except MemoryError:
                self.grown = True
                self.reply(SANDBOX_ERROR, "memory limit exceeded while preparing the call")
            except Exception as exc:  # a defect here must not kill the worker silently
                self.grown = True
                self.reply(SANDBOX_ERROR, f"sandbox worker error: {type(exc).__name__}: {str(exc)[:200]}")


def main() -> None:
    _bootstrap(sys.argv[1])
    server = _Server()
    _write_all(server.out, b"R")  # ready: the host starts the first call's clocks now
    server.serve()


if __name__ == "__main__":
    main()
