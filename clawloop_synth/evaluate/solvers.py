"""Solvers the gate does not use, to check that a task set takes more than a fixed move or the wording.

- :class:`RefuseAgent` refuses everything (no call, an apology);
- :class:`TransferAgent` hands every request to a human (the pack's handoff tool, if it has one);
- a pack-specific rule-based script (e.g. ``evals/script_solver_airline.py``) is run through the same
  :func:`solve_rates`.

A task set worth training on is not solved by them, except where refusing or handing off *is* the
task: :func:`solve_rates` counts solves over the tasks that are neither refusals nor transfers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from clawloop_synth.sim.handoff import handoff_tool
from clawloop_synth.types import PlannedCall, TaskSpec

__all__ = ["RefuseAgent", "TransferAgent", "is_refusal_or_transfer", "solve_rates"]

REFUSAL = "I'm sorry, but I can't help with that request."
TRANSFER = "I'm transferring you to a human agent who can help you with this."


def is_refusal_or_transfer(task: TaskSpec) -> bool:
    """Every request of the task is a refusal or a transfer (by its kind; with no kind: no write at all)."""
    if task.kind:
        return all(part.strip().startswith(("refusal", "transfer")) for part in task.kind.split(" + "))
    writes = {t.name for t in task.tools if t.writes}
    return not any(c.name in writes for c in task.reference.calls)


def _refuse(task: TaskSpec) -> Any:
    return REFUSAL
    yield  # a generator that makes no call


def _transfer(task: TaskSpec) -> Any:
    tool = handoff_tool(task.tools)
    if tool is not None:
        args = {p: "The customer needs help with this request." for p in tool.parameters.get("required", [])}
        yield PlannedCall(name=tool.name, arguments=args)
    return TRANSFER


class RefuseAgent:
    """Refuses every request without a call."""

    name = "always-refuse"

    def episode(self, task: TaskSpec, attempt: int = 0) -> Any:
        from clawloop_synth.agents import Episode

        return Episode(_refuse(task), planted_mode="refuse")


class TransferAgent:
    """Hands every request to a human agent at once."""

    name = "always-transfer"

    def episode(self, task: TaskSpec, attempt: int = 0) -> Any:
        from clawloop_synth.agents import Episode

        return Episode(_transfer(task), planted_mode="transfer")


def solve_rates(tasks: list[TaskSpec], agents: Iterable[Any]) -> dict[str, Any]:
    """Per agent: solves over the tasks that are neither refusals nor transfers (and over all tasks)."""
    from clawloop_synth.agents import run_agent

    plain = [not is_refusal_or_transfer(t) for t in tasks]
    n_plain = sum(plain)
    out: dict[str, Any] = {"plain_tasks": n_plain}
    for agent in agents:
        solved = [run_agent(agent, task).reward == 1.0 for task in tasks]
        on_plain = sum(s for s, p in zip(solved, plain, strict=True) if p)
        out[agent.name] = {"solved_plain": on_plain, "rate_plain": round(on_plain / n_plain, 3) if n_plain else None,
                           "solved_all": sum(solved)}
    return out
