"""What a scripted agent knows about a task: its reference, run once, with every result seen.

Scripted agents are oracles: they read the reference solution and replay it (or a flawed variant of
it). Running the reference once in a fresh environment tells them which calls are writes, which
results fed later arguments (what a skipped lookup loses) and where a transient error was retried.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.sim.checks import remember_reference
from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.types import PlannedCall, TaskSpec

__all__ = ["Plan", "plan_for", "same_call", "strings_in"]


def same_call(a: PlannedCall, b: PlannedCall) -> bool:
    return a.name == b.name and a.arguments == b.arguments


def strings_in(value: Any) -> list[str]:
    """Every string inside a JSON value, depth first."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings_in(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings_in(item)]
    return []


@dataclass(frozen=True)
class Plan:
    task: TaskSpec
    calls: list[PlannedCall]
    results: list[ToolResult]
    writes: list[bool]
    # Scratch runs already made on this plan (``_flaws._probe``): results are deterministic for the same
    # calls, and every agent and attempt on the task shares the plan.
    probes: dict[tuple[int, str, bytes], ToolResult] = field(default_factory=dict, compare=False, repr=False)
    # The state the reference's first n calls leave, as SimEnv snapshots (None: marshal cannot hold it), so
    # a probe after a prefix does not replay it.
    prefixes: dict[int, bytes | None] = field(default_factory=dict, compare=False, repr=False)

    @property
    def write_indices(self) -> list[int]:
        return [i for i, w in enumerate(self.writes) if w]

    @property
    def transient_indices(self) -> list[int]:
        """Calls that failed and were retried identically right after (the reference's retries)."""
        return [i for i in range(len(self.calls) - 1)
                if self.results[i].is_error and same_call(self.calls[i], self.calls[i + 1])]

    def output_source(self) -> int | None:
        """The first call whose result holds one of the task's required outputs."""
        outputs = self.task.checks.required_outputs
        for i, result in enumerate(self.results):
            if not result.is_error and any(o and o in result.content for o in outputs):
                return i
        return None

    def looked_up(self, index: int) -> list[str]:
        """Values that only call ``index`` revealed and that later calls or the outputs use.

        A value counts when it appears in this call's result, not in the instruction, in no earlier
        result and in no earlier call's arguments; so skipping the call leaves the agent without it.
        """
        result = self.results[index]
        if result.is_error or self.writes[index]:
            return []
        seen = self.task.instruction.lower()
        earlier = " ".join(r.content for r in self.results[:index])
        earlier_args = {s for c in self.calls[:index] for s in strings_in(c.arguments)}
        wanted = [s for c in self.calls[index + 1:] if not same_call(c, self.calls[index])
                  for s in strings_in(c.arguments)]
        wanted += list(self.task.checks.required_outputs)
        found: list[str] = []
        for value in wanted:
            if (len(value) >= 3 and value not in found and value in result.content
                    and value.lower() not in seen and value not in earlier and value not in earlier_args
                    and re.search(r"\d", value)):
                found.append(value)
        return found


def plan_for(task: TaskSpec) -> Plan:
    """Run the task's reference once in a fresh environment and keep what it saw."""
    env = SimEnv(task, max_steps=max(len(task.reference.calls), 1))
    writes = {tool.name: tool.writes for tool in task.tools}
    results = [env.step(call) for call in task.reference.calls]
    remember_reference(task, env.state)  # the checks' reference state: the same run, not made twice
    # The live result values may share objects with the state; keep only the text.
    kept = [ToolResult(content=r.content, is_error=r.is_error, crashed=r.crashed, error_kind=r.error_kind)
            for r in results]
    return Plan(task, list(task.reference.calls), kept, [writes.get(c.name, False) for c in task.reference.calls])
