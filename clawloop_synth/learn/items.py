"""Array items copied whole from earlier results, as candidates for the policy learner's argument filler.

A run of objects in a result (one object of a list or of an id-keyed dict, a group listed together such as the
legs of one itinerary, or a whole list) can stand for items of an array argument when each object, projected onto
the item schema's properties, fits them; a key the object lacks may come from the arguments of the call that
listed it. Nothing here knows a domain.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.learn.features import SPLIT, Episode, fits_type, leaves

__all__ = ["MAX_ITEMS", "Chunk", "item_key", "whole_items"]

MAX_ITEMS = 6


def item_key(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@dataclass
class Chunk:
    """A run of array items copied whole from an earlier result: one object of a list, a group of objects
    listed together (a list inside the list), or a whole list; projected onto the item schema's properties."""

    items: list[dict[str, Any]]
    tool: str
    where: str  # the key path of the list in the result
    call: int  # the index of the call whose result holds it
    ago: int
    whole: bool  # the whole list, not one of its elements
    match: int  # how many of its leaves the instruction names
    raw: list[Any] = field(default_factory=list)
    hits: list[str] = field(default_factory=list)  # keys whose value the instruction names as a token
    misses: list[str] = field(default_factory=list)  # keys it names a value of that shape for, but not this one

    @property
    def source(self) -> str:
        return f"{self.call}{self.where}|{len(self.items)}|{self.whole}"  # its peers: chunks of its kind

    def values(self) -> set[str]:
        return {str(v).lower() for r in self.raw for v, _, _ in leaves(r)}

    def mention(self, ep: Episode, chunks: list[Chunk]) -> int | None:
        """Where the instruction first names a value of this chunk that not every chunk of its source holds."""
        peers = [c.values() for c in chunks if c.source == self.source and c is not self]
        common = set.intersection(*peers) if peers else set()
        found = []
        for v in self.values() - common:
            if len(v) >= 2 and ep.in_instruction(v):
                at = ep.instr_l.find(v)
                parts = [p for p in SPLIT.split(v) if p]
                if at < 0 and len(parts) >= 3:  # "06:00:00" named as "06:00"
                    at = ep.instr_l.find(":".join(parts[:-1]))
                if at >= 0:
                    found.append(at)
        return min(found) if found else None

    def used(self, used: dict[str, str]) -> bool:
        return any(item_key(v) in used for it in self.items for v in it.values())


def _project(value: Any, schema: dict[str, Any], asked: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """``value`` (an object of a result) as an item of ``schema``: the item's keys, each of a fitting type; None
    when it lacks one (the required keys, or every property when none is required). A key the object lacks
    may come from ``asked``, the arguments of the call that listed it (a search's date: every object shares it)."""
    if not isinstance(value, dict):
        return None
    if asked:
        value = {**{k: v for k, v in asked.items() if not isinstance(v, (dict, list))}, **value}
    props = schema.get("properties") or {}
    keys = [k for k in (schema.get("required") or list(props)) if k in props]
    if not keys:
        return None
    out: dict[str, Any] = {}
    for k in keys:
        sub = props[k] if isinstance(props[k], dict) else {}
        if k not in value or isinstance(value[k], (dict, list)) or not fits_type(sub, value[k]):
            return None
        if sub.get("enum") is not None and value[k] not in sub["enum"]:
            return None
        out[k] = value[k]
    return out


def whole_items(ep: Episode, schema: dict[str, Any], tool: str, path: str) -> list[Chunk]:
    """Every run of objects in the earlier results that can stand for items of ``schema`` (deduplicated)."""
    out: dict[str, Chunk] = {}
    n = len(ep.results)

    def match(raw: list[Any]) -> int:
        return sum(1 for r in raw for v, _, _ in _scalar_leaves(r) if ep.in_instruction(v))

    def named(raw: list[Any]) -> tuple[list[str], list[str]]:
        hits, misses = set(), set()
        for r in raw:
            for v, key, _ in _scalar_leaves(r):
                hit, could = ep.names(v)
                if hit:
                    hits.add(key)
                elif could:
                    misses.add(key)
        return sorted(hits), sorted(misses - hits)

    def offer(items: list[dict[str, Any]], raw: list[Any], call: int, res_tool: str, where: str, whole: bool) -> None:
        if not items or len(items) > MAX_ITEMS:
            return
        c = Chunk(items, res_tool, where, call, n - 1 - call, whole, match(raw), raw, *named(raw))
        k = item_key(items)
        if k not in out or out[k].match < c.match:
            out[k] = c

    def walk(value: Any, where: str, call: int, res_tool: str, asked: dict[str, Any]) -> None:
        if isinstance(value, dict):
            # an id-keyed dict of objects is a list too (its keys are data, not a path)
            keyed = len(value) > 1 and all(isinstance(v, dict) for v in value.values())
            for k, v in value.items():
                walk(v, f"{where}.*" if keyed else f"{where}.{k}", call, res_tool, asked)
                p = _project(v, schema, asked) if keyed else None
                if p is not None:
                    offer([p], [v], call, res_tool, where + ".*", False)
        elif isinstance(value, list):
            proj = [_project(v, schema, asked) for v in value]
            for v, p in zip(value, proj, strict=True):
                if p is not None:
                    offer([p], [v], call, res_tool, where + "[]", False)
                elif isinstance(v, list):  # a group listed together (the legs of one itinerary)
                    group = [_project(x, schema, asked) for x in v]
                    if v and all(g is not None for g in group):
                        offer([g for g in group if g is not None], v, call, res_tool, where + "[][]", False)
            if len(value) > 1 and all(p is not None for p in proj):
                offer([p for p in proj if p is not None], value, call, res_tool, where + "[]", True)
            for v in value:
                if isinstance(v, (dict, list)):
                    walk(v, where + "[]", call, res_tool, asked)

    for i, (res_tool, value, is_error) in enumerate(ep.results):
        if not is_error:
            asked = ep.calls[i][1] if isinstance(ep.calls[i][1], dict) else {}
            walk(value, "", i, res_tool, asked)
    return list(out.values())[:60]


def _scalar_leaves(value: Any) -> list[tuple[Any, str, str]]:
    return list(leaves(value))
