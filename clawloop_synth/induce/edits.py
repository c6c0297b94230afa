"""Write handlers as edit programs, searched in a small language and fitted to what the recording shows.

The evidence for a write is the entity it changed as it was before the call and as the call's own
result or the next read shows it afterwards. For every field of every entity the call reaches, the
edit that explains the most examples is kept, from: keep, set from an argument, set to a constant,
add or subtract a numeric argument, append an argument, append the negated copies of the list's
items (a refund of every payment), remove, and append the id of an entity the call creates. A
create builds its entity from arguments and constants, with the key taken from the ids the
recording generated (first one not in use), else numbered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.source import literal, var
from clawloop_synth.induce.subjects import Subject, pick

__all__ = ["COPY_HELPERS", "Create", "Edit", "fit_create", "fit_edits", "locate"]

COPY_HELPERS = '''
def copied(value):
    # A fresh JSON copy, so that the state never shares a list or dict with the arguments.
    if isinstance(value, dict):
        return {name: copied(item) for name, item in value.items()}
    if isinstance(value, list):
        return [copied(item) for item in value]
    return value


def negated(value):
    # The item with every number negated (a refund entry for a payment entry).
    if isinstance(value, dict):
        return {name: negated(item) for name, item in value.items()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return -value
    return value
'''


def _negated(value: Any) -> Any:
    if isinstance(value, dict):
        return {name: _negated(item) for name, item in value.items()}
    if isinstance(value, int | float) and not isinstance(value, bool):
        return -value
    return value


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def locate(subject: Subject, state: Mapping[str, Any], args: Mapping[str, Any]) -> tuple[str, str] | None:
    """(collection, key) of an arg- or link-selected subject."""
    if subject.kind == "arg":
        key = args.get(subject.name)
    elif subject.kind == "link" and subject.parent is not None:
        key = pick(subject.parent.resolve(state, args), subject.name)
    else:
        return None
    return (subject.collection, key) if isinstance(key, str) else None


@dataclass(frozen=True)
class Edit:
    """One field edit: kind keep | set_arg | set_const | add | sub | append_arg | extend_neg | remove | append_new."""

    field: str
    kind: str
    arg: str = ""
    value: Any = None

    def apply(self, before: Mapping[str, Any], args: Mapping[str, Any], new_key: str | None) -> Any:
        old = before.get(self.field)
        if self.kind == "set_arg":
            return args.get(self.arg)
        if self.kind == "set_const":
            return self.value
        if self.kind in ("add", "sub") and _number(old) and _number(args.get(self.arg)):
            return old + args[self.arg] if self.kind == "add" else old - args[self.arg]
        if self.kind == "append_arg" and isinstance(old, list):
            return [*old, args.get(self.arg)]
        if self.kind == "extend_neg" and isinstance(old, list):
            return [*old, *(_negated(item) for item in old)]
        if self.kind == "append_new" and isinstance(old, list) and new_key is not None:
            return [*old, new_key]
        if self.kind == "remove":
            return _REMOVED
        return old

    def line(self, target: str) -> str:
        slot = f"{target}[{literal(self.field)}]"
        if self.kind == "set_arg":
            return f"{slot} = copied({var(self.arg)})"
        if self.kind == "set_const":
            return f"{slot} = {literal(self.value)}"
        if self.kind == "add":
            return f"{slot} = {slot} + {var(self.arg)}"
        if self.kind == "sub":
            return f"{slot} = {slot} - {var(self.arg)}"
        if self.kind == "append_arg":
            return f"{slot} = {slot} + [copied({var(self.arg)})]"
        if self.kind == "extend_neg":
            return f"{slot} = {slot} + [negated(item) for item in {slot}]"
        if self.kind == "append_new":
            return f"{slot} = {slot} + [new_key]"
        if self.kind == "remove":
            return f"{target}.pop({literal(self.field)}, None)"
        return "pass"


_REMOVED = object()


def _candidates(name: str, before: Mapping[str, Any], after: Mapping[str, Any], args: Mapping[str, Any],
                new_key: str | None) -> list[Edit]:
    found = [Edit(name, "keep")]
    if name not in after:
        return [*found, Edit(name, "remove")]
    value = after[name]
    for arg, given in args.items():
        if given == value:
            found.append(Edit(name, "set_arg", arg))
        if _number(given) and _number(before.get(name)):
            found += [Edit(name, "add", arg), Edit(name, "sub", arg)]
        if isinstance(before.get(name), list):
            found.append(Edit(name, "append_arg", arg))
    if isinstance(value, str | int | float | bool) or value is None:
        found.append(Edit(name, "set_const", value=value))
    if isinstance(before.get(name), list):
        found.append(Edit(name, "extend_neg"))
        if new_key is not None:
            found.append(Edit(name, "append_new"))
    return found


def _explains(edit: Edit, before: Mapping[str, Any], after: Mapping[str, Any], args: Mapping[str, Any],
              new_key: str | None) -> bool:
    got = edit.apply(before, args, new_key)
    if got is _REMOVED:
        return edit.field not in after
    return edit.field in after and got == after[edit.field]


@dataclass
class Evidence:
    """The before/after pairs of one subject's entity over a tool's examples."""

    subject: Subject
    pairs: list[tuple[dict[str, Any], dict[str, Any], dict[str, Any], str | None]] = field(default_factory=list)


def _evidence(subject: Subject, examples: Sequence[Example], new_keys: Mapping[int, str]) -> Evidence:
    evidence = Evidence(subject)
    for position, example in enumerate(examples):
        assert example.pre is not None
        where = locate(subject, example.pre, example.args)
        if where is None:
            continue
        before = pick(example.pre, *where)
        after = example.post.get(f"{where[0]}\x00{where[1]}")
        if isinstance(before, dict) and isinstance(after, dict):
            evidence.pairs.append((before, after, example.args, new_keys.get(position)))
    return evidence


def fit_edits(subjects: Sequence[Subject], examples: Sequence[Example],
              new_keys: Mapping[int, str] | None = None) -> dict[Subject, list[Edit]]:
    """Per subject, the field edits (other than keep) that explain more examples than keeping the field."""
    new_keys = new_keys or {}
    out: dict[Subject, list[Edit]] = {}
    for subject in subjects:
        if subject.kind not in ("arg", "link"):
            continue
        evidence = _evidence(subject, examples, new_keys)
        if not evidence.pairs:
            continue
        names: list[str] = []
        for before, after, _, _ in evidence.pairs:
            names.extend(name for name in [*before, *after] if name not in names)
        edits: list[Edit] = []
        for name in names:
            scores: dict[Edit, int] = {}
            for before, after, args, new_key in evidence.pairs:
                for edit in _candidates(name, before, after, args, new_key):
                    if edit not in scores:
                        scores[edit] = sum(_explains(edit, b, a, g, k) for b, a, g, k in evidence.pairs)
            best = max(scores, key=lambda e: scores[e])  # dict order: keep wins ties
            if best.kind != "keep" and scores[best] > scores.get(Edit(name, "keep"), 0):
                edits.append(best)
        if edits:
            out[subject] = edits
    return out


@dataclass
class Create:
    """A new entity of ``collection``: fields from arguments or constants, key from ``generated``."""

    collection: str
    key_field: str
    fields: list[tuple[str, str, Any]]  # (field, "arg" | "const" | "key", arg name or value)
    generated: list[str]

    def lines(self) -> list[str]:
        lines = [f"table = state[{literal(self.collection)}]", "new_key = None",
                 f"for candidate in {literal(self.generated)}:",
                 "    if candidate not in table:", "        new_key = candidate", "        break",
                 "if new_key is None:", f"    new_key = {literal(_prefix(self.generated))} + str(len(table) + 1)",
                 "created = {}"]
        for name, kind, source in self.fields:
            if kind == "key":
                lines.append(f"created[{literal(name)}] = new_key")
            elif kind == "arg":
                lines.append(f"created[{literal(name)}] = copied({var(source)})")
            else:
                lines.append(f"created[{literal(name)}] = {literal(source)}")
        lines.append("table[new_key] = created")
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
            fields.append((field_name, *choice))
        return Create(name, key_field, fields, generated), {p: v[key_field] for p, v in made.items()}
    return None


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
