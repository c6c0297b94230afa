"""A fast yes for tool arguments that plainly fit their JSON Schema, so jsonschema runs only on the rest.

Validating every call with jsonschema costs about as much as the rest of mining a trace, and almost
every call is valid. Tool parameter schemas are nearly always plain: objects of typed properties, some
required, arrays of such, string enums. For a schema made only of those keywords, :func:`quick_check`
gives a function that returns True only when the value is valid (it may say False for a valid value, such
as ``1.0`` for an integer; the caller then asks jsonschema, which also words the errors). Any other
keyword (patterns, bounds, ``anyOf``, references) makes the schema not quick: None, jsonschema decides.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["quick_check"]

Check = Callable[[Any], bool]

# Keywords that never make a value invalid.
_NOTES = frozenset({"description", "title", "default", "examples", "$comment", "$schema", "deprecated",
                    "readOnly", "writeOnly"})
_KNOWN = _NOTES | {"type", "properties", "required", "additionalProperties", "items", "enum"}
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


def quick_check(schema: Any) -> Check | None:
    """A sure-valid test for values of ``schema``, or None when the schema uses more than the plain keywords."""
    if schema is True or schema == {}:
        return lambda v: True
    if not isinstance(schema, dict) or not set(schema) <= _KNOWN:
        return None
    parts: list[Check] = []
    kind = schema.get("type")
    if kind is not None:
        if not isinstance(kind, str) or kind not in _TYPES:
            return None
        parts.append(_TYPES[kind])
    if "enum" in schema:
        options = schema["enum"]
        if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
            return None  # enum equality of numbers and booleans has its own rules: left to jsonschema
        allowed = frozenset(options)
        parts.append(lambda v: isinstance(v, str) and v in allowed)
    if "items" in schema:
        item = quick_check(schema["items"])
        if item is None:
            return None
        parts.append(lambda v: not isinstance(v, list) or all(item(x) for x in v))
    if {"properties", "required", "additionalProperties"} & set(schema):
        fields = _object_check(schema)
        if fields is None:
            return None
        parts.append(fields)
    return lambda v: all(part(v) for part in parts)


def _object_check(schema: dict[str, Any]) -> Check | None:
    properties, required = schema.get("properties", {}), schema.get("required", [])
    extra = schema.get("additionalProperties", True)
    if (not isinstance(properties, dict) or not isinstance(required, list)
            or not all(isinstance(r, str) for r in required) or not isinstance(extra, bool)):
        return None
    checks: dict[str, Check] = {}
    for name, sub in properties.items():
        check = quick_check(sub)
        if check is None:
            return None
        checks[name] = check

    def fits(v: Any) -> bool:
        if not isinstance(v, dict):
            return True  # only objects are constrained by these keywords; "type" says whether it must be one
        if any(name not in v for name in required):
            return False
        for name, value in v.items():
            check = checks.get(name)
            if check is None:
                if not extra:
                    return False
            elif not check(value):
                return False
        return True

    return fits
