"""Run untrusted tool-handler source (``def invoke(state, **args)``) under a policy, in a worker process.

Threat model. Handler source may be written by an LLM that read an attacker's trace, so assume it
tries to (a) escape to the host (imports, ``__globals__``/``__subclasses__`` walks, ``str.format``
field access, frames of generators and tracebacks, reflective builtins), (b) exhaust the host
(endless loops, memory bombs, deep recursion, huge results, one C call that never yields such as
``sum(map(sum, [range(10**7)] * 10**6))``, a list DAG whose encoding or ``repr`` is exponential),
(c) leak objects that run code later (a generator or function in its result), or (d) carry data
from one task to the next. Defences:

1. Static policy on the AST (:mod:`clawloop_synth.sim.policy`): bounded source size and tree,
   whitelisted syntax, no underscore names or attributes, no frame/generator/format attributes, no
   ``finally`` or bare ``except`` (so the timeout cannot be swallowed), ``**`` rewritten to a guard.
2. Globals hold only a fresh copy of a whitelisted builtins dict (no I/O, no reflection, ``range``
   and ``pow`` size-guarded, ``print`` a no-op); the guards are slotted objects that take no
   attributes (``pow.stash = state`` fails), and every call gets fresh globals.
3. Isolation (:mod:`clawloop_synth.sim.isolation`): a handler that is not shipped with the package
   (from an LLM, from induction, from a user's pack) runs in a pooled worker process under OS
   limits: ``RLIMIT_AS`` at a fixed headroom over the worker's own start size, the CPU timer below
   plus ``RLIMIT_CPU`` and a parent that kills the worker when its CPU clock or a wall clock runs
   out, and recycling when a worker grew. Compilation, the result's encoding, error messages and
   the new state are all produced inside the worker, within those limits; the state goes over as
   JSON and comes back as JSON only if it changed.
4. The boundary (:mod:`clawloop_synth.sim.boundary`): what crosses back is strict JSON (no NaN,
   no lone surrogates, integers within 64 bits), at most 64 levels deep, size-capped, so the host's
   checks, copies and diffs stay bounded.

Handlers and rules of the packs shipped in the package (``clawloop_synth/packs``) are trusted and
keep a fast in-process path with the same policy, a CPU timer (``SIGPROF`` in the main thread, a watchdog
elsewhere; it interrupts between bytecodes only) and a temporary ``RLIMIT_AS``
(:mod:`clawloop_synth.sim.limits`). :func:`isolate_everything` sends those to workers as well.
Worker processes run with ``PYTHONHASHSEED=0``, so a handler that iterates a set of strings gives
the same answer in every run.
"""

from __future__ import annotations

import builtins
import gc
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType
from typing import Any

from clawloop_synth.sim import limits as _limits
from clawloop_synth.sim.boundary import BoundaryError, encode_result
from clawloop_synth.sim.errors import HandlerError, SandboxError
from clawloop_synth.sim.messages import clipped, handler_error, located
from clawloop_synth.sim.policy import MAX_SOURCE_CHARS, POW_GUARD, check_and_transform
from clawloop_synth.sim.trust import digest_of, isolate_everything, isolated, trust_sources

__all__ = [
    "CPU_TIME_LIMIT",
    "ISOLATED_CPU_TIME_LIMIT",
    "MAX_POW_BITS",
    "MAX_RANGE",
    "MAX_RESULT_CHARS",
    "MAX_STATE_BYTES",
    "MEMORY_LIMIT",
    "SAFE_BUILTINS",
    "Handler",
    "HandlerError",
    "Limits",
    "SandboxError",
    "compile_handler",
    "isolate_everything",
    "trust_sources",
]

# Seconds of CPU per call (airline calls take under 10 ms). In-process the timer counts the whole
# host process (its other threads, a garbage collection over a large heap), so it has room for
# that; a worker process does nothing but the call, so an untrusted handler gets less.
CPU_TIME_LIMIT = 1.0
ISOLATED_CPU_TIME_LIMIT = 0.5
MEMORY_LIMIT = 512 * 2**20  # bytes of address space a call may add
MAX_RESULT_CHARS = 1_000_000  # characters of the encoded result
MAX_STATE_BYTES = 32 * 2**20  # bytes of the state an isolated handler may hand back
MAX_RANGE = 10_000_000  # items in one range(): sum(range(10**12)) would run in C for hours
MAX_POW_BITS = 1_000_000  # estimated bits of an integer power
_CACHE_SIZE = 4096
_MAIN_IDENT = threading.main_thread().ident


# The worker pool isolated handlers run in (the ``isolation`` module), registered by sim/__init__, which
# every import of this module runs first (the worker process, which never isolates, skips it). Not
# imported here: isolation imports this module (no import cycle).
_isolation_module: Any = None


def use_isolation(module: Any) -> None:
    """Run isolated handlers through ``module`` (``call``, ``compile_isolated``): ``sim.isolation``."""
    global _isolation_module
    _isolation_module = module


