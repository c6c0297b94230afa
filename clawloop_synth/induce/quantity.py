"""Computed quantities: small linear formulas over the numbers a call implies, fitted to recorded numbers.

The numbers a call implies (all read from the state before it and the arguments): numeric
arguments, list arguments' lengths and their items' sums, sums over the items of a value each item
looks up (``flights[item.flight_number].dates[item.date].prices[cabin]``), the selected entities'
numeric fields, list lengths and list sums, and 0/1 indicators of a choice argument's values
(``insurance == "yes"``). A quantity is ``c1*m1 + c2*m2 + c3*m3`` over at most three monomials,
each a number or a number times a count (a length or an indicator): a price per traveller, a fee
per bag, an insurance fee per traveller if chosen. The fit searches the monomials (singles, pairs,
then the best pairs extended by a third), solves the coefficients by least squares on the samples
and on small subsets of them (so that a few odd samples do not bend the formula), rounds them to
round numbers, and keeps the formula reproducing most samples, the fewest terms on a tie.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Any

import numpy as np

from clawloop_synth.induce.build import Step, follow, path_expr
from clawloop_synth.induce.items import _leaves
from clawloop_synth.induce.source import literal, var
from clawloop_synth.induce.subjects import Subject

__all__ = ["NUM_HELPER", "Base", "Quantity", "bases_of", "fit_quantity"]

NUM_HELPER = '''
def num(value):
    # A number, or 0 for anything else (a missing field adds nothing to a total).
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else 0
'''

MAX_BASES = 24
TOLERANCE = 1e-6
RESTARTS = 6
MAX_PAIRED = 30
FINALISTS = 12


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _num(value: Any) -> float:
    return value if _number(value) else 0


@dataclass(frozen=True)
class Base:
    """A number a call implies. ``kind``: arg | len_arg | sum_item | sum_linked | field | len_field |
    sum_field | ind_arg."""

    kind: str
    arg: str = ""
    field: str = ""
    subject: Subject | None = None
    collection: str = ""
    link: str = ""
    steps: tuple[Step, ...] = ()
    value: Any = None

    @property
    def count(self) -> bool:
        """A length, an indicator or a numeric argument (a quantity): what a per-unit number is multiplied by."""
        return self.kind in ("len_arg", "len_field", "ind_arg", "arg")

    def of(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> float | None:
        kind = self.kind
        if kind == "arg":
            got = args.get(self.arg)
            return got if _number(got) else None
        if kind == "ind_arg":
            return 1 if args.get(self.arg) == self.value else 0
        if kind in ("len_arg", "sum_item", "sum_linked"):
            items = args.get(self.arg)
            if not isinstance(items, list):
                return None
            if kind == "len_arg":
                return len(items)
            if kind == "sum_item":
                return sum(_num(i.get(self.field)) for i in items if isinstance(i, dict))
            table = state.get(self.collection)
            total: float = 0
            for item in items:
                if isinstance(item, dict) and isinstance(table, dict):
                    total += _num(follow(table.get(item.get(self.link)), self.steps, item, args))
            return total
        assert self.subject is not None
        entity = self.subject.resolve(state, args)
        if not isinstance(entity, dict):
            return None
        got = entity.get(self.field)
        if kind == "field":
            return got if _number(got) else None
        if not isinstance(got, list):
            return None
        if kind == "len_field":
            return len(got)
        return sum(_num(i.get(self.value)) for i in got if isinstance(i, dict))

    def expr(self) -> str:
        kind = self.kind
        if kind == "arg":
            return f"num({var(self.arg)})"
        if kind == "ind_arg":
            return f"(1 if {var(self.arg)} == {literal(self.value)} else 0)"
        if kind == "len_arg":
            return f"len({var(self.arg)} or [])"
        if kind == "sum_item":
            return f"sum(num(pick(item, {literal(self.field)})) for item in ({var(self.arg)} or []))"
        if kind == "sum_linked":
            root = f"pick(state, {literal(self.collection)}, pick(item, {literal(self.link)}))"
            return f"sum(num({path_expr(root, self.steps, 'item')}) for item in ({var(self.arg)} or []))"
        assert self.subject is not None
        slot = f"pick({self.subject.expr()}, {literal(self.field)})"
        if kind == "field":
            return f"num({slot})"
        if kind == "len_field":
            return f"len({slot} or [])"
        return f"sum(num(pick(each, {literal(self.value)})) for each in ({slot} or []))"


def bases_of(example_state: Mapping[str, Any], args: Mapping[str, Any], subjects: Sequence[Subject],
             choices: Mapping[str, Sequence[Any]]) -> list[Base]:
    """The numbers one call implies (``choices``: a choice argument's values seen)."""
    found: list[Base] = []
    for name, value in args.items():
        if _number(value):
            found.append(Base("arg", arg=name))
        elif isinstance(value, list):
            found.append(Base("len_arg", arg=name))
            items = [i for i in value if isinstance(i, dict)]
            if not items:
                continue
            found += [Base("sum_item", arg=name, field=f) for f, v in items[0].items() if _number(v)]
            for link, key in items[0].items():
                if not isinstance(key, str):
                    continue
                for collection, table in example_state.items():
                    linked = table.get(key) if isinstance(table, dict) else None
                    if isinstance(linked, dict):
                        found += [Base("sum_linked", arg=name, collection=collection, link=link, steps=steps)
                                  for steps, leaf in _leaves(linked, items[0], args) if _number(leaf)]
    for name, values in choices.items():
        found += [Base("ind_arg", arg=name, value=v) for v in values]
    for subject in subjects:
        entity = subject.resolve(example_state, args)
        if not isinstance(entity, dict):
            continue
        for field, value in entity.items():
            if _number(value):
                found.append(Base("field", field=field, subject=subject))
            elif isinstance(value, list):
                found.append(Base("len_field", field=field, subject=subject))
                parts = {k for i in value if isinstance(i, dict) for k, v in i.items() if _number(v)}
                found += [Base("sum_field", field=field, subject=subject, value=p) for p in sorted(parts)]
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class Quantity:
    """``sum(coefficient * product of bases)`` (each monomial one base, or a base times a count)."""

    terms: tuple[tuple[float, tuple[Base, ...]], ...]

    def of(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> float | None:
        total: float = 0
        for coefficient, monomial in self.terms:
            product: float = coefficient
            for base in monomial:
                got = base.of(state, args)
                if got is None:
                    return None
                product *= got
            total += product
        return total

    def expr(self) -> str:
        parts = []
        for coefficient, monomial in self.terms:
            text = " * ".join(base.expr() for base in monomial)
            shown = int(coefficient) if float(coefficient).is_integer() else coefficient
            sign = "-" if shown < 0 else "+"
            size = abs(shown)
            parts.append((sign, text if size == 1 else f"{size} * {text}"))
        if not parts:
            return "0"
        head = ("-" if parts[0][0] == "-" else "") + parts[0][1]
        return "(" + " ".join([head, *(f"{sign} {text}" for sign, text in parts[1:])]) + ")"


def _nice(value: float) -> float:
    for step in (1.0, 0.5, 0.01):
        rounded = round(value / step) * step
        if abs(rounded - value) < 1e-4 * max(1.0, abs(value)):
            return round(rounded, 2)
    return round(value, 2)


def _monomials(bases: Sequence[Base]) -> list[tuple[Base, ...]]:
    out: list[tuple[Base, ...]] = [(b,) for b in bases]
    counts = [b for b in bases if b.count]
    out += [(b, c) for b in bases for c in counts if b != c and not (b.count and bases.index(b) > bases.index(c))]
    return out


def _solve(matrix: np.ndarray, target: np.ndarray) -> np.ndarray | None:
    try:
        solution = np.linalg.lstsq(matrix, target, rcond=None)[0]
    except np.linalg.LinAlgError:
        return None
    return np.array([_nice(float(c)) for c in solution])


def fit_quantity(samples: Sequence[tuple[Mapping[str, Any], Mapping[str, Any], float]],
                 bases: Sequence[Base], seed: int = 0) -> tuple[Quantity, int] | None:
    """The quantity reproducing the most ``samples`` (state, args, wanted) and how many it does."""
    if not samples:
        return None
    bases = list(bases)[:MAX_BASES]
    monomials = _monomials(bases)
    values = {b: [b.of(s, a) for s, a, _ in samples] for b in bases}
    columns: list[tuple[tuple[Base, ...], np.ndarray]] = []
    seen: set[bytes] = set()
    for monomial in monomials:
        rows = [values[b] for b in monomial]
        if any(v is None for row in rows for v in row):
            continue
        column = np.prod(np.array(rows, dtype=float), axis=0)
        if not column.any() or column.tobytes() in seen:
            continue
        seen.add(column.tobytes())
        columns.append((monomial, column))
    if not columns:
        return None
    target = np.array([float(w) for _, _, w in samples])
    rng = random.Random(seed)

    def score(picked: Sequence[int], restarts: int = 0) -> tuple[int, np.ndarray | None, float]:
        matrix = np.stack([columns[i][1] for i in picked], axis=1)
        best: tuple[int, np.ndarray | None, float] = (0, None, float("inf"))
        trials = [None] + [rng.sample(range(len(samples)), min(len(picked), len(samples)))
                           for _ in range(restarts if len(samples) > len(picked) else 0)]
        for rows in trials:
            coefficients = _solve(matrix if rows is None else matrix[rows], target if rows is None else target[rows])
            if coefficients is None:
                continue
            error = np.abs(matrix @ coefficients - target)
            hits = int((error < TOLERANCE * np.maximum(1.0, np.abs(target))).sum())
            if hits > best[0] or (hits == best[0] and float(error.sum()) < best[2]):
                best = (hits, coefficients, float(error.sum()))
            if hits == len(samples):
                break
        return best

    # Least squares on every sample ranks the candidates; the best few are then solved again on
    # small subsets of the samples too, so that a few odd samples do not hide the formula.
    tried: dict[tuple[int, ...], tuple[int, float]] = {}

    def rank(picked: tuple[int, ...]) -> tuple[int, float]:
        hits, coefficients, error = score(picked)
        tried[picked] = (hits, error) if coefficients is not None else (-1, float("inf"))
        return tried[picked]

    singles = sorted(range(len(columns)), key=lambda i: (-rank((i,))[0], tried[(i,)][1]))
    if tried[(singles[0],)][0] < len(samples):
        for picked in combinations(sorted(singles[:MAX_PAIRED]), 2):
            rank(picked)
        pairs = sorted((p for p in tried if len(p) == 2), key=lambda p: (-tried[p][0], tried[p][1]))[:8]
        if not pairs or tried[pairs[0]][0] < len(samples):
            for pair in pairs:
                for third in range(len(columns)):
                    if third not in pair:
                        rank(tuple(sorted((*pair, third))))
    best: tuple[int, int, tuple[int, ...], np.ndarray] | None = None
    order: list[tuple[int, ...]] = sorted(tried, key=lambda p: (-tried[p][0], len(p), tried[p][1]))
    for finalist in order[:FINALISTS]:
        hits, coefficients, _ = score(finalist, RESTARTS)
        if coefficients is not None and (best is None or (hits, -len(finalist)) > (best[0], -best[1])):
            best = (hits, len(finalist), finalist, coefficients)
    if best is None or best[0] == 0:
        return None
    terms = tuple((float(c), columns[i][0]) for c, i in zip(best[3], best[2], strict=True) if c != 0)
    return (Quantity(terms), best[0]) if terms else None
