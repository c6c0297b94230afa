"""``SimEnv``: one episode of a task, with tools backed by sandboxed handlers.

Nothing an agent sends makes ``step`` raise: an unknown tool, arguments that fail the tool's JSON
Schema, a handler that raises or hits a sandbox limit all come back as an error result, the way a
real API answers. Results are deterministic for the same calls (handlers see nothing but the state
and their arguments).
"""

from __future__ import annotations

import functools
import json
import marshal
import threading
from dataclasses import dataclass
from typing import Any

import jsonschema
import orjson

from clawloop_synth.mine.quick_schema import Check, quick_check
from clawloop_synth.sim.checks import reward_of, run_checks
from clawloop_synth.sim.errors import SandboxError
from clawloop_synth.sim.rules import Violation, policy_check
from clawloop_synth.sim.sandbox import Limits
from clawloop_synth.sim.setup import setup_of
from clawloop_synth.types import CheckResult, PlannedCall, TaskSpec, ToolCall, ToolSpec

__all__ = ["DEFAULT_MAX_STEPS", "SimEnv", "StepRecord", "ToolResult", "schema_error"]

DEFAULT_MAX_STEPS = 50
_VALIDATION_CACHE_SIZE = 65536


@dataclass(slots=True)
class ToolResult:
    """What the agent sees after a call.

    ``content``: dict/list results as ``json.dumps(value)``, strings as-is, errors as text that
    starts with "Error". ``is_error``: the call failed (including handler results that start with
    "Error", the tau-bench convention). ``crashed``: the handler raised or hit a sandbox limit, as
    opposed to answering with an error. ``value``: the handler's return value (None on errors);
    it may share objects with the live state, so copy it before keeping it past the next step.
    ``error_kind``: None, or why the call failed: "over" (episode ended), "step_limit",
    "unknown_tool", "invalid_arguments", "crash" (sandbox or handler exception), "tool" (the
    handler answered with an error string).
    """

    content: str
    is_error: bool = False
    crashed: bool = False
    value: Any = None
    error_kind: str | None = None


@dataclass(slots=True)
class StepRecord:
    """One step as it happened: the call, its result, and whether it was a (declared) write."""

    name: str
    arguments: Any
    result: ToolResult
    writes: bool = False


@functools.lru_cache(maxsize=1024)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


@functools.lru_cache(maxsize=1024)
def _quick(schema_json: str) -> Check | None:
    return quick_check(json.loads(schema_json))


_validation_cache: dict[tuple[str, bytes], str | None] = {}
_validation_lock = threading.Lock()


