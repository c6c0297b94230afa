"""The sandbox's worker process: compiles and runs isolated handlers, one request at a time.

Started by :mod:`clawloop_synth.sim.isolation` as ``python -s -P _worker.py <package root>``.
It imports only the sandbox's own modules (empty parent packages are put in ``sys.modules`` so
neither ``clawloop_synth/__init__`` nor ``clawloop_synth/sim/__init__`` runs: startup stays tens
of milliseconds, which matters because a worker is replaced after every kill).

Protocol on stdin/stdout, one frame each way per request (4-byte big-endian length, then body).
Requests are pickles from the host (trusted direction). Replies are never pickles (the host must
not unpickle what a compromised worker wrote): one status byte, one flags byte, a 4-byte length,
that many bytes of UTF-8 text, then the new state's JSON (empty when the state did not change).
"""

from __future__ import annotations

import os
import sys
import types
from typing import Any

OK_JSON, OK_STR, HANDLER_ERROR, SANDBOX_ERROR, COMPILED, UNKNOWN = range(6)
RECYCLE = 1  # flags: the worker grew or hit a limit; the host retires it after this reply
GROWTH_LIMIT = 64 * 2**20  # address space a worker may keep above its start size
CPU_GRACE = 1  # whole seconds of RLIMIT_CPU past the call's own CPU limit (the kernel's backstop)
_CODE_CACHE = 512


def _bootstrap(root: str) -> None:
    sys.path[:] = [root, *[p for p in sys.path if p and os.path.abspath(p) != os.path.dirname(__file__)]]
    for name, sub in (("clawloop_synth", "clawloop_synth"), ("clawloop_synth.sim", "clawloop_synth/sim")):
        module = types.ModuleType(name)
        module.__path__ = [os.path.join(root, sub)]
        sys.modules.setdefault(name, module)


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


