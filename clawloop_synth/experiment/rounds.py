"""``experiment rounds``: the loop on the learner's own failures, round after round.

Round 0 trains a fresh learner on the targeted pool of the training folds. Each later round: the learner plays
tasks of the training distribution (rollout), its runs are mined with the tasks' references as gold, the failures
clustered and new tasks generated for those clusters (the same pipeline as ``build_pool``, on the learner's
rollouts instead of the real traces), and the learner trains on them. After every round the learner plays the
held-out evaluation set; the failure modes mined on its failed runs there are the round's open modes, and
against the previous round's, the ones that closed and the ones that opened.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path
from typing import Any

from clawloop_synth.experiment.evalset import EvalItem, rollout_codes
from clawloop_synth.experiment.pools import build_pool
from clawloop_synth.learn import Learner, play, task_views, train_runner
from clawloop_synth.types import GoldAction, Rollout, TaskSpec, Trace

__all__ = ["rounds_seed"]


def _with_gold(rollout: Rollout, task: TaskSpec) -> Trace:
    """The run as a trace to mine, its task's reference as the gold (the miner's gold-diff codes need it)."""
    writes = {spec.name for spec in task.tools if spec.writes}
    gold = [GoldAction(name=c.name, arguments=dict(c.arguments)) for c in task.reference.calls if c.name in writes]
    data = rollout.model_dump(exclude={"agent", "attempt", "checks"})
    return Trace.model_validate({**data, "gold_actions": gold, "gold_outputs": list(task.checks.required_outputs)})


def _evaluate(learner: Learner, items: list[EvalItem]) -> tuple[float, Counter[str]]:
    wins, modes = 0.0, Counter[str]()
    for item in items:
        rollout = play(learner, item.task)
        reward = float(rollout.reward or 0.0)
        wins += reward
        if reward < 1.0:
            modes.update(rollout_codes(rollout, item.task))
    return (round(wins / len(items), 4) if items else 0.0), modes


def _train(learner: Learner, tasks: list[TaskSpec]) -> None:
    if tasks:
        learner.train(task_views(tasks, "train"), train_runner(tasks))


def rounds_seed(fold: Any, config: Any, base: Path, pack: str, db: Path | None, learner: Learner) -> dict[str, Any]:
    """Every round of one seed: success, open modes, closed and opened, and what each round generated."""
    s = fold.seed
    order = list(fold.targeted)
    random.Random(f"draw:{s}").shuffle(order)
    first = order[: config.budget]
    _train(learner, first)
    success, modes = _evaluate(learner, fold.items)
    rows: list[dict[str, Any]] = [{"round": 0, "trained": len(first), "success": success, "modes": dict(modes),
                                   "closed": [], "opened": sorted(modes)}]
    probe_pool = list(order) + list(first)
    seen = {t.id for t in first}
    for r in range(1, config.rounds + 1):
        rng = random.Random(f"rounds:{s}:{r}")
        probe = rng.sample(probe_pool, min(config.probe_rollouts, len(probe_pool)))
        rollouts = []
        for task in probe:
            rollout = play(learner, task, attempt=200 + r)
            rollouts.append(_with_gold(rollout, task))
        failed = sum(1 for x in rollouts if float(x.reward or 0.0) < 1.0)
        tasks, made = build_pool(base / f"round{r}", list(rollouts), "targeted", pack, db, config.budget, s + 97 * r)
        fresh = [t for t in tasks if t.id not in seen][: config.budget]
        seen |= {t.id for t in fresh}
        _train(learner, fresh)
        probe_pool += fresh
        success, now = _evaluate(learner, fold.items)
        before = set(modes)
        rows.append({"round": r, "rollouts": len(rollouts), "rollouts_failed": failed,
                     "failures_mined": made.get("failures"), "clusters": made.get("clusters"),
                     "generated": len(tasks), "trained": len(fresh), "success": success, "modes": dict(now),
                     "closed": sorted(before - set(now)), "opened": sorted(set(now) - before)})
        modes = now
    return {"rounds": rows}


def aggregate_rounds(per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Per round: held-out success over seeds (CI), and each mode closed or opened with the seeds it did so in."""
    from clawloop_synth.experiment.stats import paired, summary

    n = min(len(s["rounds"]) for s in per_seed)
    out: list[dict[str, Any]] = []
    for r in range(n):
        rows = [s["rounds"][r] for s in per_seed]
        closed, opened, open_now = Counter[str](), Counter[str](), Counter[str]()
        for row in rows:
            closed.update(row["closed"])
            opened.update(row["opened"])
            open_now.update(row["modes"])
        out.append({"round": r, "success": summary([row["success"] for row in rows]),
                    "vs_round0": paired([row["success"] for row in rows],
                                        [s["rounds"][0]["success"] for s in per_seed]),
                    "trained": summary([row["trained"] for row in rows]),
                    "closed": dict(sorted(closed.items())), "opened": dict(sorted(opened.items())),
                    "open_modes": dict(sorted(open_now.items()))})
    return {"per_round": out, "untrained": summary([s.get("untrained") for s in per_seed])}
