"""Situations planted in a base task for the failures that need one in the state or on the path.

- :func:`plant_twin`: a near-identical twin of an entity a write names (a second card of the same brand
  whose last four differ in one digit), beside it in the same collection: an agent that goes by the
  look of an entity takes the wrong one (a wrong argument);
- :func:`with_empty_lookup`: a lookup on the user's preferred date that comes back empty before the
  one that finds what the task needs: an agent that gives up, or loops, at an empty result fails
  (premature termination, step repetition).
"""

from __future__ import annotations

import random
import re
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import orjson

from clawloop_synth.generate.procedural.base import BaseTask, scratch_task
from clawloop_synth.sim.env import SimEnv
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import PlannedCall

__all__ = ["plant_twin", "with_empty_lookup"]

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DIGITS = re.compile(r"\d+")
_SHIFTS = (10, 20, 30, 45, 60, 90)  # days ahead of the stated date tried for a date with nothing on it
_MAX_FIELDS = 8


def _flat(obj: Any) -> bool:
    return isinstance(obj, dict) and 0 < len(obj) <= _MAX_FIELDS \
        and all(not isinstance(v, dict | list) for v in obj.values())


def _find(node: Any, key: str, path: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
    """Path of the first object (with at least one other key) that maps ``key`` to a small flat object."""
    if isinstance(node, dict):
        if len(node) > 1 and _flat(node.get(key)):
            return path
        items: Any = node.items()
    elif isinstance(node, list):
        items = enumerate(node)
    else:
        return None
    for k, v in items:
        if isinstance(v, dict | list) and (found := _find(v, key, (*path, k))) is not None:
            return found
    return None


def _one_off(value: Any, rng: random.Random) -> Any:
    """``value`` with one character changed: its last digit (a card's last four, an amount)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value + 1 if value % 10 != 9 else value - 1
    if isinstance(value, str) and (runs := list(re.finditer(r"\d", value))):
        spot = runs[-1].start()
        digit = rng.choice([d for d in "0123456789" if d != value[spot]])
        return value[:spot] + digit + value[spot + 1:]
    return None


def plant_twin(state: dict[str, Any], key: str, rng: random.Random) -> tuple[dict[str, Any], str] | None:
    """A copy of ``state`` with a near-identical twin of the entity ``key`` names, and the twin's key.

    The twin sits in the same collection, has a new key of the same shape, and equals the entity but
    for one value one character off (None: ``key`` names no small flat entity in a collection).
    """
    path = _find(state, key)
    runs = list(_DIGITS.finditer(key))
    if path is None or not runs:
        return None
    text = orjson.dumps(state).decode()
    run = runs[-1]
    twin_key = None
    for _ in range(30):
        number = f"{rng.randrange(10 ** len(run.group())):0{len(run.group())}d}"
        candidate = key[: run.start()] + number + key[run.end():]
        if candidate != key and f'"{candidate}"' not in text:
            twin_key = candidate
            break
    if twin_key is None:
        return None
    new = copy_state(state)
    collection = new
    for step in path:
        collection = collection[step]
    entity = collection[key]
    fields = [f for f, v in entity.items() if v != key and _one_off(v, rng) is not None]
    if not fields:
        return None
    field = rng.choice(fields)
    twin = {f: (twin_key if v == key else v) for f, v in entity.items()}
    twin[field] = _one_off(entity[field], rng)
    collection[twin_key] = twin
    return new, twin_key


def _empty(content: str) -> bool:
    try:
        doc = orjson.loads(content)
    except orjson.JSONDecodeError:
        return False
    return isinstance(doc, list | dict) and not doc


def with_empty_lookup(base: BaseTask) -> BaseTask | None:
    """``base`` with a lookup on a later date the user would rather travel, which finds nothing, put
    before the reference's lookup of the stated date (None: no lookup takes a date, or every date tried
    finds something)."""
    for index, call in enumerate(base.calls):
        if call.name in base.writes:
            continue
        for arg, old in call.arguments.items():
            if not isinstance(old, str) or not _DATE.match(old):
                continue
            for shift in _SHIFTS:
                wanted = (date.fromisoformat(old) + timedelta(days=shift)).isoformat()
                probe = PlannedCall(name=call.name, arguments={**call.arguments, arg: wanted})
                env = SimEnv(scratch_task(base.tools, base.state), max_steps=index + 2)
                for earlier in base.calls[:index]:
                    env.step(earlier)
                result = env.step(probe)
                if result.is_error or not _empty(result.content):
                    continue
                text = f"{base.instruction} I'd rather go on {wanted} if anything fits that day; if not, {old} it is."
                return replace(base, instruction=text, calls=[*base.calls[:index], probe, *base.calls[index:]])
    return None
