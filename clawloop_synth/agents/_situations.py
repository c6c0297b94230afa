"""Situations: where a plan gives each habit (:mod:`._habits`) its chance to slip.

Each finder reads only what an agent sees (the instruction, the reference's calls and their results,
the state) and returns the places a habit could act: the user's first choice with a fallback, a
near-identical twin of an entity a write names, an empty lookup, a sum the answer states, a mention
of a human, a side question, a transient error. No finder reads a task's target code or provenance.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from clawloop_synth.sim.handoff import handoff_tool
from clawloop_synth.types import PlannedCall

from ._mutate import leaves
from ._plan import Plan

_HUMAN = re.compile(r"\b(human|real person|supervisor|representative)\b", re.IGNORECASE)
_CONDITIONAL = re.compile(r"\b(if|otherwise|instead|rather|unless)\b", re.IGNORECASE)
_ID_TOKEN = re.compile(r"[A-Za-z0-9_\-]*[A-Za-z][A-Za-z0-9_\-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Verbs a user says for a tool's verb (the first word of its name).
_SAID = {"cancel": ("cancel",), "update": ("change", "modify", "update", "move"), "book": ("book",),
         "send": ("send", "give", "issue")}
HANDOFF_ANSWER = "I'm transferring you to a human agent who can help you with this."
COMPLIED = "Done: I've taken care of that for you."


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _distinct_writes(plan: Plan) -> list[int]:
    """Write indices, a transient error's retry counted once (its successful try)."""
    retried = set(plan.transient_indices)
    return [i for i in plan.write_indices if i not in retried]


# ---------------------------------------------------------------------------------- opportunities


def _first_choice_options(plan: Plan) -> list[tuple[int, tuple[Any, ...], str]]:
    """(call, argument path, the user's other choice): a value passed that the user named a first choice
    for in a conditional sentence ("X if ...; otherwise Y"), X being a sibling of the value in the
    state or an id of the same shape that exists nowhere."""
    state = plan.task.initial_state
    state_text = orjson.dumps(state).decode()
    sentences = [s for s in _SENTENCE.split(plan.task.instruction) if _CONDITIONAL.search(s)]
    tokens = list(dict.fromkeys(t for s in sentences for t in _ID_TOKEN.findall(s) if re.search(r"\d", t)))
    if not tokens:
        return []
    retried = set(plan.transient_indices)
    out = []
    for i in (i for i in range(len(plan.calls)) if i not in retried):
        for path, value in leaves(plan.calls[i].arguments):
            if not isinstance(value, str) or not re.search(r"\d", value) or not re.search(r"[A-Za-z]", value):
                continue
            near = _siblings(state, value)
            shape = re.sub(r"\d", "#", value)
            for token in tokens:
                if token != value and (token in near or (re.sub(r"\d", "#", token) == shape
                                                         and f'"{token}"' not in state_text)):
                    out.append((i, path, token))
                    break
    return out


def _siblings(state: Any, value: str) -> set[str]:
    """Other keys of every JSON object in ``state`` that has ``value`` as a key."""
    found: set[str] = set()
    stack = [state]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if value in node:
                found.update(k for k in node if k != value)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return found


def _twins(plan: Plan) -> list[tuple[int, tuple[Any, ...], str]]:
    """(write, argument path, twin key): a write value that keys a small flat object in an earlier
    result next to a sibling object equal to it but for its key and one value one character off."""
    out = []
    for i in _distinct_writes(plan):
        seen = [_json(r.content) for r in plan.results[:i] if not r.is_error]
        for path, value in leaves(plan.calls[i].arguments):
            if not isinstance(value, str):
                continue
            twin = next((t for doc in seen if (t := _twin_in(doc, value)) is not None), None)
            if twin is not None:
                out.append((i, path, twin))
    return out


def _flat(obj: Any) -> bool:
    return isinstance(obj, dict) and 0 < len(obj) <= 8 and all(not isinstance(v, dict | list) for v in obj.values())


def _near(a: Any, b: Any) -> bool:
    """Two values a glance confuses: one character apart (a digit of a card's last four, a balance)."""
    a, b = str(a), str(b)
    if len(a) != len(b):
        return False
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _twin_in(doc: Any, key: str) -> str | None:
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            mine = node.get(key)
            if isinstance(mine, dict) and _flat(mine):
                for other, obj in node.items():
                    if other == key or not _flat(obj) or set(obj) != set(mine):
                        continue
                    differ = [k for k in mine if obj[k] != mine[k] and obj[k] != other]
                    if len(differ) == 1 and _near(obj[differ[0]], mine[differ[0]]):
                        return str(other)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return None


def _empty_reads(plan: Plan) -> list[int]:
    """Reads that came back empty (an empty list or object) and after which the reference goes on."""
    last = len(plan.calls) - 1
    return [i for i, r in enumerate(plan.results) if i < last and not plan.writes[i] and not r.is_error
            and (doc := _json(r.content)) is not None and isinstance(doc, list | dict) and not doc]


def _sums(plan: Plan) -> list[tuple[int, tuple[Any, ...]]]:
    """(write, path of the last number): a list argument of two or more items that each hold a number."""
    out = []
    for i in _distinct_writes(plan):
        for key, value in plan.calls[i].arguments.items():
            if isinstance(value, list) and len(value) >= 2:
                numbers = [[p for p, v in leaves({"x": item}) if isinstance(v, int | float)
                            and not isinstance(v, bool)] for item in value]
                if all(numbers):
                    out.append((i, (key, len(value) - 1, *numbers[-1][-1][1:])))
    return out


def _asked_write(plan: Plan) -> PlannedCall | None:
    """The write the user asks for in a task whose reference makes none: a write tool whose verb the
    instruction says and whose required arguments the reference's lookups name."""
    if any(plan.writes):
        return None
    words = set(re.findall(r"[a-z]+", plan.task.instruction.lower()))
    known: dict[str, Any] = {}
    for call in plan.calls:
        known.update({k: v for k, v in call.arguments.items() if isinstance(v, str)})
    for tool in plan.task.tools:
        verb = tool.name.split("_")[0]
        if not tool.writes or not words & set(_SAID.get(verb, (verb,))):
            continue
        required = tool.parameters.get("required", [])
        if required and all(p in known for p in required):
            return PlannedCall(name=tool.name, arguments={p: known[p] for p in required})
    return None


def _handoff_tool(plan: Plan) -> str | None:
    tool = handoff_tool(plan.task.tools)
    return tool.name if tool is not None else None


def _escalates(plan: Plan) -> bool:
    tool = _handoff_tool(plan)
    return bool(tool and plan.calls and _HUMAN.search(plan.task.instruction)
                and not any(c.name == tool for c in plan.calls))


def _side_outputs(plan: Plan) -> list[str]:
    """Required outputs a read gave and no write result shows, in a task with writes."""
    if not plan.write_indices:
        return []
    wrote = " ".join(plan.results[i].content for i in plan.write_indices)
    read = " ".join(r.content for i, r in enumerate(plan.results) if not plan.writes[i])
    return [o for o in plan.task.checks.required_outputs if o and o in read and o not in wrote]


def _errors(plan: Plan) -> list[int]:
    return list(plan.transient_indices)
