"""Bounded tool results, and the completion length a task's reference tool loop needs.

A trainer's tool loop (TRL's ``GRPOTrainer`` with ``environment_factory``) appends every tool
result to the completion, so long results use up ``max_completion_length`` after a call or two.
:func:`shown_result` makes a result shorter in two steps: in the ``lines`` format a JSON object or
list is written as ``key: value`` lines (the same content without the quotes, braces and commas,
which are a large share of a JSON text's tokens; a list of two or more objects with the same fields is a
table, its field names written once instead of once per row), then :func:`bound_result` cuts it to ``max_chars``
and says so inside the result, so the model sees that something was left out.
:func:`completion_lengths` measures, per task, what the reference's loop adds to the completion:
each call (name and JSON arguments), each shown result and the final answer, counted with
:func:`clawloop_synth.export.tokens.counter` (chat-template tokens are not counted).
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable
from typing import Any

__all__ = ["DEFAULT_MAX_TOOL_RESULT_CHARS", "RESULT_FORMATS", "TRL_DEFAULT_MAX_COMPLETION_LENGTH", "as_lines",
           "bound_result", "completion_lengths", "episode_text", "field_lines", "shown_result"]

# A guard against a result that would fill a context on its own, not a compression. Measured on the airline
# run's 325 tasks (evals/rl_completion_airline.py; the lines format, repeats as differences): the share of
# reference tool loops within 1,024 WordPiece tokens is 70% whatever the bound down to 1,000 characters, but at
# 1,000 a cut hides a value the reference sends next (a reservation id in a user's profile, a flight of a one-stop
# search) in 26 tasks, 4 at 2,000, none at 8,000 (the longest airline result is 6,756 characters). A bound that
# fits 90% of the loops in 1,024 tokens (300) hides such a value in 85% of the tasks.
DEFAULT_MAX_TOOL_RESULT_CHARS = 8000
RESULT_FORMATS = ("lines", "json")  # json: the result text exactly as the simulator returned it
TRL_DEFAULT_MAX_COMPLETION_LENGTH = 512  # GRPOConfig.max_completion_length in TRL 1.16
_MARK = "[cut: {cut:,} of {total:,} characters not shown (max_tool_result_chars={limit})]"


def bound_result(content: str, max_chars: int | None) -> str:
    """``content`` cut to ``max_chars`` characters plus a mark saying how much was cut (None or 0: as is)."""
    if not max_chars or len(content) <= max_chars:
        return content
    return content[:max_chars] + " " + _MARK.format(cut=len(content) - max_chars, total=len(content), limit=max_chars)


def _scalar(value: Any) -> str:
    if isinstance(value, str):
        # a string that would read as something else (empty, multi-line, padded) keeps its quotes
        plain = value and value == value.strip() and "\n" not in value
        return value if plain else json.dumps(value, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)


def _flat(row: dict[str, Any], prefix: str = "") -> dict[str, Any] | None:
    """A row's scalar fields with nested objects' fields as ``outer.inner``; None when a field is a list."""
    flat: dict[str, Any] = {}
    for key, item in row.items():
        if isinstance(item, dict) and item:
            inner = _flat(item, f"{prefix}{key}.")
            if inner is None:
                return None
            flat.update(inner)
        elif isinstance(item, list) and item:
            return None
        else:
            flat[f"{prefix}{key}"] = item
    return flat


def _rows(value: list[Any]) -> list[dict[str, Any]] | None:
    """Two or more rows of the same flattened fields, or None (rows of other shapes stay ``key: value`` lines)."""
    if len(value) < 2 or not all(isinstance(row, dict) and row for row in value):
        return None
    rows = [_flat(row) for row in value]
    if any(row is None for row in rows) or len({tuple(row) for row in rows if row is not None}) != 1:
        return None
    if any("|" in str(cell) for row in rows if row for cell in [*row, *row.values()]):
        return None  # a cell with the separator would read as two
    return [row for row in rows if row is not None]


def _constant(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Fields with one value in every row of three or more (written once, not once per row)."""
    if len(rows) < 3:
        return {}
    first = rows[0]
    return {key: value for key, value in first.items() if all(row[key] == value for row in rows[1:])
            and len(first) > 1}


def _header(count: str, rows: list[dict[str, Any]], same: dict[str, Any]) -> str:
    columns = " | ".join(key for key in rows[0] if key not in same)
    constant = "; in every row: " + " | ".join(f"{k} {_scalar(v)}" for k, v in same.items()) if same else ""
    return f"{count}: {columns}{constant}"


