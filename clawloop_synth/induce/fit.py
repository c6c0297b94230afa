"""The offline fit of an induced pack (it runs in a contained child) and the checked form of its answer.

``fit_request`` is the contained child's entry: from the traces (and a database) to the tools,
state, collections and one fitted handler per tool, as JSON. Each round of fitting is a
:data:`FitRound`: here (:func:`fit_here`) or on an engine's workers (:mod:`.on_engine`).
The host trusts nothing of the answer: :func:`induced_from_json` checks every field.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.induce.aliases import induce_aliases
from clawloop_synth.induce.contained import ContainedLimits
from clawloop_synth.induce.examples import Example, TraceCalls, collect_calls
from clawloop_synth.induce.handlers import Induced, induce_handler
from clawloop_synth.induce.policy import shared_policy
from clawloop_synth.induce.schemas import tool_schemas
from clawloop_synth.induce.state import Collections, key_fields, load_db, reconstruct_state, track_states
from clawloop_synth.sim.errors import SandboxError
from clawloop_synth.types import ToolSpec, Trace

__all__ = ["FitRound", "InducedPack", "examples_by_tool", "fit_here", "fit_limits", "fit_request", "induced_from_json",
           "malformed"]

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


def examples_by_tool(runs: Iterable[TraceCalls]) -> dict[str, list[Example]]:
    """Every recorded example, by tool, in trace order."""
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


# One round of fitting: give the examples their states (``relaxed``: as in :func:`track_states`), then fit
# every tool's handler; here, or split across an engine's workers (:mod:`.on_engine`).
FitRound = Callable[[list[TraceCalls], dict[str, Any], Collections, dict[str, str], frozenset[str]],
                    dict[str, Induced]]


def fit_here(runs: list[TraceCalls], state: dict[str, Any], collections: Collections, aliases: dict[str, str],
             relaxed: frozenset[str]) -> dict[str, Induced]:
    """A round in this process: every tool's handler, in tool order."""
    track_states(runs, state, collections, aliases, relaxed)
    trajectories = {run.trace.id: run.calls for run in runs}
    return {tool: induce_handler(tool, examples, collections, aliases, trajectories)
            for tool, examples in sorted(examples_by_tool(runs).items())}


def _fit(runs: list[TraceCalls], state: dict[str, Any], collections: Collections,
         aliases: dict[str, str], fit_round: FitRound = fit_here) -> tuple[dict[str, Induced], frozenset[str]]:
    """Two rounds: states tracked from exact entity views only, then also from the results of the
    tools that the first round did not find to be lookups (a write's result may add a field).
    Returns the handlers and the relaxed tools the examples' states were last tracked with."""
    first = fit_round(runs, state, collections, aliases, frozenset())
    relaxed = frozenset(tool for tool, one in first.items() if not one.kind.startswith(("lookup", "search")))
    if not relaxed:
        return first, relaxed
    second = fit_round(runs, state, collections, aliases, relaxed)
    return {tool: max(first[tool], second[tool], key=lambda one: one.reproduced) for tool in first}, relaxed


def _offline(traces: Sequence[Trace], db: Path | None, name: str,
             fit_round: FitRound = fit_here) -> tuple[InducedPack, frozenset[str]]:
    """The offline fit (in the contained child): the pack and the relaxed tools of the last tracking."""
    runs = collect_calls(traces)
    by_tool = examples_by_tool(runs)
    if not by_tool:
        raise InputError("the traces record no answered tool calls; nothing to induce handlers from")
    _check_names(by_tool)
    facets: dict[str, Any] = {}
    if db is not None:
        state = load_db(db)
        collections = key_fields(state)
        aliases = induce_aliases((e for es in by_tool.values() for e in es), state)
        handlers, relaxed = _fit(runs, state, collections, aliases, fit_round)
    else:
        aliases = {}
        state, collections, facets = reconstruct_state(runs)
        handlers, relaxed = _fit(runs, state, collections, aliases, fit_round)
        writes = frozenset(tool for tool, one in handlers.items() if one.writes)
        if writes:  # the state before any write, now that the writes are known
            state, collections, facets = reconstruct_state(runs, writes)
            handlers, relaxed = _fit(runs, state, collections, aliases, fit_round)
    schemas = tool_schemas(traces, by_tool)
    tools = [ToolSpec(name=tool, description=schemas[tool]["description"], parameters=schemas[tool]["parameters"],
                      handler=handlers[tool].source if tool in handlers else _unseen(tool),
                      writes=tool in handlers and handlers[tool].writes) for tool in schemas]
    policy, policy_count = shared_policy(traces)
    report = {
        "traces": len(traces),
        "state_from": "db" if db is not None else "traces",
        "seconds": 0.0,
        "examples_seen": sum(one.seen for one in handlers.values()),
        "examples_reproduced": sum(one.reproduced for one in handlers.values()),
        "tools": {tool: {"kind": one.kind, "writes": one.writes, "seen": one.seen, "reproduced": one.reproduced,
                         "errors_seen": one.errors_seen, "errors_reproduced": one.errors_reproduced}
                  for tool, one in handlers.items()},
        "policy": policy,
        "policy_traces": policy_count,
        "collections": {c: {"key": k, "entities": len(state.get(c, {}))} for c, k in collections.items()},
        "recorded_key_aliases": aliases,
        "facets": facets,  # traces only: entity facets a search selects (how read views are seeded)
        "online": {},
    }
    return InducedPack(name, policy, tools, collections, state, aliases, handlers, report), relaxed


