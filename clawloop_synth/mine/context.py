"""What the detectors may know beyond one trace: tool schemas, which tools write, solvable tasks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.mine.references import References
from clawloop_synth.mine.toolset import ToolInventory, declared_schemas, tools_match
from clawloop_synth.types import Failure, ToolSpec, Trace

__all__ = ["HANDOFF", "READ_VERB", "MineContext", "build_context", "failure", "is_transient"]

# Tools (and phrases) that hand the conversation to a human.
HANDOFF = re.compile(r"transfer\w*_to_human|hand_?off|escalat\w*_to|transfer(ring)? you to a human", re.IGNORECASE)
READ_VERB = re.compile(
    r"^(get|search|list|find|lookup|look_up|read|fetch|check|calculate|compute|think|query|view|show|"
    r"describe|count)(_|$)", re.IGNORECASE)


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


def build_context(traces: Iterable[Trace], pack_tools: list[ToolSpec] | None = None,
                  fail_below: float = 0.5, require_match: bool = False) -> MineContext:
    """Collect schemas, write tools, solved tasks and reference runs over all traces (one pass).

    Without a pack, a tool counts as state-changing when it appears among any trace's gold
    actions and its name does not start with a read verb (``get_``, ``search_``, ...); without
    gold actions either, every tool the traces declare (or, declaring none, call) whose name does
    not start with a read verb. With ``require_match`` the pack applies only when its tools are the
    traces' (:func:`~clawloop_synth.mine.toolset.tools_match`); ``ctx.pack_applied`` says whether it did.
    """
    ctx = MineContext(fail_below=fail_below)
    gold_names: set[str] = set()
    for trace in traces:
        for name, schema in declared_schemas(trace).items():
            ctx.schemas.setdefault(name, schema)
        ctx.tools.add(trace)
        gold_names.update(action.name for action in trace.gold_actions or [])
        if trace.reward is not None and trace.reward >= fail_below and trace.gold_failure is None:
            if trace.task_id is not None:
                ctx.solved_tasks.add(trace.task_id)
            ctx.references.add(trace)
        elif ctx.failed(trace):
            ctx.references.add_failed(trace)
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
