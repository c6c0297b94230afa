"""Targeting: run a task's failure exemplar, turn the run into a trace, mine it, read the leaf codes.

This is the gate's targeting rule, usable by any generator to check itself: the trace carries the
reference's state-changing calls as ``gold_actions`` and the required outputs as ``gold_outputs``,
so the miner's gold and output detectors see what the exemplar missed.
"""

from __future__ import annotations

from collections.abc import Generator

from clawloop_synth.agents import Episode, run_agent
from clawloop_synth.mine.context import MineContext, build_context
from clawloop_synth.mine.miner import mine_trace
from clawloop_synth.sim.env import ToolResult
from clawloop_synth.types import GoldAction, PlannedCall, Solution, TaskSpec, Trace

__all__ = ["ExemplarAgent", "exemplar_codes", "exemplar_trace", "task_text"]


class ExemplarAgent:
    """Replays a task's failure exemplar (calls, then its answer) whatever the results say."""

    name = "exemplar"

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        return Episode(_replay(task.failure_exemplar or Solution()), "exemplar")


def _replay(solution: Solution) -> Generator[PlannedCall, ToolResult, str]:
    for call in solution.calls:  # noqa: UP028  (a list iterator cannot receive results)
        yield call
    return solution.answer


def exemplar_trace(task: TaskSpec) -> Trace:
    """The exemplar's run as a trace, with the reference's writes as gold actions."""
    writes = {t.name for t in task.tools if t.writes}
    rollout = run_agent(ExemplarAgent(), task, trace_id=f"{task.id}:exemplar")
    gold = [GoldAction(name=c.name, arguments=c.arguments) for c in task.reference.calls if c.name in writes]
    # A retried write is one action, not two.
    deduped = [g for i, g in enumerate(gold) if i == 0 or g != gold[i - 1]]
    return rollout.model_copy(update={"gold_actions": deduped, "gold_outputs": list(task.checks.required_outputs)})


def exemplar_codes(task: TaskSpec, ctx: MineContext | None = None) -> list[str]:
    """The leaf codes the miner finds in the exemplar's run, in step order."""
    ctx = ctx or build_context([], task.tools)
    return [f.code for f in mine_trace(exemplar_trace(task), ctx)]


def task_text(task: TaskSpec) -> str:
    """The text view used for near-duplicate checks: instruction, then the reference calls."""
    calls = " ".join(f"{c.name} {' '.join(str(v) for v in c.arguments.values())}" for c in task.reference.calls)
    return f"{task.instruction}\n{calls}"
