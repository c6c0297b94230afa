"""Error branches: recorded error results, and the condition that separates them from successes.

Each distinct error message (after the argument and entity values it quotes are replaced by
references) becomes one branch. Its condition is searched among simple tests on the call's
subjects: the entity is missing, a field equals (or differs from) a constant, a numeric field is
below a numeric argument, an argument equals a constant. A condition must hold on every example
of the branch and on no success; when none does, the one that errs least is kept.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from clawloop_synth.induce.computed import (
    QuantityCondition,
    below_candidates,
    charged_quantities,
    choice_values,
    numbered_groups,
)
from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.items import ItemCondition, item_candidates, quoted_item
from clawloop_synth.induce.schemas import ENUM_MAX
from clawloop_synth.induce.source import Template, fit_template, literal, template_expr, var
from clawloop_synth.induce.state import looks_like_key
from clawloop_synth.induce.subjects import Subject, pick

__all__ = ["Branch", "fit_branches"]


@dataclass(frozen=True)
class Condition:
    kind: str  # missing | eq | ne | lt_arg | arg_eq
    subject: Subject | None
    field: str = ""
    value: Any = None
    arg: str = ""

    def holds(self, example: Example) -> bool:
        assert example.pre is not None
        if self.kind == "arg_eq":
            return example.args.get(self.arg) == self.value and self.arg in example.args
        assert self.subject is not None
        entity = self.subject.resolve(example.pre, example.args)
        if self.kind == "missing":
            return entity is None and self._parent_known(example)
        if not isinstance(entity, dict):
            return False
        got = pick(entity, self.field)
        if self.kind == "eq":
            return self.field in entity and got == self.value
        if self.kind == "ne":
            return self.field in entity and got != self.value
        wanted = example.args.get(self.arg)
        return _number(got) and _number(wanted) and got < wanted

    def _parent_known(self, example: Example) -> bool:
        # A member is missing from an entity the state holds; an entity the state does not hold at
        # all (a state seeded from reads) says nothing of its members.
        if self.subject is None or self.subject.kind != "member" or self.subject.parent is None:
            return True
        assert example.pre is not None
        return isinstance(self.subject.parent.resolve(example.pre, example.args), dict)

    def expr(self) -> str:
        if self.kind == "arg_eq":
            return f"{var(self.arg)} == {literal(self.value)}"
        assert self.subject is not None
        subject = self.subject.expr()
        if self.kind == "missing":
            if self.subject.kind == "member" and self.subject.parent is not None:
                return f"{self.subject.parent.expr()} is not None and {subject} is None"
            return f"{subject} is None"
        got = f"pick({subject}, {literal(self.field)})"
        if self.kind == "eq":
            return f"{got} == {literal(self.value)}"
        if self.kind == "ne":
            return f"{subject} is not None and {got} != {literal(self.value)}"
        return f"isnumber({got}) and isnumber({var(self.arg)}) and {got} < {var(self.arg)}"


NUMBER_HELPER = '''
def isnumber(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)
'''


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@dataclass
class Branch:
    """``if condition: return message`` with the examples it was fitted on."""

    condition: Condition | ItemCondition | QuantityCondition
    template: Template
    examples: int
    exact: bool

    def lines(self) -> list[str]:
        if isinstance(self.condition, ItemCondition):
            return self.condition.lines(template_expr(self.template))
        return [f"if {self.condition.expr()}:", f"    return {template_expr(self.template)}"]


def _context(example: Example, subjects: Sequence[Subject]) -> dict[str, Any]:
    assert example.pre is not None
    context: dict[str, Any] = {var(name): value for name, value in example.args.items()}
    quoted = quoted_item(example.text, example.args)
    if quoted is not None:  # the failing item of a list argument, as the handler's loop names it
        for field, value in quoted[1].items():
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                context[f"pick(item, {literal(field)})"] = value
    for subject in subjects:
        entity = subject.resolve(example.pre, example.args)
        if isinstance(entity, dict):
            for field, value in entity.items():
                if isinstance(value, str | int | float) and not isinstance(value, bool):
                    context[f"pick({subject.expr()}, {literal(field)})"] = value
    return context


def _candidates(example: Example, subjects: Sequence[Subject], enum_args: set[str]) -> list[Condition]:
    assert example.pre is not None
    found: list[Condition] = []
    numeric_args = [name for name, value in example.args.items() if _number(value)]
    for subject in subjects:
        entity = subject.resolve(example.pre, example.args)
        if entity is None:
            found.append(Condition("missing", subject))
            continue
        if not isinstance(entity, dict):
            continue
        for field, value in entity.items():
            if (isinstance(value, str | bool | int | float) or value is None) and _shared(subject, field, value,
                                                                                         example.pre):
                found.append(Condition("eq", subject, field, value))
                found.append(Condition("ne", subject, field, value))
            if _number(value):
                found.extend(Condition("lt_arg", subject, field, arg=arg) for arg in numeric_args)
    for name, value in example.args.items():
        if isinstance(value, str | bool | int | float) and name in enum_args:
            found.append(Condition("arg_eq", None, value=value, arg=name))
    return found


def enum_arguments(examples: Sequence[Example]) -> set[str]:
    """Arguments that take a few values, each seen more than once (a choice, not an identity)."""
    values: dict[str, list[Any]] = {}
    for example in examples:
        for name, value in example.args.items():
            if isinstance(value, str | bool | int) and not looks_like_key(name):
                values.setdefault(name, []).append(value)
    return {name: seen for name, seen in values.items()
            if len(set(seen)) <= ENUM_MAX and len(seen) >= 2 * len(set(seen))}.keys() & set(values)


def _shared(subject: Subject, field: str, value: Any, state: Any) -> bool:
    """Whether a field value is a category (held by several entities), not one entity's identity."""
    if looks_like_key(field):
        return False
    if subject.kind == "member" or not isinstance(state.get(subject.collection), dict):
        return True
    sample = list(state[subject.collection].values())[:SAMPLE]
    need = max(2, len(sample) // 100)
    holders = 0
    for entity in sample:
        if isinstance(entity, dict) and entity.get(field) == value:
            holders += 1
            if holders >= need:
                return True
    return False


SAMPLE = 2000


def _render(template: Template, context: dict[str, Any]) -> str | None:
    parts = []
    for kind, piece in template:
        if kind == "lit":
            parts.append(piece)
        elif piece in context:
            parts.append(str(context[piece]))
        else:
            return None
    return "".join(parts)


def _variants(template: Template) -> list[Template]:
    """The template with every subset of its references turned back into the text they matched."""
    refs = [i for i, (kind, _) in enumerate(template) if kind == "ref"][:MAX_REFS]
    out = []
    for mask in range(1 << len(refs)):
        out.append(tuple(("lit", "\x00" + str(i)) if refs and i in refs and mask >> refs.index(i) & 1 else part
                         for i, part in enumerate(template)))
    return out


MAX_REFS = 5


def _group(errors: Sequence[Example], subjects: Sequence[Subject]) -> dict[Template, list[Example]]:
    """Error examples by message template.

    Each message's template is the variant (some references kept, others literal) that renders the
    most distinct recorded messages, each from its own example; ties keep argument references and
    drop entity references ("is cancelled and cannot be cancelled" quotes the status once).
    """
    by_text: dict[str, list[Example]] = {}
    for example in errors:
        if example.pre is not None:
            by_text.setdefault(example.text, []).append(example)
    contexts = {text: _context(members[0], subjects) for text, members in by_text.items()}
    groups: dict[Template, list[Example]] = {}
    for text, members in by_text.items():
        base = fit_template(text, contexts[text])
        values = {i: _render(((kind, piece),), contexts[text]) for i, (kind, piece) in enumerate(base)}
        best: tuple[tuple[int, int, int], Template] | None = None
        for variant in _variants(base):
            concrete = tuple(("lit", values[int(piece[1:])] or "") if kind == "lit" and piece.startswith("\x00")
                             else (kind, piece) for kind, piece in variant)
            renders = sum(_render(concrete, contexts[other]) == other for other in by_text)
            if _render(concrete, contexts[text]) != text:
                continue
            # The failing item's fields come from the arguments too ("flight HAT030 ... on date ...").
            arg_refs = sum(kind == "ref" and (not piece.startswith("pick(") or piece.startswith("pick(item"))
                           for kind, piece in concrete)
            entity_refs = sum(kind == "ref" and piece.startswith("pick(") and not piece.startswith("pick(item")
                              for kind, piece in concrete)
            score = (renders, arg_refs, -entity_refs)
            if best is None or score > best[0]:
                best = (score, _merge_literals(concrete))
        template = best[1] if best else (("lit", text),)
        groups.setdefault(template, []).extend(members)
    return groups


def _merge_literals(template: Template) -> Template:
    out: list[tuple[str, str]] = []
    for kind, piece in template:
        if kind == "lit" and out and out[-1][0] == "lit":
            out[-1] = ("lit", out[-1][1] + piece)
        elif kind != "lit" or piece:
            out.append((kind, piece))
    return tuple(out)


def _distinct_calls(members: Sequence[Example]) -> int:
    """Distinct calls, counting one trajectory's retries once: an agent retrying with other amounts
    is one situation, and a field value that singles it out is as likely chance as cause."""
    return len({(e.trace_id, json.dumps(e.args, sort_keys=True, default=str) if not e.trace_id else "")
                for e in members})


def _rank(condition: Condition | ItemCondition | QuantityCondition) -> int:
    # Among conditions that fit equally well, a success value required ("status must be pending")
    # generalizes to unseen values better than one failing value ("status is delivered").
    order = {"missing": 0, "item_missing": 0, "ne": 1, "item_ne": 1, "lt_arg": 2, "item_lt_count": 2,
             "item_lt_item": 2, "lt_q": 2, "eq": 3, "item_eq": 3, "arg_eq": 4, "q_ne": 5, "q_lt": 5, "q_gt": 5}
    return order[condition.kind]


def fit_branches(errors: Sequence[Example], successes: Sequence[Example], subjects: Sequence[Subject]) -> list[Branch]:
    """One branch per error message template, ordered so that entity checks come first."""
    enum_args = enum_arguments([*errors, *successes])
    choices = choice_values([*errors, *successes], enum_args)
    fitted: list[tuple[Branch, list[Example]]] = []
    numbered = numbered_groups(errors, successes, subjects, choices)
    covered = {id(e) for _, _, members in numbered for e in members}
    for quantity, template, members in numbered:
        exact = all(quantity.holds(e) for e in members) and not any(quantity.holds(e) for e in successes)
        fitted.append((Branch(quantity, template, len(members), exact), members))
    errors = [e for e in errors if id(e) not in covered]
    groups = _group(errors, subjects)
    charged = charged_quantities(successes, subjects, choices) if groups else []
    for template, members in groups.items():
        best: tuple[int, int, Condition | ItemCondition | QuantityCondition] | None = None
        seen: set[Condition | ItemCondition | QuantityCondition] = set()
        pool: list[Condition | ItemCondition | QuantityCondition] = list(_candidates(members[0], subjects, enum_args))
        if successes:  # "must be what successes show": a field differing from the successes' value
            pool += [c for c in _candidates(successes[0], subjects, enum_args) if c.kind == "ne"]
        pool += item_candidates(members[0], list(successes))
        pool += below_candidates(members[0], subjects, charged)
        for condition in pool:
            if condition in seen:
                continue
            seen.add(condition)
            hits = sum(condition.holds(example) for example in members)
            if hits == 0:
                continue
            false = sum(condition.holds(example) for example in successes)
            score = (hits - false, -_rank(condition))
            if best is None or score > (best[0], best[1]):
                best = (score[0], score[1], condition)
        if best is None or best[0] <= 0:
            continue
        condition = best[2]
        if condition.kind in ("eq", "ne", "arg_eq", "item_eq") and _distinct_calls(members) < 2:
            # One call seen (maybe retried): a field value that separates it is as likely chance as cause.
            continue
        if not isinstance(condition, ItemCondition) and any(kind == "ref" and piece.startswith("pick(item")
                                                             for kind, piece in template):
            template = _merge_literals(tuple(("lit", str(_context(members[0], subjects)[piece])) if kind == "ref"
                                             and piece.startswith("pick(item") else (kind, piece)
                                             for kind, piece in template))
        exact = all(condition.holds(e) for e in members) and not any(condition.holds(e) for e in successes)
        fitted.append((Branch(condition, template, len(members), exact), members))
    fitted.sort(key=lambda pair: (_rank(pair[0].condition), -pair[0].examples))
    return [branch for branch, _ in _ordered(fitted)]


def _ordered(fitted: list[tuple[Branch, list[Example]]]) -> list[tuple[Branch, list[Example]]]:
    """The branches as a decision list: a branch moves before an earlier one whose condition also
    holds on its examples (and not the other way round), so the more specific message wins."""
    out = list(fitted)
    for _ in range(len(out) * len(out)):
        swap = next(((i, j) for i in range(len(out)) for j in range(i + 1, len(out))
                     if sum(out[i][0].condition.holds(e) for e in out[j][1])
                     > sum(out[j][0].condition.holds(e) for e in out[i][1])), None)
        if swap is None:
            break
        i, j = swap
        out.insert(i, out.pop(j))
    return out
