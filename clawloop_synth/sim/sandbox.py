"""Run untrusted tool-handler source (``def invoke(state, **args)``) in-process, under a policy.

Threat model. Handler source may be written by an LLM that read an attacker's trace, so assume it
tries to (a) escape to the host (imports, ``__globals__``/``__subclasses__`` walks, ``str.format``
field access, frames of generators and tracebacks, reflective builtins), (b) exhaust the host
(endless loops, memory bombs, deep recursion, huge results, C-level operations that never yield),
or (c) leak objects that run code later (a generator or function in its result). Defences:

1. Static policy on the AST (:mod:`clawloop_synth.sim.policy`): whitelisted syntax, no
   underscore names or attributes, no frame/generator/format attributes, no ``finally`` or bare
   ``except`` (so the timeout cannot be swallowed), ``**`` rewritten to a size guard.
2. Globals hold only a whitelisted builtins dict (no I/O, no reflection, ``range`` and ``pow``
   size-guarded, ``print`` a no-op); a fresh globals dict per call so no state survives between
   calls except through the ``state`` argument.
3. Limits per call (:mod:`clawloop_synth.sim.limits`): CPU time (SIGPROF timer in the main thread,
   a CPU-clock watchdog elsewhere), address space (temporary ``RLIMIT_AS``), recursion (the
   interpreter's limit, reported as such), and result size. The result must be JSON (it is encoded
   inside the limits), so no live object crosses back to the host.

Not covered (in-process isolation has limits; run untrusted packs in a worker process when these
matter): a single C-level call that runs long without allocating, e.g. quadratic hashing inside
``set()`` of colliding integers, overruns the CPU limit until it returns (guards keep the known
big ones, ``**`` and ``range``, small); the memory limit is per call, so a handler that keeps
what it allocates in the state can grow it call after call (a step limit bounds an episode);
other host threads share the memory headroom while a handler runs; iteration order of sets of
strings follows PYTHONHASHSEED (handlers should sort). Handlers receive the live state and may
put non-JSON values into it; the host only compares states, it never calls what they hold.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import threading
from dataclasses import dataclass
from types import CodeType, TracebackType
from typing import Any

from clawloop_synth.sim import limits as _limits
from clawloop_synth.sim.errors import HandlerError, SandboxError
from clawloop_synth.sim.policy import POW_GUARD, check_and_transform

__all__ = [
    "CPU_TIME_LIMIT",
    "MAX_POW_BITS",
    "MAX_RANGE",
    "MAX_RESULT_CHARS",
    "MEMORY_LIMIT",
    "SAFE_BUILTINS",
    "Handler",
    "HandlerError",
    "Limits",
    "SandboxError",
    "compile_handler",
]

CPU_TIME_LIMIT = 1.0  # seconds of CPU per call
MEMORY_LIMIT = 512 * 2**20  # bytes of address space a call may add
MAX_RESULT_CHARS = 1_000_000  # characters of the encoded result
MAX_RANGE = 10_000_000  # items in one range(): sum(range(10**12)) would run in C for hours
MAX_POW_BITS = 1_000_000  # estimated bits of an integer power
_CACHE_SIZE = 4096
_MAIN_IDENT = threading.main_thread().ident


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-call limits; ``None`` fields fall back to the module constants at call time."""

    cpu_seconds: float | None = None
    memory_bytes: int | None = None
    max_result_chars: int | None = None


class _Violation(BaseException):
    """A guard refused an operation; BaseException so the handler's ``except Exception`` cannot hide it."""


def _guarded_pow(base: Any, exp: Any, mod: Any = None) -> Any:
    if isinstance(base, int) and isinstance(exp, int) and exp > 0:
        if mod is None and abs(base) > 1:
            bits = base.bit_length() * exp
            if bits > MAX_POW_BITS:
                raise _Violation(f"policy: integer power of about {bits} bits exceeds the limit of {MAX_POW_BITS}")
        elif isinstance(mod, int) and exp.bit_length() * mod.bit_length() > MAX_POW_BITS * 10:
            # Modular power does exp-bits multiplications of mod-bits numbers, all in one C call.
            raise _Violation("policy: modular power too large for the sandbox")
    return pow(base, exp) if mod is None else pow(base, exp, mod)


def _guarded_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise _Violation(f"policy: range of {len(result)} items exceeds the limit of {MAX_RANGE}")
    return result


def _quiet_print(*args: Any, **kwargs: Any) -> None:
    """Handlers may print while debugging; the sandbox does no I/O, so output is dropped."""


_SAFE_NAMES = (
    "abs", "all", "any", "bool", "chr", "dict", "divmod", "enumerate", "filter", "float", "frozenset",
    "int", "isinstance", "issubclass", "len", "list", "map", "max", "min", "next", "ord", "repr",
    "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple", "zip", "callable", "hex",
    "oct", "bin", "ascii", "True", "False", "None", "NotImplemented", "Ellipsis",
    "Exception", "ValueError", "KeyError", "IndexError", "TypeError", "LookupError", "ArithmeticError",
    "ZeroDivisionError", "RuntimeError", "AssertionError", "NotImplementedError", "AttributeError",
    "OverflowError", "StopIteration",
)

