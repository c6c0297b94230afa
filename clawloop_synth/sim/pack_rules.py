"""Declarative pack rules, interpreted by generic code: searches and date windows.

A :class:`Search` says that a call to a tool touches every entity of a collection whose fields equal the
call's arguments (so a sliced state answers the search as the full one does). A search over chains of
entities (a trip with one connection is two flights, the first one's arrival being the second one's
departure) sets ``hops`` and ``link``: ``first`` applies to the chain's first entity, ``last`` to its last,
``match`` to every one. A :class:`DateWindow` keeps, in a date-keyed field of a collection's entities,
only the days within ``days`` of a date that the task's calls mention, and the days other entities of the
slice name beside the entity's key (a reservation's segment: flight number and date).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

__all__ = ["DateWindow", "Search", "dates_in", "search_refs", "trim_dates"]


@dataclass(frozen=True)
class Search:
    """``tool`` touches the entities of ``collection`` that its arguments select (entity field = argument name)."""

    tool: str
    collection: str
    match: dict[str, str] = field(default_factory=dict)
    first: dict[str, str] = field(default_factory=dict)
    last: dict[str, str] = field(default_factory=dict)
    hops: int = 1
    link: dict[str, str] = field(default_factory=dict)  # field of one hop -> field of the next hop
    fold: bool = False  # compare text ignoring case and repeated spaces


@dataclass(frozen=True)
class DateWindow:
    """In ``collection``, ``field`` is an object keyed by ISO dates; a slice keeps the days near the task's dates."""

    collection: str
    field: str
    days: int = 1


def _norm(value: Any, fold: bool) -> Any:
    if fold and isinstance(value, str):
        return " ".join(value.lower().split())
    return value


def _selects(entity: Any, conditions: Mapping[str, str], args: Mapping[str, Any], fold: bool) -> bool:
    if not isinstance(entity, dict):
        return False
    for entity_field, argument in conditions.items():
        if argument not in args or entity_field not in entity:
            return False
        if _norm(entity[entity_field], fold) != _norm(args[argument], fold):
            return False
    return True


def _values(entity: Any, fields: list[str]) -> tuple[Any, ...] | None:
    """The entity's values of ``fields`` as a hashable key, or None when one is missing or unhashable."""
    if not isinstance(entity, dict) or not all(f in entity for f in fields):
        return None
    values = tuple(entity[f] for f in fields)
    try:
        hash(values)
    except TypeError:
        return None
    return values


def search_refs(state: Mapping[str, Any], search: Search, args: Mapping[str, Any]) -> dict[str, set[str]]:
    """Keys of every entity that takes part in a result the search could return."""
    table = state.get(search.collection)
    if not isinstance(table, dict):
        return {}
    hops = max(1, search.hops)
    layers: list[set[str]] = []
    for hop in range(hops):
        conditions = dict(search.match)
        if hop == 0:
            conditions.update(search.first)
        if hop == hops - 1:
            conditions.update(search.last)
        layers.append({key for key, entity in table.items() if _selects(entity, conditions, args, search.fold)})
    if hops > 1:
        # Forward: a hop is reachable from the one before; backward: it leads to a valid end.
        by_value = _index(table, search.link)
        for hop in range(1, hops):
            reach = _reachable(table, layers[hop - 1], search.link, by_value)
            layers[hop] &= reach
        sources, targets = list(search.link), list(search.link.values())
        for hop in range(hops - 2, -1, -1):
            ends = {_values(table[nxt], targets) for nxt in layers[hop + 1]} - {None}
            layers[hop] = {key for key in layers[hop] if _values(table[key], sources) in ends}
    hits = set().union(*layers)
    return {search.collection: hits} if hits else {}


def _index(table: Mapping[str, Any], link: Mapping[str, str]) -> dict[tuple[Any, ...], set[str]]:
    """Entities by the values of their ``link`` target fields, so a forward step is a lookup."""
    out: dict[tuple[Any, ...], set[str]] = {}
    targets = list(link.values())
    for key, entity in table.items():
        values = _values(entity, targets)
        if values is not None:
            out.setdefault(values, set()).add(key)
    return out


def _reachable(table: Mapping[str, Any], keys: Iterable[str], link: Mapping[str, str],
               by_value: dict[tuple[Any, ...], set[str]]) -> set[str]:
    out: set[str] = set()
    sources = list(link)
    for key in keys:
        values = _values(table[key], sources)
        if values is not None:
            out |= by_value.get(values, set())
    return out


def dates_in(value: Any, out: set[str]) -> None:
    """Every ISO date (``YYYY-MM-DD`` prefix) in the strings of ``value``."""
    if isinstance(value, str):
        if len(value) >= 10 and value[4] == "-" and value[7] == "-" and value[:4].isdigit():
            out.add(value[:10])
    elif isinstance(value, dict):
        for item in value.values():
            dates_in(item, out)
    elif isinstance(value, list):
        for item in value:
            dates_in(item, out)


def trim_dates(sliced: dict[str, Any], window: DateWindow, calls: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
    """Keep, in place, each entity's ``window.field`` days near the dates the calls mention."""
    mentioned: set[str] = set()
    for _, args in calls:
        dates_in(dict(args), mentioned)
    keep: set[str] = set()
    for text in mentioned:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            continue
        keep.update((day + timedelta(days=d)).isoformat() for d in range(-window.days, window.days + 1))
    table = sliced.get(window.collection)
    if not isinstance(table, dict):
        return
    pinned = _pinned_days(sliced, window.collection, table)
    for key, entity in table.items():
        days = entity.get(window.field) if isinstance(entity, dict) else None
        if isinstance(days, dict):
            own = pinned.get(key, set())
            entity[window.field] = {day: info for day, info in days.items() if day in keep or day in own}


def _pinned_days(sliced: dict[str, Any], collection: str, table: Mapping[str, Any]) -> dict[str, set[str]]:
    """Days that another entity of the slice names beside one of ``collection``'s keys (a reservation's
    segment names a flight and its date): that day of that entity stays, so rules and answers that read
    it (was the flight flown, cancelled, at what fare) see what the full state holds."""
    out: dict[str, set[str]] = {}

    def walk(value: Any, depth: int) -> None:
        if depth > 8:
            return
        if isinstance(value, dict):
            keys = [v for v in value.values() if isinstance(v, str) and v in table]
            if keys:
                days: set[str] = set()
                for item in value.values():
                    if isinstance(item, str):
                        dates_in(item, days)
                for key in keys:
                    out.setdefault(key, set()).update(days)
            for item in value.values():
                walk(item, depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, depth + 1)

    for name, other in sliced.items():
        if name != collection and isinstance(other, dict):
            walk(other, 0)
    return out
