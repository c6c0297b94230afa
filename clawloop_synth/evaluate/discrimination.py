"""Per failure code: do the tasks aimed at it trip an agent with that weakness more than other tasks do?

Each code has one flawed agent, fixed in advance (:data:`~clawloop_synth.agents.CODE_HABITS`): a
habit that is blind to target codes and provenance and only hurts where the task holds the situation
behind the failure (a first choice that cannot be used, several requested changes, an offer of a
human, an empty lookup, a near-identical twin, amounts to add, a forbidden request, a side question,
an error on the path). It slips at :data:`RATE` per opportunity the task gives it; each task is run
:data:`ATTEMPTS` times. For a code C: the failure rate of C's agent over the runs on the tasks
targeted at C, over its rate on the other tasks of the same generator (the set's tasks aimed at
other codes), both add-one smoothed ((failures + 1) / (runs + 2)); reported only with at least
``min_side`` tasks on each side. A code with no agent is listed without a ratio.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from clawloop_synth.types import TaskSpec

__all__ = ["MIN_SIDE", "discrimination", "smoothed_ratio"]

MIN_SIDE = 20
RATE = 0.5  # chance of a slip per opportunity
ATTEMPTS = 2


def smoothed_ratio(fail_in: int, n_in: int, fail_out: int, n_out: int) -> float:
    """Add-one smoothed failure-rate ratio of the targeted side over the other side."""
    return ((fail_in + 1) / (n_in + 2)) / ((fail_out + 1) / (n_out + 2))


def _failures(tasks: list[TaskSpec], habit: str) -> list[int]:
    """How many of the habit agent's :data:`ATTEMPTS` runs fail each task (in task order)."""
    from clawloop_synth.agents import HabitAgent, run_agent

    agent = HabitAgent(habit, RATE, seed=0)
    return [sum((run_agent(agent, task, attempt=a).reward or 0.0) < 1.0 for a in range(ATTEMPTS))
            for task in tasks]


def discrimination(tasks: list[TaskSpec], min_side: int = MIN_SIDE) -> dict[str, Any]:
    """Per target code: targeted and other task counts, the code's agent, its failure rates and ratio."""
    from clawloop_synth.agents import CODE_HABITS

    by_code: dict[str, list[int]] = defaultdict(list)
    for index, task in enumerate(tasks):
        if task.target_code:
            by_code[task.target_code].append(index)
    failed: dict[str, list[int]] = {}
    out: dict[str, Any] = {}
    for code, indices in sorted(by_code.items()):
        n_in, n_out = len(indices), len(tasks) - len(indices)
        habit = CODE_HABITS.get(code)
        row: dict[str, Any] = {"targeted": n_in, "others": n_out, "agent": habit}
        if habit is None:
            row.update(ratio=None, reason="no flawed agent for this code")
        elif n_in < min_side or n_out < min_side:
            row.update(ratio=None, reason=f"fewer than {min_side} tasks on a side")
        else:
            if habit not in failed:
                failed[habit] = _failures(tasks, habit)
            fails, chosen = failed[habit], set(indices)
            f_in = sum(fails[i] for i in indices)
            f_out = sum(f for i, f in enumerate(fails) if i not in chosen)
            row.update(fail_targeted=round(f_in / (n_in * ATTEMPTS), 3),
                       fail_others=round(f_out / (n_out * ATTEMPTS), 3),
                       ratio=round(smoothed_ratio(f_in, n_in * ATTEMPTS, f_out, n_out * ATTEMPTS), 3))
        out[code] = row
    return out
