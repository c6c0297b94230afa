"""The evaluation set of one fold and the learner's score on it: success and, per failure mode, the gap.

The set is built from the held-out folds only: the tasks generated from their traces (each targets the mode its
cluster showed) plus their real tasks that verify (the modes mined on their real trials). The gap of mode ``m``
is the share of evaluation tasks whose real trace showed ``m`` on which the learner's rollout is mined with ``m``
(lower is better; 0 means the learner no longer makes that mistake there).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clawloop_synth.learn import Learner, play
from clawloop_synth.types import GoldAction, Rollout, TaskSpec

__all__ = ["EvalItem", "evaluate", "eval_items", "rollout_codes"]


@dataclass(frozen=True)
class EvalItem:
    task: TaskSpec
    modes: frozenset[str]  # the failure modes the task's real trace showed
    source: str  # "generated" or "real"


def eval_items(generated: Sequence[TaskSpec], real: Sequence[TaskSpec], codes_by_trace: Mapping[str, set[str]],
               cap: int, seed: int) -> list[EvalItem]:
    """Up to ``cap`` generated tasks (a seeded sample) and every real task, each with its modes."""
    chosen = list(generated)
    random.Random(f"eval:{seed}").shuffle(chosen)
    items = [EvalItem(t, frozenset([t.target_code] if t.target_code else []), "generated") for t in chosen[:cap]]
    for task in real:
        modes: set[str] = set()
        for trace_id in task.provenance.source_trace_ids:
            modes |= codes_by_trace.get(trace_id, set())
        items.append(EvalItem(task, frozenset(modes), "real"))
    return items


def rollout_codes(rollout: Rollout, task: TaskSpec) -> set[str]:
    """The failure codes the miner finds in ``rollout``, with the task's reference as the gold actions."""
    from clawloop_synth.mine import build_context, mine_trace

    writes = {spec.name for spec in task.tools if spec.writes}
    gold = [GoldAction(name=c.name, arguments=dict(c.arguments)) for c in task.reference.calls if c.name in writes]
    trace = rollout.model_copy(update={"gold_actions": gold, "gold_outputs": list(task.checks.required_outputs)})
    return {f.code for f in mine_trace(trace, build_context([], pack_tools=list(task.tools)))}


def evaluate(learner: Learner, items: Sequence[EvalItem], modes: bool = True) -> dict[str, Any]:
    """Success over ``items`` (overall, generated, real) and per mode [hits, tasks with that mode]."""
    wins = {"generated": [], "real": []}  # type: dict[str, list[float]]
    per_mode: dict[str, list[int]] = {}
    for item in items:
        rollout = play(learner, item.task)
        reward = float(rollout.reward or 0.0)
        wins[item.source].append(reward)
        if modes and item.modes:
            found = rollout_codes(rollout, item.task) if reward < 1.0 else set()
            for m in item.modes:
                cell = per_mode.setdefault(m, [0, 0])
                cell[0] += int(m in found)
                cell[1] += 1
    every = wins["generated"] + wins["real"]

    def mean(xs: list[float]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    return {"success": mean(every), "success_generated": mean(wins["generated"]), "success_real": mean(wins["real"]),
            "eval_tasks": len(every), "gap": {m: round(h / n, 4) for m, (h, n) in sorted(per_mode.items())},
            "gap_counts": {m: c for m, c in sorted(per_mode.items())}}
