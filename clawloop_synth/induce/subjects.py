"""Subjects of a call: the entities its arguments select and those they link to, with safe access code.

Handlers reach every entity through ``pick(state, COLLECTION, key, ...)``, which answers ``None``
for anything missing, so an error condition can test a subject that may not exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.source import literal, var

__all__ = ["PICK_HELPER", "Subject", "find_subjects", "pick"]

PICK_HELPER = '''
def pick(value, *path):
    # Walk into dicts and lists; None as soon as a step is missing.
    for step in path:
        if isinstance(value, dict) and isinstance(step, (str, int)) and step in value:
            value = value[step]
        elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
            value = value[step]
        else:
            return None
    return value
'''


def pick(value: Any, *path: Any) -> Any:
    """Host twin of the emitted ``pick`` (same semantics), used while fitting."""
    for step in path:
        in_dict = isinstance(value, dict) and isinstance(step, str | int) and step in value
        in_list = isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value)
        if not (in_dict or in_list):
            return None
        value = value[step]
    return value


@dataclass(frozen=True)
class Subject:
    """An entity a call reaches: by an argument (``via`` = arg), a field of another subject, or a member.

    kind "arg": ``state[collection][args[name]]``; "link": ``state[collection][parent[name]]``;
    "member": ``parent[name][args[arg]]`` (an entry of a dict-valued field selected by an argument).
    """

    kind: str
    name: str
    collection: str = ""
    parent: Subject | None = None
    arg: str = ""

    @property
    def label(self) -> str:
        if self.kind == "arg":
            return self.collection + "[" + self.name + "]"
        assert self.parent is not None
        if self.kind == "link":
            return self.collection + "[" + self.parent.label + "." + self.name + "]"
        return self.parent.label + "." + self.name + "[" + self.arg + "]"

    def expr(self) -> str:
        """Python expression that evaluates to the subject or None."""
        if self.kind == "arg":
            return f"pick(state, {literal(self.collection)}, {var(self.name)})"
        assert self.parent is not None
        if self.kind == "link":
            return f"pick(state, {literal(self.collection)}, pick({self.parent.expr()}, {literal(self.name)}))"
        return f"pick({self.parent.expr()}, {literal(self.name)}, {var(self.arg)})"

    def resolve(self, state: Mapping[str, Any], args: Mapping[str, Any]) -> Any:
        if self.kind == "arg":
            return pick(state, self.collection, args.get(self.name))
        assert self.parent is not None
        parent = self.parent.resolve(state, args)
        if self.kind == "link":
            return pick(state, self.collection, pick(parent, self.name))
        return pick(parent, self.name, args.get(self.arg))


def _key_tables(state: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, table) for name, table in state.items() if isinstance(table, dict)]


def find_subjects(examples: Iterable[Example], limit: int = 12) -> list[Subject]:
    """Subjects that resolve in at least one example: argument-selected, linked and member entities."""
    examples = [e for e in examples if e.pre is not None]
    counts: dict[Subject, int] = {}
    for example in examples:
        assert example.pre is not None
        tables = _key_tables(example.pre)
        for arg, value in example.args.items():
            if not isinstance(value, str):
                continue
            for name, table in tables:
                if value in table:
                    counts[Subject("arg", arg, name)] = counts.get(Subject("arg", arg, name), 0) + 1
    direct = sorted(counts, key=lambda s: -counts[s])
    found: list[Subject] = list(direct)
    for subject in direct:
        for example in examples:
            assert example.pre is not None
            entity = subject.resolve(example.pre, example.args)
            if not isinstance(entity, dict):
                continue
            for field, value in entity.items():
                if isinstance(value, str):
                    for name, table in _key_tables(example.pre):
                        if value in table and name != subject.collection:
                            link = Subject("link", field, name, subject)
                            if link not in found:
                                found.append(link)
                elif isinstance(value, dict):
                    for arg, wanted in example.args.items():
                        if isinstance(wanted, str) and wanted in value and isinstance(value[wanted], dict):
                            member = Subject("member", field, parent=subject, arg=arg)
                            if member not in found:
                                found.append(member)
            break
    for subject in list(found):
        if subject.kind != "link":
            continue
        for example in examples:
            assert example.pre is not None
            entity = subject.resolve(example.pre, example.args)
            if not isinstance(entity, dict):
                continue
            for field, value in entity.items():
                if isinstance(value, dict):
                    for arg, wanted in example.args.items():
                        if isinstance(wanted, str) and wanted in value and isinstance(value[wanted], dict):
                            member = Subject("member", field, parent=subject, arg=arg)
                            if member not in found:
                                found.append(member)
            break
    return found[:limit]
