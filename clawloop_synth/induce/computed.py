"""Error branches on computed quantities: a total that must match a payment, a balance below a charge.

Two kinds of evidence:
- an error message that quotes numbers which vary between calls ("total price is 1203, but paid
  833"): each quoted number is fitted as a quantity of the call (:mod:`.quantity`); a number the
  successes never show is fitted on the errors and on the successes together, where it must equal
  the number it is compared with (a success paid exactly the total). The branch fires when the two
  differ (or one is below the other) and its message quotes both;
- a message quoting nothing ("gift card balance is not enough"): its condition may be a numeric field
  of an entity the call reaches below a quantity the successes charge (the amount a write appends,
  fitted by :func:`charged_quantities`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.quantity import Quantity, bases_of, fit_quantity
from clawloop_synth.induce.source import Template, fit_template
from clawloop_synth.induce.subjects import Subject, pick

__all__ = ["QuantityCondition", "charged_quantities", "choice_values", "numbered_groups", "quoted_numbers"]

# A number standing alone: not part of an id (HAT139, gift_card_50), a date or a time.
NUMBER = re.compile(r"(?<![\w.:-])-?\d+(?:\.\d+)?(?![\w:-]|\.\d)")
MIN_SHARE = 0.6


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def quoted_numbers(text: str) -> list[float]:
    return [float(m.group()) for m in NUMBER.finditer(text)]


def masked(text: str) -> str:
    return NUMBER.sub("#", text)


@dataclass(frozen=True)
class QuantityCondition:
    """``lhs != rhs`` / ``lhs < rhs`` / ``lhs > rhs`` (kinds q_ne, q_lt, q_gt) between two quantities,
    or ``entity[field] < rhs`` (kind lt_q) for a numeric field of a subject."""

    kind: str
    rhs: Quantity
    lhs: Quantity | None = None
    subject: Subject | None = None
    field: str = ""

    def holds(self, example: Example) -> bool:
        state, args = example.pre or {}, example.args
        right = self.rhs.of(state, args)
        if right is None:
            return False
        if self.kind == "lt_q":
            assert self.subject is not None
            got = pick(self.subject.resolve(state, args), self.field)
            return _number(got) and got < right - 1e-9
        assert self.lhs is not None
        left = self.lhs.of(state, args)
        if left is None:
            return False
        if self.kind == "q_ne":
            return abs(left - right) > 1e-9
        return left < right - 1e-9 if self.kind == "q_lt" else left > right + 1e-9

    def expr(self) -> str:
        right = self.rhs.expr()
        if self.kind == "lt_q":
            assert self.subject is not None
            got = f"pick({self.subject.expr()}, {self.field!r})"
            return f"isnumber({got}) and {got} < {right}"
        assert self.lhs is not None
        op = {"q_ne": "!=", "q_lt": "<", "q_gt": ">"}[self.kind]
        return f"{self.lhs.expr()} {op} {right}"


def choice_values(examples: Sequence[Example], names: set[str]) -> dict[str, list[Any]]:
    """Every value seen of each choice argument (an indicator per value may enter a quantity)."""
    out: dict[str, list[Any]] = {}
    for name in sorted(names):
        values = sorted({e.args[name] for e in examples if isinstance(e.args.get(name), str)})
        if 1 <= len(values) <= 4:
            out[name] = values
    return out


def _template(example: Example, slots: Mapping[int, Quantity]) -> Template:
    """The message with its quoted numbers replaced by their quantities, the rest as fit_template does."""
    context = {name: value for name, value in example.args.items() if isinstance(value, str)}
    parts: list[tuple[str, str]] = []
    position = 0
    for index, hit in enumerate(NUMBER.finditer(example.text)):
        quantity = slots.get(index)
        if quantity is None:
            continue
        parts.extend(fit_template(example.text[position:hit.start()], context))
        parts.append(("ref", quantity.expr()))
        position = hit.end()
    parts.extend(fit_template(example.text[position:], context))
    return tuple(parts)


def numbered_groups(errors: Sequence[Example], successes: Sequence[Example], subjects: Sequence[Subject],
                    choices: Mapping[str, Sequence[Any]]) -> list[tuple[QuantityCondition, Template, list[Example]]]:
    """Branches for the error messages whose quoted numbers vary: condition, template, examples."""
    clusters: dict[str, list[Example]] = {}
    for example in errors:
        if example.pre is not None and quoted_numbers(example.text):
            clusters.setdefault(masked(example.text), []).append(example)
    out: list[tuple[QuantityCondition, Template, list[Example]]] = []
    for members in clusters.values():
        if len({e.text for e in members}) < 2:
            continue
        found = _fit_cluster(members, [s for s in successes if s.pre is not None], subjects, choices)
        if found is not None:
            out.append(found)
    return out


def _fit_cluster(members: list[Example], successes: list[Example], subjects: Sequence[Subject],
                 choices: Mapping[str, Sequence[Any]]) -> tuple[QuantityCondition, Template, list[Example]] | None:
    first = members[0]
    bases = bases_of(first.pre or {}, first.args, subjects, choices)
    slots = len(quoted_numbers(first.text))
    numbers = [quoted_numbers(e.text) for e in members]
    fitted: dict[int, Quantity] = {}
    for slot in range(slots):
        if len({n[slot] for n in numbers}) < 2:
            continue
        got = fit_quantity([(e.pre or {}, e.args, n[slot]) for e, n in zip(members, numbers, strict=True)], bases)
        if got is not None and got[1] == len(members):
            fitted[slot] = got[0]
    best: tuple[int, QuantityCondition, dict[int, Quantity]] | None = None
    for known, rhs in fitted.items():
        for slot in range(slots):
            if slot == known or len({n[slot] for n in numbers}) < 2:
                continue
            # The other number, fitted on the errors and on the successes (where it equals ``rhs``).
            samples = [(e.pre or {}, e.args, n[slot]) for e, n in zip(members, numbers, strict=True)]
            samples += [(s.pre or {}, s.args, value) for s in successes
                        if (value := rhs.of(s.pre or {}, s.args)) is not None]
            got = fit_quantity(samples, bases)
            if got is None or got[1] < MIN_SHARE * len(samples):
                continue
            lhs = got[0]
            for kind in ("q_ne", "q_lt", "q_gt"):
                condition = QuantityCondition(kind, rhs, lhs)
                score = sum(condition.holds(e) for e in members) - sum(condition.holds(s) for s in successes)
                if best is None or score > best[0]:
                    best = (score, condition, {slot: lhs, known: rhs})
    if best is None or best[0] <= 0:
        return None
    return best[1], _template(first, best[2]), members


def charged_quantities(successes: Sequence[Example], subjects: Sequence[Subject],
                       choices: Mapping[str, Sequence[Any]]) -> list[Quantity]:
    """Quantities the successes charge: the numbers of the entries a write appends to a list field
    of an argument-selected entity (a payment of the fare difference), fitted on the state before."""
    samples: dict[tuple[Subject, str, str], list[tuple[Mapping[str, Any], Mapping[str, Any], float]]] = {}
    for example in successes:
        if example.pre is None:
            continue
        for subject in subjects:
            if subject.kind != "arg":
                continue
            key = example.args.get(subject.name)
            before = pick(example.pre, subject.collection, key)
            after = example.post.get(f"{subject.collection}\x00{key}")
            if not isinstance(before, dict) or not isinstance(after, dict):
                continue
            for field, old in before.items():
                new = after.get(field)
                if isinstance(old, list) and isinstance(new, list) and len(new) == len(old) + 1 \
                        and new[:-1] == old and isinstance(new[-1], dict):
                    for part, value in new[-1].items():
                        if _number(value):
                            samples.setdefault((subject, field, part), []).append((example.pre, example.args, value))
    out: list[Quantity] = []
    for rows in samples.values():
        if len(rows) < 2:
            continue
        first = rows[0]
        got = fit_quantity(rows, bases_of(first[0], first[1], subjects, choices))
        if got is not None and got[1] >= MIN_SHARE * len(rows):
            out.append(got[0])
    return out


def below_candidates(example: Example, subjects: Sequence[Subject],
                     charged: Sequence[Quantity]) -> list[QuantityCondition]:
    """``entity[field] < charge`` for each numeric field of a subject in this error example."""
    found: list[QuantityCondition] = []
    for subject in subjects:
        entity = subject.resolve(example.pre or {}, example.args)
        if not isinstance(entity, dict):
            continue
        for field, value in entity.items():
            if _number(value):
                found += [QuantityCondition("lt_q", charge, subject=subject, field=field) for charge in charged]
    return found
