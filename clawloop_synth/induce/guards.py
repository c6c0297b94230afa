"""Guards: preconditions every recorded success of a write met, kept so the handler rejects what none did.

A recorded error teaches a branch only when its condition shows in the state before the call; a
precondition that no recorded call broke (or broke for a reason the state does not show) teaches
nothing there, so an induced write would accept anything. The successes still show it:
- the entity an argument selects always existed (``reservations[reservation_id]``);
- every item of a list argument named an existing entry: of a collection (``flights[item.flight_number]``)
  or of a dict field of the entity another argument selects (``users[user_id].payment_methods[item.payment_id]``);
- a list field that the write replaces by a list argument kept its length (the same passengers, edited).
Each guard returns an ``Error: ...`` naming what is missing; the fit keeps a guard only when the
guarded handler reproduces as many examples as the unguarded one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.items import ItemCondition, entry_tables
from clawloop_synth.induce.source import literal, var
from clawloop_synth.induce.subjects import Subject

__all__ = ["Guard", "fit_guards", "guard_lines"]

MIN_SUCCESSES = 2


@dataclass(frozen=True)
class Guard:
    """``kind`` entity | item | length; rendered as ``if ...: return "Error: ..."`` lines."""

    kind: str
    subject: Subject | None = None
    item: ItemCondition | None = None
    arg: str = ""
    field: str = ""

    def lines(self) -> list[str]:
        if self.kind == "entity":
            assert self.subject is not None
            name = _named_by(self.subject)
            test = f"{self.subject.expr()} is None"
            if self.subject.kind == "member" and self.subject.parent is not None:
                # Only where the state holds the entity: one it does not hold says nothing of its members.
                test = f"{self.subject.parent.expr()} is not None and {test}"
            return [f"if {test}:",
                    f"    return {literal('Error: ' + name + ' ')} + str({var(name)}) + {literal(' not found')}"]
        if self.kind == "item":
            assert self.item is not None
            message = f"{literal('Error: ' + self.item.link + ' ')} + str(pick(item, {literal(self.item.link)})) + " \
                      f"{literal(' not found')}"
            return self.item.lines(message)
        assert self.subject is not None
        slot = f"pick({self.subject.expr()}, {literal(self.field)})"
        return [f"if isinstance({slot}, list) and len({var(self.arg)} or []) != len({slot}):",
                f"    return {literal('Error: the number of ' + self.arg + ' must stay ')} + str(len({slot}))"]


def _every(successes: Sequence[Example], test: Any) -> bool:
    """Whether ``test`` holds on every success it applies to (None: does not apply), and applies to enough."""
    applied = 0
    for example in successes:
        verdict = test(example)
        if verdict is None:
            continue
        if not verdict:
            return False
        applied += 1
    return applied >= MIN_SUCCESSES


def _named_by(subject: Subject) -> str:
    """The argument that selects an arg- or member-subject."""
    return subject.name if subject.kind == "arg" else subject.arg


def _entity_guards(successes: Sequence[Example], subjects: Sequence[Subject]) -> list[Guard]:
    out = []
    for subject in subjects:
        if subject.kind not in ("arg", "member"):
            continue
        if _every(successes, lambda e, s=subject: None if not isinstance(e.args.get(_named_by(s)), str)
                  else s.resolve(e.pre or {}, e.args) is not None):
            out.append(Guard("entity", subject))
    return out


def _item_guards(successes: Sequence[Example]) -> list[Guard]:
    out: list[Guard] = []
    seen: set[tuple[str, str]] = set()
    sample = successes[0]
    for arg, items in sample.args.items():
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
            continue
        for link, key in items[0].items():
            if not isinstance(key, str) or (arg, link) in seen:
                continue
            for collection, within, table in entry_tables(sample.pre or {}, sample.args):
                if key not in table:
                    continue
                probe = ItemCondition("item_missing", arg, link, collection, within=within)

                def named(example: Example, probe: ItemCondition = probe) -> bool | None:
                    given = example.args.get(probe.arg)
                    if not isinstance(given, list) or not given:
                        return None
                    return probe.failing(example.pre or {}, example.args) is None and all(
                        isinstance(i, dict) and isinstance(i.get(probe.link), str) for i in given)

                if _every(successes, named):
                    out.append(Guard("item", item=probe))
                    seen.add((arg, link))
                    break
    return out


def _length_guards(successes: Sequence[Example], replaced: Sequence[tuple[Subject, str, str]]) -> list[Guard]:
    out = []
    for subject, field, arg in replaced:
        def kept(example: Example, subject: Subject = subject, field: str = field, arg: str = arg) -> bool | None:
            entity = subject.resolve(example.pre or {}, example.args)
            old, new = (entity or {}).get(field) if isinstance(entity, dict) else None, example.args.get(arg)
            if not isinstance(old, list) or not isinstance(new, list):
                return None
            return len(old) == len(new)

        if _every(successes, kept):
            out.append(Guard("length", subject, arg=arg, field=field))
    return out


def fit_guards(successes: Sequence[Example], subjects: Sequence[Subject],
               replaced: Sequence[tuple[Subject, str, str]] = ()) -> list[Guard]:
    """The guards every success met: entities that existed, items that named entries, lengths kept
    (``replaced``: (subject, list field, list argument) the write sets the field from)."""
    ok = [e for e in successes if e.pre is not None]
    if len(ok) < MIN_SUCCESSES:
        return []
    return [*_entity_guards(ok, subjects), *_item_guards(ok), *_length_guards(ok, replaced)]


def guard_lines(guards: Sequence[Guard]) -> list[str]:
    return [line for guard in guards for line in guard.lines()]
