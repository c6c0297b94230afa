"""Episodes of one task that make the same calls share one run: a memo of the paths already walked.

``SimEnv`` is deterministic for the same calls (its handlers see nothing but the state and their
arguments), and a scripted population runs every task dozens of times, most runs replaying the
reference unchanged. :class:`MemoEnv` answers a call from the memo while the episode is still on a
path some earlier episode of the same task object walked (results by the sequence of calls made so
far, checks by that sequence and the final answer); at the first call off the known paths it starts a
real ``SimEnv``, replays the calls made so far into it (the state after them is needed) and goes on
there, adding what it sees to the memo. A path that is entirely known needs no environment at all,
so no copy of the state.

Not memoized: a crashed call (a handler that hit a sandbox limit may pass next time) and anything
after it in the same episode, which then runs for real.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any

import orjson

from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import CheckResult, TaskSpec

__all__ = ["MemoEnv"]

Path = tuple[bytes, ...]


class _Memo:
    def __init__(self) -> None:
        self.steps: dict[Path, tuple[ToolResult, bool]] = {}  # path ending in a call -> its result, over after it
        self.ends: dict[tuple[Path, str], tuple[float, list[CheckResult]]] = {}


_MEMOS: dict[int, tuple[weakref.ref[TaskSpec], _Memo]] = {}
_MEMOS_MAX = 4096
_lock = threading.Lock()


def _memo_of(task: TaskSpec) -> _Memo:
    hit = _MEMOS.get(id(task))
    if hit is not None and hit[0]() is task:
        return hit[1]
    memo = _Memo()
    with _lock:
        if len(_MEMOS) >= _MEMOS_MAX:
            _MEMOS.clear()
        _MEMOS[id(task)] = (weakref.ref(task), memo)
    return memo


def _key(call: Any) -> bytes:
    name = getattr(call, "name", None)
    arguments = getattr(call, "arguments", None)
    if isinstance(call, dict):
        name, arguments = call.get("name"), call.get("arguments", {})
    return orjson.dumps([name, arguments], option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=repr)


def _kept(result: ToolResult) -> ToolResult:
    """A result to hand out more than once: its value copied (the live one may share the state's objects)."""
    return ToolResult(content=result.content, is_error=result.is_error, crashed=result.crashed,
                      value=copy_state(result.value), error_kind=result.error_kind)


class MemoEnv:
    """A fresh episode of ``task`` with the default ``SimEnv`` settings: ``step``, ``over``, ``finish``."""

    def __init__(self, task: TaskSpec) -> None:
        self.task = task
        self._memo = _memo_of(task)
        self._calls: list[Any] = []
        self._path: Path = ()
        self._env: SimEnv | None = None
        self._off = False  # a crashed call: nothing after it is memoized
        self.over = False

    def _real(self) -> SimEnv:
        if self._env is None:
            self._env = SimEnv(self.task)
            for call in self._calls:
                self._env.step(call)
        return self._env

    def step(self, call: Any) -> ToolResult:
        path = (*self._path, _key(call))
        self._path = path
        known = None if self._env is not None else self._memo.steps.get(path)
        if known is not None:
            self._calls.append(call)
            result, self.over = known
            return _kept(result)
        env = self._real()
        result = env.step(call)
        self._calls.append(call)
        self.over = env.over
        self._off = self._off or result.crashed
        if not self._off:
            self._memo.steps.setdefault(path, (_kept(result), env.over))
        return result

    def finish(self, answer: str) -> tuple[float, list[CheckResult]]:
        self.over = True
        end = (self._path, answer)
        known = None if self._env is not None else self._memo.ends.get(end)
        if known is not None:
            return known[0], [check.model_copy() for check in known[1]]
        reward, checks = self._real().finish(answer)
        if not self._off:
            self._memo.ends.setdefault(end, (reward, [check.model_copy() for check in checks]))
        return reward, checks
