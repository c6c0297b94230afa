"""JSON state helpers: a fast deep copy and a readable diff."""

from __future__ import annotations

import copy
import json
import marshal
from typing import Any

__all__ = ["copy_state", "diff_paths", "format_path"]


def copy_state(state: Any) -> Any:
    """A deep copy of a JSON-like value.

    ``marshal`` round-trips dicts, lists, strings and numbers in C (about 8x faster than
    ``copy.deepcopy`` on a task state); anything it cannot hold falls back to ``deepcopy``.
    """
    try:
        return marshal.loads(marshal.dumps(state))
    except ValueError:
        return copy.deepcopy(state)


def format_path(path: tuple[Any, ...]) -> str:
    """``("users", "u1", "tags", 0)`` -> ``users.u1.tags[0]``; odd keys are quoted."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif isinstance(part, str) and part.isidentifier():
            out += f".{part}"
        else:
            out += f"[{json.dumps(part) if isinstance(part, str) else repr(part)}]"
    return out


def diff_paths(expected: Any, actual: Any, limit: int = 5) -> list[tuple[tuple[Any, ...], Any, Any]]:
    """Up to ``limit`` paths where ``actual`` differs from ``expected``, with both values there.

    A missing key is reported with the value ``<missing>``. Equal subtrees are skipped with one C
    comparison, so the cost is proportional to the differences, not to the state.
    """
    found: list[tuple[tuple[Any, ...], Any, Any]] = []

    def walk(a: Any, b: Any, path: tuple[Any, ...]) -> None:
        if len(found) >= limit or a == b:
            return
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a:
                if key not in b:
                    found.append((path + (key,), a[key], MISSING))
                else:
                    walk(a[key], b[key], path + (key,))
                if len(found) >= limit:
                    return
            for key in b:
                if key not in a:
                    found.append((path + (key,), MISSING, b[key]))
                    if len(found) >= limit:
                        return
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for index, (x, y) in enumerate(zip(a, b, strict=True)):
                walk(x, y, path + (index,))
                if len(found) >= limit:
                    return
        else:
            found.append((path, a, b))

    walk(expected, actual, ())
    return found


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING = _Missing()
