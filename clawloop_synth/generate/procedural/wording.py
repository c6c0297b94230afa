"""Request wording from real traces: first user messages with their entities replaced by slots.

In a trace that made a write, the recorded argument values and the fields of the entities they name are
replaced by slots (``{arg:amount}``, ``{source.owner}``); the generic kit (``generic.py``) fills the slots
from a new scenario, so an induced pack speaks its users' language.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.generate.graph import leaf_strings
from clawloop_synth.sim.pack import DomainPack, State
from clawloop_synth.types import ToolSpec, Trace

__all__ = ["RequestTemplate", "brief", "request_templates", "slot_values", "write_answer"]

_MIN_SLOT = 2  # shorter values (a "1", a "y") would be replaced inside ordinary words


@dataclass
class RequestTemplate:
    """A real first user message with its entities replaced by slots, for one write tool."""

    tool: str
    text: str
    slots: list[str] = field(default_factory=list)  # "arg:NAME" or "NAME.FIELD" (a field of the entity NAME keys)


def _first_user(trace: Trace) -> str | None:
    return next((m.content for m in trace.messages if m.role == "user" and m.content), None)


def _named_entities(pack: DomainPack, state: State, args: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Argument name -> the entity its value is the key of (the first collection that has it)."""
    out = {}
    for arg, value in args.items():
        if not isinstance(value, str):
            continue
        for collection in pack.collections:
            entity = state.get(collection, {}).get(value) if isinstance(state.get(collection), dict) else None
            if isinstance(entity, dict):
                out[arg] = entity
                break
    return out


def slot_values(pack: DomainPack, state: State, args: dict[str, Any]) -> dict[str, str]:
    """Slot -> text: ``arg:NAME`` for the call's arguments, ``NAME.FIELD`` for fields of the entity it names."""
    values: dict[str, str] = {}
    for arg, value in args.items():
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            values[f"arg:{arg}"] = str(value)
    for arg, entity in _named_entities(pack, state, args).items():
        for key, value in entity.items():
            if isinstance(value, str) and len(value) >= 3:
                values[f"{arg}.{key}"] = value
            elif isinstance(value, dict):  # one level down: a name split into first and last
                for sub, inner in value.items():
                    if isinstance(inner, str) and len(inner) >= 3:
                        values[f"{arg}.{key}.{sub}"] = inner
    return {slot: text for slot, text in values.items() if len(text) >= _MIN_SLOT}


def _templatize(message: str, values: dict[str, str]) -> RequestTemplate | None:
    # Longest values first, so "A-1001" is not cut by a shorter "1001"; braces of the text are escaped.
    text = message.replace("{", "(").replace("}", ")")
    slots: list[str] = []
    for slot, value in sorted(values.items(), key=lambda item: -len(item[1])):
        pattern = re.compile(r"(?<![\w-])" + re.escape(value) + r"(?![\w-])")
        if pattern.search(text):
            text = pattern.sub("{" + slot + "}", text)
            slots.append(slot)
    return RequestTemplate(tool="", text=text, slots=slots) if slots else None


def request_templates(pack: DomainPack, state: State, traces: list[Trace],
                      reads: bool = False) -> dict[str, list[RequestTemplate]]:
    """Per write tool, the first user messages of traces that made that write, with entities as slots.

    With ``reads``: per read tool, the first messages of traces that made no write, by their first lookup.
    """
    out: dict[str, list[RequestTemplate]] = {}
    seen: set[tuple[str, str]] = set()
    for trace in traces:
        message = _first_user(trace)
        if not message:
            continue
        steps = trace.tool_steps()
        if reads and any(step.call.name in pack.write_tools for step in steps):
            continue
        for step in steps:
            if (step.call.name in pack.write_tools) == reads or step.is_error or step.result is None:
                continue
            template = _templatize(message, slot_values(pack, state, dict(step.call.arguments)))
            if template is not None and (step.call.name, template.text) not in seen:
                seen.add((step.call.name, template.text))
                template.tool = step.call.name
                out.setdefault(step.call.name, []).append(template)
            break  # the first write is what the opening message asks for
    return out


def brief(value: Any) -> str:
    return ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else \
        "; ".join(brief(v) for v in value) if isinstance(value, list) else str(value)


def write_answer(tool: ToolSpec, result: Any, instruction: str) -> tuple[str, list[str]]:
    """The answer states the write's result; required outputs are result values the request did not say."""
    scalars = [(k, v) for k, v in result.items() if isinstance(v, str | int | float) and not isinstance(v, bool)] \
        if isinstance(result, dict) else []
    fresh = [str(v) for _, v in scalars if len(str(v)) >= 2 and str(v) not in instruction]
    strings = [s for _, s in leaf_strings(result) if len(s) >= 3 and s not in instruction] if not fresh else []
    # Two candidates: the kit drops a key the simulator generated (see ``generated_keys``), so the
    # second is what stays when the first is a new entity's id.
    outputs = (fresh or strings)[:2]
    # The first fields, and every output among the later ones: the answer states what it is checked for.
    stated = scalars[:6] + [(k, v) for k, v in scalars[6:] if str(v) in outputs]
    shown = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in stated) if scalars else str(result)[:200]
    return f"Done ({tool.name.replace('_', ' ')}): {shown}.", outputs
