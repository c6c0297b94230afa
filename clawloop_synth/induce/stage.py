"""`induce`: from traces (and a database dump when there is one) to a domain pack folder.

    induce_pack(traces, out_dir, db=None, model=None) -> Path

Steps: tool schemas (recorded, else inferred), the shared policy, the state (``--db`` or
reconstructed from read results), each example's state before it (earlier observations applied in
order), then one handler per tool (offline search; with a model, the LLM writes and repairs
handlers that the search could not make exact), and the pack folder with ``induce.json``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import orjson
from pydantic import ValidationError

from clawloop_synth.errors import InputError
from clawloop_synth.induce.contained import inside, run_contained
from clawloop_synth.induce.examples import collect_calls
from clawloop_synth.induce.fit import (
    InducedPack,
    examples_by_tool,
    fit_limits,
    fit_request,
    induced_from_json,
    malformed,
)
from clawloop_synth.induce.schemas import tool_schemas
from clawloop_synth.induce.state import load_db, track_states
from clawloop_synth.induce.write import write_pack_folder
from clawloop_synth.sim.pack import DomainPack
from clawloop_synth.sim.pack_rules import Search
from clawloop_synth.types import ToolSpec, Trace

__all__ = ["InducedPack", "induce", "induce_pack", "to_domain_pack"]

def _from_answer(answer: Any, db: Path | None) -> tuple[InducedPack, frozenset[str]]:
    if not isinstance(answer, dict):
        raise malformed("not an object")
    try:
        tools = [ToolSpec.model_validate(item) for item in answer["tools"]]
    except (KeyError, TypeError, ValidationError) as exc:
        raise malformed(f"tools: {str(exc)[:200]}") from None
    handlers = answer.get("handlers")
    collections, aliases, report = answer.get("collections"), answer.get("aliases"), answer.get("report")
    if not isinstance(handlers, dict) or not isinstance(collections, dict) or not isinstance(aliases, dict) \
            or not isinstance(report, dict) or not isinstance(answer.get("relaxed"), list):
        raise malformed("fields")
    for table in (collections, aliases):
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            raise malformed("collections or aliases")
    state = load_db(db) if db is not None else answer.get("state")
    if not isinstance(state, dict) or not isinstance(answer.get("policy"), str):
        raise malformed("state or policy")
    pack = InducedPack(str(answer.get("name")), answer["policy"], tools, collections, state, aliases,
                       {str(tool): induced_from_json(str(tool), one) for tool, one in handlers.items()}, report)
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

        answer = orjson.loads(orjson.dumps(fit_on_engine(request, engine, fit_limits(traces))))
    elif inside():  # already contained (an eval's fold): fit here, through the same JSON form
        answer = orjson.loads(orjson.dumps(fit_request(request)))
    else:
        answer = run_contained("clawloop_synth.induce.fit:fit_request", request, fit_limits(traces))
    induced, relaxed = _from_answer(answer, db)
    if model is not None:
        from clawloop_synth.induce.online import repair_handlers

        # The examples' states as the child last tracked them (tracking runs no handler code).
        runs = collect_calls(traces)
        track_states(runs, induced.state, induced.collections, induced.aliases, relaxed)
        by_tool = examples_by_tool(runs)
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
