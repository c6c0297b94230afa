"""Chain searches: a join of a collection with itself, found from recorded lists of pairs.

A result that lists pairs ``[[a, b], ...]`` of one collection's entities (each shown by a view, as a
search shows them) is a join: ``a``'s fields equal some arguments (``first``), ``b``'s others
(``last``), a field of ``a`` equals a field of ``b`` (``link``: one hop's end is the next one's
start), constants hold on both (a status), and comparisons between a field of ``a`` and a field of
``b`` (``a.x < b.y`` on text) rule out the pairs the recording did not show. Every part is found from
the recorded pairs and the candidate pairs the state offers, never named in advance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.reads import View, _item_entity, infer_view, pick_inner, same_value
from clawloop_synth.induce.source import literal, var

__all__ = ["PairSearch", "fit_pair_search"]

MAX_ENTITIES = 5000  # a collection bigger than this is not searched for pairs (n**2 candidates)
OPS = ("<", "<=", ">", ">=")
Candidate = tuple[dict[str, Any], dict[str, Any], dict[str, Any], dict[str, Any]]  # a, b, full a, full b


def _compare(op: str, a: Any, b: Any) -> bool:
    if not isinstance(a, str) or not isinstance(b, str):
        return False
    return a < b if op == "<" else a <= b if op == "<=" else a > b if op == ">" else a >= b


@dataclass
class PairSearch:
    """``[[view(a), view(b)] for a in C for b in C if first(a) and last(b) and link and tests]``."""

    collection: str
    views: tuple[View, View]
    first: dict[str, str] = field(default_factory=dict)  # field of a -> argument
    last: dict[str, str] = field(default_factory=dict)  # field of b -> argument
    link: dict[str, str] = field(default_factory=dict)  # field of a -> equal field of b
    constants: tuple[dict[str, Any], dict[str, Any]] = field(default_factory=lambda: ({}, {}))
    tests: tuple[tuple[str, str, str], ...] = ()  # (field of a, op, field of b)

    def _full(self, position: int, entity: Mapping[str, Any], args: Mapping[str, Any]) -> dict[str, Any] | None:
        view = self.views[position]
        full = dict(entity)
        if view.merge_field:
            inner = entity.get(view.merge_field)
            if not isinstance(inner, dict) or args.get(view.merge_arg) not in inner:
                return None
            full.update(pick_inner(entity, view.merge_field, args.get(view.merge_arg)))
        return full

    def _passes(self, position: int, full: Mapping[str, Any], args: Mapping[str, Any]) -> bool:
        own = self.first if position == 0 else self.last
        return all(full.get(f) == args.get(a) for f, a in own.items()) and all(
            full.get(f) == v for f, v in self.constants[position].items())

    def pairs(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> list[Candidate]:
        """(a, b, full a, full b) for every candidate pair passing the argument conditions and links."""
        table = state.get(self.collection)
        if not isinstance(table, dict):
            return []
        entities = [e for e in table.values() if isinstance(e, dict)]
        firsts = [(e, f) for e in entities if (f := self._full(0, e, args)) is not None and self._passes(0, f, args)]
        lasts = [(e, f) for e in entities if (f := self._full(1, e, args)) is not None and self._passes(1, f, args)]
        return [(a, b, fa, fb) for a, fa in firsts for b, fb in lasts
                if all(fa.get(x) == fb.get(y) for x, y in self.link.items())]

    def run(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> list[Any]:
        return [[self.views[0].apply(a, args, state), self.views[1].apply(b, args, state)]
                for a, b, fa, fb in self.pairs(state, args)
                if all(_compare(op, fa.get(x), fb.get(y)) for x, op, y in self.tests)]

    def lines(self) -> list[str]:
        table = f"(state.get({literal(self.collection)}) or {{}}).values()"
        lines = ["found = []", f"for first in {table}:"]
        body: list[str] = []
        for position, (name, entity) in enumerate((("full", "first"), ("other", "second"))):
            view = self.views[position]
            step = [f"{name} = dict({entity})"]
            if view.merge_field:
                inner = f"pick({entity}, {literal(view.merge_field)}, {var(view.merge_arg)})"
                step += [f"if {inner} is None:", "    continue", f"{name}.update({inner})"]
            own = self.first if position == 0 else self.last
            tests = [f"{name}.get({literal(f)}) == {var(a)}" for f, a in own.items()]
            tests += [f"{name}.get({literal(f)}) == {literal(v)}" for f, v in self.constants[position].items()]
            if position == 1:
                tests += [f"full.get({literal(x)}) == other.get({literal(y)})" for x, y in self.link.items()]
                tests += [f"str(full.get({literal(x)})) {op} str(other.get({literal(y)}))" for x, op, y in self.tests]
            if tests:
                step += [f"if not ({' and '.join(tests)}):", "    continue"]
            if position == 0:
                body += ["    " + line for line in step] + [f"    for second in {table}:"]
            else:
                body += ["        " + line for line in step]
        body += ["        " + line for line in self.views[0].lines("first", "shown")]
        body += ["        " + line for line in self.views[1].lines("second", "shown_next")]
        body += ["        found.append([shown, shown_next])"]
        return [*lines, *body, "return found"]


def _at(shown: tuple[Example, dict[str, Any], dict[str, Any]], position: int) -> dict[str, Any]:
    return shown[1] if position == 0 else shown[2]


def _pair_lists(successes: Sequence[Example]) -> list[Example]:
    return [e for e in successes if isinstance(e.value, list) and all(
        isinstance(i, list) and len(i) == 2 and all(isinstance(x, dict) for x in i) for i in e.value)]


def _shown(lists: Sequence[Example], name: str, key_field: str,
           views: tuple[View, View]) -> list[tuple[Example, dict[str, Any], dict[str, Any]]] | None:
    out = []
    for e in lists:
        table = (e.pre or {}).get(name) or {}
        for pair in e.value:
            fulls = []
            for position, item in enumerate(pair):
                entity = _item_entity(item, table, key_field)
                if not isinstance(entity, dict):
                    return None
                full = dict(entity)
                if views[position].merge_field:
                    full.update(pick_inner(entity, views[position].merge_field, e.args.get(views[position].merge_arg)))
                fulls.append(full)
            out.append((e, fulls[0], fulls[1]))
    return out


def _arg_fields(shown: Sequence[tuple[Example, dict[str, Any], dict[str, Any]]], position: int,
                skip: str) -> dict[str, str]:
    e0 = shown[0][0]
    found: dict[str, str] = {}
    for name, value in _at(shown[0], position).items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            continue
        for arg, wanted in e0.args.items():
            if wanted == value and arg != skip and all(_at(s, position).get(name) == s[0].args.get(arg) for s in shown):
                found.setdefault(name, arg)
    return found


def fit_pair_search(successes: Sequence[Example], collections: Mapping[str, str],
                    aliases: Mapping[str, str]) -> PairSearch | None:
    """A self-join reproducing the recorded lists of pairs (None when the results are not pairs)."""
    lists = _pair_lists(successes)
    sample = next((e for e in lists if e.value), None)
    if sample is None or sample.pre is None:
        return None
    best: tuple[int, PairSearch] | None = None
    for name, key_field in collections.items():
        table = sample.pre.get(name)
        if not isinstance(table, dict) or len(table) > MAX_ENTITIES:
            continue
        entities = [_item_entity(item, table, key_field) for item in sample.value[0]]
        if not all(isinstance(e, dict) for e in entities):
            continue
        fitted = [infer_view(e, item, sample.args, aliases, sample.pre) for e, item in zip(entities, sample.value[0],
                                                                                               strict=True)]
        if fitted[0] is None or fitted[1] is None:
            continue
        views = (fitted[0], fitted[1])
        shown = _shown(lists, name, key_field, views)
        if not shown:
            continue
        search = _fit(name, views, shown, lists)
        score = sum(same_value(search.run(e.pre or {}, e.args), e.value, aliases) for e in lists)
        if best is None or score > best[0]:
            best = (score, search)
    return best[1] if best else None


def _fit(name: str, views: tuple[View, View], shown: Sequence[tuple[Example, dict[str, Any], dict[str, Any]]],
         lists: Sequence[Example]) -> PairSearch:
    first = _arg_fields(shown, 0, views[0].merge_arg)
    last = _arg_fields(shown, 1, views[1].merge_arg)
    _, a0, b0 = shown[0]
    link = {x: y for x, value in a0.items() if isinstance(value, str) and x not in first
            for y in b0 if y not in last and all(s[1].get(x) == s[2].get(y) for s in shown)}
    # One field of b per field of a: the first that always agrees (b's key may equal nothing of a).
    link = dict(sorted(link.items())[:1]) if link else {}
    constants: list[dict[str, Any]] = [{}, {}]
    for position in (0, 1):
        full = _at(shown[0], position)
        for f, value in full.items():
            if isinstance(value, str | bool | int) and f not in (first if position == 0 else last) and all(
                    _at(s, position).get(f) == value for s in shown):
                constants[position][f] = value
    search = PairSearch(name, views, first, last, link, (constants[0], constants[1]))
    # Keep only the constants that rule candidates out (a constant true of every entity says nothing).
    pools = [search.pairs(e.pre or {}, e.args) for e in lists]
    for position in (0, 1):
        for f in list(constants[position]):
            trial = [dict(c) for c in constants]
            del trial[position][f]
            loose = PairSearch(name, views, first, last, link, (trial[0], trial[1]))
            if sum(len(loose.pairs(e.pre or {}, e.args)) for e in lists) == sum(map(len, pools)):
                constants = trial
    # A constant kept at one end holds at the other end too where every shown pair has it there (a
    # status both hops need: the training pairs alone may not show the first hop's rule out anything).
    for position in (0, 1):
        for f, value in constants[1 - position].items():
            if f not in constants[position] and all(_at(s, position).get(f) == value for s in shown):
                constants[position][f] = value
    search = PairSearch(name, views, first, last, link, (constants[0], constants[1]))
    pools = [search.pairs(e.pre or {}, e.args) for e in lists]
    recorded = {id(e): {_pair_key(p) for p in e.value} for e in lists}
    keys = [(e, [(fa, fb, _pair_key([search.views[0].apply(a, e.args, e.pre or {}),
                                     search.views[1].apply(b, e.args, e.pre or {})])) for a, b, fa, fb in pool])
            for e, pool in zip(lists, pools, strict=True)]
    tests: list[tuple[str, str, str]] = []
    while True:
        # Candidate pairs the recording did not show and the tests so far keep: what a new test removes.
        negatives = [(fa, fb) for e, pool in keys for fa, fb, key in pool if key not in recorded[id(e)]
                     and all(_compare(o, fa.get(p), fb.get(q)) for p, o, q in tests)]
        best: tuple[int, tuple[str, str, str]] | None = None
        for x, value in a0.items():
            for y, other in b0.items():
                if not isinstance(value, str) or not isinstance(other, str):
                    continue
                for op in OPS:
                    test = (x, op, y)
                    if test in tests or not all(_compare(op, s[1].get(x), s[2].get(y)) for s in shown):
                        continue
                    removed = sum(1 for fa, fb in negatives if not _compare(op, fa.get(x), fb.get(y)))
                    if removed and (best is None or removed > best[0]):
                        best = (removed, test)
        if best is None or len(tests) >= 3:
            break
        tests.append(best[1])
    return PairSearch(name, views, first, last, link, (constants[0], constants[1]), tuple(tests))


def _pair_key(pair: Sequence[Any]) -> bytes:
    import orjson

    return orjson.dumps(pair, option=orjson.OPT_SORT_KEYS)