def main() -> None:  # noqa: C901 - one dispatch loop, kept in one place
    _bootstrap(sys.argv[1])
    import pickle
    import resource
    from collections import OrderedDict

    import orjson

    from clawloop_synth.sim import sandbox
    from clawloop_synth.sim.boundary import BoundaryError, check_json, encode_result
    from clawloop_synth.sim.errors import HandlerError, SandboxError

    # Nothing but the protocol may reach the host's pipe: fd 1 becomes /dev/null.
    out = os.dup(1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    page = os.sysconf("SC_PAGE_SIZE")
    statm = os.open("/proc/self/statm", os.O_RDONLY)

    def address_space() -> int:
        return int(os.pread(statm, 64, 0).split()[0]) * page

    as_hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    cpu_soft, cpu_hard = resource.getrlimit(resource.RLIMIT_CPU)
    base = address_space()  # fixed: the same call gets the same headroom every time
    codes: OrderedDict[str, tuple[Any, str, str]] = OrderedDict()
    grown = False

    def memory_enter(headroom: int) -> bool:
        limit = base + headroom
        if as_hard != resource.RLIM_INFINITY:
            limit = min(limit, as_hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, as_hard))
        return True

    def memory_exit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (as_hard, as_hard))

    def limit_memory_error() -> None:
        nonlocal grown
        grown = True

    def reply(status: int, text: str, state: bytes = b"") -> None:
        flags = RECYCLE if grown or address_space() > base + GROWTH_LIMIT else 0
        encoded = text.encode("utf-8", "backslashreplace")
        body = bytes((status, flags)) + len(encoded).to_bytes(4, "big") + encoded + state
        _write_all(out, len(body).to_bytes(4, "big") + body)

    def backstop(cpu: float) -> None:
        # The kernel kills the worker (SIGXCPU) if even the parent's watch fails.
        used = resource.getrusage(resource.RUSAGE_SELF)
        limit = int(used.ru_utime + used.ru_stime + cpu) + 1 + CPU_GRACE
        if cpu_hard != resource.RLIM_INFINITY:
            limit = min(limit, cpu_hard)
        resource.setrlimit(resource.RLIMIT_CPU, (limit, cpu_hard))

    def compile_under_limits(key: str, source: str, filename: str, cpu: float, memory: int) -> None:
        nonlocal grown
        timer = sandbox._limits.cpu_timer
        memory_enter(memory)
        try:
            timer.arm(cpu, True)
            try:
                code = sandbox.compile_code(source, filename)
            finally:
                sandbox._settle(timer, True)
        except sandbox._limits.Timeout:
            sandbox._settle(timer, True)
            grown = True
            raise SandboxError(f"policy: compiling the handler exceeded the CPU time limit of {cpu:g} s") from None
        except MemoryError:
            grown = True
            raise SandboxError(f"policy: compiling the handler exceeded the memory limit of "
                               f"{memory // 2**20} MiB") from None
        finally:
            memory_exit()
        codes[key] = (code, key[:12], filename)
        while len(codes) > _CODE_CACHE:
            codes.popitem(last=False)

    while True:
        head = _read_exact(0, 4)
        if head is None:
            return
        frame = _read_exact(0, int.from_bytes(head, "big"))
        if frame is None:
            return
        request = pickle.loads(frame)
        op = request[0]
        try:
            if op == "compile":
                _, key, source, filename, cpu, memory = request
                backstop(cpu)
                compile_under_limits(key, source, filename, cpu, memory)
                reply(COMPILED, "")
                continue
            _, key, source, filename, state_bytes, args_bytes, cpu, memory, max_chars, max_state = request
            backstop(cpu)
            if key not in codes:
                if source is None:
                    reply(UNKNOWN, "")
                    continue
                compile_under_limits(key, source, filename, cpu, memory)
            codes.move_to_end(key)
            code, name, filename = codes[key]
            state = orjson.loads(state_bytes)
            pristine = orjson.loads(state_bytes)
            args = orjson.loads(args_bytes)

            def new_state() -> bytes:
                # Inside the limits, and in this order: comparing with the pristine copy is bounded
                # by that copy's size (a DAG or cycle the handler added differs where the copy
                # ends); the walk bounds depth, values and size before any encoder runs.
                if state == pristine:
                    return b""
                check_json(state, "the state", max_bytes=max_state)
                try:
                    encoded = orjson.dumps(state)
                except (TypeError, orjson.JSONEncodeError) as exc:
                    raise BoundaryError(f"the state is not JSON: {str(exc)[:200]}") from None
                if len(encoded) > max_state:
                    raise BoundaryError(f"the state of {len(encoded)} bytes exceeds the limit of {max_state}")
                return encoded

            def body(invoke: Any) -> tuple[int, str, bytes]:
                try:
                    value = invoke(state, **args)
                except (MemoryError, RecursionError):
                    raise  # limits, not the handler's answer
                except Exception as exc:  # the handler's own error: the writes before it still count
                    error = sandbox._handler_error(exc, name, filename)
                    return HANDLER_ERROR, orjson.dumps([error.type_name, error.message, error.where]).decode(), \
                        new_state()
                text = encode_result(value, max_chars)
                return (OK_STR if isinstance(value, str) else OK_JSON), text, new_state()

            status, text, changed = sandbox.run_code(
                code, name, filename, body, cpu=cpu, memory=memory, memory_enter=memory_enter,
                memory_exit=memory_exit, on_memory_error=limit_memory_error)
            reply(status, text, changed)
        except HandlerError as exc:  # raised outside body (e.g. by the module's top level)
            reply(HANDLER_ERROR, orjson.dumps([exc.type_name, exc.message, exc.where]).decode())
        except SandboxError as exc:
            if "CPU time limit" in str(exc):
                grown = True  # an interrupted call may leave garbage behind: start clean
            reply(SANDBOX_ERROR, str(exc))
        except MemoryError:
            grown = True
            reply(SANDBOX_ERROR, "memory limit exceeded while preparing the call")
        except Exception as exc:  # a defect here must not kill the worker silently
            grown = True
            reply(SANDBOX_ERROR, f"sandbox worker error: {type(exc).__name__}: {str(exc)[:200]}")


if __name__ == "__main__":
    main()
