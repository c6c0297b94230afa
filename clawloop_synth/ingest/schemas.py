"""Tool schemas from any dialect as JSON Schema (draft 2020-12) that no later stage can choke on.

Sources write parameter schemas in their own dialects: BFCL uses ``dict``, ``float``, ``tuple`` and
``any``; Java and JavaScript tasks use ``String``, ``HashMap``, ``long``, ``ArrayList<Integer>``,
``int[]``. :func:`normalize_tools` maps every known type name to its JSON Schema type, recursively
through ``properties``, ``items`` and the combinators; an unknown name becomes no type constraint
(any value). Whatever is still not a valid schema afterwards (checked with ``jsonschema``) loses only
the keyword that breaks it, so the trace is kept and a stage validating calls never raises.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

__all__ = ["SchemaCounts", "normalize_schema", "normalize_tools"]

_JSON_TYPES = {"object", "array", "string", "number", "integer", "boolean", "null"}

# Lower-cased dialect name -> JSON Schema type. Generic arguments and array brackets are read
# separately (``List<String>``, ``int[]``), so only the bare names are listed.
_ALIASES: dict[str, str] = {
    **{name: "object" for name in ("dict", "map", "hashmap", "treemap", "linkedhashmap", "hashtable",
                                   "record", "struct", "mapping", "json", "jsonobject")},
    **{name: "array" for name in ("list", "tuple", "arraylist", "linkedlist", "set", "hashset", "treeset",
                                  "vector", "sequence", "collection", "iterable", "queue", "deque", "stack",
                                  "jsonarray")},
    **{name: "string" for name in ("str", "char", "character", "text", "charsequence", "date", "datetime",
                                   "uuid", "bytes")},
    **{name: "number" for name in ("float", "double", "decimal", "bigdecimal", "real", "float32", "float64",
                                   "numeric")},
    **{name: "integer" for name in ("int", "long", "short", "byte", "bigint", "biginteger", "int32", "int64",
                                    "uint", "unsigned", "atomicinteger")},
    **{name: "boolean" for name in ("bool",)},
    **{name: "null" for name in ("none", "nil", "void")},
}
_ANY = {"any", "mixed", "unknown", "*"}
_GENERIC = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*<(.*)>\s*$")
_BRACKETS = re.compile(r"^\s*(.+?)\s*\[\s*\]\s*$")
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = ("additionalProperties", "not", "if", "then", "else", "contains", "propertyNames",
               "unevaluatedItems", "unevaluatedProperties", "additionalItems")
_MAX_REPAIRS = 100


class SchemaCounts:
    """What normalization changed, for ``ingest.json``."""

    def __init__(self) -> None:
        self.types: Counter[str] = Counter()  # "dict -> object": n
        self.unknown: Counter[str] = Counter()  # type names taken as any value
        self.repaired: Counter[str] = Counter()  # keyword dropped because the schema was still invalid
        self.tools_changed = 0
        self.cache = _Cache()

    def merge(self, other: SchemaCounts) -> None:
        """Add ``other``'s counts (its cache stays its own)."""
        self.types.update(other.types)
        self.unknown.update(other.unknown)
        self.repaired.update(other.repaired)
        self.tools_changed += other.tools_changed

    def summary(self) -> dict[str, Any]:
        return {"tools_changed": self.tools_changed, "types": dict(self.types.most_common()),
                "unknown_types_as_any": dict(self.unknown.most_common()),
                "invalid_keywords_dropped": dict(self.repaired.most_common())}


def _type_schema(name: str, counts: SchemaCounts) -> dict[str, Any] | None:
    """The schema for one type name (``None``: any value)."""
    if name in _JSON_TYPES:
        return {"type": name}
    lowered = name.strip().lower()
    if lowered in _JSON_TYPES:
        counts.types[f"{name} -> {lowered}"] += 1
        return {"type": lowered}
    bracket = _BRACKETS.match(name)
    if bracket:
        counts.types[f"{name} -> array"] += 1
        item = _type_schema(bracket.group(1), counts)
        return {"type": "array", **({"items": item} if item else {})}
    generic = _GENERIC.match(name)
    if generic:
        outer = _type_schema(generic.group(1), counts)
        if outer and outer.get("type") == "array":
            args = [a for a in generic.group(2).split(",") if a.strip()]
            item = _type_schema(args[0].strip(), counts) if len(args) == 1 else None
            return {"type": "array", **({"items": item} if item else {})}
        return outer
    alias = _ALIASES.get(lowered.rsplit(".", 1)[-1])
    if alias:
        counts.types[f"{name} -> {alias}"] += 1
        return {"type": alias}
    counts.unknown["any" if lowered in _ANY else name] += 1
    return None


