"""Tool schemas: the traces' own OpenAI function schemas, else inferred from the recorded calls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.state import looks_like_key
from clawloop_synth.types import Trace

__all__ = ["ENUM_MAX", "distinct_observations", "infer_parameters", "recorded_schemas", "tool_schemas"]

ENUM_MAX = 6  # an argument (not an id) with at most this many distinct strings, each seen twice, is an enum
# "Seen twice" counts distinct observations: the same call in several trials of one task (benchmarks
# record 4 or more trials per task) is one observation, else a task's own ids (a reservation, a user)
# would read as the only values the argument may take.


def recorded_schemas(traces: Iterable[Trace]) -> dict[str, dict[str, Any]]:
    """name -> {"description", "parameters"} from the traces' ``tools`` lists (first seen wins)."""
    out: dict[str, dict[str, Any]] = {}
    for trace in traces:
        for tool in trace.tools:
            function = tool.get("function", tool) if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                continue
            out.setdefault(function["name"], {"description": str(function.get("description") or ""),
                                              "parameters": function.get("parameters") or {"type": "object",
                                                                                           "properties": {}}})
    return out


def _type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _schema(values: Sequence[Any], enums: bool = True) -> dict[str, Any]:
    types = {_type_of(v) for v in values}
    if types == {"integer", "number"}:
        types = {"number"}
    if len(types) != 1:
        return {}
    kind = types.pop()
    schema: dict[str, Any] = {"type": kind}
    if kind == "string" and enums:
        distinct = sorted(set(values))
        if len(distinct) <= ENUM_MAX and len(values) >= 2 * len(distinct) and len(distinct) > 1:
            schema["enum"] = distinct
    elif kind == "array":
        items = [item for value in values for item in value]
        if items:
            schema["items"] = _schema(items, enums)
    elif kind == "object":
        schema.update(_object(values, enums))
    return schema


def _object(values: Sequence[dict[str, Any]], enums: bool) -> dict[str, Any]:
    names: list[str] = []
    for value in values:
        names.extend(name for name in value if name not in names)
    # An id (``reservation_id``) takes any key of its collection, however few the traces name.
    properties = {name: _schema([v[name] for v in values if name in v], enums and not looks_like_key(name))
                  for name in names}
    required = [name for name in names if all(name in v for v in values)]
    return {"properties": properties, "required": required}


def infer_parameters(examples: Sequence[Example]) -> dict[str, Any]:
    """A JSON Schema for the calls' arguments: types, required fields, enums seen."""
    schema: dict[str, Any] = {"type": "object"}
    schema.update(_object([e.args for e in examples], enums=True))
    return schema


def distinct_observations(examples: Sequence[Example], task_of: dict[str, str]) -> list[Example]:
    """The calls with repeats of one call within one task's trials dropped (first kept)."""
    seen: set[tuple[str, str]] = set()
    out: list[Example] = []
    for example in examples:
        key = (task_of.get(example.trace_id, example.trace_id), json.dumps(example.args, sort_keys=True, default=str))
        if key not in seen:
            seen.add(key)
            out.append(example)
    return out


def tool_schemas(traces: Iterable[Trace], examples: dict[str, list[Example]]) -> dict[str, dict[str, Any]]:
    """Every tool called in the traces: its recorded schema, else one inferred from its calls."""
    traces = list(traces)
    recorded = recorded_schemas(traces)
    task_of = {trace.id: str(trace.task_id or trace.id) for trace in traces}
    out: dict[str, dict[str, Any]] = {}
    for name in sorted(set(recorded) | set(examples)):
        if name in recorded:
            out[name] = recorded[name]
        else:
            calls = examples.get(name, [])
            out[name] = {"description": f"{name.replace('_', ' ')} (schema inferred from {len(calls)} recorded calls)",
                         "parameters": infer_parameters(distinct_observations(calls, task_of))}
    return out
