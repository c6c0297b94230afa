"""Effects a write has on members the recording never shows again: balances charged, members used up,
members added.

No trajectory need read an entity again after a write for these to be inferred:

- **charges**: a write's result holds a list whose new entries name a member of a dict field of
  another entity (``owner[members][entry[key]]``) and carry a number of the same name as a numeric
  field of that member. When every positive charge in the recording is covered by the member's
  number (never above it: the invariant of a balance), the write subtracts each new entry's number
  from its member's.
- **used up**: a later call of the same trajectory that names a charged member fails with an error
  that quotes the member's key and is not the tool's own shortfall error: the member is gone. The
  fields that every member seen gone shares (and no member charged again without error has) select
  the members a charge removes instead of debiting.
- **added**: a write whose text result quotes a new key shaped like the keys of a dict field of the
  entity an argument selects adds a member there, its fields as the existing members with that
  key prefix have them (the member's own key, numbers from arguments of the same name, constants
  those members share), its key the recorded one when free, else the next number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.source import literal, var

__all__ = ["CHARGE_HELPER", "AddMember", "Charge", "fit_add_member", "fit_charge"]

MIN_SUPPORT = 2
SAMPLE = 400

CHARGE_HELPER = '''
def charge(state, entity, before, listed, key, number, owners, owner_field, members, balance, gone_field, gone):
    # Each new entry of the list charges the member it names: a member of the used-up kind is
    # removed, any other member with a balance has the entry's number taken off it.
    owner = pick(state, owners, pick(entity, owner_field))
    held = pick(owner, members)
    if not isinstance(held, dict):
        return
    entries = pick(entity, listed)
    if not isinstance(entries, list):
        return
    start = len(pick(before, listed) or [])
    for entry in entries[start:]:
        name = pick(entry, key)
        member = pick(held, name)
        if not isinstance(member, dict) or not isnumber(pick(entry, number)):
            continue
        if gone_field and member.get(gone_field) in gone:
            held.pop(name, None)
        elif isnumber(member.get(balance)):
            member[balance] = member[balance] - entry[number]
'''


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass(frozen=True)
class Charge:
    """New entries of ``entity[listed]`` charge their ``number`` to the ``balance`` of
    ``state[owners][entity[owner_field]][members][entry[key]]``."""

    listed: str
    key: str
    number: str
    owners: str
    owner_field: str
    members: str
    balance: str = ""
    gone_field: str = ""
    gone: tuple[Any, ...] = ()
    support: int = 0

    def lines(self, entity: str, before: str) -> list[str]:
        args = ", ".join(literal(v) for v in (self.listed, self.key, self.number, self.owners, self.owner_field,
                                              self.members, self.balance, self.gone_field, list(self.gone)))
        return [f"charge(state, {entity}, {before}, {args})"]

    def member(self, state: Mapping[str, Any], entity: Mapping[str, Any], entry: Mapping[str, Any]) -> Any:
        owner = (state.get(self.owners) or {}).get(entity.get(self.owner_field))
        held = owner.get(self.members) if isinstance(owner, dict) else None
        name = entry.get(self.key)
        return held.get(name) if isinstance(held, dict) and isinstance(name, str) else None


def _new_entries(example: Example, listed: str) -> list[dict[str, Any]]:
    """Entries of the result's list that the entity did not hold before the call."""
    value = example.value
    items = value.get(listed) if isinstance(value, dict) else None
    if not isinstance(items, list):
        return []
    old: list[Any] = []
    for table in (example.pre or {}).values():
        if not isinstance(table, dict):
            continue
        for field in value.values():
            known = table.get(field) if isinstance(field, str) else None
            if isinstance(known, dict) and isinstance(known.get(listed), list):
                old = known[listed]
                break
        if old:
            break
    if items[:len(old)] != old:
        return []
    return [entry for entry in items[len(old):] if isinstance(entry, dict)]