def _cells(row: dict[str, Any], same: dict[str, Any]) -> str:
    return " | ".join(_scalar(cell) for key, cell in row.items() if key not in same)


def _table(value: list[Any], indent: str) -> list[str] | None:
    """Rows of the same fields as ``a | b`` under one header line; None when the rows differ in shape.

    A field with one value in every row is written once in the header. A list of such tables with
    the same fields (e.g. connecting flights) shares one header: ``-`` starts each table's first row.
    """
    rows = _rows(value)
    if rows is not None:
        same = _constant(rows)
        return [indent + _header(f"{len(rows)} rows", rows, same), *(f"{indent}- {_cells(r, same)}" for r in rows)]
    groups = [_rows(item) if isinstance(item, list) else None for item in value]
    if len(groups) < 2 or any(g is None for g in groups) or len({tuple(g[0]) for g in groups if g}) != 1:
        return None
    every = [row for group in groups if group for row in group]
    same = _constant(every)
    out = [indent + _header(f"{len(groups)} items of {'/'.join(sorted({str(len(g or [])) for g in groups}))} rows",
                            every, same)]
    for group in groups:
        out += [f"{indent}{'- ' if i == 0 else '  '}{_cells(row, same)}" for i, row in enumerate(group or [])]
    return out


def _lines(value: Any, indent: str = "") -> list[str]:
    out: list[str] = []
    if isinstance(value, list) and (table := _table(value, indent)) is not None:
        return table
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict | list) and item:
                out.append(f"{indent}{key}:")
                out += _lines(item, indent + "  ")
            else:
                out.append(f"{indent}{key}: {_scalar(item)}")
    else:
        for item in value:
            if isinstance(item, dict | list) and item:
                nested = _lines(item, indent + "  ")
                out += [f"{indent}- {nested[0].lstrip()}", *nested[1:]]
            else:
                out.append(f"{indent}- {_scalar(item)}")
    return out


def field_lines(fields: dict[str, Any]) -> list[str]:
    """An object's fields as ``key: value`` lines (none for an empty object)."""
    return _lines(fields) if fields else []


def as_lines(content: str) -> str:
    """A JSON object or list as ``key: value`` lines (nesting by indent, list items by ``-``); other text as is."""
    stripped = content.strip()
    if not stripped or stripped[0] not in "[{":
        return content
    try:
        value = json.loads(stripped)
    except ValueError:
        return content
    if not isinstance(value, dict | list) or not value:
        return content
    return "\n".join(_lines(value))


def shown_result(content: str, fmt: str = "lines", max_chars: int | None = DEFAULT_MAX_TOOL_RESULT_CHARS) -> str:
    """What the agent is shown for a tool result: in ``fmt`` (lines or json), cut to ``max_chars``."""
    if fmt not in RESULT_FORMATS:
        raise ValueError(f"unknown tool result format {fmt!r} (known: {', '.join(RESULT_FORMATS)})")
    return bound_result(as_lines(content) if fmt == "lines" else content, max_chars)


def episode_text(results: Iterable[tuple[str, dict[str, Any], str, bool]], answer: str) -> list[str]:
    """The pieces of a reference episode's completion: each call, each result, the final answer."""
    pieces = []
    for name, arguments, content, _ in results:
        pieces.append(json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False))
        pieces.append(content)
    pieces.append(answer)
    return pieces


def completion_lengths(episodes: Iterable[list[str]], max_tool_result_chars: int | None,
                       fmt: str = "lines") -> dict[str, Any]:
    """Median, max and the share within common limits of the episodes' token counts."""
    from clawloop_synth.export.tokens import counter

    count, unit = counter()
    lengths = sorted(sum(count(piece) for piece in pieces) for pieces in episodes)
    if not lengths:
        return {"tasks": 0, "counted_with": unit, "max_tool_result_chars": max_tool_result_chars,
                "tool_result_format": fmt}
    return {
        "tasks": len(lengths), "counted_with": unit, "max_tool_result_chars": max_tool_result_chars,
        "tool_result_format": fmt,
        "median": int(statistics.median(lengths)), "p90": lengths[max(0, math.ceil(0.9 * len(lengths)) - 1)],
        "max": lengths[-1],
        "within": {str(limit): round(sum(n <= limit for n in lengths) / len(lengths), 4)
                   for limit in (TRL_DEFAULT_MAX_COMPLETION_LENGTH, 1024, 2048, 4096)},
    }
