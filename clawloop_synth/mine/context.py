"""What the detectors may know beyond one trace: tool schemas, which tools write, solvable tasks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.mine.references import Calls, References, calls_of, texts_of
from clawloop_synth.mine.toolset import ToolInventory, answering_names, called_names, declared_schemas, tools_match
from clawloop_synth.types import Failure, ToolSpec, Trace

__all__ = ["HANDOFF", "READ_VERB", "MineContext", "TraceFacts", "build_context", "failure", "is_transient",
           "trace_facts"]

# Tools (and phrases) that hand the conversation to a human.
HANDOFF = re.compile(r"transfer\w*_to_human|hand_?off|escalat\w*_to|transfer(ring)? you to a human", re.IGNORECASE)
READ_VERB = re.compile(
    r"^(get|search|list|find|lookup|look_up|read|fetch|check|calculate|compute|think|query|view|show|"
    r"describe|count)(_|$)", re.IGNORECASE)
_BATCH = 256  # records per message to a worker


@dataclass
class MineContext:
    """Knowledge shared by all traces of one mining run.

    ``schemas``: tool name -> JSON Schema of its parameters (declared by the traces, or from a domain
    pack that matches them); ``pack_schemas``: the matching pack's alone (empty when no pack applies);
    ``writes``: names of state-changing tools; ``solved_tasks``: task ids some trace solved;
    ``fail_below``: a reward under this marks a failed trace; ``references``: successful runs that
    failed ones are contrasted with; ``tools``: the traces' tool inventory.
    """

    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    pack_schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: set[str] = field(default_factory=set)
    solved_tasks: set[str] = field(default_factory=set)
    fail_below: float = 0.5
    references: References = field(default_factory=References)
    tools: ToolInventory = field(default_factory=ToolInventory)
    pack_applied: bool = False
    # Contrast with other tasks' successful runs: which user text is compared (opening request or
    # all user turns), how alike it must read, and how many of the most alike runs are asked.
    contrast_text: str = "user"
    contrast_min_similarity: float = 0.3
    contrast_neighbours: int = 1
    # With no successful run of a task, contrast with the task's other failed attempts when there
    # are at least this many (a large number turns it off).
    contrast_attempts: int = 2

    def failed(self, trace: Trace) -> bool:
        """A trace failed when its reward is low or its source annotated a mistake."""
        if trace.gold_failure is not None:
            return True
        return trace.reward is not None and trace.reward < self.fail_below

    def rated(self, trace: Trace) -> bool:
        """Whether anything says how the trace went (a reward or an annotated mistake)."""
        return trace.reward is not None or trace.gold_failure is not None

    def schemas_for(self, trace: Trace) -> dict[str, dict[str, Any]]:
        """The tools a trace could call: its own declared ones (with the matching pack's), else those
        declared by the other traces or the pack. Empty when only calls show the tools: then
        nothing proves a tool does not exist."""
        own = declared_schemas(trace)
        if own:
            return {**own, **self.pack_schemas}
        return self.schemas

    def solvable(self, trace: Trace) -> bool:
        """Known solvable: gold actions that do not hand off, or another run of the task succeeded."""
        if trace.task_id is not None and trace.task_id in self.solved_tasks:
            return True
        gold = trace.gold_actions
        return bool(gold) and not any(HANDOFF.search(a.name) for a in gold or [])


@dataclass(slots=True)
class TraceFacts:
    """What :func:`build_context` takes from one trace, small enough to send from a worker process."""

    id: str
    task_id: str | None
    reward: float | None
    annotated: bool  # the source annotated a mistake (``gold_failure``)
    declared: list[str]
    schemas: dict[str, dict[str, Any]]  # the declared tools' schemas (a worker sends each name's once)
    called: list[str]
    answering: set[str]
    gold: list[str]
    calls: Calls
    texts: tuple[str, ...] | None  # only for a successful run (a reference's words come from them)


def trace_facts(trace: Trace, fail_below: float, answering_known: set[str] | frozenset[str] = frozenset()
                ) -> TraceFacts:
    """The facts of ``trace``; tools in ``answering_known`` are left out of its answering ones."""
    ok = trace.reward is not None and trace.reward >= fail_below and trace.gold_failure is None
    schemas = declared_schemas(trace)
    return TraceFacts(trace.id, trace.task_id, trace.reward, trace.gold_failure is not None, list(schemas), schemas,
                      called_names(trace), answering_names(trace, answering_known),
                      [action.name for action in trace.gold_actions or []], calls_of(trace),
                      texts_of(trace) if ok else None)


def _row_facts(context: tuple[type[Trace], float, set[str], set[str]], row: str) -> TraceFacts:
    model, fail_below, answering, sent = context
    # What this process reported once need not be sent again: the answering tools are a union over all
    # traces, and the first schema of a name wins, which is one this process sent for an earlier record
    # (a worker gets its records in input order).
    facts = trace_facts(model.model_validate_json(row), fail_below, answering)
    answering.update(facts.answering)
    facts.schemas = {name: schema for name, schema in facts.schemas.items() if name not in sent}
    sent.update(facts.schemas)
    return facts


def build_context(traces: Iterable[Trace], pack_tools: list[ToolSpec] | None = None,
                  fail_below: float = 0.5, require_match: bool = False,
                  rows: tuple[Iterable[str], type[Trace]] | None = None, processes: int = 1) -> MineContext:
    """Collect schemas, write tools, solved tasks and reference runs over all traces (one pass).

    Without a pack, a tool counts as state-changing when it appears among any trace's gold
    actions and its name does not start with a read verb (``get_``, ``search_``, ...); without
    gold actions either, every tool the traces declare (or, declaring none, call) whose name does
    not start with a read verb. With ``require_match`` the pack applies only when its tools are the
    traces' (:func:`~clawloop_synth.mine.toolset.tools_match`); ``ctx.pack_applied`` says whether it did.

    With ``processes`` > 1 and ``rows`` (the records' JSON and their model, standing for ``traces``),
    the records are parsed on that many local processes and their facts folded here in input order: the
    same context, without one process parsing every trace before mining starts.
    """
    ctx = MineContext(fail_below=fail_below)
    if processes > 1 and rows is not None:
        from clawloop_synth.engine.pool import pool_map_ordered

        facts: Iterable[TraceFacts] = pool_map_ordered(_row_facts, rows[0], (rows[1], fail_below, set(), set()),
                                                       processes, batch=_BATCH)
    else:
        facts = (trace_facts(trace, fail_below, ctx.tools.answering) for trace in traces)
    gold_names: set[str] = set()
    for fact in facts:
        for name, schema in fact.schemas.items():
            ctx.schemas.setdefault(name, schema)
        ctx.tools.add_names(fact.declared, fact.called, fact.answering)
        gold_names.update(fact.gold)
        if fact.texts is not None:
            if fact.task_id is not None:
                ctx.solved_tasks.add(fact.task_id)
            ctx.references.add_run(fact.id, fact.task_id, fact.calls, fact.texts)
        elif fact.annotated or (fact.reward is not None and fact.reward < fail_below):  # ctx.failed
            ctx.references.add_failed_run(fact.id, fact.task_id, fact.calls)
    # Some sources (tau-bench's later releases) also list reads among the gold actions: a name
    # that starts with a read verb is not taken for a write.
    ctx.writes = {name for name in gold_names if not READ_VERB.match(name)}
    if not ctx.writes:
        # No gold at all: every known tool without a read verb may write.
        ctx.writes = {name for name in ctx.tools.names() if not READ_VERB.match(name)}
    if pack_tools and (not require_match or tools_match(ctx.tools.names(), [t.name for t in pack_tools])):
        ctx.pack_applied = True
        ctx.pack_schemas = {t.name: t.parameters for t in pack_tools}
        ctx.schemas.update(ctx.pack_schemas)
        ctx.writes = {t.name for t in pack_tools if t.writes}
    return ctx


def failure(trace: Trace, step: int, code: str, signal: str, text: str, **fields: Any) -> Failure:
    """A Failure with its card; the miner assigns the final id."""
    from clawloop_synth.mine.cards import make_card

    return Failure(id="", trace_id=trace.id, step=step, code=code, signal=signal,
                   card=make_card(code, fields.get("tool"), text), **fields)


def is_transient(code: str) -> bool:
    """Errors a retry may cure: the environment's system faults (rate limit, timeout, outage, 5xx)."""
    return code.startswith("environment/system/")