def fit_request(payload: dict[str, Any], fit_round: FitRound = fit_here) -> dict[str, Any]:
    """The contained child's entry: the offline fit of ``payload`` (traces, db, name) as JSON."""
    traces = [Trace.model_validate(item) for item in payload["traces"]]
    db = Path(payload["db"]) if payload["db"] is not None else None
    pack, relaxed = _offline(traces, db, str(payload["name"]), fit_round)
    return {"name": pack.name, "policy": pack.policy, "tools": [spec.model_dump(mode="json") for spec in pack.tools],
            "collections": pack.collections, "state": None if db is not None else pack.state,
            "aliases": pack.aliases, "handlers": {tool: asdict(one) for tool, one in pack.handlers.items()},
            "report": pack.report, "relaxed": sorted(relaxed)}


def fit_limits(traces: Sequence[Trace]) -> ContainedLimits:
    """The contained fit's limits for these traces."""
    # The fit's cost grows with the recorded calls; the budget is generous (a backstop, not a target).
    calls = sum(len(trace.messages) for trace in traces)
    return ContainedLimits(cpu_seconds=300.0 + 0.05 * calls)


def malformed(what: str) -> SandboxError:
    """The error for a contained child's answer that is not of the agreed form."""
    return SandboxError(f"the contained induction sent a malformed answer ({what})")


def induced_from_json(tool: str, data: Any) -> Induced:
    """An :class:`Induced` from the child's JSON, every field checked (the child is not trusted)."""
    if not isinstance(data, dict):
        raise malformed(f"handler of {tool}")
    texts = ("tool", "kind", "source")
    counts = ("seen", "reproduced", "errors_seen", "errors_reproduced")
    if not all(isinstance(data.get(f), str) for f in texts) or not isinstance(data.get("writes"), bool) \
            or not all(isinstance(data.get(f), int) and not isinstance(data.get(f), bool) for f in counts):
        raise malformed(f"handler of {tool}")
    touches = data.get("touches")
    if touches is not None:
        if not (isinstance(touches, list) and len(touches) == 2 and isinstance(touches[0], str)
                and isinstance(touches[1], dict) and all(isinstance(v, str) for v in touches[1].values())):
            raise malformed(f"search of {tool}")
        touches = (touches[0], dict(touches[1]))
    chain = data.get("chain")
    if chain is not None:
        parts = ("first", "last", "link")
        if not (isinstance(chain, dict) and isinstance(chain.get("collection"), str) and all(
                isinstance(chain.get(p), dict) and all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in chain[p].items()) for p in parts)):
            raise malformed(f"pair search of {tool}")
        chain = {"collection": chain["collection"], **{p: dict(chain[p]) for p in parts}}
    return Induced(data["tool"], data["kind"], data["source"], data["writes"], data["seen"], data["reproduced"],
                   data["errors_seen"], data["errors_reproduced"], touches=touches, chain=chain)


def _unseen(tool: str) -> str:
    # A tool that the traces list but never call: nothing to fit, so it says so when called.
    return f'# {tool}: never called in the traces; nothing to induce from.\ndef invoke(state, **args):\n' \
           f'    return "Error: {tool} is not available"\n'
