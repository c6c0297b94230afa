"""The state handlers act on: a --db folder, or entities reconstructed from the recorded results.

A state is ``{collection: {key: entity}}``. With a database folder, collections are its
``COLLECTION.json`` files and each one's key field is the entity field that holds the dict key
(``""`` when none does). From traces alone, an entity is recognised in a read result by the
argument that selected it: a result field equal to that argument is the key field, else the
argument's name is (``user_id`` -> collection ``users`` keyed by the argument's value); list items
that carry a known key field belong to that collection. Partial views of one entity are merged.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.induce.examples import Example, TraceCalls
from clawloop_synth.induce.reads import find_join
from clawloop_synth.sim.replay import rename_keys

__all__ = [
    "Collections",
    "Facets",
    "collection_name",
    "entity_of",
    "key_fields",
    "learn_facets",
    "load_db",
    "looks_like_key",
    "reconstruct_state",
    "seed_from_reads",
    "track_states",
]

State = dict[str, Any]
Collections = dict[str, str]  # collection -> key field ("" when the key is only the dict key)
# collection -> {"arg": a search argument that selects a facet of each entity (a date), "field": the entity
# field the facets are kept under, "fields": the fields that differ between facets}
Facets = dict[str, dict[str, Any]]

_ID_SUFFIX = re.compile(r"(_id|_number|_key|_code|_no|id)$", re.IGNORECASE)


def load_db(folder: Path) -> State:
    """Every ``COLLECTION.json`` in ``folder`` (a JSON object keyed by entity key)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("the database must be a folder of COLLECTION.json files", file=str(folder))
    state: State = {}
    for path in sorted(folder.glob("*.json")):
        try:
            data = orjson.loads(path.read_bytes())
        except orjson.JSONDecodeError as exc:
            raise InputError(f"not valid JSON: {exc}", file=str(path)) from None
        if not isinstance(data, dict):
            raise InputError("a collection must be a JSON object keyed by entity key", file=str(path))
        state[path.stem] = data
    if not state:
        raise InputError("no COLLECTION.json files in the database folder", file=str(folder))
    return state


def key_fields(state: Mapping[str, Any]) -> Collections:
    """Each collection's key field: the field every entity holds its own key in ("" if none)."""
    out: Collections = {}
    for name, table in state.items():
        if not isinstance(table, dict):
            continue
        entities = [(key, value) for key, value in table.items() if isinstance(value, dict)][:200]
        candidates: set[str] | None = None
        for key, entity in entities:
            same = {field for field, value in entity.items() if value == key}
            candidates = same if candidates is None else candidates & same
        out[name] = sorted(candidates)[0] if candidates else ""
    return out


def collection_name(field: str) -> str:
    """``user_id`` -> ``users``, ``flight_number`` -> ``flights``, ``category`` -> ``categories``."""
    stem = _ID_SUFFIX.sub("", field).rstrip("_") or field
    if stem.endswith("s"):
        return stem + "es"
    if stem.endswith("y") and stem[-2:-1] not in "aeiou":
        return stem[:-1] + "ies"
    return stem + "s"


def looks_like_key(name: str) -> bool:
    return bool(_ID_SUFFIX.search(name))


def entity_of(state: State, collections: Collections, example: Example,
              aliases: Mapping[str, str], relaxed: bool = True) -> tuple[str, str, dict[str, Any]] | None:
    """(collection, key, entity in state spelling) when the example's result is a whole entity view.

    Strict: the result has exactly the entity's fields. Relaxed: it may have gained or lost a few
    (a write that sets a status the entity did not have yet).
    """
    value = example.value
    if example.error or not isinstance(value, dict):
        return None
    inverse = {recorded: today for today, recorded in aliases.items()}
    entity = rename_keys(value, inverse) if inverse else value
    fields = set(entity)
    for name, key_field in collections.items():
        table = state.get(name)
        if not isinstance(table, dict):
            continue
        key: Any = entity.get(key_field) if key_field else None
        if not isinstance(key, str):
            key = next((v for v in example.args.values() if isinstance(v, str) and v in table), None)
        if not isinstance(key, str):
            continue
        known = table.get(key)
        if isinstance(known, dict):
            # The same entity, maybe with a field a write added or removed (a status set on cancel).
            if set(known) == fields:
                return name, key, entity
            if relaxed and known and len(set(known) & fields) >= 0.75 * len(set(known) | fields):
                # Fields the result shows from linked entities (a view's joins) are not the entity's.
                joined = {f for f in fields - set(known) if find_join(f, entity[f], known, state) is not None}
                return name, key, {f: v for f, v in entity.items() if f not in joined}
        elif key_field and key_field in entity and _shape_fits(table, fields):
            return name, key, entity  # a new entity of this collection
    return None


