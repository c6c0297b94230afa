"""What may cross from a handler back to the host: JSON in the strict sense, bounded in depth and size.

A handler's result and the state it leaves behind are checked where they are produced (inside the
limits, in the worker process for isolated handlers), so the host never walks, copies, compares or
prints a structure a handler built: a list DAG 26 levels deep (2**26 leaves reachable from 27
lists), a cycle, 200 levels of nesting, a NaN, an integer JSON readers cannot hold, or a lone
surrogate (valid in a Python ``str``, not in UTF-8: it would crash every later write of the text).

The walk is plain Python on purpose: it is interruptible by the CPU timer, unlike one C call of
``json.dumps`` over a DAG.
"""

from __future__ import annotations

import json
import math
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_NODES", "BoundaryError", "check_json", "check_text", "encode_result"]

MAX_DEPTH = 64  # nesting of containers; real states and results stay under 10
MAX_NODES = 1_000_000  # values reachable by the walk (a DAG counts each path)
_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what orjson (the host's reader) holds exactly


class BoundaryError(BaseException):
    """A value may not cross; a BaseException so a handler's ``except Exception`` cannot hide it."""


def check_text(text: str, what: str) -> None:
    """Refuse a string with a lone surrogate (it cannot be written as UTF-8)."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BoundaryError(f"{what} contains a lone surrogate (not valid Unicode)") from None


def check_json(value: Any, what: str, *, str_keys: bool = True, max_depth: int = MAX_DEPTH,
               max_nodes: int = MAX_NODES, max_bytes: int | None = None) -> None:
    """Raise :class:`BoundaryError` unless ``value`` is strict, bounded JSON.

    ``str_keys``: object keys must be strings (the state); else ints, floats, bools and None are
    allowed too and become strings, as ``json.dumps`` writes them (a result). ``max_bytes``: refuse
    before encoding when a rough estimate of the encoded size (strings at up to 4 bytes a
    character when not ASCII) passes it, so no encoder ever runs out of memory.
    """
    stack: list[tuple[Any, int]] = [(value, 0)]
    nodes = 0
    size = 0
    budget = max_bytes if max_bytes is not None else 1 << 62
    while stack:
        item, depth = stack.pop()
        nodes += 1
        if nodes > max_nodes:
            raise BoundaryError(f"{what} has more than {max_nodes} values (a shared or cyclic structure?)")
        kind = type(item)
        size += 8
        if kind is str:
            check_text(item, what)
            size += len(item) if item.isascii() else 4 * len(item)
            if size > budget:
                raise BoundaryError(f"{what} is larger than the limit of {budget} bytes")
        elif kind is int:
            if not _INT_MIN <= item <= _INT_MAX:
                raise BoundaryError(f"{what} holds an integer beyond the 64-bit range")
        elif kind is float:
            if not math.isfinite(item):
                raise BoundaryError(f"{what} is not JSON: {item!r} is not a JSON number")
        elif item is None or kind is bool:
            pass
        elif kind is dict or kind is list or kind is tuple:
            if depth >= max_depth:
                raise BoundaryError(f"{what} is nested deeper than {max_depth} levels (or is cyclic)")
            if kind is dict:
                for key, child in item.items():
                    if type(key) is str:
                        check_text(key, what)
                        size += len(key) if key.isascii() else 4 * len(key)
                    elif str_keys or not (key is None or type(key) in (int, float, bool)):
                        raise BoundaryError(f"{what} is not JSON: a key of type {type(key).__name__}")
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)
        else:
            raise BoundaryError(f"{what} is not JSON: a value of type {kind.__name__}")


def encode_result(value: Any, max_chars: int, *, walk: bool = True) -> str:
    """The result as the agent sees it: a str as-is, anything else as ``json.dumps`` text.

    ``walk=False`` (trusted handlers) skips the structural walk; the encoding is strict either way.
    """
    if isinstance(value, str):
        check_text(value, "the result")
        text = value
    else:
        if walk:  # every value costs at least two characters of the text, so the cap bounds the walk too
            check_json(value, "the result", str_keys=False, max_nodes=max(1000, max_chars // 2))
        try:
            text = json.dumps(value, allow_nan=False)
        except (TypeError, ValueError) as exc:
            message = str(exc)
            raise BoundaryError(f"the result is not JSON: {message[:300]}") from None
        if not walk and "\\ud" in text:
            check_json(value, "the result", str_keys=False)  # exact: a pair is fine, a lone half is not
    if len(text) > max_chars:
        raise BoundaryError(f"result of {len(text)} characters exceeds the limit of {max_chars}")
    return text
