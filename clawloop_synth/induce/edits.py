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
from dataclasses import dataclass, field, replace
from typing import Any

from clawloop_synth.induce.build import fit_expression, fit_recipe
from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.quantity import bases_of, fit_quantity
from clawloop_synth.induce.source import literal, var
from clawloop_synth.induce.subjects import Subject, pick

__all__ = ["COPY_HELPERS", "Edit", "fit_edits", "locate"]

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

    def apply(self, before: Mapping[str, Any], args: Mapping[str, Any], new_key: str | None,
              state: Mapping[str, Any], after: Mapping[str, Any]) -> Any:
        old = before.get(self.field)
        if self.kind == "set_built":
            return self.value.build(state, args, before)
        if self.kind in ("append_built", "append_nonzero") and isinstance(old, list):
            entry = _built_entry(self.value, before, after, args, state)
            if self.kind == "append_nonzero" and not _charged(self.value, entry):
                return old
            return [*old, entry]
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

    def lines(self, target: str) -> list[str]:
        slot = f"{target}[{literal(self.field)}]"
        if self.kind == "set_built":
            return [*self.value.lines("built"), f"{slot} = built"]
        if self.kind in ("append_built", "append_nonzero"):
            lines = ["entry = {}"]
            for name, kind, source in self.value:
                if kind == "arg":
                    lines.append(f"entry[{literal(name)}] = copied({var(source)})")
                elif kind == "const":
                    lines.append(f"entry[{literal(name)}] = {literal(source)}")
                elif kind == "quantity":
                    lines.append(f"entry[{literal(name)}] = {quantity_var(self.field, name)}")
                else:
                    lines.append(f"entry[{literal(name)}] = {source.expr('old', target)}")
            if self.kind == "append_nonzero":  # an entry of nothing charged is not recorded
                computed = [literal(name) for name, kind, _ in self.value if kind in ("quantity", "expr")]
                test = " or ".join(f"pick(entry, {name}) != 0" for name in computed)
                return [*lines, f"if {test}:", f"    {slot} = {slot} + [entry]"]
            return [*lines, f"{slot} = {slot} + [entry]"]
        return [self.line(target)]

    def pre_lines(self) -> list[str]:
        """Quantities the edit reads, computed before any edit changes the state."""
        if self.kind not in ("append_built", "append_nonzero"):
            return []
        return [f"{quantity_var(self.field, name)} = {source.expr()}" for name, kind, source in self.value
                if kind == "quantity"]

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
MAX_PAIRS_FOR_CANDIDATES = 12


def _built_entry(spec: Any, before: Mapping[str, Any], after: Mapping[str, Any], args: Mapping[str, Any],
                 state: Mapping[str, Any]) -> Any:
    entry: dict[str, Any] = {}
    for name, kind, source in spec:
        if kind == "quantity":  # a formula over the state before the call
            entry[name] = source.of(state, args)
        else:
            entry[name] = args.get(source) if kind == "arg" else source if kind == "const" else source.value(
                before, after, args)
    return entry


def _charged(spec: Any, entry: Mapping[str, Any]) -> bool:
    """Whether an entry built by ``spec`` has a computed number other than 0."""
    return any(entry.get(name) != 0 for name, kind, _ in spec if kind in ("quantity", "expr"))


def _appended(before: Mapping[str, Any], after: Mapping[str, Any], name: str) -> Any:
    old, new = before.get(name), after.get(name)
    if isinstance(old, list) and isinstance(new, list) and len(new) == len(old) + 1 and new[:-1] == old:
        return new[-1] if isinstance(new[-1], dict) else None
    return None


def quantity_var(field: str, name: str) -> str:
    return var(f"charge_{field}_{name}")


