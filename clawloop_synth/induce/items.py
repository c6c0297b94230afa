"""Conditions on the items of a list argument: an item names an entity that is missing, or one of
that entity's values (reached by a path the item and arguments select) differs from what the
successes show (``flights[item.flight_number].dates[item.date].status != "available"``), or a
number there is below a count the call implies (the length of a list argument, or of a list field
of the entity another argument selects: fewer seats left than travellers)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from clawloop_synth.induce.build import Step, follow, path_expr
from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.source import literal, var

__all__ = ["ItemCondition", "entry_tables", "item_candidates", "quoted_item"]

MAX_DEPTH = 4
MAX_LITERAL_KEYS = 12
MAX_LEAVES = 200


@dataclass(frozen=True)
class ItemCondition:
    """Holds when some item of ``args[arg]`` fails; the loop in the handler returns at the first one."""

    kind: str  # item_missing | item_ne | item_eq | item_lt_count | item_lt_item
    arg: str
    link: str
    collection: str
    steps: tuple[Step, ...] = ()
    value: Any = None  # item_ne/item_eq: the value; item_lt_item: the item's numeric field
    count: tuple[str, ...] = ()  # ("arg", A): len(args[A]); ("entity", C, A, F): len(state[C][args[A]][F])
    within: tuple[str, ...] = ()  # (C, A, F): items name entries of state[C][args[A]][F], not of a collection

    def table(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        """The dict the items' link values are keys of."""
        if not self.within:
            return state.get(self.collection)
        name, arg, field = self.within
        table = state.get(name)
        key = args.get(arg)
        entity = table.get(key) if isinstance(table, dict) and isinstance(key, str) else None
        return entity.get(field) if isinstance(entity, dict) else None

    def failing(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> Mapping[str, Any] | None:
        items = args.get(self.arg)
        table = self.table(state, args)
        if not isinstance(items, list) or not isinstance(table, dict):
            return None
        for item in items:
            if not isinstance(item, dict):
                continue
            key = item.get(self.link)
            linked = table.get(key) if isinstance(key, str) else None
            if self.kind == "item_missing":
                if linked is None:
                    return item
                continue
            if linked is None:
                continue
            got = follow(linked, self.steps, item, args)
            if self.kind == "item_lt_count":
                wanted = count_of(self.count, state, args)
                if _number(got) and wanted is not None and got < wanted:
                    return item
                continue
            if self.kind == "item_lt_item":
                if _number(got) and _number(item.get(self.value)) and got < item[self.value]:
                    return item
                continue
            if (self.kind == "item_ne" and got != self.value) or (self.kind == "item_eq" and got == self.value):
                return item
        return None

    def holds(self, example: Example) -> bool:
        return self.failing(example.pre or {}, example.args) is not None

    def test(self) -> str:
        if self.kind == "item_missing":
            return "linked is None"
        got = path_expr("linked", self.steps, "item")
        if self.kind == "item_ne":
            return f"linked is not None and {got} != {literal(self.value)}"
        if self.kind == "item_lt_count":
            if self.count[0] == "arg":
                count = f"len({var(self.count[1])} or [])"
            else:
                where = f"{literal(self.count[1])}, {var(self.count[2])}, {literal(self.count[3])}"
                count = f"len(pick(state, {where}) or [])"
            return f"isnumber({got}) and {got} < {count}"
        if self.kind == "item_lt_item":
            wanted = f"pick(item, {literal(self.value)})"
            return f"isnumber({got}) and isnumber({wanted}) and {got} < {wanted}"
        return f"{got} == {literal(self.value)}"

    def table_expr(self) -> str:
        if not self.within:
            return f"pick(state, {literal(self.collection)}, pick(item, {literal(self.link)}))"
        name, arg, field = self.within
        return f"pick(state, {literal(name)}, {var(arg)}, {literal(field)}, pick(item, {literal(self.link)}))"

    def lines(self, result: str) -> list[str]:
        return [f"for item in {var(self.arg)} or []:", f"    linked = {self.table_expr()}",
                f"    if {self.test()}:", f"        return {result}"]


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def count_of(count: tuple[str, ...], state: Mapping[str, Any], args: Mapping[str, Any]) -> int | None:
    """The count a condition compares with, in this call (None when it cannot be taken)."""
    if count[0] == "arg":
        items = args.get(count[1])
    else:
        table = state.get(count[1])
        key = args.get(count[2])
        entity = table.get(key) if isinstance(table, dict) and isinstance(key, str) else None
        items = entity.get(count[3]) if isinstance(entity, dict) else None
    return len(items) if isinstance(items, list) else None


def counts(state: Mapping[str, Any], args: Mapping[str, Any], skip: str) -> list[tuple[str, ...]]:
    """Counts a call implies: its list arguments' lengths and the list fields of the entities it names."""
    found: list[tuple[str, ...]] = [("arg", name) for name, value in args.items()
                                    if isinstance(value, list) and name != skip]
    for name, key in args.items():
        if not isinstance(key, str):
            continue
        for collection, table in state.items():
            entity = table.get(key) if isinstance(table, dict) else None
            if isinstance(entity, dict):
                found += [("entity", collection, name, field) for field, value in entity.items()
                          if isinstance(value, list)]
    return found


def _leaves(root: Any, item: Mapping[str, Any], args: Mapping[str, Any]) -> list[tuple[tuple[Step, ...], Any]]:
    variables = [("item", k) for k, v in item.items() if isinstance(v, str)]
    variables += [("arg", k) for k, v in args.items() if isinstance(v, str)]
    out: list[tuple[tuple[Step, ...], Any]] = []
    frontier: list[tuple[Any, tuple[Step, ...]]] = [(root, ())]
    for _ in range(MAX_DEPTH):
        fresh: list[tuple[Any, tuple[Step, ...]]] = []
        for node, steps in frontier:
            if not isinstance(node, dict):
                continue
            named = [s for s in variables if isinstance(node.get(item.get(s[1]) if s[0] == "item" else args.get(s[1])),
                                                         dict | str | int | float | bool)]
            if named:
                moves = [(node[item[s[1]] if s[0] == "item" else args[s[1]]], s) for s in named]
            elif len(node) <= MAX_LITERAL_KEYS:
                moves = [(child, ("lit", key)) for key, child in node.items()]
            else:
                moves = []
            for child, step in moves:
                if isinstance(child, dict):
                    fresh.append((child, (*steps, step)))
                elif isinstance(child, str | int | float | bool) or child is None:
                    out.append(((*steps, step), child))
                    if len(out) >= MAX_LEAVES:
                        return out
        frontier = fresh
    return out


Table = tuple[str, tuple[str, ...], dict[str, Any]]  # (label, within, the dict)


def entry_tables(state: Mapping[str, Any], args: Mapping[str, Any]) -> list[Table]:
    """Dicts whose keys items may name: every collection, and the dict fields of the entities the
    arguments select (a user's payment methods, keyed by payment id)."""
    found: list[Table] = [
        (name, (), table) for name, table in state.items() if isinstance(table, dict)]
    for arg, key in args.items():
        if not isinstance(key, str):
            continue
        for name, table in state.items():
            entity = table.get(key) if isinstance(table, dict) else None
            if isinstance(entity, dict):
                found += [(f"{name}.{field}", (name, arg, field), value) for field, value in entity.items()
                          if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values())]
    return found


