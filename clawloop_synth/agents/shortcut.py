"""The shortcut agent: acts from the instruction alone and never reads a tool result.

A task worth training on needs what only a tool result tells; a task this agent solves does not.
To be a strict test it is granted more than a blind agent has: it knows which writes the reference
makes, in order, and the names of their arguments. Every argument *value* and the final answer come
from the instruction text only:

- a string value is kept when the instruction states it (as a whole token, ``one_way`` also as
  "one-way"/"one way"); a schema enum value is guessed from the options the instruction names (the
  first option otherwise); anything else becomes ``"unknown"``;
- a number is kept when the instruction states it, else ``0``; booleans and nulls are kept (a yes/no
  is a guess, not information);
- the answer repeats the instruction (so every entity it names is "said").

What it solves is an upper bound on what acting from the instruction alone solves. The same
functions give the static *information need* of a task: the write-argument values and required
outputs the instruction does not state.
"""

from __future__ import annotations

from typing import Any

from clawloop_synth.sim.outputs import find_output, parse_number
from clawloop_synth.types import PlannedCall, TaskSpec

from .scripted import Episode

__all__ = ["ShortcutAgent", "information_needs", "shortcut_solution", "stated"]

UNKNOWN = "unknown"


def _spellings(value: str) -> list[str]:
    spaced = value.replace("_", " ")
    return list(dict.fromkeys([value, spaced, value.replace("_", "-")]))


def stated(value: Any, instruction: str) -> bool:
    """Whether the instruction states ``value`` (numbers by value, strings as whole tokens)."""
    if isinstance(value, bool) or value is None:
        return True
    if isinstance(value, int | float):
        return find_output(f"{value:g}" if isinstance(value, float) else str(value), instruction)[0]
    if isinstance(value, str):
        if not value.strip():
            return True
        if parse_number(value) is not None:
            return find_output(value, instruction)[0]
        return any(find_output(s, instruction)[0] for s in _spellings(value))
    return False


def _enum(schema: Any) -> list[Any]:
    return list(schema.get("enum") or []) if isinstance(schema, dict) else []


def _child(schema: Any, key: str | None) -> Any:
    if not isinstance(schema, dict):
        return {}
    if key is None:
        return schema.get("items", {})
    return (schema.get("properties") or {}).get(key, {})


def _blind(value: Any, schema: Any, instruction: str) -> Any:
    """``value`` as far as the instruction gives it (see the module docstring)."""
    if isinstance(value, dict):
        return {k: _blind(v, _child(schema, k), instruction) for k, v in value.items()}
    if isinstance(value, list):
        return [_blind(v, _child(schema, None), instruction) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if stated(value, instruction):
        return value
    options = _enum(schema)
    if options:
        return next((o for o in options if stated(o, instruction)), options[0])
    return 0 if isinstance(value, int | float) else UNKNOWN


def shortcut_solution(task: TaskSpec) -> list[PlannedCall]:
    """The writes the shortcut agent makes: the reference's writes with values from the instruction."""
    writes = {spec.name: spec for spec in task.tools if spec.writes}
    calls: list[PlannedCall] = []
    for call in task.reference.calls:
        spec = writes.get(call.name)
        if spec is None:
            continue
        blind = PlannedCall(name=call.name, arguments=_blind(dict(call.arguments), spec.parameters,
                                                             task.instruction))
        if not calls or calls[-1] != blind:  # a retried write is one action
            calls.append(blind)
    return calls


def information_needs(task: TaskSpec) -> list[str]:
    """Write-argument values and required outputs the instruction does not state (what a tool must tell).

    Enum values are not counted: they are choices among options the schema lists, not facts.
    """
    writes = {spec.name: spec for spec in task.tools if spec.writes}
    needs: list[str] = []

    def walk(value: Any, schema: Any, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, _child(schema, k), f"{path}.{k}")
        elif isinstance(value, list):
            for n, v in enumerate(value):
                walk(v, _child(schema, None), f"{path}[{n}]")
        elif not stated(value, task.instruction) and value not in _enum(schema):
            needs.append(f"{path}={value}")

    for call in task.reference.calls:
        spec = writes.get(call.name)
        if spec is not None:
            walk(dict(call.arguments), spec.parameters, call.name)
    needs += [f"output={text}" for text in task.checks.required_outputs if not stated(text, task.instruction)]
    return list(dict.fromkeys(needs))


def _script(task: TaskSpec) -> Any:
    for call in shortcut_solution(task):  # noqa: UP028  (results are sent in; a list iterator takes no send)
        yield call  # the result is sent back in and ignored: this agent never reads one
    return "Done. " + task.instruction


class ShortcutAgent:
    """Makes the reference's writes with argument values from the instruction; answers with the instruction."""

    def __init__(self, name: str = "shortcut") -> None:
        self.name = name

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        return Episode(_script(task), planted_mode="shortcut")