SAFE_BUILTINS: dict[str, Any] = {name: getattr(builtins, name) for name in _SAFE_NAMES}
SAFE_BUILTINS.update(pow=_guarded_pow, range=_guarded_range, print=_quiet_print)


def _where(name: str, filename: str, tb: TracebackType | None) -> str:
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return f"handler {name}, line {line}" if line else f"handler {name}"


def _short(text: str, limit: int = 500) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


class Handler:
    """A compiled, policy-checked handler; call it as ``handler(state, args)``."""

    __slots__ = ("code", "digest", "entry", "filename", "name", "source")

    def __init__(self, source: str, code: CodeType, digest: str, filename: str, entry: str = "invoke") -> None:
        self.source = source
        self.code = code
        self.digest = digest
        self.filename = filename
        self.name = digest[:12]
        self.entry = entry

    def __repr__(self) -> str:
        return f"Handler({self.name})"

    def __call__(self, state: dict[str, Any], args: dict[str, Any], limits: Limits | None = None) -> Any:
        """Run ``invoke(state, **args)`` under the limits and return its (JSON) value."""
        return self.run(state, args, limits)[0]

    def run(self, state: dict[str, Any], args: dict[str, Any],
            limits: Limits | None = None) -> tuple[Any, str]:
        """Like calling the handler, but also returns the result as text (str as-is, else JSON)."""
        cpu = CPU_TIME_LIMIT if limits is None or limits.cpu_seconds is None else limits.cpu_seconds
        memory = MEMORY_LIMIT if limits is None or limits.memory_bytes is None else limits.memory_bytes
        max_chars = (MAX_RESULT_CHARS if limits is None or limits.max_result_chars is None
                     else limits.max_result_chars)
        timer, guard = _limits.cpu_timer, _limits.memory_guard
        main = threading.get_ident() == _MAIN_IDENT
        entered = False
        try:
            entered = guard.enter(memory)
            try:
                timer.arm(cpu, main)
                namespace: dict[str, Any] = {"__builtins__": SAFE_BUILTINS, POW_GUARD: _guarded_pow}
                exec(self.code, namespace)
                invoke = namespace.get(self.entry)
                if not callable(invoke):
                    raise _Violation(f"policy: '{self.entry}' is not a function")
                value = invoke(state, **args)
                try:
                    text = value if isinstance(value, str) else json.dumps(value)
                except (TypeError, ValueError) as exc:
                    raise _Violation(f"result is not JSON: {_short(str(exc))}") from None
            finally:
                # A late timeout can only land before disarm() completes; after it, none can.
                timer.disarm(main)
                if entered:
                    entered = False
                    guard.exit()
        except _limits.Timeout:
            _settle(timer, main)
            if entered:
                guard.exit()
            raise SandboxError(f"CPU time limit of {cpu:g} s exceeded (handler {self.name})") from None
        except MemoryError as exc:
            guard.forget_size()
            where = _where(self.name, self.filename, exc.__traceback__)
            raise SandboxError(f"memory limit of {memory // 2**20} MiB exceeded ({where})") from None
        except RecursionError as exc:
            where = _where(self.name, self.filename, exc.__traceback__)
            raise SandboxError(f"recursion depth limit exceeded ({where})") from None
        except _Violation as exc:
            where = _where(self.name, self.filename, exc.__traceback__)
            raise SandboxError(f"{exc} ({where})") from None
        except Exception as exc:
            raise _handler_error(exc, self) from None
        if len(text) > max_chars:
            raise SandboxError(f"result of {len(text)} characters exceeds the limit of {max_chars} "
                               f"(handler {self.name})")
        return value, text


def _settle(timer: _limits.CpuTimer, main: bool) -> None:
    """Disarm after an interruption; a late timeout may land here too, so retry until clean."""
    while True:
        try:
            timer.disarm(main)
            return
        except _limits.Timeout:
            continue


def _handler_error(exc: BaseException, handler: Handler) -> HandlerError:
    try:
        message = _short(str(exc))
    except Exception:  # str() of a hostile exception argument
        message = "<unprintable>"
    return HandlerError(type(exc).__name__, message, _where(handler.name, handler.filename, exc.__traceback__))


_cache: dict[str, Handler | SandboxError] = {}
_cache_lock = threading.Lock()


def compile_handler(source: str, entry: str = "invoke") -> Handler:
    """Check ``source`` against the policy and compile it; cached by the source's hash.

    ``entry`` is the function calls run: ``invoke(state, **args)`` for a tool handler; a pack rule is
    compiled with ``entry="check"`` and called as ``rule(state, {"call": call})``.
    Raises :class:`SandboxError` for a policy violation (the failure is cached too).
    """
    key = source if entry == "invoke" else f"{entry}\x00{source}"
    cached = _cache.get(key)
    if cached is None:
        digest = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
        filename = f"<handler {digest[:12]}>"
        try:
            tree = check_and_transform(source, filename, entry)
            cached = Handler(source, compile(tree, filename, "exec"), digest, filename, entry)
        except SandboxError as exc:
            cached = exc
        except (ValueError, RecursionError, MemoryError, SyntaxError) as exc:
            cached = SandboxError(f"policy: cannot compile handler: {type(exc).__name__}: {exc}")
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = cached
    if isinstance(cached, SandboxError):
        raise SandboxError(*cached.args)
    return cached
