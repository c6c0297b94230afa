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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from clawloop_synth.errors import InputError
from clawloop_synth.induce.aliases import induce_aliases
from clawloop_synth.induce.contained import ContainedLimits, inside, run_contained
from clawloop_synth.induce.examples import Example, TraceCalls, collect_calls
from clawloop_synth.induce.handlers import Induced, induce_handler
from clawloop_synth.induce.policy import shared_policy
from clawloop_synth.induce.schemas import tool_schemas
from clawloop_synth.induce.state import Collections, key_fields, load_db, reconstruct_state, track_states
from clawloop_synth.induce.write import write_pack_folder
from clawloop_synth.sim.errors import SandboxError
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


# One round of fitting: give the examples their states (``relaxed``: as in :func:`track_states`), then fit
# every tool's handler; here, or split across an engine's workers (:mod:`.on_engine`).
FitRound = Callable[[list[TraceCalls], dict[str, Any], Collections, dict[str, str], frozenset[str]],
                    dict[str, Induced]]


def fit_here(runs: list[TraceCalls], state: dict[str, Any], collections: Collections, aliases: dict[str, str],
             relaxed: frozenset[str]) -> dict[str, Induced]:
    """A round in this process: every tool's handler, in tool order."""
    track_states(runs, state, collections, aliases, relaxed)
    return {tool: induce_handler(tool, examples, collections, aliases)
            for tool, examples in sorted(_by_tool(runs).items())}


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
    by_tool = _by_tool(runs)
    if not by_tool:
        raise InputError("the traces record no answered tool calls; nothing to induce handlers from")
    _check_names(by_tool)
    if db is not None:
        state = load_db(db)
        collections = key_fields(state)
        aliases = induce_aliases((e for es in by_tool.values() for e in es), state)
        handlers, relaxed = _fit(runs, state, collections, aliases, fit_round)
    else:
        aliases = {}
        state, collections = reconstruct_state(runs)
        handlers, relaxed = _fit(runs, state, collections, aliases, fit_round)
        writes = frozenset(tool for tool, one in handlers.items() if one.writes)
        if writes:  # the state before any write, now that the writes are known
            state, collections = reconstruct_state(runs, writes)
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


def _limits(traces: Sequence[Trace]) -> ContainedLimits:
    # The fit's cost grows with the recorded calls; the budget is generous (a backstop, not a target).
    calls = sum(len(trace.messages) for trace in traces)
    return ContainedLimits(cpu_seconds=300.0 + 0.05 * calls)


def _malformed(what: str) -> SandboxError:
    return SandboxError(f"the contained induction sent a malformed answer ({what})")


def _induced(tool: str, data: Any) -> Induced:
    """An :class:`Induced` from the child's JSON, every field checked (the child is not trusted)."""
    if not isinstance(data, dict):
        raise _malformed(f"handler of {tool}")
    texts = ("tool", "kind", "source")
    counts = ("seen", "reproduced", "errors_seen", "errors_reproduced")
    if not all(isinstance(data.get(f), str) for f in texts) or not isinstance(data.get("writes"), bool) \
            or not all(isinstance(data.get(f), int) and not isinstance(data.get(f), bool) for f in counts):
        raise _malformed(f"handler of {tool}")
    touches = data.get("touches")
    if touches is not None:
        if not (isinstance(touches, list) and len(touches) == 2 and isinstance(touches[0], str)
                and isinstance(touches[1], dict) and all(isinstance(v, str) for v in touches[1].values())):
            raise _malformed(f"search of {tool}")
        touches = (touches[0], dict(touches[1]))
    chain = data.get("chain")
    if chain is not None:
        parts = ("first", "last", "link")
        if not (isinstance(chain, dict) and isinstance(chain.get("collection"), str) and all(
                isinstance(chain.get(p), dict) and all(isinstance(k, str) and isinstance(v, str)
                                                       for k, v in chain[p].items()) for p in parts)):
            raise _malformed(f"pair search of {tool}")
        chain = {"collection": chain["collection"], **{p: dict(chain[p]) for p in parts}}
    return Induced(data["tool"], data["kind"], data["source"], data["writes"], data["seen"], data["reproduced"],
                   data["errors_seen"], data["errors_reproduced"], touches=touches, chain=chain)


def _from_answer(answer: Any, db: Path | None) -> tuple[InducedPack, frozenset[str]]:
    if not isinstance(answer, dict):
        raise _malformed("not an object")
    try:
        tools = [ToolSpec.model_validate(item) for item in answer["tools"]]
    except (KeyError, TypeError, ValidationError) as exc:
        raise _malformed(f"tools: {str(exc)[:200]}") from None
    handlers = answer.get("handlers")
    collections, aliases, report = answer.get("collections"), answer.get("aliases"), answer.get("report")
    if not isinstance(handlers, dict) or not isinstance(collections, dict) or not isinstance(aliases, dict) \
            or not isinstance(report, dict) or not isinstance(answer.get("relaxed"), list):
        raise _malformed("fields")
    for table in (collections, aliases):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            raise _malformed("collections or aliases")
    state = load_db(db) if db is not None else answer.get("state")
    if not isinstance(state, dict) or not isinstance(answer.get("policy"), str):
        raise _malformed("state or policy")
    pack = InducedPack(str(answer.get("name")), answer["policy"], tools, collections, state, aliases,
                       {str(tool): _induced(str(tool), one) for tool, one in handlers.items()}, report)
    return pack, frozenset(str(tool) for tool in answer["relaxed"])


