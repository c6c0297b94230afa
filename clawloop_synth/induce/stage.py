"""`induce`: from traces (and a database dump when there is one) to a domain pack folder.

    induce_pack(traces, out_dir, db=None, model=None) -> Path

Steps: tool schemas (recorded, else inferred), the shared policy, the state (``--db`` or
reconstructed from read results), each example's state before it (earlier observations applied in
order), then one handler per tool (offline search; with a model, the LLM writes and repairs
handlers that the search could not make exact), and the pack folder with ``induce.json``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.induce.aliases import induce_aliases
from clawloop_synth.induce.examples import Example, TraceCalls, collect_calls
from clawloop_synth.induce.handlers import Induced, induce_handler
from clawloop_synth.induce.policy import shared_policy
from clawloop_synth.induce.schemas import tool_schemas
from clawloop_synth.induce.state import Collections, key_fields, load_db, reconstruct_state, track_states
from clawloop_synth.induce.write import write_pack_folder
from clawloop_synth.sim.pack import DomainPack
from clawloop_synth.sim.pack_rules import Search
from clawloop_synth.types import ToolSpec, Trace

__all__ = ["InducedPack", "induce", "induce_pack", "to_domain_pack"]

_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass
class InducedPack:
    """Everything induction found, before it is written as a folder."""

    name: str
    policy: str
    tools: list[ToolSpec]
    collections: Collections
    state: dict[str, Any]
    aliases: dict[str, str]
    handlers: dict[str, Induced]
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def writes(self) -> frozenset[str]:
        return frozenset(spec.name for spec in self.tools if spec.writes)


def _by_tool(runs: Iterable[TraceCalls]) -> dict[str, list[Example]]:
    out: dict[str, list[Example]] = {}
    for run in runs:
        for example in run.calls:
            out.setdefault(example.tool, []).append(example)
    return out


def _check_names(tools: Iterable[str]) -> None:
    for name in tools:
        if not _TOOL_NAME.match(name):
            raise InputError(f"tool name '{name}' cannot name a handler file (letters, digits, _ and - only)",
                             field="tool_calls.function.name")


def _fit(runs: list[TraceCalls], state: dict[str, Any], collections: Collections,
         aliases: dict[str, str]) -> dict[str, Induced]:
    """Two rounds: states tracked from exact entity views only, then also from the results of the
    tools that the first round did not find to be lookups (a write's result may add a field)."""
    by_tool = sorted(_by_tool(runs).items())
    track_states(runs, state, collections, aliases)
    first = {tool: induce_handler(tool, examples, collections, aliases) for tool, examples in by_tool}
    relaxed = frozenset(tool for tool, one in first.items() if not one.kind.startswith(("lookup", "search")))
    if not relaxed:
        return first
    track_states(runs, state, collections, aliases, relaxed)
    second = {tool: induce_handler(tool, examples, collections, aliases) for tool, examples in by_tool}
    return {tool: max(first[tool], second[tool], key=lambda one: one.reproduced) for tool in first}


def induce(traces: Sequence[Trace], db: Path | None = None, model: Any = None, name: str = "induced") -> InducedPack:
    """Induce a pack from ``traces`` (``model``: an :class:`~clawloop_synth.induce.online.OnlineConfig`)."""
    started = time.perf_counter()
    if not traces:
        raise InputError("no traces to induce a pack from")
    runs = collect_calls(traces)
    by_tool = _by_tool(runs)
    if not by_tool:
        raise InputError("the traces record no answered tool calls; nothing to induce handlers from")
    _check_names(by_tool)
    if db is not None:
        state = load_db(db)
        collections = key_fields(state)
        aliases = induce_aliases((e for es in by_tool.values() for e in es), state)
        handlers = _fit(runs, state, collections, aliases)
    else:
        aliases = {}
        state, collections = reconstruct_state(runs)
        handlers = _fit(runs, state, collections, aliases)
        writes = frozenset(tool for tool, one in handlers.items() if one.writes)
        if writes:  # the state before any write, now that the writes are known
            state, collections = reconstruct_state(runs, writes)
            handlers = _fit(runs, state, collections, aliases)
    online: dict[str, Any] = {}
    if model is not None:
        from clawloop_synth.induce.online import repair_handlers

        online = repair_handlers(handlers, _by_tool(runs), tool_schemas(traces, by_tool), aliases, model)
    schemas = tool_schemas(traces, by_tool)
    tools = [ToolSpec(name=tool, description=schemas[tool]["description"], parameters=schemas[tool]["parameters"],
                      handler=handlers[tool].source if tool in handlers else _unseen(tool),
                      writes=tool in handlers and handlers[tool].writes) for tool in schemas]
    policy, policy_count = shared_policy(traces)
    report = {
        "traces": len(traces),
        "state_from": "db" if db is not None else "traces",
        "seconds": round(time.perf_counter() - started, 3),
        "examples_seen": sum(one.seen for one in handlers.values()),
        "examples_reproduced": sum(one.reproduced for one in handlers.values()),
        "tools": {tool: {"kind": one.kind, "writes": one.writes, "seen": one.seen, "reproduced": one.reproduced,
                         "errors_seen": one.errors_seen, "errors_reproduced": one.errors_reproduced}
                  for tool, one in handlers.items()},
        "policy": policy,
        "policy_traces": policy_count,
        "collections": {c: {"key": k, "entities": len(state.get(c, {}))} for c, k in collections.items()},
        "recorded_key_aliases": aliases,
        "online": online,
    }
    return InducedPack(name, policy, tools, collections, state, aliases, handlers, report)


def _unseen(tool: str) -> str:
    # A tool that the traces list but never call: nothing to fit, so it says so when called.
    return f'# {tool}: never called in the traces; nothing to induce from.\ndef invoke(state, **args):\n' \
           f'    return "Error: {tool} is not available"\n'


def to_domain_pack(induced: InducedPack, db: Path | None = None, description: str = "") -> DomainPack:
    """The induced pack as a :class:`DomainPack` (its state read from ``db``, the pack's state folder)."""
    searches = tuple(Search(tool=tool, collection=one.touches[0], match=dict(one.touches[1]))
                     for tool, one in sorted(induced.handlers.items()) if one.touches and one.touches[1])
    return DomainPack(name=induced.name, tools=induced.tools, collections=tuple(induced.collections), db=db,
                      description=description or f"Induced from {induced.report.get('traces', 0)} traces.",
                      recorded_key_aliases=dict(induced.aliases), key_fields=dict(induced.collections),
                      searches=searches, policy=induced.policy)


def induce_pack(traces: Iterable[Trace] | Iterable[Path | str], out_dir: Path, db: Path | None = None,
                model: Any = None, name: str | None = None) -> Path:
    """Induce a pack from traces (records, or files any ingest format reads) and write it to ``out_dir``."""
    items = list(traces)
    if items and not isinstance(items[0], Trace):
        from clawloop_synth.ingest import iter_traces

        records = list(iter_traces([Path(str(item)) for item in items]))
    else:
        records = [item for item in items if isinstance(item, Trace)]
    out_dir = Path(out_dir)
    induced = induce(records, db=db, model=model, name=name or out_dir.name or "induced")
    description = (f"Induced from {len(records)} traces"
                   f" ({'state from the database' if db else 'state reconstructed from read results'}).")
    return write_pack_folder(to_domain_pack(induced, description=description), out_dir, induced.state,
                             induced.report)
