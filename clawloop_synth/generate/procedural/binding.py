"""Argument values for the generic kit's drawn calls: where a parameter's values come from
(:func:`key_collection`, :func:`unknown_value`) and how they are bound to the entities drawn for them
(:func:`bound_arguments`).

The generic kit draws a write's arguments one parameter at a time: an entity key for a parameter that
takes keys, a recorded value for the rest. Recorded values belong to the entity of the call they were
recorded in, so most drawn combinations are refused by the pack's own dynamics (a payment method of
another user, the passenger list of another booking). Two generic repairs, both from the state alone:

- **Members.** A value that is the key of exactly one entity's member (a dict inside a record, such
  as one of a user's payment methods) identifies that member. It is replaced by a member of the same
  shape (digits aside) that the drawn entities own, or the records they name own (one hop).
  A key many entities hold (a date in every flight's timetable) is a category, not an identity, and stays.
- **Lists.** A list argument named like a list field of a drawn entity keeps that field's items (cut
  to the fields the recorded items have), so its length fits the entity; half the time one item is
  swapped for a recorded one, so the write changes something.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from clawloop_synth.sim.pack import DomainPack, State

__all__ = ["Members", "aligned_list", "bound_arguments", "key_collection", "never_equal", "rebind", "unknown_value"]

_DIGITS = re.compile(r"\d+")


def _shape(value: str) -> str:
    return _DIGITS.sub("#", value)


def _member_keys(record: Any) -> Iterator[str]:
    """Keys of the dicts of dicts nested inside a record (its members), at any depth below the top."""
    if isinstance(record, dict):
        for value in record.values():
            if isinstance(value, dict):
                yield from (key for key, member in value.items() if isinstance(member, dict))
            yield from _member_keys(value)
    elif isinstance(record, list):
        for item in record:
            yield from _member_keys(item)


def _leaf_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _leaf_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaf_strings(item)


@dataclass
class Members:
    """Which entity owns each member key, and which collection each top-level key is in."""

    owner: dict[str, tuple[str, str] | None]  # member key -> (collection, key); None when many own it
    collection_of: dict[str, str]  # entity key -> its collection

    @classmethod
    def of(cls, state: State, collections: list[str]) -> Members:
        owner: dict[str, tuple[str, str] | None] = {}
        collection_of: dict[str, str] = {}
        for collection in collections:
            records = state.get(collection)
            if not isinstance(records, dict):
                continue
            for key, record in records.items():
                collection_of.setdefault(key, collection)
                for member in set(_member_keys(record)):
                    owner[member] = (collection, key) if member not in owner else None
        return cls(owner, collection_of)

    def reachable(self, state: State, entities: list[tuple[str, str]]) -> set[str]:
        """The member keys the entities own, and those of the records their fields name."""
        near = list(entities)
        for collection, key in entities:
            record = state.get(collection, {}).get(key)
            near += [(self.collection_of[s], s) for s in _leaf_strings(record) if s in self.collection_of]
        found: set[str] = set()
        for collection, key in near:
            found.update(_member_keys(state.get(collection, {}).get(key)))
        return found


def rebind(value: Any, members: Members, reachable: set[str], rng: random.Random) -> Any:
    """``value`` with each member key that the drawn entities do not own swapped for one they own."""
    if isinstance(value, str):
        if members.owner.get(value) is None or value in reachable:
            return value
        same = sorted(m for m in reachable if members.owner.get(m) is not None and _shape(m) == _shape(value))
        return rng.choice(same) if same else value
    if isinstance(value, dict):
        return {k: rebind(v, members, reachable, rng) for k, v in value.items()}
    if isinstance(value, list):
        return [rebind(v, members, reachable, rng) for v in value]
    return value


def aligned_list(name: str, recorded: list[Any], records: list[Any], rng: random.Random) -> list[Any] | None:
    """The drawn entities' own ``name`` items in the recorded items' fields, one maybe swapped; None if none fits."""
    recorded_items = [item for value in recorded if isinstance(value, list) for item in value if isinstance(item, dict)]
    if not recorded_items:
        return None
    fields = list(recorded_items[0])
    for record in records:
        own = record.get(name) if isinstance(record, dict) else None
        if not isinstance(own, list) or not own or not all(isinstance(i, dict) and set(fields) <= set(i) for i in own):
            continue
        items = [{field: item[field] for field in fields} for item in own]
        if rng.random() < 0.5:
            swap = rng.choice([i for i in recorded_items if set(i) == set(fields)] or [None])
            if swap is not None:
                items[rng.randrange(len(items))] = dict(swap)
        return items
    return None


def key_collection(pack: DomainPack, state: State, name: str, seen: list[Any]) -> str | None:
    """The collection a parameter takes keys of: where most recorded values are keys, else by key field name."""
    counts: Counter[str] = Counter()
    for value in seen:
        if isinstance(value, str):
            for collection in pack.collections:
                if value in state.get(collection, {}):
                    counts[collection] += 1
    if counts:
        collection, n = counts.most_common(1)[0]
        if n * 2 >= len(seen):
            return collection
    for collection, key_field in pack.key_fields.items():
        if key_field and key_field == name and state.get(collection):
            return collection
    return None


def unknown_value(schema: Any, keys: dict[str, list[str]], rng: random.Random) -> Any:
    """A value for a parameter nothing was recorded for: an entity key for a string, a small number in
    range; the write's trial in the simulator then keeps only the draws the pack accepts."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind in ("string", None):
        pools = [pool for pool in keys.values() if pool]
        return rng.choice(rng.choice(pools)) if pools else None
    if kind in ("integer", "number"):
        low = schema.get("minimum", 1)
        low = max(1, int(low)) if isinstance(low, int | float) else 1
        high = schema.get("maximum", low + 50)
        high = int(high) if isinstance(high, int | float) and high >= low else low + 50
        return rng.randint(low, min(high, low + 50))
    if kind == "boolean":
        return rng.random() < 0.5
    return None


def bound_arguments(state: State, args: dict[str, Any], entities: list[tuple[str, str]], recorded: list[dict[str, Any]],
           members: Members, rng: random.Random) -> dict[str, Any]:
    """The drawn arguments fitted to the entities drawn for them (see ``binding.py``)."""
    drawn = {name for name, value in args.items() if any(value == key for _, key in entities)}
    records = [state.get(collection, {}).get(key) for collection, key in entities]
    reachable = members.reachable(state, entities)
    out: dict[str, Any] = {}
    for name, value in args.items():
        if name in drawn:
            out[name] = value
            continue
        if isinstance(value, list):
            value = aligned_list(name, [call[name] for call in recorded if name in call], records, rng) or value
        out[name] = rebind(value, members, reachable, rng)
    return out


def never_equal(args: dict[str, Any], recorded: list[dict[str, Any]], least: int = 3) -> tuple[str, str] | None:
    """Two drawn string arguments with the same value where every recorded call (``least`` or more, with
    both) had them differ: a trip from a city to itself, a transfer from an account to itself."""
    names = [name for name, value in args.items() if isinstance(value, str)]
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            if args[first] != args[second]:
                continue
            both = [call for call in recorded if first in call and second in call]
            if len(both) >= least and all(call[first] != call[second] for call in both):
                return first, second
    return None
