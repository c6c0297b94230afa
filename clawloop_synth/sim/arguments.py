"""Schema-valid argument sets for a tool, to check that its handler survives any call an agent may send.

:func:`sample_arguments` draws from a JSON Schema: enums and constants as given, numbers within their
bounds, objects with their required properties (and some optional ones), and strings taken from a
pool (entity keys and field values of the pack's state, so that some calls reach real entities) or
made up. Every set is checked against the schema; sets that do not validate are not returned.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import jsonschema

__all__ = ["sample_arguments", "string_pool"]

_MAX_DEPTH = 6


def string_pool(state: Any, limit: int = 400) -> list[str]:
    """Short strings found in ``state`` (entity keys first, then field values), in a stable order."""
    keys: list[str] = []
    values: list[str] = []
    if isinstance(state, dict):
        for table in state.values():
            if isinstance(table, dict):
                keys.extend(str(key) for key in list(table)[:20])
    _walk(state, values, limit)
    pool = list(dict.fromkeys([*keys, *values]))
    return [text for text in pool if len(text) <= 80][:limit]


def _walk(value: Any, out: list[str], limit: int) -> None:
    if len(out) >= limit:
        return
    if isinstance(value, str):
        out.append(value)
    elif isinstance(value, dict):
        for item in list(value.values())[:30]:
            _walk(item, out, limit)
    elif isinstance(value, list):
        for item in value[:10]:
            _walk(item, out, limit)


def _bounds(schema: dict[str, Any]) -> tuple[float, float]:
    """A closed range inside the schema's bounds (exclusive bounds moved in by one)."""
    def number(key: str) -> float | None:
        value = schema.get(key)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None

    low = number("minimum")
    if low is None and number("exclusiveMinimum") is not None:
        low = number("exclusiveMinimum") + 1  # type: ignore[operator]
    high = number("maximum")
    if high is None and number("exclusiveMaximum") is not None:
        high = number("exclusiveMaximum") - 1  # type: ignore[operator]
    low = -5.0 if low is None else low
    high = low + 1000 if high is None or high < low else high
    return low, high


def _draw(schema: Any, rng: random.Random, pool: list[str], depth: int) -> Any:
    if not isinstance(schema, dict) or depth > _MAX_DEPTH:
        return rng.choice(pool) if pool else "x"
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            return _draw(rng.choice(schema[key]), rng, pool, depth + 1)
    if isinstance(schema.get("allOf"), list) and schema["allOf"]:
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            if isinstance(part, dict):
                merged.update(part)
        return _draw(merged, rng, pool, depth + 1)
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = rng.choice(kind) if kind else None
    if kind is None:
        kind = "object" if "properties" in schema else "string"
    if kind == "string":
        choices = [*pool, "", "x", "unknown-id-0"] if pool else ["", "x", "unknown-id-0"]
        return rng.choice(choices)
    if kind in ("integer", "number"):
        low, high = _bounds(schema)
        if kind == "integer":
            return rng.choice([int(low), int(high), rng.randint(int(low), int(high))])
        return rng.choice([low, high, round(rng.uniform(low, high), 2)])
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "null":
        return None
    if kind == "array":
        low = schema.get("minItems", 0)
        count = rng.randint(low if isinstance(low, int) else 0, max(low if isinstance(low, int) else 0, 2))
        return [_draw(schema.get("items", {}), rng, pool, depth + 1) for _ in range(count)]
    if kind == "object":
        found = schema.get("properties")
        properties: dict[str, Any] = found if isinstance(found, dict) else {}
        required = [r for r in schema.get("required", []) if isinstance(r, str)]
        out: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or rng.random() < 0.5:
                out[name] = _draw(sub, rng, pool, depth + 1)
        for name in required:
            out.setdefault(name, _draw({}, rng, pool, depth + 1))
        return out
    return rng.choice(pool) if pool else "x"


def sample_arguments(schema: dict[str, Any], n: int, *, seed: str = "",
                     pool: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Up to ``n`` distinct argument objects that validate against ``schema`` (a valid JSON Schema)."""
    rng = random.Random(f"arguments:{seed}")
    strings = list(pool)
    validator = jsonschema.validators.validator_for(schema)(schema)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for _ in range(n * 8):
        if len(out) >= n:
            break
        args = _draw({**schema, "type": "object"}, rng, strings, 0)
        key = repr(sorted(args.items(), key=lambda item: item[0]))
        if key in seen or not validator.is_valid(args):
            continue
        seen.add(key)
        out.append(args)
    return out
