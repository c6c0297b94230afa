"""What every episode of a task starts from: its compiled tools and rules and its initial state, built once.

A rollout runs each task dozens of times (and ``verify``, the agents' plans and the gate a few more),
and none of this changes between episodes: the tools and rules hold no episode state, and each episode
gets its own copy of the initial state. :func:`setup_of` keeps one :class:`Setup` per task object,
keyed by the object's id and checked against a weak reference so a recycled id never hits a stale
entry. It is rebuilt when the task's tools, rules or initial state were replaced since (``_shape``,
by identity) or the isolation mode changed (``trust.isolate_everything``). Like the reference-state
cache of :mod:`.checks`, it takes a task as fixed once episodes run on it (no edits in place).
"""

from __future__ import annotations

import json
import marshal
import threading
import weakref
from dataclasses import dataclass
from typing import Any

from clawloop_synth.sim.errors import SandboxError
from clawloop_synth.sim.rules import RuleSet
from clawloop_synth.sim.sandbox import Handler, compile_handler
from clawloop_synth.sim.state import copy_state
from clawloop_synth.sim.trust import isolated
from clawloop_synth.types import TaskSpec, ToolSpec

__all__ = ["Setup", "Tool", "setup_of"]


@dataclass(slots=True)
class Tool:
    spec: ToolSpec
    handler: Handler | None
    compile_error: str | None
    schema_key: str | None = None  # made on the first call of the tool: most episodes call few of the tools

    def key(self) -> str:
        """The tool's parameter schema as sorted JSON (the validators' cache key)."""
        if self.schema_key is None:
            self.schema_key = json.dumps(self.spec.parameters, sort_keys=True)
        return self.schema_key


@dataclass(slots=True)
class Setup:
    shape: tuple[Any, ...]
    tools: dict[str, Tool]
    rules: RuleSet
    initial: Any  # the initial state as marshal bytes, or the state itself when marshal cannot hold it

    def fresh_state(self) -> Any:
        """A new copy of the initial state. From bytes marshalled once: half the work of a round trip."""
        if isinstance(self.initial, bytes):
            return marshal.loads(self.initial)
        return copy_state(self.initial)

    def current(self) -> bool:
        """Whether every handler was compiled in the isolation mode in force now."""
        handlers = [t.handler for t in self.tools.values()] + self.rules.handlers()
        return all(h is None or h.isolated == isolated(h.digest) for h in handlers)


def _tools(task: TaskSpec) -> dict[str, Tool]:
    tools: dict[str, Tool] = {}
    for spec in task.tools:
        try:
            handler, problem = compile_handler(spec.handler), None
        except SandboxError as exc:
            handler, problem = None, str(exc)
        tools[spec.name] = Tool(spec, handler, problem)
    return tools


def _shape(task: TaskSpec) -> tuple[Any, ...]:
    """What a setup is built from, by identity: a tool, rule or state replaced, or a tool's handler or
    schema reassigned, shows here."""
    return (tuple((id(s), s.name, id(s.handler), id(s.parameters)) for s in task.tools),
            tuple((id(r), r.name, id(r.source)) for r in task.rules), id(task.initial_state))


def _initial(state: Any) -> Any:
    try:
        return marshal.dumps(state)
    except ValueError:  # not a plain JSON-like value: copied the slow way at each episode
        return state


_SETUPS: dict[int, tuple[weakref.ref[TaskSpec], Setup]] = {}
_SETUPS_MAX = 4096
_lock = threading.Lock()


def setup_of(task: TaskSpec) -> Setup:
    """The setup of ``task``, built on first use."""
    shape = _shape(task)
    hit = _SETUPS.get(id(task))
    if hit is not None and hit[0]() is task and hit[1].shape == shape and hit[1].current():
        return hit[1]
    setup = Setup(shape, _tools(task), RuleSet(task.rules), _initial(task.initial_state))
    with _lock:
        if len(_SETUPS) >= _SETUPS_MAX:
            _SETUPS.clear()
        _SETUPS[id(task)] = (weakref.ref(task), setup)
    return setup
