"""A domain pack's data and behaviour: its tools plus the database they act on, and the slicing of tasks out of it.

A pack's state is a dict of *collections*, each a dict from an entity key to a JSON entity
(``{"users": {"mia_li_3668": {...}}, "reservations": {...}}``), plus optional *globals* (a clock, service
counters) that travel whole with every slice. Nothing here knows a domain: which entities a tool call
touches is found by matching the call's argument strings against collection keys, plus the pack's
declarative :class:`Search` rules (a search touches every entity it could return), and links between
entities are found the same way inside the entities themselves. Packs are loaded from folders by
:mod:`clawloop_synth.sim.pack_folder`; :mod:`clawloop_synth.sim.pack` is the entry point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.sim.pack_rules import DateWindow, Search, search_refs, trim_dates
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import ToolSpec

__all__ = ["Call", "DateWindow", "DomainPack", "Refs", "Search", "State", "find_keys"]

State = dict[str, Any]
Refs = dict[str, set[str]]  # collection -> entity keys
Call = tuple[str, Mapping[str, Any]]


def _strings(value: Any, out: set[str], limit: int = 10_000) -> None:
    if len(out) >= limit:
        return
    if isinstance(value, str):
        out.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, out, limit)
    elif isinstance(value, list):
        for item in value:
            _strings(item, out, limit)


def find_keys(state: State, value: Any, collections: Iterable[str] | None = None) -> Refs:
    """Entity keys of ``state`` that appear as strings anywhere inside ``value``."""
    found: set[str] = set()
    _strings(value, found)
    refs: Refs = {}
    for name in collections if collections is not None else state:
        table = state.get(name)
        if isinstance(table, dict):
            hits = {text for text in found if text in table}
            if hits:
                refs[name] = hits
    return refs


def _merge(into: Refs, more: Refs) -> None:
    for name, keys in more.items():
        into.setdefault(name, set()).update(keys)


def _stable_rank(seed: str, key: str) -> bytes:
    return hashlib.blake2b(f"{seed}\x00{key}".encode(), digest_size=8).digest()


class _Rankings:
    """Each collection's keys in :func:`_stable_rank` order under a seed, for the last few seeds.

    A task's slice is cut more than once with one seed (generously, then around the calls kept), and
    ranking hashes every key of the collection, so the order is kept and reused while the collection
    holds the same keys (checked on every use: a rank depends on nothing but the seed and the key).
    The hasher of ``seed + NUL`` is made once and copied per key: the same digest as hashing the whole.
    """

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self.kept: dict[tuple[str, str], tuple[frozenset[str], list[str]]] = {}

    def order(self, seed: str, name: str, table: Mapping[str, Any]) -> list[str]:
        hit = self.kept.get((seed, name))
        if hit is not None and hit[0] == table.keys():
            return hit[1]
        prefix = hashlib.blake2b(f"{seed}\x00".encode(), digest_size=8)

        def rank(key: str) -> bytes:
            hasher = prefix.copy()
            hasher.update(key.encode())
            return hasher.digest()

        ranked = sorted(table, key=rank)
        if len(self.kept) >= self.size:
            self.kept.pop(next(iter(self.kept)))  # the oldest: seeds come task by task
        self.kept[(seed, name)] = (frozenset(table), ranked)
        return ranked


_RANKINGS = _Rankings()


class _Positions:
    """Each collection's key positions, so that a slice lists its few keys in the state's order without a
    pass over the whole collection in Python. Kept per collection object and checked on every use
    against the collection's keys in order (one C comparison): positions depend on nothing else."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self.kept: dict[int, tuple[list[str], dict[str, int]]] = {}

    def in_order(self, table: Mapping[str, Any], wanted: Iterable[str]) -> list[str]:
        """The keys of ``wanted`` that ``table`` holds, in the table's order."""
        keys = list(table)
        hit = self.kept.get(id(table))
        if hit is None or hit[0] != keys:
            if len(self.kept) >= self.size:
                self.kept.pop(next(iter(self.kept)))
            hit = self.kept[id(table)] = (keys, {key: n for n, key in enumerate(keys)})
        position = hit[1]
        return sorted((key for key in wanted if key in position), key=position.__getitem__)


_POSITIONS = _Positions()