def _fit_append_built(name: str, pairs: Sequence[Pair], subjects: Sequence[Subject] | None = None) -> Edit | None:
    """Append an entry built from arguments, constants and totals (a payment of the fare difference)."""
    shown = [(p, entry) for p in pairs if (entry := _appended(p.before, p.after, name)) is not None]
    if not shown:
        return None
    spec: list[tuple[str, str, Any]] = []
    for field_name in shown[0][1]:
        values = [entry.get(field_name) for _, entry in shown]
        args = [a for a in shown[0][0].args if all(p.args.get(a) == v for (p, _), v in zip(shown, values,
                                                                                              strict=True))]
        if args:
            spec.append((field_name, "arg", field_name if field_name in args else args[0]))
        elif all(v == values[0] for v in values) and not (len(shown) > 1 and _number(values[0])):
            spec.append((field_name, "const", values[0]))
        elif all(_number(v) for v in values):
            samples = [(p.before, p.after, p.args, v) for (p, _), v in zip(shown, values, strict=True)]
            expression = fit_expression(samples, name)
            hits = sum(expression.value(b, a, g) == v for b, a, g, v in samples) if expression else 0
            if hits < len(samples) and subjects is not None:
                first = shown[0][0]
                got = fit_quantity([(p.state, p.args, v) for (p, _), v in zip(shown, values, strict=True)],
                                   bases_of(first.state, first.args, subjects, {}))
                if got is not None and got[1] > hits:
                    spec.append((field_name, "quantity", got[0]))
                    continue
            if expression is None:
                return None
            spec.append((field_name, "expr", expression))
        else:
            return None
    return Edit(name, "append_built", value=tuple(spec))


def _candidates(name: str, pair: Pair) -> list[Edit]:
    before, after, args, new_key = pair.before, pair.after, pair.args, pair.new_key
    found = [Edit(name, "keep")]
    if name not in after:
        return [*found, Edit(name, "remove")]
    value = after[name]
    if value != before.get(name):
        for recipe in fit_recipe(value, args, pair.state):
            found.append(Edit(name, "set_built", value=recipe))
            if isinstance(before.get(name), list):  # the entries already held for an item may be kept
                found.append(Edit(name, "set_built", value=replace(recipe, keep=name)))
                found += [Edit(name, "set_built", value=replace(recipe, keep=name, same=(a,))) for a, given in
                          args.items() if isinstance(given, str) and isinstance(before.get(a), str)]
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


def _explains(edit: Edit, pair: Pair) -> bool:
    got = edit.apply(pair.before, pair.args, pair.new_key, pair.state, pair.after)
    if got is _REMOVED:
        return edit.field not in pair.after
    return edit.field in pair.after and got == pair.after[edit.field]


@dataclass
class Pair:
    """One example's entity before and after, with the call's arguments, created key and state."""

    before: dict[str, Any]
    after: dict[str, Any]
    args: dict[str, Any]
    new_key: str | None
    state: dict[str, Any]


@dataclass
class Evidence:
    """The before/after pairs of one subject's entity over a tool's examples."""

    subject: Subject
    pairs: list[Pair] = field(default_factory=list)


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
            evidence.pairs.append(Pair(before, after, example.args, new_keys.get(position), example.pre))
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
        for pair in evidence.pairs:
            names.extend(name for name in [*pair.before, *pair.after] if name not in names)
        edits: list[Edit] = []
        for name in names:
            scores: dict[Edit, int] = {}
            pool = [edit for pair in evidence.pairs[:MAX_PAIRS_FOR_CANDIDATES] for edit in _candidates(name, pair)]
            built = _fit_append_built(name, evidence.pairs, subjects)
            if built is not None:
                pool.append(built)
                if any(kind in ("quantity", "expr") for _, kind, _ in built.value):
                    pool.append(Edit(name, "append_nonzero", value=built.value))
            for edit in pool:
                if edit not in scores:
                    scores[edit] = sum(_explains(edit, pair) for pair in evidence.pairs)
            best = max(scores, key=lambda e: scores[e])  # dict order: keep wins ties
            if best.kind != "keep" and scores[best] > scores.get(Edit(name, "keep"), 0):
                edits.append(best)
        if edits:
            # Appended totals read the fields the other edits set, so they come last.
            out[subject] = sorted(edits, key=lambda e: e.kind in ("append_built", "append_nonzero"))
    return out
