"""Generic argument mutations: the values a careless agent might send instead of the right one.

Alternatives come from the task's own state: a value that is a key of some JSON object (an entity
id in a collection, a payment method id in a user, a date in a flight's calendar) has its sibling
keys as alternatives; enum parameters have their other members; numbers are nudged. Fabricated ids
keep the shape of the value and name nothing in the state.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from typing import Any

import orjson

from clawloop_synth.types import PlannedCall

__all__ = ["Path", "fabricate", "get_at", "leaves", "nudges", "reformat", "set_at", "siblings"]

Path = tuple[str | int, ...]
_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_DIGITS = re.compile(r"\d+")


def leaves(value: Any, path: Path = ()) -> Iterator[tuple[Path, Any]]:
    """Every scalar leaf of a JSON value with its path."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path, value


def get_at(value: Any, path: Path) -> Any:
    for part in path:
        value = value[part]
    return value


def set_at(call: PlannedCall, path: Path, new: Any) -> PlannedCall:
    """A copy of ``call`` with the leaf at ``path`` replaced (or removed when ``new`` is ``...``)."""
    args = orjson.loads(orjson.dumps(call.arguments))
    target = args
    for part in path[:-1]:
        target = target[part]
    if new is ...:
        del target[path[-1]]
    else:
        target[path[-1]] = new
    return PlannedCall(name=call.name, arguments=args)


def siblings(state: Any, value: str, limit: int = 40) -> list[str]:
    """Other keys of every JSON object in ``state`` that has ``value`` as a key."""
    return Siblings(state).of(value, limit)


class Siblings:
    """:func:`siblings` for many values of one state: the walk is made once, and each value's answer
    is read from the objects that hold it as a key, visited in the walk's order (so the same keys in
    the same order as a walk per value)."""

    def __init__(self, state: Any) -> None:
        self._holders: dict[Any, list[dict[Any, Any]]] = {}
        stack = [state]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                for key in node:
                    self._holders.setdefault(key, []).append(node)
                stack.extend(v for v in node.values() if isinstance(v, dict | list))
            elif isinstance(node, list):
                stack.extend(v for v in node if isinstance(v, dict | list))

    def of(self, value: str, limit: int = 40) -> list[str]:
        found: list[str] = []
        for node in self._holders.get(value, ()):
            if len(found) >= limit:
                break
            found.extend(k for k in node if k != value and k not in found)
        return found[:limit]


def nudges(value: int | float) -> list[int | float]:
    """Amounts an agent gets wrong: off by one, by ten, by a tenth, doubled."""
    if isinstance(value, bool):
        return []
    out = [value + 1, value - 1, value + 10, value - 10, value * 2, round(value * 0.9)]
    return [v for v in dict.fromkeys(out) if v != value]


def fabricate(value: str, rng: random.Random, avoid: str) -> str | None:
    """A value shaped like ``value`` (its last digit run re-drawn) that appears nowhere in ``avoid``."""
    runs = list(_DIGITS.finditer(value))
    if not runs:
        return None
    run = runs[-1]
    for _ in range(30):
        number = f"{rng.randrange(10 ** len(run.group())):0{len(run.group())}d}"
        candidate = value[: run.start()] + number + value[run.end():]
        if candidate != value and f'"{candidate}"' not in avoid:
            return candidate
    return None


def reformat(value: Any) -> list[Any]:
    """The same content in a wrong format or type: US dates, numbers as text, text as a list."""
    if isinstance(value, bool):
        return [str(value).lower()]
    if isinstance(value, int | float):
        return [str(value)]
    if isinstance(value, str):
        m = _DATE.match(value)
        if m:
            year, month, day = m.groups()
            return [f"{month}/{day}/{year}", f"{day}.{month}.{year}"]
        return [[value]]
    return []