class _Fixed:
    """What the entities and calls of a *fixed* state touch, remembered per state: the pack's database as
    loaded, which every candidate task is sliced from three times (so the same entities' links and the
    same searches were found again and again). Kept for the last few states, held by reference (an id
    is not reused while its entry lives). Only for states that nothing edits while they are remembered."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self.kept: dict[int, tuple[State, dict[Any, Refs]]] = {}

    def of(self, state: State) -> dict[Any, Refs]:
        hit = self.kept.get(id(state))
        if hit is None or hit[0] is not state:
            if len(self.kept) >= self.size:
                self.kept.pop(next(iter(self.kept)))
            hit = self.kept[id(state)] = (state, {})
        return hit[1]


_FIXED = _Fixed()


def _read_json(path: Path, what: str, pack: str) -> Any:
    try:
        return orjson.loads(path.read_bytes())
    except FileNotFoundError:
        raise InputError(f"missing {what} of the {pack} pack", file=str(path)) from None
    except orjson.JSONDecodeError as exc:
        raise InputError(f"not valid JSON: {exc}", file=str(path)) from None


@dataclass(frozen=True)
class DomainPack:
    """A domain: its tools, policy, where its database lives, and how tasks are cut out of it.

    ``searches`` say what a call touches beyond the keys named in its arguments (a search touches
    the entities it could return); ``date_windows`` shrink a sliced state's date-keyed fields to the days
    near the dates the task's calls mention. ``link_depth`` is how many hops of entity links a replay
    copies (a user -> its reservations -> their flights is 2); ``slice_depth`` how many a task slice keeps
    (1: a user and its reservations, not every flight they name). ``recorded_key_aliases`` maps a key of
    today's database to the name recorded results used for it (the database may have been edited after
    the recording); replays count such results as equal. ``globals`` are top-level state entries that
    are not collections (a clock, service counters): read from ``<db>/<name>.json`` (or the pack's own
    state folder) and copied whole into every slice. ``distractors`` is the pack's default count of
    unrelated entities per collection in a task slice. ``policy`` is the text the agent works under
    (its system prompt) and ``rules`` the sandboxed policy-as-code sources by name.
    """

    name: str
    tools: list[ToolSpec]
    collections: tuple[str, ...]
    db: Path | None = None
    searches: tuple[Search, ...] = ()
    date_windows: tuple[DateWindow, ...] = ()
    link_depth: int = 2
    slice_depth: int = 1
    description: str = ""
    recorded_key_aliases: dict[str, str] = field(default_factory=dict)
    key_fields: dict[str, str] = field(default_factory=dict)  # collection -> entity field holding its key
    globals: tuple[str, ...] = ()
    distractors: dict[str, int] = field(default_factory=dict)
    policy: str = ""
    rules: dict[str, str] = field(default_factory=dict)
    folder: Path | None = None  # where the pack was read from (None when built in memory)

    # ------------------------------------------------------------------------------- state

    def load_state(self, db: Path | None = None) -> State:
        """Read every collection from ``<db>/<collection>.json`` (the pack's own state by default)."""
        folder = db or self.db
        if folder is None:
            raise InputError(f"the {self.name} pack needs a database folder (--db)")
        folder = Path(folder)
        state: State = {}
        for name in self.collections:
            path = folder / f"{name}.json"
            data = _read_json(path, f"collection '{name}'", self.name)
            if not isinstance(data, dict):
                raise InputError("a collection must be a JSON object keyed by entity id", file=str(path))
            state[name] = data
        own = self.folder / "state" if self.folder is not None else None
        for name in self.globals:
            path = folder / f"{name}.json"
            if not path.exists() and own is not None and (own / f"{name}.json").exists():
                path = own / f"{name}.json"  # a --db dump of the collections alone keeps the pack's globals
            state[name] = _read_json(path, f"global '{name}'", self.name)
        return state

    def tool(self, name: str) -> ToolSpec:
        for spec in self.tools:
            if spec.name == name:
                return spec
        raise KeyError(name)

    @property
    def write_tools(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.tools if spec.writes)

    # ---------------------------------------------------------------------------- touching

    def call_refs(self, state: State, name: str, args: Mapping[str, Any], fixed: bool = False) -> Refs:
        """Entities one call names directly (argument strings that are keys) or could find (searches).
        ``fixed``: ``state`` is not edited while this process runs (the answer is remembered)."""
        memo = _FIXED.of(state) if fixed else None
        if memo is not None:
            try:
                memo_key: Any = ("call", name, orjson.dumps(dict(args), option=orjson.OPT_SORT_KEYS))
            except TypeError:  # not JSON: worked out every time
                memo = None
            else:
                if memo_key in memo:
                    return {table: set(keys) for table, keys in memo[memo_key].items()}
        refs = find_keys(state, dict(args), self.collections)
        for search in self.searches:
            if search.tool == name:
                _merge(refs, search_refs(state, search, args))
        if memo is not None:
            memo[memo_key] = {table: set(keys) for table, keys in refs.items()}
        return refs

    def linked(self, state: State, refs: Refs, depth: int | None = None, fixed: bool = False) -> Refs:
        """``refs`` plus the entities they name, followed ``depth`` hops (default ``link_depth``).
        ``fixed``: as in :meth:`call_refs`."""
        memo = _FIXED.of(state) if fixed else None
        closed: Refs = {name: set(keys) for name, keys in refs.items()}
        frontier = closed
        for _ in range(self.link_depth if depth is None else depth):
            found: Refs = {}
            for name, keys in frontier.items():
                table = state.get(name, {})
                for key in keys:
                    if key not in table:
                        continue
                    if memo is None:
                        _merge(found, find_keys(state, table[key], self.collections))
                        continue
                    names = memo.get(("entity", name, key))
                    if names is None:
                        names = memo[("entity", name, key)] = find_keys(state, table[key], self.collections)
                    _merge(found, names)  # read, never changed: _merge copies into ``found``
            frontier = {
                name: keys - closed.get(name, set()) for name, keys in found.items() if keys - closed.get(name, set())
            }
            if not frontier:
                break
            _merge(closed, frontier)
        return closed

    def touched(self, state: State, calls: Iterable[Call], depth: int | None = None, fixed: bool = False) -> Refs:
        """Every entity the calls name, with their links: what a run of them may read or write.
        ``fixed``: as in :meth:`call_refs`."""
        refs: Refs = {}
        for name, args in calls:
            _merge(refs, self.call_refs(state, name, args, fixed))
        return self.linked(state, refs, depth, fixed)

    def working_copy(self, base: State, refs: Refs) -> State:
        """A state that shares every entity with ``base`` except those in ``refs``, which are copied.

        Handlers only change entities that their arguments lead to, so a run whose calls are all
        covered by ``refs`` leaves ``base`` untouched at a fraction of a full copy's cost. Globals
        (and anything else that is not a collection) are copied whole: any call may change them.
        """
        state: State = {}
        for name, table in base.items():
            keys = refs.get(name)
            if not isinstance(table, dict) or name not in self.collections:
                state[name] = copy_state(table)
                continue
            fresh = dict(table)
            if keys:
                present = [key for key in keys if key in table]
                copied = copy_state([table[key] for key in present])
                for key, value in zip(present, copied, strict=True):
                    fresh[key] = value
            state[name] = fresh
        return state

    # ----------------------------------------------------------------------------- slicing

    def slice_state(
        self,
        state: State,
        calls: Iterable[Call],
        *,
        distractors: int | Mapping[str, int] = 3,
        seed: str = "",
        copy: bool = True,
        fixed: bool = False,
    ) -> State:
        """A small, self-contained state for a task: what ``calls`` touch plus a few distractors.

        Distractors are other entities (``distractors`` per collection, or a count per collection
        name), picked by a stable hash of ``seed`` so the same task always gets the same ones; their
        own links are followed one hop so that they look like real entities rather than dangling
        ids. Key order follows ``state``. Globals are kept whole.

        ``copy=False``: the slice shares its entities with ``state`` (no deep copy), for a caller that
        only reads it or hands it to ``SimEnv``, which runs on a copy of its own. ``fixed``: ``state`` is
        not edited while this process runs (the pack's database as loaded; see :meth:`call_refs`).
        """
        calls = list(calls)
        keep = self.touched(state, calls, depth=self.slice_depth, fixed=fixed)
        extra: Refs = {}
        for name in self.collections:
            count = distractors.get(name, 0) if isinstance(distractors, Mapping) else distractors
            table = state.get(name, {})
            if count <= 0 or not table:
                continue
            taken = keep.get(name, set())
            pool = (key for key in _RANKINGS.order(seed, name, table) if key not in taken)
            picked = set(islice(pool, count))
            if picked:
                extra[name] = picked
        _merge(keep, self.linked(state, extra, depth=1, fixed=fixed))
        sliced: State = {}
        for name in self.collections:
            table = state.get(name, {})
            wanted = keep.get(name, set())
            sliced[name] = {key: table[key] for key in _POSITIONS.in_order(table, wanted)}
        for name in self.globals:
            if name in state:
                sliced[name] = state[name]
        for window in self.date_windows:
            # Trimmed on shallow copies of the entities (``trim_dates`` replaces the field, it does not
            # edit it), so that the deep copy below does not copy the days it would then drop.
            table = sliced.get(window.collection)
            if isinstance(table, dict):
                sliced[window.collection] = {key: dict(value) if isinstance(value, dict) else value
                                             for key, value in table.items()}
            trim_dates(sliced, window, calls)
        return copy_state(sliced) if copy else sliced

    def count_distractors(self, sliced: State, state: State, calls: Iterable[Call], fixed: bool = False) -> int:
        """How many entities of ``sliced`` the calls do not touch (``fixed``: as in :meth:`slice_state`)."""
        touched = self.touched(state, calls, depth=self.slice_depth, fixed=fixed)
        return sum(len(set(sliced.get(name, {})) - touched.get(name, set())) for name in self.collections)
