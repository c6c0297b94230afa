"""Induce one tool's handler: candidate programs of each kind, the one reproducing most examples wins.

Kinds, simplest first (a tie goes to the simpler): a constant result, an arithmetic evaluator, a
lookup of the entity an argument selects, a search over a collection, and an edit program (a
write, maybe creating an entity). Every candidate shares the tool's fitted error branches and is
scored by running it in the sandbox on each recorded example's state.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clawloop_synth.induce.build import KEEP_HELPER, TOTAL_HELPER
from clawloop_synth.induce.creates import fit_create
from clawloop_synth.induce.edits import COPY_HELPERS, fit_edits
from clawloop_synth.induce.effects import CHARGE_HELPER, fit_add_member, fit_charge
from clawloop_synth.induce.errors import NUMBER_HELPER, Branch, fit_branches
from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.fidelity import reproduces
from clawloop_synth.induce.guards import fit_guards, guard_lines
from clawloop_synth.induce.joins import PairSearch, fit_pair_search
from clawloop_synth.induce.quantity import NUM_HELPER
from clawloop_synth.induce.reads import Search, View, fit_lookup, fit_search, infer_view
from clawloop_synth.induce.source import fit_template, literal, signature, template_expr, var
from clawloop_synth.induce.subjects import PICK_HELPER, Subject, find_subjects
from clawloop_synth.induce.values import ARITHMETIC_SOURCE, FORMATS, constant_result, expression_arg

__all__ = ["Induced", "induce_handler", "render"]

SEARCHES: dict[int, Search] = {}  # the search fitted for one call of _bodies, keyed by its examples list
PAIRS: dict[int, PairSearch] = {}  # likewise for a pair search


@dataclass
class Induced:
    """A tool's handler source with what it was fitted on."""

    tool: str
    kind: str
    source: str
    writes: bool
    seen: int
    reproduced: int
    errors_seen: int = 0
    errors_reproduced: int = 0
    touches: tuple[str, dict[str, str]] | None = None  # a search: (collection, {entity field: argument})
    chain: dict[str, Any] | None = None  # a pair search: collection, first, last and link (for slicing)


def render(tool: str, kind: str, params: tuple[list[str], list[str]], branches: Sequence[Branch],
           body: Sequence[str], helpers: Sequence[str], note: str = "") -> str:
    """The handler source: a header comment, helpers, then ``invoke`` with its branches and body."""
    lines = [f"# {tool}: induced {kind} handler{note}.", "# reproduces {REPRODUCED} of {SEEN} recorded examples"]
    invoke = [signature(*params)]
    for branch in branches:
        invoke.extend("    " + line for line in branch.lines())
    invoke.extend("    " + line for line in body)
    shared = [PICK_HELPER, NUMBER_HELPER, NUM_HELPER, COPY_HELPERS, TOTAL_HELPER, KEEP_HELPER, CHARGE_HELPER]
    for helper in _used(list(helpers) + shared, "\n".join(invoke)):
        lines.append(helper.rstrip())
        lines.append("")
    lines.append("")
    lines.extend(invoke)
    return "\n".join(lines) + "\n"


def _used(helpers: Sequence[str], code: str) -> list[str]:
    """The helper sources whose functions ``code`` calls, directly or through another helper."""
    names = {helper: re.findall(r"^def (\w+)\(", helper, re.MULTILINE) for helper in helpers}
    kept: list[str] = []
    text = code
    changed = True
    while changed:
        changed = False
        for helper in helpers:
            if helper not in kept and any(re.search(r"\b" + name + r"\(", text) for name in names[helper]):
                kept.append(helper)
                text += "\n" + helper
                changed = True
    return [helper for helper in helpers if helper in kept]


