"""Creating writes: the new entity a write adds (fields from arguments or constants, a generated key) and
the lists of other entities that name it (backlinks), fitted to the recorded creations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.induce.build import Recipe, fit_recipe
from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.source import literal, var

__all__ = ["Create", "fit_create"]


@dataclass
class Create:
    """A new entity of ``collection``: fields from arguments or constants, key from ``generated``."""

    collection: str
    key_field: str
    fields: list[tuple[str, str, Any]]  # (field, "arg" | "const" | "key", arg name or value)
    generated: list[str]
    backlinks: list[tuple[str, str, str]] = field(default_factory=list)  # (field, collection, list field)

    def lines(self) -> list[str]:
        lines = [f"table = state.setdefault({literal(self.collection)}, {{}})", "new_key = None",
                 f"for candidate in {literal(self.generated)}:",
                 "    if candidate not in table:", "        new_key = candidate", "        break",
                 "if new_key is None:", f"    new_key = {literal(_prefix(self.generated))} + str(len(table) + 1)",
                 "created = {}"]
        for name, kind, source in self.fields:
            if kind == "key":
                lines.append(f"created[{literal(name)}] = new_key")
            elif kind == "arg":
                lines.append(f"created[{literal(name)}] = copied({var(source)})")
            elif kind == "built":
                lines += [*source.lines("built"), f"created[{literal(name)}] = built"]
            else:
                lines.append(f"created[{literal(name)}] = {literal(source)}")
        lines.append("table[new_key] = created")
        for name, other, listed in self.backlinks:
            slot = f"owner[{literal(listed)}]"
            lines += [f"owner = pick(state, {literal(other)}, created.get({literal(name)}))",
                      f"if isinstance(pick(owner, {literal(listed)}), list) and new_key not in {slot}:",
                      f"    {slot}.append(new_key)"]
        return lines


def _prefix(keys: Sequence[str]) -> str:
    if not keys:
        return "new_"
    head = keys[0]
    for key in keys[1:]:
        while not key.startswith(head):
            head = head[:-1]
    return head.rstrip("0123456789") or "new_"


def fit_create(examples: Sequence[Example], collections: Mapping[str, str]) -> tuple[Create, dict[int, str]] | None:
    """A create when the results are new entities of a keyed collection (their key not yet in use)."""
    for name, key_field in collections.items():
        if not key_field:
            continue
        made: dict[int, dict[str, Any]] = {}
        for position, example in enumerate(examples):
            value = example.value
            table = (example.pre or {}).get(name)
            if (isinstance(value, dict) and isinstance(value.get(key_field), str) and isinstance(table, dict)
                    and value[key_field] not in table):
                made[position] = value
        if not made or len(made) * 2 < len(examples):
            continue
        generated: list[str] = []
        for value in made.values():
            if value[key_field] not in generated:
                generated.append(value[key_field])
        sample = next(iter(made.values()))
        fields: list[tuple[str, str, Any]] = []
        for field_name in sample:
            if field_name == key_field:
                fields.append((field_name, "key", None))
                continue
            choice = _field_source(field_name, [(examples[p].args, v) for p, v in made.items()])
            exact = all(_source_value(choice, examples[p].args) == v.get(field_name) for p, v in made.items())
            if not exact and isinstance(sample.get(field_name), list):
                recipe = _fit_built_field(field_name, [(examples[p], v) for p, v in made.items()])
                if recipe is not None:
                    choice = ("built", recipe)
            fields.append((field_name, *choice))
        state = examples[next(iter(made))].pre or {}
        create = Create(name, key_field, fields, generated, backlinks(state, name, sample))
        return create, {p: v[key_field] for p, v in made.items()}
    return None


BACKLINK_SHARE = 0.95
BACKLINK_SAMPLE = 500


def backlinks(state: Mapping[str, Any], collection: str, sample: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """The lists that hold this collection's keys in the entities its entities name: where the state
    shows, for (nearly) every entity, its key in the list field of the entity one of its fields names
    (a user's list of reservation ids), a created entity's key joins that list too."""
    table = state.get(collection)
    if not isinstance(table, dict) or not table:
        return []
    entities = [(key, value) for key, value in list(table.items())[:BACKLINK_SAMPLE] if isinstance(value, dict)]
    found: list[tuple[str, str, str]] = []
    for name, value in sample.items():
        if not isinstance(value, str):
            continue
        for other, owners in state.items():
            if other == collection or not isinstance(owners, dict) or not isinstance(owners.get(value), dict):
                continue
            for listed, items in owners[value].items():
                if not isinstance(items, list):
                    continue
                held = sum(isinstance(owner := owners.get(entity.get(name)), dict)
                           and isinstance(owner.get(listed), list) and key in owner[listed]
                           for key, entity in entities)
                if held >= BACKLINK_SHARE * len(entities):
                    found.append((name, other, listed))
    return found


def _source_value(choice: tuple[str, Any], args: Mapping[str, Any]) -> Any:
    return args.get(choice[1]) if choice[0] == "arg" else choice[1]


def _fit_built_field(name: str, shown: Sequence[tuple[Example, Mapping[str, Any]]]) -> Recipe | None:
    best: tuple[int, Recipe] | None = None
    for recipe in fit_recipe(shown[0][1].get(name), shown[0][0].args, shown[0][0].pre or {}):
        hits = sum(recipe.build(e.pre or {}, e.args) == v.get(name) for e, v in shown)
        if best is None or hits > best[0]:
            best = (hits, recipe)
    return best[1] if best else None


def _field_source(name: str, shown: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]]) -> tuple[str, Any]:
    args = [a for a in shown[0][0] if all(g.get(a) == v.get(name) for g, v in shown)]
    if name in args:
        return "arg", name
    if args:
        return "arg", args[0]
    values = [v.get(name) for _, v in shown]
    if all(value == values[0] for value in values):
        return "const", values[0]
    if name in shown[0][0]:
        return "arg", name  # the nearest guess: the argument of the same name
    return "const", values[0]