def _normalize_type(schema: dict[str, Any], counts: SchemaCounts) -> None:
    raw = schema.get("type")
    if raw is None:
        return
    names = raw if isinstance(raw, list) else [raw]
    if not all(isinstance(n, str) for n in names):
        return  # not a type name at all: the jsonschema check below drops it
    parts = [_type_schema(n, counts) for n in names]
    if any(p is None for p in parts):
        del schema["type"]  # one alternative is "any value": the union is any value
        return
    types = list(dict.fromkeys(p["type"] for p in parts if p))
    schema["type"] = types[0] if len(types) == 1 else types
    items = [p["items"] for p in parts if p and "items" in p]
    if items and "items" not in schema:
        schema["items"] = items[0]


def _walk(schema: Any, counts: SchemaCounts) -> Any:
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    _normalize_type(out, counts)
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: _walk(sub, counts) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [_walk(sub, counts) for sub in out[key]]
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), dict):
            out[key] = _walk(out[key], counts)
    items = out.get("items")
    if isinstance(items, list):  # draft-4 tuple form; 2020-12 calls it prefixItems
        out["prefixItems"] = [_walk(sub, counts) for sub in items]
        del out["items"]
        counts.types["items[] -> prefixItems"] += 1
    elif isinstance(items, dict):
        out["items"] = _walk(items, counts)
    return out


def _drop(schema: dict[str, Any], path: list[Any]) -> bool:
    """Remove the keyword at ``path`` (inside ``schema``); False if there is nothing to remove."""
    if not path:
        return False
    parent: Any = schema
    for part in path[:-1]:
        try:
            parent = parent[part]
        except (KeyError, IndexError, TypeError):
            return False
    last = path[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
        return True
    if isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        del parent[last]
        return True
    return False


def _repair(schema: dict[str, Any], counts: SchemaCounts) -> dict[str, Any]:
    """Drop the keywords ``jsonschema`` rejects, one at a time, until the schema is valid."""
    import jsonschema
    from jsonschema.exceptions import SchemaError

    checker = jsonschema.Draft202012Validator
    for _ in range(_MAX_REPAIRS):
        try:
            checker.check_schema(schema)
            list(checker(schema).iter_errors({}))  # e.g. an unresolvable $ref only fails here
            return schema
        except SchemaError as exc:
            path = list(exc.path)
            # The error is on a keyword's value (path ends at it) or on a whole sub-schema (the
            # keyword that holds it is the last path part): either way that one keyword goes.
            keyword = next((str(p) for p in reversed(path) if isinstance(p, str)), "(root)")
            if not _drop(schema, path):
                counts.repaired["(whole schema)"] += 1
                return {"type": "object"}
            counts.repaired[keyword] += 1
        except Exception:  # noqa: BLE001 - any failure to use it: no constraint rather than a crash
            counts.repaired["(whole schema)"] += 1
            return {"type": "object"}
    counts.repaired["(whole schema)"] += 1
    return {"type": "object"}


def normalize_schema(schema: Any, counts: SchemaCounts | None = None) -> dict[str, Any]:
    """One parameters schema as valid JSON Schema 2020-12 (``{"type": "object"}`` if nothing is left)."""
    counts = counts or SchemaCounts()
    if not isinstance(schema, dict):
        counts.repaired["(whole schema)"] += 1
        return {"type": "object"}
    return _repair(_walk(schema, counts), counts)


_Result = tuple[dict[str, Any], Counter[str], Counter[str], Counter[str]]


class _Cache:
    """Normalized schemas by content: traces of one source repeat the same tools thousands of times,
    and a ``jsonschema`` check costs milliseconds."""

    def __init__(self) -> None:
        self.results: dict[bytes, _Result] = {}

    def get(self, schema: Any) -> _Result:
        import orjson

        key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS, default=str)
        found = self.results.get(key)
        if found is None:
            fresh = SchemaCounts()
            found = (normalize_schema(schema, fresh), fresh.types, fresh.unknown, fresh.repaired)
            if len(self.results) < _CACHE_SIZE:
                self.results[key] = found
        return found


_CACHE_SIZE = 10_000


def normalize_tools(tools: list[dict[str, Any]], counts: SchemaCounts) -> list[dict[str, Any]]:
    """Every tool's ``parameters`` (OpenAI ``{"function": {...}}`` form or bare) normalized;
    ``tools`` itself when nothing changed."""
    out = []
    changed = False
    for tool in tools:
        inner = tool.get("function")
        function: dict[str, Any] = inner if isinstance(inner, dict) else tool
        if "parameters" not in function:
            out.append(tool)
            continue
        parameters, types, unknown, repaired = counts.cache.get(function["parameters"])
        if not (types or unknown or repaired):
            out.append(tool)
            continue
        counts.types.update(types)
        counts.unknown.update(unknown)
        counts.repaired.update(repaired)
        counts.tools_changed += 1
        changed = True
        fixed = {**function, "parameters": parameters}
        out.append({**tool, "function": fixed} if function is not tool else fixed)
    return out if changed else tools
