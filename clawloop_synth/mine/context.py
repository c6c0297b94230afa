"""What the detectors may know beyond one trace: tool schemas, which tools write, solvable tasks."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

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

    ``schemas``: tool name -> JSON Schema of its parameters (from the traces or a domain pack);
    ``writes``: names of state-changing tools; ``solved_tasks``: task ids some trace solved;
    ``fail_below``: a reward under this marks a failed trace.
    """

    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    writes: set[str] = field(default_factory=set)
    solved_tasks: set[str] = field(default_factory=set)
    fail_below: float = 0.5

    def failed(self, trace: Trace) -> bool:
        """A trace failed when its reward is low or its source annotated a mistake."""
        if trace.gold_failure is not None:
            return True
        return trace.reward is not None and trace.reward < self.fail_below

    def solvable(self, trace: Trace) -> bool:
        """Known solvable: gold actions that do not hand off, or another run of the task succeeded."""
        if trace.task_id is not None and trace.task_id in self.solved_tasks:
            return True
        gold = trace.gold_actions
        return bool(gold) and not any(HANDOFF.search(a.name) for a in gold or [])


def build_context(traces: Iterable[Trace], pack_tools: list[ToolSpec] | None = None,
                  fail_below: float = 0.5) -> MineContext:
    """Collect schemas, write tools and solved tasks over all traces (one pass).

    Without a pack, a tool counts as state-changing when it appears among any trace's gold
    actions and its name does not start with a read verb (``get_``, ``search_``, ...); without
    gold actions either, every known tool whose name does not start with a read verb.
    """
    ctx = MineContext(fail_below=fail_below)
    gold_names: set[str] = set()
    for trace in traces:
        for tool in trace.tools:
            fn = tool.get("function", tool)
            if isinstance(fn, dict) and "name" in fn:
                ctx.schemas.setdefault(fn["name"], fn.get("parameters") or {})
        gold_names.update(action.name for action in trace.gold_actions or [])
        if trace.task_id is not None and trace.reward is not None and trace.reward >= fail_below:
            ctx.solved_tasks.add(trace.task_id)
    # Some sources (tau-bench's later releases) also list reads among the gold actions: a name
    # that starts with a read verb is not taken for a write.
    ctx.writes = {name for name in gold_names if not READ_VERB.match(name)}
    if not ctx.writes:
        # No gold at all: every known tool without a read verb may write.
        ctx.writes = {name for name in ctx.schemas if not READ_VERB.match(name)}
    if pack_tools:
        ctx.schemas.update({t.name: t.parameters for t in pack_tools})
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