def _shape_fits(table: Mapping[str, Any], fields: set[str]) -> bool:
    sample = [set(value) for value in list(table.values())[:50] if isinstance(value, dict)]
    if not sample:
        return False
    common = set.intersection(*sample)
    union = set.union(*sample)
    return common <= fields <= union


def track_states(runs: Iterable[TraceCalls], base: State, collections: Collections,
                 aliases: Mapping[str, str], relaxed: frozenset[str] = frozenset()) -> None:
    """Give every example the state before it (``pre``) and the entities observed after it (``post``).

    Each trajectory starts from ``base``; a whole-entity result replaces that entity from then on
    (entities are replaced, never mutated, so each ``pre`` is a cheap shallow snapshot). ``post``
    maps (collection, key) of an entity to its next observation, for the writes to be fitted to.
    Results of the ``relaxed`` tools count as observations even when their fields differ a little
    (reads that show a view with joined fields must not, or the view would enter the state).
    """
    for run in runs:
        state: State = {name: dict(table) if isinstance(table, dict) else table for name, table in base.items()}
        pending: list[Example] = []
        for example in run.calls:
            example.pre = {name: dict(table) if isinstance(table, dict) else table for name, table in state.items()}
            example.post = {}
            seen = entity_of(state, collections, example, aliases, example.tool in relaxed)
            pending.append(example)
            if seen is None:
                continue
            name, key, entity = seen
            for earlier in pending:
                earlier.post.setdefault(f"{name}\x00{key}", entity)
            state[name][key] = entity
        # calls after an entity's last observation keep no post for it: nothing shows their effect


def reconstruct_state(runs: Iterable[TraceCalls], writes: frozenset[str] = frozenset()
                      ) -> tuple[State, Collections, Facets]:
    """Entities reconstructed from read results (first view of each entity per trajectory wins), and
    the facets learned from them (:func:`learn_facets`)."""
    runs = list(runs)
    collections: Collections = {}
    facets = learn_facets(runs, collections, writes)
    state: State = {}
    for run in runs:
        seed_from_reads(run, state, collections, writes, first_write_stops=True, facets=facets)
    return state, collections, facets


def learn_facets(runs: Iterable[TraceCalls], collections: Collections, writes: frozenset[str]) -> Facets:
    """Facets of entities: a search argument whose value no result item shows (a date the search is for)
    selects a facet of every item; the fields that differ between two views of one entity at two values
    of that argument belong to the facet (the day's price), the others to the entity (its route)."""
    hidden: dict[str, dict[str, int]] = {}
    views: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
    for run in runs:
        for example in run.calls:
            if example.tool in writes or example.error:
                continue
            items = _items(example.value)
            if not items:
                continue
            for name, key, entity in _views(example, {}, collections):
                args = _hidden_args(example, items)
                for arg in args:
                    hidden.setdefault(name, {})
                    hidden[name][arg] = hidden[name].get(arg, 0) + 1
                for arg, given in example.args.items():
                    value = entity.get(arg, given)
                    if isinstance(value, str):
                        views.setdefault((name, key, arg), {}).setdefault(value, entity)
    facets: Facets = {}
    for name, counts in hidden.items():
        arg = max(counts, key=lambda a: counts[a])
        varying: set[str] = set()
        for (collection, _, facet_arg), seen in views.items():
            if collection != name or facet_arg != arg or len(seen) < 2:
                continue
            shown = list(seen.values())
            for field in set().union(*map(set, shown)) - {arg}:
                if len({orjson.dumps(v.get(field), option=orjson.OPT_SORT_KEYS) for v in shown}) > 1:
                    varying.add(field)
        if varying:
            facets[name] = {"arg": arg, "field": collection_name(arg), "fields": sorted(varying)}
    return facets