def _held_by(state: Mapping[str, Any], key: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every (collection, dict field, members) of the entity stored under `key` in any collection of `state`."""
    for owners, table in state.items():
        owner = table.get(key) if isinstance(table, dict) else None
        if isinstance(owner, dict):
            for members, held in owner.items():
                if isinstance(held, dict):
                    yield owners, members, held


def _shapes(example: Example) -> Iterator[tuple[Charge, dict[str, Any], dict[str, Any]]]:
    """Every (charge shape, entry, member) this success shows (the member may lack the number)."""
    value = example.value
    pre = example.pre or {}
    if not isinstance(value, dict):
        return
    for listed, items in value.items():
        if not isinstance(items, list):
            continue
        for entry in _new_entries(example, listed):
            for key, name in entry.items():
                if not isinstance(name, str):
                    continue
                for owner_field, owner_key in value.items():
                    if not isinstance(owner_key, str) or owner_key == name:
                        continue
                    for owners, members, held in _held_by(pre, owner_key):
                        member = held.get(name)
                        if not isinstance(member, dict):
                            continue
                        balances = [f for f, v in member.items() if _number(v)] or [""]
                        for number, amount in entry.items():
                            if _number(amount) and number != key:
                                for balance in balances:
                                    yield (Charge(listed, key, number, owners, owner_field, members, balance),
                                           entry, member)


def fit_charge(successes: Sequence[Example], trajectories: Mapping[str, Sequence[Example]] | None = None,
               errors: Sequence[Example] = ()) -> Charge | None:
    """The charge this tool's successes show, if any.

    A shape of charge (which list's entries name which members by which field, and the number
    charged) is a balance when, over every recorded write, a positive charge was never above the
    member's number of that name, at least :data:`MIN_SUPPORT` times; this tool charges it when its
    own successes show a positive charge of that shape (to any member: one with no balance too).
    """
    everyone = [e for calls in (trajectories or {}).values() for e in calls if not e.error] or list(successes)
    support: dict[Charge, int] = {}
    broken: set[Charge] = set()
    for example in everyone:
        for shape, entry, member in _shapes(example):
            amount = entry[shape.number]
            if amount > 0 and _number(member.get(shape.balance)):
                if member[shape.balance] >= amount:
                    support[shape] = support.get(shape, 0) + 1
                else:
                    broken.add(shape)
    own = {replace(shape, balance="") for example in successes for shape, entry, _ in _shapes(example)
           if entry[shape.number] > 0}
    kept = [(n, shape) for shape, n in support.items()
            if replace(shape, balance="") in own and shape not in broken and n >= MIN_SUPPORT]
    if not kept:
        return None
    count, best = max(kept, key=lambda item: item[0])
    field, gone = _used_up(best, successes, trajectories or {}, errors)
    return replace(best, gone_field=field, gone=gone, support=count)


def _mentions(value: Any, name: str) -> bool:
    if isinstance(value, dict):
        return any(_mentions(item, name) for item in value.values())
    if isinstance(value, list):
        return any(_mentions(item, name) for item in value)
    return value == name


def _shortfalls(charge: Charge, errors: Sequence[Example]) -> set[str]:
    """The tool's error texts (the member key blanked) recorded where an argument asked more than a member held."""
    out: set[str] = set()
    for example in errors:
        pre = example.pre or {}
        for items in example.args.values():
            for item in items if isinstance(items, list) else [items]:
                if not isinstance(item, dict) or not isinstance(item.get(charge.key), str):
                    continue
                for table in (pre.get(charge.owners) or {}).values() if isinstance(pre.get(charge.owners),
                                                                                    dict) else ():
                    held = table.get(charge.members) if isinstance(table, dict) else None
                    member = held.get(item[charge.key]) if isinstance(held, dict) else None
                    if isinstance(member, dict) and _number(member.get(charge.balance)) and \
                            _number(item.get(charge.number)) and member[charge.balance] < item[charge.number]:
                        out.add(example.text.replace(item[charge.key], "\x00"))
    return out


def _used_up(charge: Charge, successes: Sequence[Example], trajectories: Mapping[str, Sequence[Example]],
             errors: Sequence[Example]) -> tuple[str, tuple[Any, ...]]:
    """The member field and values of the kind that a charge uses up, from later errors naming it."""
    shortfall = _shortfalls(charge, errors)
    gone: list[dict[str, Any]] = []
    reused: list[dict[str, Any]] = []
    for example in successes:
        if not isinstance(example.value, dict):
            continue
        for entry in _new_entries(example, charge.listed):
            member = charge.member(example.pre or {}, example.value, entry)
            name = entry.get(charge.key)
            if not isinstance(member, dict) or not isinstance(name, str):
                continue
            later = [e for e in trajectories.get(example.trace_id, ()) if e.index > example.index
                     and _mentions(e.args, name)]
            if not later:
                continue
            first = later[0]
            if first.error and name in first.text and first.text.replace(name, "\x00") not in shortfall:
                gone.append(member)
            elif not first.error:
                reused.append(member)
    if not gone:
        state = next((e.pre for e in successes if e.pre), None)
        return _never_charged(charge, state or {})
    for field in sorted(gone[0]):
        value = gone[0].get(field)
        # A kind: one string value every gone member shares (not its own key), no reused member has.
        if not isinstance(value, str) or any(m.get(field) != value for m in gone):
            continue
        if any(m.get(field) == k for m in gone for k in _keys_of(m, charge)) or \
                any(m.get(field) == value for m in reused):
            continue
        return field, (value,)
    return "", ()


UNSEEN_KIND_MIN = 20


def _never_charged(charge: Charge, state: Mapping[str, Any]) -> tuple[str, tuple[Any, ...]]:
    """A kind of member that the database never shows charged though it holds many, while members of
    another kind with a balance are charged and still held: a charged member of that kind is gone
    (the invariant of a used-up member: nothing the state keeps names it)."""
    owners = state.get(charge.owners)
    if not isinstance(owners, dict):
        return "", ()
    named: set[str] = set()
    for table in state.values():
        for entity in list(table.values()) if isinstance(table, dict) else ():
            entries = entity.get(charge.listed) if isinstance(entity, dict) else None
            for entry in entries if isinstance(entries, list) else ():
                if isinstance(entry, dict) and isinstance(entry.get(charge.key), str):
                    named.add(entry[charge.key])
    kinds: dict[tuple[str, str], list[int]] = {}  # (field, value) -> [members with a balance, of them named]
    for owner in owners.values():
        held = owner.get(charge.members) if isinstance(owner, dict) else None
        for name, member in held.items() if isinstance(held, dict) else ():
            if not isinstance(member, dict) or not _number(member.get(charge.balance)):
                continue
            for field, value in member.items():
                if isinstance(value, str) and _stem(value) == value and value != name:
                    counts = kinds.setdefault((field, value), [0, 0])
                    counts[0] += 1
                    counts[1] += name in named
    for (field, value), (held_count, named_count) in sorted(kinds.items()):
        others = [c for (f, v), c in kinds.items() if f == field and v != value]
        if held_count >= UNSEEN_KIND_MIN and named_count == 0 and any(c[1] >= UNSEEN_KIND_MIN for c in others):
            return field, (value,)
    return "", ()


def _keys_of(member: Mapping[str, Any], charge: Charge) -> list[Any]:
    # Values naming the member itself (its id field) are not a kind.
    return [v for f, v in member.items() if isinstance(v, str) and (f == charge.key or _stem(v) != v)]


_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def _stem(key: str) -> str:
    return key.rstrip("0123456789")


@dataclass(frozen=True)
class AddMember:
    """Add ``state[owners][args[arg]][members][new_key]``: fields (name, kind key|arg|const, source)."""

    owners: str
    arg: str
    members: str
    fields: tuple[tuple[str, str, Any], ...]
    generated: tuple[str, ...]

    def lines(self) -> list[str]:
        stem = _stem(self.generated[0])
        digits = self.generated[0][len(stem):]
        lines = [f"owner = pick(state, {literal(self.owners)}, {var(self.arg)})",
                 f"held = pick(owner, {literal(self.members)})", "new_key = None",
                 "if isinstance(held, dict):",
                 f"    for candidate in {literal(list(self.generated))}:",
                 "        if candidate not in held:", "            new_key = candidate", "            break"]
        if digits:  # the recorded key is taken: the next numbers after it
            lines += ["    step = 1", "    while new_key is None and step < 1000:",
                      f"        candidate = {literal(stem)} + str({int(digits)} + step)",
                      "        if candidate not in held:", "            new_key = candidate",
                      "        step = step + 1"]
        lines += ["    if new_key is not None:", "        member = {}"]
        for name, kind, source in self.fields:
            value = "new_key" if kind == "key" else f"copied({var(source)})" if kind == "arg" else literal(source)
            lines.append(f"        member[{literal(name)}] = {value}")
        lines.append("        held[new_key] = member")
        return lines


def fit_add_member(successes: Sequence[Example]) -> tuple[AddMember, dict[int, str]] | None:
    """A member added where text results quote a new key shaped like an argument-selected entity's member keys."""
    found: dict[tuple[str, str, str], dict[int, str]] = {}
    for position, example in enumerate(successes):
        if not isinstance(example.value, str):
            continue
        pre = example.pre or {}
        given = {str(v) for v in example.args.values() if isinstance(v, str | int | float)}
        tokens = [t for t in _TOKEN.findall(example.text) if t not in given and _stem(t) != t and len(_stem(t)) >= 2]
        for arg, key in example.args.items():
            if not isinstance(key, str):
                continue
            for owners, members, held in _held_by(pre, key):
                if not all(isinstance(m, dict) for m in held.values()):
                    continue
                for token in tokens:
                    if token not in held and any(isinstance(k, str) and _stem(k) == _stem(token) for k in held):
                        found.setdefault((owners, arg, members), {})[position] = token
                        break
    if not found:
        return None
    (owners, arg, members), keys = max(found.items(), key=lambda item: len(item[1]))
    if len(keys) < MIN_SUPPORT and len(keys) < len(successes):
        return None
    first = successes[next(iter(keys))]
    stem = _stem(next(iter(keys.values())))
    fields = _member_shape(first.pre or {}, owners, members, stem, first.args)
    if fields is None:
        return None
    generated: list[str] = []
    for token in keys.values():
        if token not in generated:
            generated.append(token)
    return AddMember(owners, arg, members, fields, tuple(generated)), keys


def _member_shape(state: Mapping[str, Any], owners: str, members: str, stem: str,
                  args: Mapping[str, Any]) -> tuple[tuple[str, str, Any], ...] | None:
    """The fields of existing members whose key has this stem: own key, a same-named argument, or a shared constant."""
    table = state.get(owners)
    sample: list[tuple[str, dict[str, Any]]] = []
    for owner in list(table.values())[:SAMPLE * 5] if isinstance(table, dict) else []:
        held = owner.get(members) if isinstance(owner, dict) else None
        if isinstance(held, dict):
            sample += [(k, m) for k, m in held.items() if isinstance(k, str) and _stem(k) == stem
                       and isinstance(m, dict)]
        if len(sample) >= SAMPLE:
            break
    if not sample:
        return None
    names = set(sample[0][1])
    if any(set(m) != names for _, m in sample):
        return None
    fields: list[tuple[str, str, Any]] = []
    for name in sample[0][1]:
        if all(m[name] == k for k, m in sample):
            fields.append((name, "key", None))
        elif name in args and type(args[name]) is type(sample[0][1][name]) or \
                (name in args and _number(args[name]) and _number(sample[0][1][name])):
            fields.append((name, "arg", name))
        elif all(m[name] == sample[0][1][name] for _, m in sample):
            fields.append((name, "const", sample[0][1][name]))
        else:
            return None
    return tuple(fields)