def induce(traces: Sequence[Trace], db: Path | None = None, model: Any = None, name: str = "induced",
           engine: Any = None) -> InducedPack:
    """Induce a pack from ``traces`` (``model``: an :class:`~clawloop_synth.induce.online.OnlineConfig`).

    The offline fit runs in one contained child process (:mod:`clawloop_synth.induce.contained`),
    where the candidate handlers replay in-process under the policy; the online repair talks to the
    LLM from here, its drafts replayed in sandbox workers. With an ``engine`` whose workers are elsewhere
    (``ray``) each round's tools are fitted on its workers, each group in its own contained child
    (:mod:`.on_engine`); the pack is the same.
    """
    started = time.perf_counter()
    if not traces:
        raise InputError("no traces to induce a pack from")
    request = {"traces": [trace.model_dump(mode="json") for trace in traces],
               "db": str(Path(db).resolve()) if db is not None else None, "name": name}
    if engine is not None and not engine.in_process:
        from clawloop_synth.induce.on_engine import fit_on_engine

        answer = orjson.loads(orjson.dumps(fit_on_engine(request, engine, _limits(traces))))
    elif inside():  # already contained (an eval's fold): fit here, through the same JSON form
        answer = orjson.loads(orjson.dumps(fit_request(request)))
    else:
        answer = run_contained(f"{__name__}:fit_request", request, _limits(traces))
    induced, relaxed = _from_answer(answer, db)
    if model is not None:
        from clawloop_synth.induce.online import repair_handlers

        # The examples' states as the child last tracked them (tracking runs no handler code).
        runs = collect_calls(traces)
        track_states(runs, induced.state, induced.collections, induced.aliases, relaxed)
        by_tool = _by_tool(runs)
        induced.report["online"] = repair_handlers(induced.handlers, by_tool, tool_schemas(traces, by_tool),
                                                   induced.aliases, model)
        for spec in induced.tools:
            if spec.name in induced.handlers:
                spec.handler = induced.handlers[spec.name].source
        induced.report["examples_reproduced"] = sum(one.reproduced for one in induced.handlers.values())
        induced.report["tools"] = {tool: {**induced.report["tools"].get(tool, {}), "kind": one.kind,
                                          "reproduced": one.reproduced, "errors_reproduced": one.errors_reproduced}
                                   for tool, one in induced.handlers.items()}
    induced.report["seconds"] = round(time.perf_counter() - started, 3)
    return induced


def _unseen(tool: str) -> str:
    # A tool that the traces list but never call: nothing to fit, so it says so when called.
    return f'# {tool}: never called in the traces; nothing to induce from.\ndef invoke(state, **args):\n' \
           f'    return "Error: {tool} is not available"\n'


def to_domain_pack(induced: InducedPack, db: Path | None = None, description: str = "") -> DomainPack:
    """The induced pack as a :class:`DomainPack` (its state read from ``db``, the pack's state folder)."""
    searches = tuple(Search(tool=tool, collection=one.touches[0], match=dict(one.touches[1]))
                     for tool, one in sorted(induced.handlers.items()) if one.touches and one.touches[1])
    searches += tuple(Search(tool=tool, collection=one.chain["collection"], first=dict(one.chain["first"]),
                             last=dict(one.chain["last"]), hops=2, link=dict(one.chain["link"]))
                      for tool, one in sorted(induced.handlers.items()) if one.chain)
    return DomainPack(name=induced.name, tools=induced.tools, collections=tuple(induced.collections), db=db,
                      description=description or f"Induced from {induced.report.get('traces', 0)} traces.",
                      recorded_key_aliases=dict(induced.aliases), key_fields=dict(induced.collections),
                      searches=searches, policy=induced.policy)


def induce_pack(traces: Iterable[Trace] | Iterable[Path | str], out_dir: Path, db: Path | None = None,
                model: Any = None, name: str | None = None, engine: Any = None) -> Path:
    """Induce a pack from traces (records, or files any ingest format reads) and write it to ``out_dir``
    (``engine``: where the handlers are fitted, as in :func:`induce`)."""
    items = list(traces)
    if items and not isinstance(items[0], Trace):
        from clawloop_synth.ingest import iter_traces

        records = list(iter_traces([Path(str(item)) for item in items]))
    else:
        records = [item for item in items if isinstance(item, Trace)]
    out_dir = Path(out_dir)
    induced = induce(records, db=db, model=model, name=name or out_dir.name or "induced", engine=engine)
    description = (f"Induced from {len(records)} traces"
                   f" ({'state from the database' if db else 'state reconstructed from read results'}).")
    return write_pack_folder(to_domain_pack(induced, description=description), out_dir, induced.state,
                             induced.report)
