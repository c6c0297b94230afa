"""One text view for real traces and synthetic tasks, so both embed into the same space.

A view has three facets, rendered as three labelled lines and embedded as one text:

    goal: <what the user wants>
    tools: <tool names in call order, consecutive repeats collapsed>
    failures: <sorted distinct taxonomy codes, or "none">

=========  ===============================================  =================================
facet      real ``Trace``                                   synthetic ``TaskSpec``
=========  ===============================================  =================================
goal       ``instruction``, else the first user message     ``instruction``
tools      the assistant's tool calls, in order             ``reference.calls`` names, in order
failures   codes of the ``Failure`` records mined on it      ``features.failure_codes`` and
                                                            ``target_code``
=========  ===============================================  =================================

Consecutive repeats are collapsed because a retry of a failed call is not a different plan, and
the reference solution of a task has no retries. Whitespace is collapsed and the goal clipped to
``GOAL_CHARS`` so that one long persona does not drown the other two facets.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from clawloop_synth.types import Failure, TaskSpec, Trace

__all__ = ["GOAL_CHARS", "TextView", "failures_by_trace", "task_view", "trace_view"]

GOAL_CHARS = 600


@dataclass(frozen=True)
class TextView:
    key: str
    goal: str
    tools: tuple[str, ...]
    failure_codes: tuple[str, ...]

    def render(self) -> str:
        tools = " > ".join(self.tools) if self.tools else "none"
        codes = ", ".join(self.failure_codes) if self.failure_codes else "none"
        return f"goal: {self.goal}\ntools: {tools}\nfailures: {codes}"


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())[:GOAL_CHARS]


def _collapse(names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return tuple(out)


def trace_view(trace: Trace, failures: Iterable[Failure] = ()) -> TextView:
    """The view of a real trace; ``failures`` are the ones mined on it."""
    goal = trace.instruction or next((m.content for m in trace.messages if m.role == "user" and m.content), "")
    calls = (call.name for message in trace.messages if message.role == "assistant"
             for call in message.tool_calls)
    codes = tuple(sorted({failure.code for failure in failures}))
    return TextView(trace.id, _clean(goal), _collapse(calls), codes)


def task_view(task: TaskSpec) -> TextView:
    """The view of a synthetic task."""
    codes = set(task.features.failure_codes)
    if task.target_code:
        codes.add(task.target_code)
    return TextView(task.id, _clean(task.instruction), _collapse(call.name for call in task.reference.calls),
                    tuple(sorted(codes)))


def failures_by_trace(failures: Iterable[Failure]) -> dict[str, list[Failure]]:
    grouped: dict[str, list[Failure]] = {}
    for failure in failures:
        grouped.setdefault(failure.trace_id, []).append(failure)
    return grouped
