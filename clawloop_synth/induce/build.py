"""Values a write builds: lists made from an argument's items enriched by lookups, and numeric totals.

A built list takes each item of a list argument and adds fields looked up in the entity the item
names (``flights[item.flight_number].dates[item.date].prices[cabin]``): the path into that entity is
searched, each step a literal key or the value of an item field or an argument. A total is a small
arithmetic expression over numeric arguments, list lengths and sums of a numeric field over a
list, before or after the call (``(sum of new prices - sum of old prices) * passengers``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

from clawloop_synth.induce.source import literal, var

__all__ = ["KEEP_HELPER", "TOTAL_HELPER", "Expression", "Recipe", "fit_expression", "fit_recipe", "path_expr"]

MAX_DEPTH = 4
MAX_LITERAL_KEYS = 40

TOTAL_HELPER = '''
def total(entity, field, part):
    # The sum of one numeric field over the items of a list field.
    found = 0
    for item in (entity or {}).get(field) or []:
        value = item.get(part) if isinstance(item, dict) else None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found = found + value
    return found
'''

Step = tuple[str, str]  # ("lit", key) | ("item", field) | ("arg", name)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _step_value(step: Step, item: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
    kind, name = step
    return name if kind == "lit" else (item.get(name) if kind == "item" else args.get(name))


def follow(root: Any, steps: Sequence[Step], item: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
    node = root
    for step in steps:
        key = _step_value(step, item, args)
        if not isinstance(node, dict) or not isinstance(key, str) or key not in node:
            return None
        node = node[key]
    return node


def find_path(root: Any, value: Any, item: Mapping[str, Any], args: Mapping[str, Any]) -> tuple[Step, ...] | None:
    """The shortest path from ``root`` to ``value``, preferring steps named by an item field or argument."""
    variables = [("item", k) for k, v in item.items() if isinstance(v, str)]
    variables += [("arg", k) for k, v in args.items() if isinstance(v, str)]
    frontier: list[tuple[Any, tuple[Step, ...]]] = [(root, ())]
    for _ in range(MAX_DEPTH):
        fresh: list[tuple[Any, tuple[Step, ...]]] = []
        for node, steps in frontier:
            if not isinstance(node, dict):
                continue
            named = [step for step in variables if _step_value(step, item, args) in node]
            if named:
                moves = [(node[_step_value(step, item, args)], step) for step in named]
            elif len(node) <= MAX_LITERAL_KEYS:
                moves = [(child, ("lit", key)) for key, child in node.items()]
            else:
                moves = []
            for child, step in moves:
                if child == value and not isinstance(child, dict | list):
                    return (*steps, step)
                fresh.append((child, (*steps, step)))
        frontier = fresh
    return None


def path_expr(root: str, steps: Sequence[Step], item: str) -> str:
    parts = [literal(name) if kind == "lit" else (f"pick({item}, {literal(name)})" if kind == "item" else var(name))
             for kind, name in steps]
    return f"pick({root}, {', '.join(parts)})" if parts else root


@dataclass(frozen=True)
class Recipe:
    """``[item + looked-up fields for item in args[arg]]``; lookups go into ``state[collection][item[link]]``."""

    arg: str
    link: str
    collection: str
    extra: tuple[tuple[str, tuple[Step, ...]], ...]
    keep: str = ""  # a list field of the edited entity whose entry matching an item is kept as it was
    same: tuple[str, ...] = ()  # ... only when these arguments equal the entity's fields of the same name

    def build(self, state: Mapping[str, Any], args: Mapping[str, Any], old: Any = None) -> Any:
        items = args.get(self.arg)
        if not isinstance(items, list):
            return None
        table = state.get(self.collection)
        keeping = self.keep and isinstance(old, dict) and all(args.get(a) == old.get(a) for a in self.same)
        out = []
        for item in items:
            if not isinstance(item, dict):
                return None
            kept = _matching(old.get(self.keep), item) if keeping and isinstance(old, dict) else None
            if kept is not None:
                out.append(dict(kept))
                continue
            linked = table.get(item.get(self.link)) if isinstance(table, dict) else None
            entry = dict(item)
            for name, steps in self.extra:
                entry[name] = follow(linked, steps, item, args)
            out.append(entry)
        return out

    def lines(self, target: str) -> list[str]:
        lines = [f"{target} = []", f"for item in {var(self.arg)} or []:"]
        body = [f"linked = pick(state, {literal(self.collection)}, pick(item, {literal(self.link)}))",
                "entry = copied(item)"]
        body += [f"entry[{literal(name)}] = {path_expr('linked', steps, 'item')}" for name, steps in self.extra]
        if self.keep:
            # An entry the entity already holds for this item keeps its values (a segment not changed
            # keeps the price it was bought at).
            test = " and ".join([f"{var(a)} == pick(old, {literal(a)})" for a in self.same] or ["True"])
            lines += [f"    entry = copied(matching(pick(old, {literal(self.keep)}), item)) if {test} else None",
                      "    if entry is None:", *("        " + line for line in body)]
        else:
            lines += ["    " + line for line in body]
        lines.append(f"    {target}.append(entry)")
        return lines


KEEP_HELPER = '''
def matching(entries, item):
    # The first entry holding every field of the item with the same value.
    for each in entries or []:
        if isinstance(each, dict) and isinstance(item, dict):
            if all(each.get(name) == value for name, value in item.items()):
                return each
    return None
'''


def _matching(entries: Any, item: Mapping[str, Any]) -> Any:
    for each in entries if isinstance(entries, list) else []:
        if isinstance(each, dict) and all(each.get(name) == value for name, value in item.items()):
            return each
    return None


def fit_recipe(value: Any, args: Mapping[str, Any], state: Mapping[str, Any]) -> list[Recipe]:
    """Recipes that build ``value`` (a list of dicts) from a list argument and lookups, in this example."""
    if not isinstance(value, list) or not value or not all(isinstance(v, dict) for v in value):
        return []
    found: list[Recipe] = []
    for arg, items in args.items():
        if not isinstance(items, list) or len(items) != len(value) or not all(isinstance(i, dict) for i in items):
            continue
        first, shown = items[0], value[0]
        if any(shown.get(k) != v for k, v in first.items()):
            continue
        extra_names = [name for name in shown if name not in first]
        for link, key in first.items():
            if not isinstance(key, str):
                continue
            for collection, table in state.items():
                if not isinstance(table, dict) or not isinstance(table.get(key), dict):
                    continue
                extra = []
                for name in extra_names:
                    steps = find_path(table[key], shown[name], first, args)
                    if steps is None:
                        break
                    extra.append((name, steps))
                else:
                    recipe = Recipe(arg, link, collection, tuple(extra))
                    if recipe.build(state, args) == value:
                        found.append(recipe)
    return found


@dataclass(frozen=True)
class Feature:
    """A number a total may use: an argument, a list's length, or a field's sum over a list (old or new)."""

    kind: str  # arg | len | sum_old | sum_new
    name: str
    part: str = ""

    def value(self, before: Mapping[str, Any], after: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        if self.kind == "arg":
            return args.get(self.name)
        if self.kind == "len":
            items = before.get(self.name)
            return len(items) if isinstance(items, list) else None
        source = before if self.kind == "sum_old" else after
        items = source.get(self.name)
        if not isinstance(items, list):
            return None
        return sum(i[self.part] for i in items if isinstance(i, dict) and _number(i.get(self.part)))

    def expr(self, old: str, new: str) -> str:
        if self.kind == "arg":
            return var(self.name)
        if self.kind == "len":
            return f"len({old}.get({literal(self.name)}) or [])"
        return f"total({old if self.kind == 'sum_old' else new}, {literal(self.name)}, {literal(self.part)})"


def features(before: Mapping[str, Any], args: Mapping[str, Any], exclude: str = "") -> list[Feature]:
    out = [Feature("arg", name) for name, value in args.items() if _number(value)]
    for name, items in before.items():
        if isinstance(items, list) and name != exclude:
            out.append(Feature("len", name))
            parts = {k for i in items if isinstance(i, dict) for k, v in i.items() if _number(v)}
            for part in sorted(parts):
                out += [Feature("sum_old", name, part), Feature("sum_new", name, part)]
    return out


@dataclass(frozen=True)
class Expression:
    """``a``, ``a op b`` or ``(a op b) * c`` over features."""

    terms: tuple[Feature, ...]
    ops: tuple[str, ...]

    def value(self, before: Mapping[str, Any], after: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        values = [term.value(before, after, args) for term in self.terms]
        if not all(_number(v) for v in values):
            return None
        result = values[0]
        for op, other in zip(self.ops, values[1:], strict=True):
            result = result + other if op == "+" else result - other if op == "-" else result * other
        return result

    def expr(self, old: str, new: str) -> str:
        text = self.terms[0].expr(old, new)
        for index, (op, term) in enumerate(zip(self.ops, self.terms[1:], strict=True)):
            text = f"{text} {op} {term.expr(old, new)}"
            if index == 0 and len(self.ops) > 1:
                text = f"({text})"
        return text


def fit_expression(samples: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], Mapping[str, Any], Any]],
                   exclude: str = "") -> Expression | None:
    """The smallest expression giving the wanted number in the most samples (before, after, args, wanted);
    ``exclude`` is the list being appended to (its own new sum would include the number itself)."""
    if not samples:
        return None
    pool = features(samples[0][0], samples[0][2], exclude)[:16]
    shapes: list[Expression] = [Expression((a,), ()) for a in pool]
    shapes += [Expression((a, b), (op,)) for a, b in product(pool, pool) for op in "+-*" if a != b]
    shapes += [Expression((a, b, c), (op, "*")) for a, b in product(pool, pool) if a != b for op in "+-"
               for c in pool]
    best: tuple[int, Expression] | None = None
    for shape in shapes:
        hits = 0
        for before, after, args, wanted in samples:
            if shape.value(before, after, args) == wanted:
                hits += 1
        if hits and (best is None or hits > best[0]):
            best = (hits, shape)
            if hits == len(samples):
                break
    return best[1] if best else None