def _params(examples: Sequence[Example]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    for example in examples:
        names.extend(name for name in example.args if name not in names)
    required = [n for n in names if all(n in e.args for e in examples)]
    return required, [n for n in names if n not in required]


def _result_literal(example: Example) -> str:
    return literal(example.value) if isinstance(example.value, dict | list) else literal(example.text)


def _bodies(successes: Sequence[Example], subjects: Sequence[Subject], collections: Mapping[str, str],
            aliases: Mapping[str, str], trajectories: Mapping[str, Sequence[Example]] | None = None,
            errors: Sequence[Example] = ()) -> list[tuple[str, list[str], list[str], bool]]:
    """(kind, body lines, extra helpers, writes) for every candidate that applies."""
    out: list[tuple[str, list[str], list[str], bool]] = []
    common = constant_result(successes)
    if common is not None:
        example = next(e for e in successes if e.text == common[0])
        out.append(("constant", [f"return {_result_literal(example)}"], [], False))
    expression = expression_arg(successes)
    if expression is not None:
        for name, fmt in FORMATS.items():
            body = ["try:", f"    value = evaluate({var(expression)})",
                    "except (ValueError, ZeroDivisionError) as exc:", '    return "Error: " + str(exc)',
                    f"return {fmt}"]
            out.append((f"arithmetic ({name})", body, [ARITHMETIC_SOURCE], False))
    for subject in subjects:
        if subject.kind != "arg":
            continue
        view = fit_lookup(subject, successes, aliases)
        if view is not None:
            body = [f"entity = {subject.expr()}", "if entity is None:",
                    f'    return {literal("Error: " + subject.name + " not found")}',
                    *view.lines("entity", "result"), "return result"]
            out.append((f"lookup of {subject.label}", body, [], False))
    texts = [e for e in successes if isinstance(e.value, str)]
    if texts:  # a message quoting the arguments ("Certificate ... added to user U with amount A.")
        context = {var(name): value for name, value in texts[0].args.items()}
        out.append(("message", [f"return {template_expr(fit_template(texts[0].text, context))}"], [], False))
    search = fit_search(successes, collections, aliases)
    if search is not None:
        out.append((f"search over {search.collection}", search.lines(), [], False))
        SEARCHES[id(successes)] = search
    pairs = fit_pair_search(successes, collections, aliases)
    if pairs is not None:
        out.append((f"pair search over {pairs.collection}", pairs.lines(), [], False))
        PAIRS[id(successes)] = pairs
    out.extend(_write_bodies(successes, subjects, collections, aliases, trajectories, errors))
    return out


ADDS = "adds a member to "  # a kind whose write the recording never shows read back


def _write_bodies(successes: Sequence[Example], subjects: Sequence[Subject], collections: Mapping[str, str],
                  aliases: Mapping[str, str], trajectories: Mapping[str, Sequence[Example]] | None = None,
                  errors: Sequence[Example] = ()) -> list[tuple[str, list[str], list[str], bool]]:
    created = fit_create(successes, collections)
    new_keys = created[1] if created else {}
    edits = fit_edits(subjects, successes, new_keys)
    added = fit_add_member(successes) if not edits and created is None else None
    if not edits and created is None and added is None:
        return []
    primary = next((s for s in subjects if s.kind == "arg"), None)
    charge = fit_charge(successes, trajectories, errors) if created is not None or edits else None
    body: list[str] = [line for changes in edits.values() for change in changes for line in change.pre_lines()]
    if charge is not None and created is None and primary is not None:
        body.append(f"charged_before = copied({primary.expr()})")
    if created is not None:
        body.extend(created[0].lines())
    for subject, changes in edits.items():
        body.append(f"target = {subject.expr()}")
        body.append("if target is not None:")
        body.append("    old = copied(target)")
        body.extend("    " + line for change in changes for line in change.lines("target"))
    if charge is not None:
        # Charges the recording never reads back (a balance debited, a member used up).
        if created is not None:
            body.extend(charge.lines("created", "None"))
        elif primary is not None:
            body.extend(charge.lines(primary.expr(), "charged_before"))
    if added is not None:
        body.extend(added[0].lines())
    returns: list[list[str]] = []
    if created is not None:
        returns.append(["return created"])
    if primary is not None:
        view = _post_view(primary, successes, aliases)
        if view is not None:
            returns.append([f"entity = {primary.expr()}", *view.lines("entity", "result"), "return result"])
    sample = successes[0]
    context = {var(name): value for name, value in sample.args.items()}
    if created is not None and 0 in new_keys:
        context["new_key"] = new_keys[0]
    if added is not None and 0 in added[1]:
        context["new_key"] = added[1][0]
    if isinstance(sample.value, str):
        returns.append([f"return {template_expr(fit_template(sample.text, context))}"])
    common = constant_result(successes)
    if common is not None:
        example = next(e for e in successes if e.text == common[0])
        returns.append([f"return {_result_literal(example)}"])
    kind = f"create in {created[0].collection}" if created else "edit of " + ", ".join(s.label for s in edits)
    if added is not None:
        kind = f"{ADDS}{added[0].owners}[{added[0].arg}].{added[0].members}"
    replaced = [(subject, change.field, change.arg) for subject, changes in edits.items() for change in changes
                if change.kind == "set_arg"]
    guards = guard_lines(fit_guards(successes, subjects, replaced))
    out: list[tuple[str, list[str], list[str], bool]] = []
    for ret in returns:
        if guards:  # first, so that a tie keeps the guarded handler (it rejects what no success did)
            out.append((kind + ", guarded", [*guards, *body, *ret], [], True))
        out.append((kind, [*body, *ret], [], True))
    return out


def _post_view(subject: Subject, successes: Sequence[Example], aliases: Mapping[str, str]) -> View | None:
    for example in successes:
        assert example.pre is not None
        key = example.args.get(subject.name)
        after = example.post.get(f"{subject.collection}\x00{key}")
        if isinstance(after, dict):
            view = infer_view(after, example.value, example.args, {}, example.pre)
            if view is not None:
                return view
    return None


def _merged_fields(successes: Sequence[Example], search: Search) -> set[str]:
    names: set[str] = set()
    for example in successes:
        for entity in ((example.pre or {}).get(search.collection) or {}).values():
            inner = entity.get(search.view.merge_field) if isinstance(entity, dict) else None
            if isinstance(inner, dict):
                for value in inner.values():
                    if isinstance(value, dict):
                        names.update(value)
                return names
    return names


def induce_handler(tool: str, examples: Sequence[Example], collections: Mapping[str, str],
                   aliases: Mapping[str, str], trajectories: Mapping[str, Sequence[Example]] | None = None) -> Induced:
    """The best handler for ``tool`` over its recorded examples (each with its ``pre`` state);
    ``trajectories`` (trace id -> its calls) shows what happened after each call."""
    successes = [e for e in examples if not e.error]
    errors = [e for e in examples if e.error]
    subjects = find_subjects(examples)
    branches = fit_branches(errors, successes, subjects) if errors else []
    params = _params(examples)
    candidates = _bodies(successes, subjects, collections, aliases, trajectories, errors) if successes else []
    if not candidates:
        common = constant_result(examples)
        text = common[0] if common else ""
        candidates = [("constant", [f"return {literal(text)}"], [], False)]
    best: Induced | None = None
    best_score = (-1, -1, -1)
    for kind, body, helpers, writes in candidates:
        source = render(tool, kind, params, branches, body, helpers)
        hits, changes = reproduces(source, examples, aliases)
        # Results first, then the entity changes later reads show (a write whose result differs
        # may still change the state as recorded; a constant changes nothing).
        # A member the result names as new is a change too, though no later read shows it.
        score = (sum(hits), changes, int(kind.startswith(ADDS)))
        if best is None or score > best_score:
            error_hits = sum(hit for hit, e in zip(hits, examples, strict=True) if e.error)
            best = Induced(tool, kind, source, writes and (changes > 0 or kind.startswith(ADDS)), len(examples),
                           score[0], len(errors), error_hits)
            best_score = score
    assert best is not None
    search = SEARCHES.pop(id(successes), None)
    if search is not None and best.kind.startswith("search"):
        # What the search could return, for slicing: its argument-matched fields of the entity itself.
        match = {f: a for f, a in search.arg_fields.items() if not search.view.merge_field or f not in
                 _merged_fields(successes, search)}
        best.touches = (search.collection, match)
    pairs = PAIRS.pop(id(successes), None)
    if pairs is not None and best.kind.startswith("pair search"):
        best.chain = {"collection": pairs.collection, "first": dict(pairs.first), "last": dict(pairs.last),
                      "link": dict(pairs.link)}
    best.source = best.source.replace("{REPRODUCED}", str(best.reproduced)).replace("{SEEN}", str(best.seen))
    return best
