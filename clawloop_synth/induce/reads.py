"""Read and search handlers: a lookup of the entity an argument selects, a filter over a collection.

A lookup returns the selected entity, or the fields of it that the recorded results show. A search
returns the entities of one collection whose fields equal the arguments (and, where the recording
shows it, a constant such as an availability status), each as the recorded view: the entity
without some fields, possibly with the entry of a dict-valued field that an argument selects
merged in (a flight plus that day's seats and prices).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.source import literal, var
from clawloop_synth.induce.subjects import Subject
from clawloop_synth.sim.replay import rename_keys

__all__ = ["Search", "View", "find_join", "fit_lookup", "fit_search", "same_value"]


def same_value(value: Any, recorded: Any, aliases: Mapping[str, str]) -> bool:
    """Equal as JSON, or equal once today's keys are renamed to the recording's."""
    return value == recorded or (bool(aliases) and rename_keys(value, aliases) == recorded)


@dataclass(frozen=True)
class View:
    """How an entity is shown: minus ``drop``, plus ``entity[merge_field][args[merge_arg]]``, plus joined
    fields, or only ``keep``.

    A join ``(out, link, collection, field)`` shows ``state[collection][entity[link]][field]`` as
    ``out`` (a doctor's name beside an appointment); with ``field`` empty, ``entity[link]`` is a list
    of keys and ``out`` lists those entities (a patient's invoices).
    """

    drop: tuple[str, ...] = ()
    merge_field: str = ""
    merge_arg: str = ""
    keep: tuple[str, ...] | None = None
    joins: tuple[tuple[str, str, str, str], ...] = ()
    from_args: tuple[tuple[str, str], ...] = ()  # (shown field, argument): a field that echoes an argument

    def apply(self, entity: Mapping[str, Any], args: Mapping[str, Any], state: Mapping[str, Any]) -> Any:
        if self.keep is not None:
            return {name: entity[name] for name in self.keep if name in entity}
        out = {name: value for name, value in entity.items() if name not in self.drop}
        if self.merge_field:
            inner = entity.get(self.merge_field)
            extra = inner.get(args.get(self.merge_arg)) if isinstance(inner, dict) else None
            if isinstance(extra, dict):
                out.update(extra)
        for name, link, collection, field_name in self.joins:
            out[name] = _joined(entity, link, collection, field_name, state)
        for name, arg in self.from_args:
            out[name] = args.get(arg)
        return out

    def lines(self, source: str, target: str) -> list[str]:
        """Statements that set ``target`` to the view of ``source``."""
        if self.keep is not None:
            items = ", ".join(f"{literal(name)}: {source}[{literal(name)}]" for name in self.keep)
            return [f"{target} = {{{items}}}"]
        if not self.drop and not self.merge_field and not self.joins and not self.from_args:
            return [f"{target} = {source}"]
        lines = [f"{target} = {{}}", f"for name, value in {source}.items():"]
        lines.append(f"    if name not in {literal(list(self.drop))}:" if self.drop else "    if True:")
        lines.append(f"        {target}[name] = value")
        if self.merge_field:
            lines.append(f"{target}.update(pick({source}, {literal(self.merge_field)}, {var(self.merge_arg)}) or {{}})")
        for name, link, collection, field_name in self.joins:
            if field_name:
                lines.append(f"{target}[{literal(name)}] = pick(state, {literal(collection)}, "
                             f"pick({source}, {literal(link)}), {literal(field_name)})")
            else:
                lines.append(f"{target}[{literal(name)}] = [state[{literal(collection)}][key] for key in "
                             f"({source}.get({literal(link)}) or []) if key in state[{literal(collection)}]]")
        lines.extend(f"{target}[{literal(name)}] = {var(arg)}" for name, arg in self.from_args)
        return lines


def _joined(entity: Mapping[str, Any], link: str, collection: str, field_name: str, state: Mapping[str, Any]) -> Any:
    table = state.get(collection)
    if not isinstance(table, dict):
        return None if field_name else []
    if field_name:
        target = table.get(entity.get(link)) if isinstance(entity.get(link), str) else None
        return target.get(field_name) if isinstance(target, dict) else None
    keys = entity.get(link)
    return [table[key] for key in keys if isinstance(key, str) and key in table] if isinstance(keys, list) else []


def find_join(name: str, value: Any, entity: Mapping[str, Any],
               state: Mapping[str, Any]) -> tuple[str, str, str, str] | None:
    tables = [(c, t) for c, t in state.items() if isinstance(t, dict)]
    for link, key in entity.items():
        if isinstance(key, str):
            for collection, table in tables:
                target = table.get(key)
                if isinstance(target, dict):
                    fields = sorted(target, key=lambda f: (not name.endswith(f), f))
                    for field_name in fields:
                        if target[field_name] == value and field_name:
                            return name, link, collection, field_name
        elif isinstance(key, list) and isinstance(value, list):
            for collection, table in tables:
                if (key and all(isinstance(k, str) and k in table for k in key)
                        and _joined(entity, link, collection, "", state) == value):
                    return name, link, collection, ""
    return None


def infer_view(entity: Mapping[str, Any], shown: Any, args: Mapping[str, Any],
               aliases: Mapping[str, str], state: Mapping[str, Any] | None = None) -> View | None:
    """The view that turns ``entity`` into the recorded ``shown`` dict, if one of the simple kinds does."""
    if not isinstance(shown, dict):
        return None
    state = state or {}
    inverse = {recorded: today for today, recorded in aliases.items()}
    wanted = rename_keys(shown, inverse) if inverse else shown
    extra = set(wanted) - set(entity)
    # Extra fields that echo an argument (a search result labelled with the date asked for).
    echoed = [(name, arg) for name in sorted(extra, key=list(wanted).index)
              for arg in [next((a for a, v in args.items() if v == wanted[name] and isinstance(v, str)), None)]
              if arg is not None]
    merge_field = merge_arg = ""
    if extra:
        for name, value in entity.items():
            if not isinstance(value, dict):
                continue
            for arg, key in args.items():
                inner = value.get(key) if isinstance(key, str) else None
                if isinstance(inner, dict) and (set(inner) >= extra or inner and set(inner) | {
                        n for n, _ in echoed} >= extra):
                    merge_field, merge_arg = name, arg
                    break
            if merge_field:
                break
    from_args: tuple[tuple[str, str], ...] = ()
    if merge_field:
        inner_fields = set(pick_inner(entity, merge_field, args.get(merge_arg)))
        from_args = tuple((n, a) for n, a in echoed if n not in inner_fields)
    joins: list[tuple[str, str, str, str]] = []
    if extra and not merge_field:
        for name in sorted(extra, key=list(wanted).index):
            join = find_join(name, wanted[name], entity, state)
            if join is None:
                return None
            joins.append(join)
    drop = tuple(name for name in entity if name not in wanted)
    view = View(drop, merge_field, merge_arg, joins=tuple(joins), from_args=from_args)
    if same_value(view.apply(entity, args, state), shown, aliases):
        return view
    if not merge_field and not joins:
        keep = View(keep=tuple(wanted))
        if same_value(keep.apply(entity, args, state), shown, aliases):
            return keep
    return None


def fit_lookup(subject: Subject, successes: Sequence[Example], aliases: Mapping[str, str]) -> View | None:
    """The view of ``subject`` that the most successful examples show (None when none fits any)."""
    votes: dict[View, int] = {}
    for example in successes:
        assert example.pre is not None
        entity = subject.resolve(example.pre, example.args)
        if not isinstance(entity, dict):
            continue
        view = infer_view(entity, example.value, example.args, aliases, example.pre)
        if view is not None:
            votes[view] = votes.get(view, 0) + 1
    return max(votes, key=lambda v: votes[v]) if votes else None


@dataclass
class Search:
    """``[view(e) for e in state[collection] if conditions]``, sorted by ``order`` when given."""

    collection: str
    view: View
    arg_fields: dict[str, str] = field(default_factory=dict)  # view field -> argument
    constants: dict[str, Any] = field(default_factory=dict)  # view field -> value
    order: str = ""

    def run(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> list[Any]:
        # Conditions test the entity with any merged entry, before fields are dropped from the view.
        out = [self.view.apply(entity, args, state) for full, entity in _candidates(self, state, args)
               if _passes(full, self.constants)]
        if self.order:
            out.sort(key=lambda item: str(item.get(self.order)))
        return out

    def lines(self) -> list[str]:
        lines = ["found = []", f"for entity in (state.get({literal(self.collection)}) or {{}}).values():",
                 "    full = dict(entity)"]
        if self.view.merge_field:
            inner = f"pick(entity, {literal(self.view.merge_field)}, {var(self.view.merge_arg)})"
            lines += [f"    if {inner} is None:", "        continue", f"    full.update({inner})"]
        tests = [f"full.get({literal(f)}) == {var(a)}" for f, a in self.arg_fields.items()]
        tests += [f"full.get({literal(f)}) == {literal(v)}" for f, v in self.constants.items()]
        lines.append(f"    if {' and '.join(tests) or 'True'}:")
        lines.extend("        " + line for line in self.view.lines("entity", "shown"))
        lines.append("        found.append(shown)")
        if self.order:
            lines.append(f"found = sorted(found, key=lambda item: str(item.get({literal(self.order)})))")
        lines.append("return found")
        return lines


def _item_entity(item: Mapping[str, Any], table: Mapping[str, Any], key_field: str) -> Any:
    if key_field and isinstance(item.get(key_field), str):
        return table.get(item[key_field])
    return None


def fit_search(successes: Sequence[Example], collections: Mapping[str, str],
               aliases: Mapping[str, str]) -> Search | None:
    """A filter over one collection reproducing the recorded lists (None when no collection fits)."""
    lists = [e for e in successes if isinstance(e.value, list) and all(isinstance(i, dict) for i in e.value)]
    if not lists:
        return None
    sample = next((e for e in lists if e.value), None)
    if sample is None or sample.pre is None:
        return None
    best: tuple[int, Search] | None = None
    for name, key_field in collections.items():
        table = sample.pre.get(name)
        if not isinstance(table, dict):
            continue
        entity = _item_entity(sample.value[0], table, key_field)
        if not isinstance(entity, dict):
            continue
        view = infer_view(entity, sample.value[0], sample.args, aliases, sample.pre)
        if view is None:
            continue
        search = _fit_conditions(name, view, lists, aliases, key_field)
        score = sum(same_value(search.run(e.pre or {}, e.args), e.value, aliases) for e in lists)
        if best is None or score > best[0]:
            best = (score, search)
    return best[1] if best else None


def _fit_conditions(name: str, view: View, lists: Sequence[Example], aliases: Mapping[str, str],
                    key_field: str) -> Search:
    shown: list[tuple[Example, dict[str, Any]]] = []
    for e in lists:
        table = (e.pre or {}).get(name, {})
        for item in e.value:
            entity = _item_entity(item, table, key_field)
            full = dict(entity) if isinstance(entity, dict) else dict(item)
            if view.merge_field and isinstance(entity, dict):
                inner = pick_inner(entity, view.merge_field, e.args.get(view.merge_arg))
                full.update(inner)
            shown.append((e, full))
    arg_fields: dict[str, str] = {}
    first_example, first_item = shown[0]
    for field_name, value in first_item.items():
        for arg, wanted in first_example.args.items():
            if (wanted == value and isinstance(value, str | int | float) and arg != view.merge_arg
                    and all(item.get(field_name) == e.args.get(arg) for e, item in shown)):
                arg_fields.setdefault(field_name, arg)
    search = Search(name, view, arg_fields)
    # Each example's entities that pass the argument conditions, run once; trials filter these.
    pools = [[(full, entity) for full, entity in _candidates(search, e.pre or {}, e.args)] for e in lists]
    # Constants that every shown entity has and that rule out entities the recording did not show.
    constants: dict[str, Any] = {}
    for field_name, value in first_item.items():
        if field_name in arg_fields or not isinstance(value, str | bool | int):
            continue
        if not all(item.get(field_name) == value for _, item in shown):
            continue
        before = sum(1 for pool in pools for full, _ in pool if _passes(full, constants))
        trial = {**constants, field_name: value}
        after = sum(1 for pool in pools for full, _ in pool if _passes(full, trial))
        if after < before:
            constants = trial
    search = Search(name, view, dict(arg_fields), constants)
    found = [[view.apply(entity, e.args, e.pre or {}) for full, entity in pool if _passes(full, constants)]
             for e, pool in zip(lists, pools, strict=True)]
    ordered = sum(same_value(got, e.value, aliases) for got, e in zip(found, lists, strict=True))
    for field_name in next(e for e in lists if e.value).value[0]:
        score = sum(same_value(_sorted_by(got, field_name), e.value, aliases)
                    for got, e in zip(found, lists, strict=True))
        if score > ordered:
            search, ordered = Search(name, view, search.arg_fields, search.constants, field_name), score
    return search


def _sorted_by(items: list[Any], name: str) -> list[Any]:
    return sorted(items, key=lambda item: str(item.get(name)))


def _passes(full: Mapping[str, Any], constants: Mapping[str, Any]) -> bool:
    return all(full.get(f) == v for f, v in constants.items())


def _candidates(search: Search, state: Mapping[str, Any], args: Mapping[str, Any]) -> list[tuple[dict[str, Any],
                                                                                                  dict[str, Any]]]:
    out = []
    for entity in state.get(search.collection, {}).values():
        if not isinstance(entity, dict):
            continue
        full = dict(entity)
        if search.view.merge_field:
            inner = entity.get(search.view.merge_field)
            if not isinstance(inner, dict) or args.get(search.view.merge_arg) not in inner:
                continue
            if isinstance(inner[args[search.view.merge_arg]], dict):
                full.update(inner[args[search.view.merge_arg]])
        if all(full.get(f) == args.get(a) for f, a in search.arg_fields.items()):
            out.append((full, entity))
    return out


def pick_inner(entity: Mapping[str, Any], field_name: str, key: Any) -> dict[str, Any]:
    inner = entity.get(field_name)
    value = inner.get(key) if isinstance(inner, dict) and isinstance(key, str) else None
    return value if isinstance(value, dict) else {}
