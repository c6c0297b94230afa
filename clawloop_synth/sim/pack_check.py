"""``pack check``: every problem of a pack folder, one line each.

Checked: the folder reads (pack.toml keys, tools.json shape, a handler file per tool); every tool's
parameters are a valid JSON Schema of an object; every handler and rule compiles under the sandbox
policy and defines its function (``invoke`` / ``check``); every declared collection loads as a JSON
object (from the pack's ``state/`` or ``--db``) and every global exists; the searches, date windows and
distractors name tools and collections the pack has; and every handler survives a few schema-valid
argument sets run in the sandbox on the pack's state (an exception or a broken limit is a crash; an
error *result* is fine: that is how a tool answers a bad request).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.sim.arguments import sample_arguments, string_pool
from clawloop_synth.sim.errors import SandboxError
from clawloop_synth.sim.pack import DomainPack, State
from clawloop_synth.sim.sandbox import compile_handler

__all__ = ["PackReport", "check_pack"]

ARGUMENT_SETS = 6  # schema-valid calls per handler


@dataclass
class PackReport:
    """What ``check_pack`` found: ``problems`` (one line each) and counts for the OK line."""

    folder: str
    name: str = ""
    problems: list[str] = field(default_factory=list)
    tools: int = 0
    calls: int = 0
    collections: int = 0
    rules: int = 0
    state: str = "none"  # where the state came from, or "none"

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        return (f"OK: pack '{self.name}' ({self.folder}): {self.tools} tools, {self.calls} sandboxed calls survived, "
                f"{self.collections} collections ({self.state}), {self.rules} rules")


def _defines(source: str, function: str) -> bool:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return True  # the compile step reports it
    return any(isinstance(node, ast.FunctionDef) and node.name == function for node in tree.body)


def _schemas(pack: DomainPack, where: str, report: PackReport) -> set[str]:
    valid = set()
    for tool in pack.tools:
        try:
            jsonschema.validators.validator_for(tool.parameters).check_schema(tool.parameters)
        except jsonschema.exceptions.SchemaError as exc:
            path = "/".join(str(p) for p in exc.absolute_path)
            report.problems.append(f"{where}/tools.json, tool '{tool.name}': parameters are not a valid JSON Schema: "
                                   f"{exc.message}" + (f" (at '{path}')" if path else ""))
            continue
        if tool.parameters.get("type", "object") != "object":
            report.problems.append(f"{where}/tools.json, tool '{tool.name}': parameters must describe an object "
                                   f"(type is {tool.parameters.get('type')!r})")
            continue
        valid.add(tool.name)
    return valid


def _sources(pack: DomainPack, where: str, report: PackReport) -> set[str]:
    compiled = set()
    for tool in pack.tools:
        try:
            compile_handler(tool.handler)  # the policy also requires a top-level `def invoke`
        except SandboxError as exc:
            report.problems.append(f"{where}/handlers/{tool.name}.py: does not pass the sandbox: {exc}")
            continue
        compiled.add(tool.name)
    names = {tool.name for tool in pack.tools}
    handlers = Path(where) / "handlers"
    for extra in sorted(handlers.glob("*.py")) if handlers.is_dir() else []:
        if extra.stem not in names:
            report.problems.append(f"{where}/handlers/{extra.name}: no tool '{extra.stem}' in tools.json")
    for rule, source in pack.rules.items():
        if not _defines(source, "check"):
            report.problems.append(f"{where}/rules/{rule}.py: defines no `def check(state, call)`")
            continue
        try:
            compile_handler(source, entry="check")
        except SandboxError as exc:
            report.problems.append(f"{where}/rules/{rule}.py: does not pass the sandbox: {exc}")
    report.rules = len(pack.rules)
    return compiled


def _state(pack: DomainPack, where: str, report: PackReport) -> State | None:
    folder = pack.db
    if folder is None:
        report.state = "no state/ folder: give --db to check it"
        return None
    state: State = {}
    bad = False
    for name in pack.collections:
        path = Path(folder) / f"{name}.json"
        try:
            data = orjson.loads(path.read_bytes())
        except FileNotFoundError:
            report.problems.append(f"{path}: missing collection '{name}' (declared in {where}/pack.toml)")
            bad = True
            continue
        except orjson.JSONDecodeError as exc:
            report.problems.append(f"{path}: not valid JSON: {exc}")
            bad = True
            continue
        if not isinstance(data, dict):
            report.problems.append(f"{path}: collection '{name}' must be a JSON object keyed by entity key")
            bad = True
            continue
        state[name] = data
    try:
        loaded = pack.load_state() if not bad else None
    except InputError as exc:
        report.problems.append(str(exc))
        loaded = None
    report.collections = len(pack.collections)
    report.state = str(folder)
    return loaded if loaded is not None else (state if not bad else None)


def _references(pack: DomainPack, where: str, report: PackReport) -> None:
    tools = {tool.name for tool in pack.tools}
    collections = set(pack.collections)
    for index, search in enumerate(pack.searches):
        if search.tool not in tools:
            report.problems.append(f"{where}/pack.toml, searches[{index}]: no tool '{search.tool}'")
        if search.collection not in collections:
            report.problems.append(f"{where}/pack.toml, searches[{index}]: no collection '{search.collection}'")
        if search.hops > 1 and not search.link:
            report.problems.append(f"{where}/pack.toml, searches[{index}]: hops > 1 needs a link")
    for index, window in enumerate(pack.date_windows):
        if window.collection not in collections:
            report.problems.append(f"{where}/pack.toml, date_windows[{index}]: no collection '{window.collection}'")
    for name in pack.distractors:
        if name not in collections:
            report.problems.append(f"{where}/pack.toml, distractors: no collection '{name}'")


def _survives(pack: DomainPack, state: State, runnable: set[str], report: PackReport) -> None:
    pool = string_pool(state)
    for tool in pack.tools:
        if tool.name not in runnable:
            continue
        handler = compile_handler(tool.handler)
        for args in sample_arguments(tool.parameters, ARGUMENT_SETS, seed=tool.name, pool=pool):
            try:
                # A copy of what the call can reach (the rest is shared): cheap on a big database.
                handler(pack.working_copy(state, pack.touched(state, [(tool.name, args)])), args)
            except SandboxError as exc:
                shown = orjson.dumps(args).decode()
                shown = shown if len(shown) <= 200 else shown[:200] + "..."
                report.problems.append(f"handlers/{tool.name}.py: crashed on schema-valid arguments {shown}: {exc}")
                break
            report.calls += 1


def check_pack(name_or_path: str | Path, db: Path | None = None) -> PackReport:
    """Every problem of the pack (a folder or a built-in name), with ``db`` as its state when given."""
    from clawloop_synth.sim.pack_folder import load_pack, pack_folder

    report = PackReport(folder=str(name_or_path))
    try:
        folder = pack_folder(name_or_path)
        report.folder = str(folder)
        pack = load_pack(folder, db)
    except InputError as exc:
        report.problems.append(str(exc))
        return report
    where = str(folder)
    report.name = pack.name
    report.tools = len(pack.tools)
    valid = _schemas(pack, where, report)
    compiled = _sources(pack, where, report)
    _references(pack, where, report)
    state: Any = _state(pack, where, report)
    if state is None:
        # No state to run on: still call every handler once on an empty state of the declared shape.
        state = {name: {} for name in pack.collections} if pack.db is None else None
    if state is not None:
        _survives(pack, state, valid & compiled, report)
    return report
