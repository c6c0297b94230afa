"""Training arms: a learner trained chunk by chunk on an ordered stream of tasks, evaluated after each chunk.

``learning_curve`` trains one fresh learner on the given order; ``adaptive_curve`` picks each next chunk
with a curriculum strategy from difficulty re-estimated from the learner's own rewards on the tasks left.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

from clawloop_synth.experiment.evalset import EvalItem, evaluate
from clawloop_synth.learn import Learner, play, task_views, train_runner
from clawloop_synth.learn.protocol import Noise
from clawloop_synth.types import TaskSpec

__all__ = ["adaptive_curve", "checkpoints", "learning_curve"]

Evaluate = Callable[[Learner], dict[str, Any]]


def checkpoints(budget: int, points: int) -> list[int]:
    """Training-task counts at which the curve is measured: 0, then ``points`` even steps up to ``budget``."""
    points = max(1, min(points, budget))
    return [0] + sorted({max(1, round(budget * i / points)) for i in range(1, points + 1)})


def _train(learner: Learner, chunk: Sequence[TaskSpec], noise: Noise | None = None) -> None:
    if chunk:
        learner.train(task_views(chunk, "train"), train_runner(chunk, noise))


def learning_curve(learner: Learner, order: Sequence[TaskSpec], xs: Sequence[int], items: Sequence[EvalItem],
                   untrained: dict[str, Any] | None = None, noise: Noise | None = None) -> list[dict[str, Any]]:
    """One point per checkpoint in ``xs`` (tasks seen, capped by ``len(order)``): the evaluation's figures
    (``noise``: the training simulator's results are altered; evaluation is always in the true one)."""
    out: list[dict[str, Any]] = []
    seen = 0
    for x in xs:
        x = min(x, len(order))
        _train(learner, order[seen:x], noise)
        seen = x
        point = untrained if (x == 0 and untrained is not None) else evaluate(learner, items)
        out.append({"tasks": x, **point})
    return out


def adaptive_curve(learner: Learner, pool: Sequence[TaskSpec], xs: Sequence[int], items: Sequence[EvalItem],
                   strategy: Any, seed: int, probe: int, untrained: dict[str, Any] | None = None
                   ) -> tuple[list[dict[str, Any]], list[str]]:
    """Like :func:`learning_curve`, but before each chunk ``strategy`` orders the tasks not yet seen from
    Beta(1 + passes, 1 + fails) of the learner's own greedy rewards on up to ``probe`` of them (re-estimated
    at every chunk: the learner changes). Returns the curve and the order the tasks were trained in."""
    from clawloop_synth.curriculum import TaskEstimate

    rng = random.Random(f"adaptive:{seed}")
    left = {t.id: t for t in pool}
    tally: dict[str, list[int]] = {}
    trained: list[str] = []
    out: list[dict[str, Any]] = []
    step = 0
    for x in xs:
        x = min(x, len(pool))
        want = x - len(trained)
        if want > 0:
            ids = sorted(left)
            for task_id in rng.sample(ids, min(probe, len(ids))):
                reward = float(play(learner, left[task_id], purpose="train", attempt=100 + step).reward or 0.0)
                cell = tally.setdefault(task_id, [0, 0])
                cell[0 if reward >= 1.0 else 1] += 1
            estimates = []
            for task_id in ids:
                wins, losses = tally.get(task_id, [0, 0])
                f = left[task_id].features
                estimates.append(TaskEstimate(task_id=task_id, alpha=1.0 + wins, beta=1.0 + losses, steps=f.steps,
                                              tools=f.tools, writes=f.writes, distractors=f.distractors))
            order = strategy.order(estimates, rng=seed * 1000 + step).task_ids()[:want]
            chunk = [left.pop(task_id) for task_id in order]
            trained += order
            _train(learner, chunk)
            step += 1
        point = untrained if (x == 0 and untrained is not None) else evaluate(learner, items)
        out.append({"tasks": x, **point})
    return out, trained