def _isolation() -> Any:
    if _isolation_module is None:
        raise SandboxError("no worker pool registered for isolated handlers (clawloop_synth.sim registers it)")
    return _isolation_module


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-call limits; ``None`` fields fall back to the module constants at call time."""

    cpu_seconds: float | None = None
    memory_bytes: int | None = None
    max_result_chars: int | None = None
    max_state_bytes: int | None = None

    def resolved(self, isolated: bool = False) -> tuple[float, int, int, int]:
        """(cpu seconds, memory bytes, result chars, state bytes) with the defaults filled in
        (``isolated``: the defaults of a call in a worker process)."""
        default_cpu = ISOLATED_CPU_TIME_LIMIT if isolated else CPU_TIME_LIMIT
        return (default_cpu if self.cpu_seconds is None else self.cpu_seconds,
                MEMORY_LIMIT if self.memory_bytes is None else self.memory_bytes,
                MAX_RESULT_CHARS if self.max_result_chars is None else self.max_result_chars,
                MAX_STATE_BYTES if self.max_state_bytes is None else self.max_state_bytes)


_DEFAULT_LIMITS = Limits()


class _Violation(BaseException):
    """A guard refused an operation; BaseException so the handler's ``except Exception`` cannot hide it."""


# The guards are instances of slotted classes, not functions: a function has a ``__dict__``, so
# ``pow.stash = state`` would keep one task's data where the next task's handler can read it.
class _GuardedPow:
    __slots__ = ()

    def __call__(self, base: Any, exp: Any, mod: Any = None) -> Any:
        if isinstance(base, int) and isinstance(exp, int) and exp > 0:
            if mod is None and abs(base) > 1:
                bits = base.bit_length() * exp
                if bits > MAX_POW_BITS:
                    raise _Violation(f"policy: integer power of about {bits} bits exceeds the limit of {MAX_POW_BITS}")
            elif isinstance(mod, int) and exp.bit_length() * mod.bit_length() > MAX_POW_BITS * 10:
                # Modular power does exp-bits multiplications of mod-bits numbers, all in one C call.
                raise _Violation("policy: modular power too large for the sandbox")
        return pow(base, exp) if mod is None else pow(base, exp, mod)

    def __repr__(self) -> str:
        return "<built-in function pow>"


class _GuardedRange:
    __slots__ = ()

    def __call__(self, *args: int) -> range:
        result = range(*args)
        if len(result) > MAX_RANGE:
            raise _Violation(f"policy: range of {len(result)} items exceeds the limit of {MAX_RANGE}")
        return result

    def __repr__(self) -> str:
        return "<class 'range'>"