def _items(value: Any) -> list[dict[str, Any]]:
    """The dict items of a list result, flattened one level (a search answering pairs of items)."""
    if not isinstance(value, list):
        return []
    out: list[dict[str, Any]] = []
    for item in value:
        if isinstance(item, dict):
            out.append(item)
        elif isinstance(item, list):
            out.extend(part for part in item if isinstance(part, dict))
    return out


def _hidden_args(example: Example, items: list[dict[str, Any]]) -> list[str]:
    """String arguments whose value no item shows in any field."""
    shown = {v for item in items for v in item.values() if isinstance(v, str)}
    return [arg for arg, v in example.args.items() if isinstance(v, str) and v not in shown
            and not looks_like_key(arg)]


def _faceted(entity: dict[str, Any], facet: Mapping[str, Any] | None, args: Mapping[str, Any]) -> dict[str, Any]:
    """The view with its facet fields moved under ``entity[field][value]`` (value: the item's own field of the
    argument's name, else the argument)."""
    if not facet:
        return entity
    arg, field, fields = facet["arg"], facet["field"], set(facet["fields"])
    value = entity.get(arg, args.get(arg))
    if not isinstance(value, str) or not fields & set(entity):
        return entity
    out = {f: v for f, v in entity.items() if f not in fields and f != arg}
    out[field] = {value: {f: v for f, v in entity.items() if f in fields}}
    return out


def seed_from_reads(run: TraceCalls, state: State, collections: Collections, writes: frozenset[str],
                    first_write_stops: bool, facets: Facets | None = None) -> None:
    """Add the entities ``run``'s reads show (before its first write when asked) to ``state``
    (``facets``: as :func:`learn_facets` found them)."""
    local: set[tuple[str, str, str]] = set()
    for example in run.calls:
        if example.tool in writes:
            if first_write_stops:
                return
            continue
        if example.error:
            continue
        for name, key, view in _views(example, state, collections):
            facet = (facets or {}).get(name)
            entity = _faceted(view, facet, example.args)
            table = state.setdefault(name, {})
            inner = facet["field"] if facet and facet["field"] in entity and facet["field"] not in view else ""
            at = next(iter(entity[inner])) if inner else ""
            if (name, key, at) in local:
                continue
            local.add((name, key, at))
            known = table.get(key)
            if isinstance(known, dict):
                # Partial views of one entity merge; the first view of a field wins (it is the oldest).
                merged = dict(known)
                merged.update({f: v for f, v in entity.items() if f not in merged})
                if inner and isinstance(known.get(inner), dict):
                    merged[inner] = {**entity[inner], **known[inner]}
                table[key] = merged
            else:
                table[key] = entity


def _views(example: Example, state: State, collections: Collections) -> list[tuple[str, str, dict[str, Any]]]:
    value = example.value
    strings = {name: v for name, v in example.args.items() if isinstance(v, str)}
    found: list[tuple[str, str, dict[str, Any]]] = []
    if isinstance(value, dict):
        for arg, text in strings.items():
            field = next((f for f, v in value.items() if v == text and looks_like_key(f)), None)
            if field is not None:
                name = _collection_for(field, collections)
                found.append((name, text, value))
                break
            if looks_like_key(arg):
                name = _collection_for(arg, collections, keyed_by_field=False)
                found.append((name, text, value))
                break
    elif isinstance(value, list) and value and (items := _items(value)) and \
            all(isinstance(item, dict | list) for item in value):
        field = _list_key(items, collections)
        if field is not None:
            name = _collection_for(field, collections)
            found.extend((name, item[field], item) for item in items)
    return found


def _list_key(items: list[dict[str, Any]], collections: Collections) -> str | None:
    known = [field for field in collections.values() if field and all(isinstance(i.get(field), str) for i in items)]
    if known:
        return known[0]
    for field in items[0]:
        values = [item.get(field) for item in items]
        if looks_like_key(field) and all(isinstance(v, str) for v in values) and len(set(values)) == len(values):
            return field
    return None


def _collection_for(field: str, collections: Collections, keyed_by_field: bool = True) -> str:
    for name, key_field in collections.items():
        if key_field == field or (not key_field and collection_name(field) == name):
            return name
    name = collection_name(field)
    collections[name] = field if keyed_by_field else ""
    return name