def quoted_item(text: str, args: Mapping[str, Any]) -> tuple[str, Mapping[str, Any]] | None:
    """The item of a list argument whose values the message quotes most (the one that failed)."""
    best: tuple[int, str, Mapping[str, Any]] | None = None
    for arg, items in args.items():
        if not isinstance(items, list):
            continue
        for item in items:
            if not isinstance(item, dict):
                continue
            hits = sum(isinstance(v, str | int) and not isinstance(v, bool) and len(str(v)) >= 2 and str(v) in text
                       for v in item.values())
            if hits and (best is None or hits > best[0]):
                best = (hits, arg, item)
    return (best[1], best[2]) if best else None


def item_candidates(example: Example, successes: list[Example]) -> list[ItemCondition]:
    """Item conditions suggested by one error example's quoted item, with the successes' values."""
    pre = example.pre or {}
    quoted = quoted_item(example.text, example.args)
    if quoted is None:
        return []
    arg, item = quoted
    found: list[ItemCondition] = []
    for link, key in item.items():
        if not isinstance(key, str):
            continue
        for collection, within, table in entry_tables(pre, example.args):
            linked = table.get(key)
            if linked is None:
                probe = ItemCondition("item_missing", arg, link, collection, within=within)
                if any(isinstance(other, dict) and isinstance(mine := probe.table(e.pre or {}, e.args), dict)
                       and other.get(link) in mine
                       for e in successes[:20] for other in (e.args.get(arg) or []) if isinstance(other, dict)):
                    found.append(probe)
                continue
            if not isinstance(linked, dict):
                continue
            numbers = [name for name, value in item.items() if _number(value)]
            for steps, value in _leaves(linked, item, example.args):
                if _number(value):
                    found += [ItemCondition("item_lt_item", arg, link, collection, steps, name, within=within)
                              for name in numbers if value < item[name]]
            if within:
                continue
            implied = counts(pre, example.args, arg)
            for steps, value in _leaves(linked, item, example.args):
                found.append(ItemCondition("item_eq", arg, link, collection, steps, value))
                if _number(value):
                    found += [ItemCondition("item_lt_count", arg, link, collection, steps, count=count)
                              for count in implied if (n := count_of(count, pre, example.args)) is not None
                              and value < n]
                for success in successes[:5]:
                    for other in success.args.get(arg) or []:
                        if isinstance(other, dict):
                            target = (success.pre or {}).get(collection, {}).get(other.get(link))
                            if isinstance(target, dict):
                                ok = follow(target, steps, other, success.args)
                                if ok != value:
                                    found.append(ItemCondition("item_ne", arg, link, collection, steps, ok))
                                break
                    break
    return list(dict.fromkeys(found))