class _QuietPrint:
    """Handlers may print while debugging; the sandbox does no I/O, so output is dropped."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __repr__(self) -> str:
        return "<built-in function print>"


_guarded_pow = _GuardedPow()

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
SAFE_BUILTINS.update(pow=_guarded_pow, range=_GuardedRange(), print=_QuietPrint())


def run_code(code: CodeType, name: str, filename: str, body: Callable[[Callable[..., Any]], Any], *,
             cpu: float, memory: int, memory_enter: Callable[[int], bool], memory_exit: Callable[[], None],
             on_memory_error: Callable[[], None] | None = None, entry: str = "invoke") -> Any:
    """Run ``body(invoke)`` under the CPU and memory limits, ``invoke`` being the handler's ``entry``
    function (``invoke`` for a tool handler, ``check`` for a pack rule).

    Everything that touches what the handler built (``body`` encodes it, error messages are built
    here) happens before the limits are lifted. Raises :class:`SandboxError` (limits, policy,
    boundary) or :class:`HandlerError` (the handler's own exception).
    """
    timer = _limits.cpu_timer
    main = threading.get_ident() == _MAIN_IDENT
    entered = False
    # The CPU clock is the process's: a collection of the host's whole heap that the handler's
    # allocations happen to trigger would be billed to the handler and could time it out (in a large
    # process a full collection takes a second). Reference counting still frees what it drops.
    collecting = gc.isenabled()
    gc.disable()
    try:
        entered = memory_enter(memory)
        try:
            timer.arm(cpu, main)
            namespace: dict[str, Any] = {"__builtins__": dict(SAFE_BUILTINS), POW_GUARD: _guarded_pow}
            try:
                exec(code, namespace)
                invoke = namespace.get(entry)
                if not callable(invoke):
                    raise _Violation(f"policy: '{entry}' is not a function")
                return body(invoke)
            except (MemoryError, RecursionError):
                raise
            except Exception as exc:  # the handler's own error; its message is built under the limits
                raise handler_error(exc, name, filename) from None
        finally:
            # A late timeout can only land before disarm() completes; after it, none can.
            timer.disarm(main)
            if entered:
                entered = False
                memory_exit()
    except _limits.Timeout:
        _settle(timer, main)
        if entered:
            memory_exit()
        raise SandboxError(f"CPU time limit of {cpu:g} s exceeded (handler {name})") from None
    except MemoryError as exc:
        if on_memory_error is not None:
            on_memory_error()
        where = located(name, filename, exc.__traceback__)
        raise SandboxError(f"memory limit of {memory // 2**20} MiB exceeded ({where})") from None
    except RecursionError as exc:
        where = located(name, filename, exc.__traceback__)
        raise SandboxError(f"recursion depth limit exceeded ({where})") from None
    except (_Violation, BoundaryError) as exc:
        where = located(name, filename, exc.__traceback__)
        raise SandboxError(f"{exc} ({where})") from None
    finally:
        if collecting:
            gc.enable()


class Handler:
    """A policy-checked handler; call it as ``handler(state, args)``.

    ``isolated``: it runs in a worker process (then ``code`` is None on the host; the worker
    compiled it). The call mutates ``state`` in place either way. ``entry``: the function called.
    """

    __slots__ = ("code", "digest", "entry", "filename", "isolated", "name", "source")

    def __init__(self, source: str, code: CodeType | None, digest: str, filename: str,
                 isolated: bool = False, entry: str = "invoke") -> None:
        self.entry = entry
        self.source = source
        self.code = code
        self.digest = digest
        self.filename = filename
        self.name = digest[:12]
        self.isolated = isolated

    def __repr__(self) -> str:
        return f"Handler({self.name}{', isolated' if self.isolated else ''})"

    def __call__(self, state: dict[str, Any], args: dict[str, Any], limits: Limits | None = None) -> Any:
        """Run ``invoke(state, **args)`` under the limits and return its (JSON) value."""
        return self.run(state, args, limits)[0]

    def run(self, state: dict[str, Any], args: dict[str, Any],
            limits: Limits | None = None) -> tuple[Any, str]:
        """Like calling the handler, but also returns the result as text (str as-is, else JSON)."""
        if self.isolated:
            return _isolation().call(self, state, args, limits or _DEFAULT_LIMITS)
        assert self.code is not None
        cpu, memory, max_chars, _ = (limits or _DEFAULT_LIMITS).resolved()

        def body(invoke: Callable[..., Any]) -> tuple[Any, str]:
            value = invoke(state, **args)
            return value, encode_result(value, max_chars, walk=False)

        guard = _limits.memory_guard
        result: tuple[Any, str] = run_code(self.code, self.name, self.filename, body, cpu=cpu, memory=memory,
                                           memory_enter=guard.enter, memory_exit=guard.exit,
                                           on_memory_error=guard.forget_size, entry=self.entry)
        return result


def _settle(timer: _limits.CpuTimer, main: bool) -> None:
    """Disarm after an interruption; a late timeout may land here too, so retry until clean."""
    while True:
        try:
            timer.disarm(main)
            return
        except _limits.Timeout:
            continue


def compile_code(source: str, filename: str, entry: str = "invoke") -> CodeType:
    """Policy-check and compile ``source``; raises :class:`SandboxError` (run this under limits)."""
    try:
        tree = check_and_transform(source, filename, entry)
        return compile(tree, filename, "exec")
    except SandboxError:
        raise
    except (ValueError, RecursionError, MemoryError, SyntaxError) as exc:
        raise SandboxError(f"policy: cannot compile handler: {type(exc).__name__}: {clipped(str(exc))}") from None


# ----------------------------------------------------------------------------- cache

_cache: dict[str, Handler | SandboxError] = {}
_cache_lock = threading.Lock()


def compile_handler(source: str, entry: str = "invoke") -> Handler:
    """Check ``source`` against the policy and compile it; cached by the source.

    ``entry`` is the function calls run: ``invoke(state, **args)`` for a tool handler; a pack rule is
    compiled with ``entry="check"`` and called as ``rule(state, {"call": call})``.
    Shipped handlers compile here; any other source is checked and compiled in a worker process,
    within the limits. Raises :class:`SandboxError` for a policy violation (the failure is cached too).
    """
    key = source if entry == "invoke" else f"{entry}\x00{source}"
    cached = _cache.get(key)
    if isinstance(cached, Handler) and cached.isolated != isolated(cached.digest):
        cached = None  # isolate_everything() changed the mode
    if cached is None:
        cached = _compile(source, entry)
        with _cache_lock:
            if len(_cache) >= _CACHE_SIZE:
                _cache.pop(next(iter(_cache)))
            _cache[key] = cached
    if isinstance(cached, SandboxError):
        raise SandboxError(*cached.args)
    return cached


def _compile(source: str, entry: str) -> Handler | SandboxError:
    if not isinstance(source, str):
        return SandboxError(f"policy: handler source must be text, not {type(source).__name__}")
    if len(source) > MAX_SOURCE_CHARS:
        return SandboxError(f"policy: handler source of {len(source)} characters exceeds the limit of "
                            f"{MAX_SOURCE_CHARS}")
    digest = digest_of(source)
    filename = f"<handler {digest[:12]}>"
    if isolated(digest):
        try:
            _isolation().compile_isolated(source, digest, filename, entry)
        except SandboxError as exc:
            return exc
        return Handler(source, None, digest, filename, isolated=True, entry=entry)
    try:
        return Handler(source, compile_code(source, filename, entry), digest, filename, entry=entry)
    except SandboxError as exc:
        return exc
