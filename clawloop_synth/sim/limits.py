"""The dynamic half of the sandbox: CPU time and memory limits around one handler call.

CPU time. In the main thread a one-shot ``ITIMER_PROF`` timer (process CPU time) raises
:class:`Timeout` from a ``SIGPROF`` handler; it re-fires every :data:`REFIRE_SECONDS` after the
first expiry so that code which survives one interruption (an ``except Exception`` does not catch a
``BaseException``, but a loop inside an error path could restart) is stopped again. In any other
thread signals are unavailable, so a watchdog thread reads the calling thread's own CPU clock
(``pthread_getcpuclockid``) and injects :class:`Timeout` with ``PyThreadState_SetAsyncExc``. Both
only interrupt between bytecodes: a single C call that runs long is stopped when it returns, which
is why the policy guards ``**`` and ``range`` sizes.

Memory. ``RLIMIT_AS`` (address space) is lowered to the current size plus the allowed headroom for
the duration of the call and restored afterwards, so an allocation bomb fails with ``MemoryError``
instead of pushing the host into the OOM killer. The current size is read from
``/proc/self/statm`` at most every :data:`STATM_TTL` seconds (a read costs microseconds). The limit
is process-wide: while a handler runs, other host threads share the same headroom. Concurrent calls
from several threads share one limit through a reference count. Platforms without ``RLIMIT_AS``
(or ``/proc``) run without the memory limit.
"""

from __future__ import annotations

import ctypes
import os
import signal
import threading
import time
from dataclasses import dataclass, field

try:
    import resource
except ImportError:  # pragma: no cover - not Unix
    resource = None  # type: ignore[assignment]

__all__ = ["CpuTimer", "MemoryGuard", "Timeout", "cpu_timer", "memory_guard"]

REFIRE_SECONDS = 0.05
STATM_TTL = 0.5
_WATCHDOG_POLL = 0.005


class Timeout(BaseException):  # noqa: N818 - a control-flow signal, like KeyboardInterrupt
    """Raised inside the handler when its CPU time is up; a BaseException so handlers cannot catch it."""


# ------------------------------------------------------------------------------------ CPU time


@dataclass
class _Watched:
    clock: int
    deadline: float
    fired: bool = False


@dataclass
class _Watchdog:
    """Stops worker-thread calls by CPU clock; started on the first worker-thread call."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: dict[int, _Watched] = field(default_factory=dict)
    thread: threading.Thread | None = None
    busy: threading.Event = field(default_factory=threading.Event)  # set while any call is watched

    def arm(self, seconds: float) -> None:
        tid = threading.get_ident()
        clock = time.pthread_getcpuclockid(tid)
        with self.lock:
            self.calls[tid] = _Watched(clock, time.clock_gettime(clock) + seconds)
            self.busy.set()
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="sandbox-watchdog", daemon=True)
                self.thread.start()

    def disarm(self) -> None:
        tid = threading.get_ident()
        with self.lock:
            watched = self.calls.pop(tid, None)
            if not self.calls:
                self.busy.clear()
            if watched is not None and watched.fired:
                # Clear an injected exception that has not been raised yet.
                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(tid), None)

    def _run(self) -> None:
        while True:
            self.busy.wait()  # sleeps without polling while no worker-thread call runs
            time.sleep(_WATCHDOG_POLL)
            with self.lock:
                for tid, watched in self.calls.items():
                    try:
                        used = time.clock_gettime(watched.clock)
                    except OSError:
                        continue
                    if used >= watched.deadline:
                        ctypes.pythonapi.PyThreadState_SetAsyncExc(
                            ctypes.c_ulong(tid), ctypes.py_object(Timeout)
                        )
                        watched.fired = True
                        watched.deadline = used + REFIRE_SECONDS


class CpuTimer:
    """Arms and disarms the per-call CPU-time limit for the calling thread."""

    def __init__(self) -> None:
        self._active = False
        self._installed = False
        self._signals = hasattr(signal, "setitimer") and hasattr(signal, "SIGPROF")
        self._watchdog = _Watchdog()

    def _on_sigprof(self, signum: int, frame: object) -> None:
        if self._active:
            raise Timeout()

    def arm(self, seconds: float, main: bool) -> None:
        """Start the clock; ``main`` says whether the caller is the main thread."""
        if main and self._signals:
            if not self._installed:
                try:
                    signal.signal(signal.SIGPROF, self._on_sigprof)
                except (ValueError, OSError):  # e.g. not the main interpreter: use the watchdog
                    self._signals = False
                    self._watchdog.arm(seconds)
                    return
                self._installed = True
            self._active = True
            signal.setitimer(signal.ITIMER_PROF, seconds, REFIRE_SECONDS)
        else:
            self._watchdog.arm(seconds)

    def disarm(self, main: bool) -> None:
        """Stop the clock; idempotent, and safe to call again if a late Timeout interrupted it."""
        if main and self._signals:
            self._active = False
            signal.setitimer(signal.ITIMER_PROF, 0)
        else:
            self._watchdog.disarm()


# -------------------------------------------------------------------------------------- memory


class MemoryGuard:
    """Temporarily lowers RLIMIT_AS to (current address space + headroom)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._depth = 0
        self._saved: tuple[int, int] | None = None
        self._size = 0
        self._size_at = -1.0
        self._page = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
        self._fd: int | None = None
        self.enabled = resource is not None and hasattr(resource, "RLIMIT_AS")
        if self.enabled:
            try:
                self._fd = os.open("/proc/self/statm", os.O_RDONLY)
            except OSError:
                self.enabled = False

    def address_space(self, fresh: bool = False) -> int:
        """Current address-space size in bytes (cached for STATM_TTL seconds unless ``fresh``)."""
        now = time.monotonic()
        if fresh or now - self._size_at > STATM_TTL:
            assert self._fd is not None
            self._size = int(os.pread(self._fd, 64, 0).split()[0]) * self._page
            self._size_at = now
        return self._size

    def enter(self, headroom: int) -> bool:
        """Apply the limit (or join the one in force); True means :meth:`exit` must follow."""
        if not self.enabled:
            return False
        with self._lock:
            self._depth += 1
            if self._depth > 1:
                return True
            soft, hard = resource.getrlimit(resource.RLIMIT_AS)
            limit = self.address_space() + headroom
            if hard != resource.RLIM_INFINITY:
                limit = min(limit, hard)
            if soft != resource.RLIM_INFINITY and soft <= limit:
                self._saved = None  # already tighter than ours: leave it
                return True
            self._saved = (soft, hard)
            resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
            return True

    def exit(self) -> None:
        if not self.enabled:
            return
        with self._lock:
            if self._depth == 0:
                return
            self._depth -= 1
            if self._depth == 0 and self._saved is not None:
                resource.setrlimit(resource.RLIMIT_AS, self._saved)
                self._saved = None

    def forget_size(self) -> None:
        """Re-read the address space on the next call (after a MemoryError it may be stale)."""
        self._size_at = -1.0

    def current_limit(self) -> int:
        if not self.enabled:
            return -1
        return int(resource.getrlimit(resource.RLIMIT_AS)[0])


cpu_timer = CpuTimer()
memory_guard = MemoryGuard()
