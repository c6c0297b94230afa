"""Per failure code: do the tasks aimed at it trip an agent with that weakness more than other tasks do?

The agents are the scripted flawed agents, one per flaw mode (:data:`~clawloop_synth.agents.FLAW_MODES`),
blind to target codes and provenance. Each slips at :data:`RATE` per *opportunity* the task gives its mode
(each lookup, each transient error, each reformattable argument, ...), so a task that contains the
situation behind a failure trips the agent with that weakness more often; each task is run
:data:`ATTEMPTS` times. For a code C and a mode m: the failure rate of m over the runs on the tasks
targeted at C, over its rate on the other tasks of the set, both add-one smoothed
((failures + 1) / (runs + 2)); reported only with at least ``min_side`` tasks on each side, and only
for modes that fail somewhere on the targeted side (a mode that never fires there says nothing, and
smoothing alone would give it a ratio set by the sides' sizes). There is no fixed map from codes to
modes, so each code lists every mode's ratio and names the highest (a best-of-seven selection: read it
as "some planted weakness separates these tasks", not a pre-registered test).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from clawloop_synth.types import TaskSpec

__all__ = ["MIN_SIDE", "discrimination", "smoothed_ratio"]

MIN_SIDE = 20
RATE = 0.15  # chance of a slip per opportunity
ATTEMPTS = 2


def smoothed_ratio(fail_in: int, n_in: int, fail_out: int, n_out: int) -> float:
    """Add-one smoothed failure-rate ratio of the targeted side over the other side."""
    return ((fail_in + 1) / (n_in + 2)) / ((fail_out + 1) / (n_out + 2))


def _failures(tasks: list[TaskSpec]) -> dict[str, list[int]]:
    """For each flaw mode, how many of its agent's :data:`ATTEMPTS` runs fail each task (in task order)."""
    from clawloop_synth.agents import FLAW_MODES, FlawedAgent, run_agent

    out: dict[str, list[int]] = {}
    for mode in FLAW_MODES:
        agent = FlawedAgent({mode: RATE}, seed=0, name=f"only-{mode}", per_opportunity=True)
        out[mode] = [sum((run_agent(agent, task, attempt=a).reward or 0.0) < 1.0 for a in range(ATTEMPTS))
                     for task in tasks]
    return out


def discrimination(tasks: list[TaskSpec], min_side: int = MIN_SIDE) -> dict[str, Any]:
    """Per target code: targeted and other task counts, every mode's ratio, the best mode and its ratio."""
    by_code: dict[str, list[int]] = defaultdict(list)
    for index, task in enumerate(tasks):
        if task.target_code:
            by_code[task.target_code].append(index)
    eligible = {code: idx for code, idx in by_code.items()
                if len(idx) >= min_side and len(tasks) - len(idx) >= min_side}
    failed = _failures(tasks) if eligible else {}
    out: dict[str, Any] = {}
    for code, indices in sorted(by_code.items()):
        n_in, n_out = len(indices), len(tasks) - len(indices)
        row: dict[str, Any] = {"targeted": n_in, "others": n_out}
        if code not in eligible:
            row.update(ratio=None, reason=f"fewer than {min_side} tasks on a side")
            out[code] = row
            continue
        chosen = set(indices)
        ratios = {}
        for mode, fails in failed.items():
            f_in = sum(fails[i] for i in indices)
            f_out = sum(f for i, f in enumerate(fails) if i not in chosen)
            if f_in:
                ratios[mode] = round(smoothed_ratio(f_in, n_in * ATTEMPTS, f_out, n_out * ATTEMPTS), 3)
        if not ratios:
            row.update(ratio=None, reason="no flawed agent fails any targeted task")
            out[code] = row
            continue
        best = max(ratios, key=lambda m: (ratios[m], m))
        row.update(by_mode=ratios, best_mode=best, ratio=ratios[best])
        out[code] = row
    return out