def schema_error(tool: ToolSpec, arguments: Any, schema_key: str | None = None) -> str | None:
    """Why ``arguments`` fail ``tool.parameters`` (None when they pass); results are cached.

    Arguments that plainly fit a plain schema (:mod:`clawloop_synth.mine.quick_schema`) pass without
    jsonschema: the probes of the error injectors validate thousands of distinct argument sets, and
    a key and a walk of the schema per set cost more than the call they guard."""
    key_schema = schema_key if schema_key is not None else json.dumps(tool.parameters, sort_keys=True)
    quick = _quick(key_schema)
    if quick is not None and quick(arguments):
        return None  # plainly valid (the quick check says yes only when jsonschema would): nothing to word
    try:
        args_key = orjson.dumps(arguments, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        args_key = None
    if args_key is not None:
        cached = _validation_cache.get((key_schema, args_key), False)
        if cached is not False:
            return cached  # type: ignore[return-value]
    try:
        error = jsonschema.exceptions.best_match(_validator(key_schema).iter_errors(arguments))
    except jsonschema.exceptions.SchemaError as exc:
        message: str | None = f"the tool's parameter schema is invalid: {exc.message}"
    except Exception as exc:  # e.g. arguments nested too deeply to walk
        message = f"cannot validate arguments: {type(exc).__name__}"
    else:
        if error is None:
            message = None
        else:
            where = "/".join(str(part) for part in error.absolute_path)
            message = f"{error.message}" + (f" (at '{where}')" if where else "")
    if args_key is not None:
        with _validation_lock:
            if len(_validation_cache) >= _VALIDATION_CACHE_SIZE:
                _validation_cache.clear()
            _validation_cache[(key_schema, args_key)] = message
    return message


class SimEnv:
    """An episode of ``task``: :meth:`reset`, then :meth:`step` per tool call, then :meth:`finish`.

    Made ready to step (as :meth:`reset` leaves it). The compiled tools and rules are the task's
    (built once per task object, see ``_setup``); the state is this episode's own copy."""

    def __init__(self, task: TaskSpec, max_steps: int = DEFAULT_MAX_STEPS, limits: Limits | None = None,
                 rewindable: bool = False, resume: tuple[bytes, int] | None = None) -> None:
        """``rewindable``: keep what :meth:`rewind` needs (the fresh state's marshal bytes, one dump per start).
        ``resume``: start from a :meth:`snapshot` taken after that many calls (see :meth:`resume`)."""
        self.task = task
        self._rewindable = rewindable
        self._clean: bytes | None = None  # the fresh state's marshal bytes (rewindable episodes only)
        self._ran = False  # a handler or rule has run on the state since the last start
        self._setup = setup_of(task)
        self._tools, self._rules = self._setup.tools, self._setup.rules
        self.violations: list[Violation] = []  # policy rules broken by calls that went through
        self.max_steps = max_steps
        self.limits = limits
        self._state: Any = None
        self.calls: list[StepRecord] = []
        self.steps = 0
        self.over = False
        self.answer: str | None = None
        if resume is None:
            self._restart()
        else:
            self.resume(*resume)

    @property
    def state(self) -> Any:
        """The live state (mutated by write tools)."""
        return self._state

    def observation(self) -> dict[str, Any]:
        return {
            "instruction": self.task.instruction,
            "user_persona": self.task.user_persona,
            "tools": [spec.openai_schema() for spec in self.task.tools],
        }

    def reset(self) -> dict[str, Any]:
        """Start over from a fresh copy of the initial state; returns instruction and tool schemas."""
        self._restart()
        return self.observation()

    def rewind(self) -> None:
        """Start over like :meth:`reset` (no observation returned), keeping the live state when the episode
        cannot have changed it: no handler or rule ran, or its marshal bytes are still those it started with.

        Equal bytes mean equal values of equal types (``1`` and ``True`` differ), and marshal marks an
        object referenced from outside the state, so a kept state is what a fresh copy would be and
        nothing outside holds a piece of it (a result still held by the caller forces a fresh copy).
        Many one-call probes from one state then cost a dump and a comparison each instead of a copy
        of the state. Needs ``rewindable=True``.
        """
        if not self._rewindable:
            raise ValueError("rewind() needs a SimEnv made with rewindable=True")
        self.calls = []  # the records hold results, which may hold pieces of the state
        if self._ran and not self._unchanged():
            self._restart()
        else:
            self._begin()

    def snapshot(self) -> bytes | None:
        """The live state as marshal bytes, for :meth:`resume` (None when marshal cannot hold it)."""
        try:
            return marshal.dumps(self._state)
        except ValueError:
            return None

    def resume(self, snapshot: bytes, steps: int) -> None:
        """Go on from a state :meth:`snapshot` took after ``steps`` calls, as if they had just run (their
        records and policy violations are not kept): a scratch run after a prefix without replaying it."""
        self._state = marshal.loads(snapshot)
        self._clean = None
        self._begin()
        self._ran = True
        self.steps = steps

    def _unchanged(self) -> bool:
        if self._clean is None:
            return False
        try:
            return marshal.dumps(self._state) == self._clean
        except ValueError:
            return False

    def _restart(self) -> None:
        self._state = self._setup.fresh_state()
        self._clean = None
        if self._rewindable:
            try:
                self._clean = marshal.dumps(self._state)
            except ValueError:  # not marshal-able: every rewind makes a fresh copy
                self._clean = None
        self._begin()

    def _begin(self) -> None:
        self._ran = False
        self.calls = []
        self.violations = []
        self.steps = 0
        self.over = False
        self.answer = None

    def _error(self, name: str, arguments: Any, text: str, kind: str, writes: bool = False) -> ToolResult:
        result = ToolResult(content=f"Error: {text}", is_error=True, crashed=kind == "crash", error_kind=kind)
        self.calls.append(StepRecord(name, arguments, result, writes))
        return result

    def step(self, call: PlannedCall | ToolCall | Any) -> ToolResult:
        """Run one tool call; never raises on agent input."""
        name = getattr(call, "name", None)
        arguments = getattr(call, "arguments", None)
        if isinstance(call, dict):
            name, arguments = call.get("name"), call.get("arguments", {})
        if self.over:
            return self._error(str(name), arguments, "the episode is over; no more tool calls are accepted",
                               "over")
        self.steps += 1
        if self.steps > self.max_steps:
            self.over = True
            return self._error(str(name), arguments, f"step limit of {self.max_steps} reached; the episode is over",
                               "step_limit")
        tool = self._tools.get(name) if isinstance(name, str) else None
        if tool is None:
            available = ", ".join(sorted(self._tools))
            return self._error(str(name), arguments, f"unknown tool '{name}'; available tools: {available}",
                               "unknown_tool")
        writes = tool.spec.writes
        if not isinstance(arguments, dict):
            return self._error(tool.spec.name, arguments, "arguments must be a JSON object",
                               "invalid_arguments", writes)
        problem = schema_error(tool.spec, arguments, tool.key())
        if problem is not None:
            return self._error(tool.spec.name, arguments, f"invalid arguments for {name}: {problem}",
                               "invalid_arguments", writes)
        if tool.handler is None:
            return self._error(tool.spec.name, arguments, f"tool {name} is unavailable: {tool.compile_error}",
                               "crash", writes)
        # The rules judge the state before the call; a call the API refused changed nothing, so only
        # calls that went through count.
        self._ran = True
        broken = self._rules.check(self._state, tool.spec.name, arguments, len(self.calls), self.limits) \
            if self._rules else []
        try:
            value, text = tool.handler.run(self._state, arguments, self.limits)
        except SandboxError as exc:
            return self._error(tool.spec.name, arguments, f"{name} failed: {exc}", "crash", writes)
        failed = isinstance(value, str) and value.startswith("Error")
        if not failed:
            self.violations.extend(broken)
        result = ToolResult(content=text, is_error=failed, value=value, error_kind="tool" if failed else None)
        self.calls.append(StepRecord(tool.spec.name, arguments, result, writes))
        return result

    def finish(self, answer: str) -> tuple[float, list[CheckResult]]:
        """End the episode with the agent's final answer; returns (reward, per-check results)."""
        self.over = True
        self.answer = answer
        results = run_checks(self.task, self._state, answer)
        if self._rules:
            results.append(policy_check(self.violations))
        return reward_of(results), results
