"""The small lies flawed agents tell: a value in the wrong format, a guessed id, a made-up tool name."""

from __future__ import annotations

import random
import re
from typing import Any

__all__ = ["DATE", "Path", "fabricate", "guess", "hallucinate", "leaves", "reformat", "replace_at", "substitute"]

Path = tuple[str | int, ...]

DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_PREFIXED_ID = re.compile(r"^([A-Za-z]+)-(\d+)$")
_SNAKE_ID = re.compile(r"^[a-z]+(?:_[a-z]+)*_\d+$")
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]+$")
_DIGITS = re.compile(r"\d+")


def reformat(value: Any, rng: random.Random) -> str | None:
    """``value`` written the way a careless agent might: same content, wrong format (None: no idea)."""
    if not isinstance(value, str):
        return None
    if m := DATE.match(value):
        year, month, day = m.groups()
        return rng.choice([f"{month}/{day}/{year}", f"{day}.{month}.{year}", f"{year}{month}{day}"])
    if m := _PREFIXED_ID.match(value):
        prefix, number = m.groups()
        return rng.choice([f"{prefix}{number}", number, f"{prefix.lower()}-{number}", f"{prefix}_{number}"])
    if _SNAKE_ID.match(value):
        return value.replace("_", "-")
    if _CODE.match(value):
        return value.lower() if value != value.lower() else value.upper()
    return None


def guess(value: str, rng: random.Random, avoid: str = "") -> str:
    """A plausible value of the same shape as ``value`` (its digits re-drawn), never ``value`` itself.

    With ``avoid`` (e.g. the state as JSON text), the guess is also kept out of that text when the
    shape allows it, so that it names nothing that exists.
    """
    runs = list(_DIGITS.finditer(value))
    candidate = value
    for _ in range(50):
        if runs:
            run = runs[-1]
            width = len(run.group())
            number = f"{rng.randrange(10 ** width):0{width}d}"
            candidate = value[: run.start()] + number + value[run.end():]
        else:
            letters = list(value)
            rng.shuffle(letters)
            candidate = "".join(letters)
        if candidate != value and (not avoid or f'"{candidate}"' not in avoid):
            return candidate
    return candidate if candidate != value else value + "0"


def fabricate(value: str, rng: random.Random, state_text: str) -> str:
    """A value of the same shape that appears nowhere in the state: a stale or made-up id."""
    return guess(value, rng, avoid=state_text)


_SYNONYMS = {
    "get": ["fetch", "lookup", "retrieve"], "find": ["search", "lookup", "locate"],
    "search": ["find", "query", "lookup"], "list": ["get", "fetch", "show"],
    "book": ["create", "make", "schedule"], "cancel": ["delete", "remove", "void"],
    "update": ["modify", "change", "edit"], "reschedule": ["move", "update", "change"],
    "pay": ["charge", "settle", "process"], "send": ["issue", "create", "give"],
    "calculate": ["compute", "eval", "math"], "transfer": ["escalate", "handoff", "forward"],
}


def hallucinate(name: str, known: set[str], rng: random.Random) -> str:
    """A tool name that sounds right for the job and does not exist."""
    head, _, rest = name.partition("_")
    options = [f"{alt}_{rest}" if rest else alt for alt in _SYNONYMS.get(head, [])]
    options += [f"{name}_v2", re.sub(r"_(\w)", lambda m: m.group(1).upper(), name) + "Tool", f"{name}s"]
    options = [o for o in options if o not in known and o != name]
    return rng.choice(options)


def substitute(value: Any, mapping: dict[str, str]) -> Any:
    """``value`` with every string equal to a key of ``mapping`` replaced."""
    if isinstance(value, str):
        return mapping.get(value, value)
    if isinstance(value, dict):
        return {k: substitute(v, mapping) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, mapping) for v in value]
    return value


def leaves(arguments: dict[str, Any]) -> list[tuple[Path, Any]]:
    """Every scalar inside ``arguments`` with its path (keys and list indices), depth first.

    A nested value (a passenger's date of birth, a flight's date) is copied by the agent like a
    top-level one, so it can be mis-written like one too.
    """
    out: list[tuple[Path, Any]] = []

    def walk(path: Path, value: Any) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk((*path, key), item)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk((*path, index), item)
        else:
            out.append((path, value))

    for key, value in arguments.items():
        walk((key,), value)
    return out


def replace_at(arguments: dict[str, Any], path: Path, new: Any) -> dict[str, Any]:
    """A copy of ``arguments`` with the value at ``path`` (from :func:`leaves`) replaced by ``new``."""

    def put(value: Any, rest: Path) -> Any:
        if not rest:
            return new
        head, tail = rest[0], rest[1:]
        if isinstance(value, dict):
            return {k: put(v, tail) if k == head else v for k, v in value.items()}
        return [put(v, tail) if i == head else v for i, v in enumerate(value)]

    result = put(arguments, path)
    assert isinstance(result, dict)
    return result
