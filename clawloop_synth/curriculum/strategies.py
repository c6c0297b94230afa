"""Curriculum strategies: each orders (or samples) tasks from their difficulty estimates.

Every strategy is a small dataclass of hyperparameters with one method,
``order(tasks, rng) -> Ordering``, over ``TaskEstimate`` rows (build them with
``TaskEstimate.from_row`` from the rows ``difficulty.estimate_rows`` returns, plus static features).
An ``Ordering`` records the strategy, its parameters and each task's rank and score. Ties are broken
by task id, so a strategy's order depends only on its inputs and the seed.

- ``random``: a seeded permutation (score: the uniform key drawn).
- ``fixed``: static features, easy to hard: fewer steps first, then fewer writes, tools, distractors.
- ``difficulty``: estimated difficulty, easy to hard (or hard to easy).
- ``learnability``: highest E[p (1 - p)] under the Beta posterior of the pass rate first, i.e. tasks
  the agent solves about half the time, where a policy-gradient update has the most signal.
- ``plr``: Prioritized Level Replay (Jiang et al., 2021): replay probability
  (1 - rho) * P_rank + rho * P_stale, with P_rank proportional to (1 / rank(score))^(1 / temperature)
  and P_stale to the steps since a task was last replayed; the order is a seeded sample without
  replacement from that distribution (Gumbel top-k, i.e. sequential sampling).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any, ClassVar, Protocol

import numpy as np

from clawloop_synth.errors import InputError
from clawloop_synth.ranks import average_ranks
from clawloop_synth.types import TaskFeatures

__all__ = [
    "STRATEGIES",
    "DifficultyStrategy",
    "FixedStrategy",
    "LearnabilityStrategy",
    "Ordering",
    "PLRStrategy",
    "RandomStrategy",
    "RankedTask",
    "Strategy",
    "TaskEstimate",
    "make_strategy",
]

Seed = np.random.Generator | int | None


@dataclass(frozen=True)
class TaskEstimate:
    """What a strategy may know about one task; every estimate is optional."""

    task_id: str
    difficulty: float | None = None  # logits, higher is harder (IRT scale)
    difficulty_sd: float | None = None
    alpha: float | None = None  # Beta posterior of the pass rate
    beta: float | None = None
    steps: int = 0
    tools: int = 0
    writes: int = 0
    distractors: int = 0
    last_seen: int | None = None  # curriculum step the task was last replayed at (PLR staleness)

    @classmethod
    def from_row(cls, row: Mapping[str, Any], features: TaskFeatures | Mapping[str, Any] | None = None
                 ) -> TaskEstimate:
        """From a plain row (extra columns are ignored); ``features`` override the row's own."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in row.items() if k in names and v is not None}
        if features is not None:
            feats = features if isinstance(features, TaskFeatures) else TaskFeatures.model_validate(features)
            values.update(steps=feats.steps, tools=feats.tools, writes=feats.writes,
                          distractors=feats.distractors)
        if not isinstance(values.get("task_id"), str):
            raise InputError("row has no task_id", field="task_id")
        return cls(**values)

    @property
    def pass_mean(self) -> float | None:
        if self.alpha is None or self.beta is None:
            return None
        return self.alpha / (self.alpha + self.beta)

    @property
    def learnability(self) -> float | None:
        """E[p (1 - p)] = E[p] - E[p^2] = alpha beta / ((alpha + beta)(alpha + beta + 1))."""
        if self.alpha is None or self.beta is None:
            return None
        a, b = self.alpha, self.beta
        return a * b / ((a + b) * (a + b + 1.0))


@dataclass(frozen=True)
class RankedTask:
    task_id: str
    rank: int  # 0 is first
    score: float


@dataclass(frozen=True)
class Ordering:
    """A strategy's order of tasks, with the strategy, its parameters and each task's score."""

    strategy: str
    params: dict[str, Any]
    items: list[RankedTask]

    def task_ids(self) -> list[str]:
        return [item.task_id for item in self.items]

    def rows(self) -> list[dict[str, Any]]:
        """One plain row per task, ready for a dataset."""
        return [{"task_id": it.task_id, "rank": it.rank, "score": it.score, "strategy": self.strategy}
                for it in self.items]


class Strategy(Protocol):
    name: ClassVar[str]

    def order(self, tasks: Sequence[TaskEstimate], rng: Seed = None) -> Ordering:
        """Order (or sample) ``tasks``; the same inputs and seed give the same order."""
        ...


def _generator(rng: Seed) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _check_unique(tasks: Sequence[TaskEstimate]) -> None:
    seen: set[str] = set()
    for t in tasks:
        if t.task_id in seen:
            raise InputError("task listed twice", record=t.task_id, field="task_id")
        seen.add(t.task_id)


def _ranked(strategy: Any, tasks: Sequence[TaskEstimate], order: Sequence[int],
            scores: Sequence[float] | np.ndarray) -> Ordering:
    items = [RankedTask(tasks[i].task_id, rank, float(scores[i])) for rank, i in enumerate(order)]
    return Ordering(strategy.name, asdict(strategy), items)


def _settled(key: Any) -> Any:
    """``key`` with floats cut to 9 significant digits: tasks whose estimates are equal up to the fitting
    optimizer's round-off (same responses, last bits differing by CPU or BLAS build) then tie, and the
    task id orders them the same way on every machine."""
    if isinstance(key, (float, np.floating)):
        return float(f"{float(key):.9g}")
    if isinstance(key, tuple):
        return tuple(_settled(k) for k in key)
    return key


def _sorted(tasks: Sequence[TaskEstimate], keys: Sequence[Any]) -> list[int]:
    """Indices by key, ties (up to round-off) by task id."""
    settled = [_settled(k) for k in keys]
    return sorted(range(len(tasks)), key=lambda i: (settled[i], tasks[i].task_id))


@dataclass(frozen=True)
class RandomStrategy:
    name: ClassVar[str] = "random"

    def order(self, tasks: Sequence[TaskEstimate], rng: Seed = None) -> Ordering:
        _check_unique(tasks)
        keys = _generator(rng).random(len(tasks))
        return _ranked(self, tasks, _sorted(tasks, list(keys)), keys)


@dataclass(frozen=True)
class FixedStrategy:
    """Easy to hard by static features: steps, then writes, tools, distractors."""

    name: ClassVar[str] = "fixed"

    def order(self, tasks: Sequence[TaskEstimate], rng: Seed = None) -> Ordering:
        _check_unique(tasks)
        keys = [(t.steps, t.writes, t.tools, t.distractors) for t in tasks]
        # score: steps plus writes as a fraction below the next step, so it is monotone in the order
        span = 1.0 + max((t.writes for t in tasks), default=0)
        scores = [t.steps + t.writes / span for t in tasks]
        return _ranked(self, tasks, _sorted(tasks, keys), scores)


def _difficulty(task: TaskEstimate) -> float:
    if task.difficulty is not None:
        return float(task.difficulty)
    if task.pass_mean is not None:  # log-odds of failure: the IRT scale for an agent of ability 0
        p = float(np.clip(task.pass_mean, 1e-6, 1.0 - 1e-6))
        return float(np.log((1.0 - p) / p))
    raise InputError("task has neither a difficulty nor a pass-rate posterior", record=task.task_id,
                     field="difficulty")


def _learnability(task: TaskEstimate) -> float:
    value = task.learnability
    if value is None:
        raise InputError("task has no pass-rate posterior (alpha, beta)", record=task.task_id, field="alpha")
    return value


@dataclass(frozen=True)
class DifficultyStrategy:
    """By estimated difficulty, easy to hard (``hardest_first`` reverses it)."""

    name: ClassVar[str] = "difficulty"
    hardest_first: bool = False

    def order(self, tasks: Sequence[TaskEstimate], rng: Seed = None) -> Ordering:
        _check_unique(tasks)
        scores = [_difficulty(t) for t in tasks]
        keys = [-s for s in scores] if self.hardest_first else scores
        return _ranked(self, tasks, _sorted(tasks, keys), scores)


@dataclass(frozen=True)
class LearnabilityStrategy:
    """Highest expected p (1 - p) first."""

    name: ClassVar[str] = "learnability"

    def order(self, tasks: Sequence[TaskEstimate], rng: Seed = None) -> Ordering:
        _check_unique(tasks)
        scores = [_learnability(t) for t in tasks]
        return _ranked(self, tasks, _sorted(tasks, [-s for s in scores]), scores)


@dataclass(frozen=True)
class PLRStrategy:
    """Prioritized Level Replay: rank prioritisation with a temperature, mixed with staleness.

    ``score`` names the priority: "learnability" (E[p (1 - p)]) or "difficulty". ``current_step``
    defaults to one past the latest ``last_seen``; a task never replayed counts as last seen at -1.
    ``size`` samples that many tasks instead of all of them.
    """

    name: ClassVar[str] = "plr"
    temperature: float = 0.1
    staleness_coef: float = 0.1
    score: str = "learnability"
    current_step: int | None = None
    size: int | None = None

    def probabilities(self, tasks: Sequence[TaskEstimate]) -> np.ndarray:
        """The replay distribution over ``tasks``."""
        if self.temperature <= 0 or not 0.0 <= self.staleness_coef <= 1.0:
            raise InputError("plr needs temperature > 0 and 0 <= staleness_coef <= 1")
        if self.score not in ("learnability", "difficulty"):
            raise InputError(f"unknown plr score {self.score!r}; use 'learnability' or 'difficulty'",
                             field="score")
        priority = np.array([_learnability(t) if self.score == "learnability" else _difficulty(t)
                             for t in tasks])
        ranks = average_ranks(-priority)  # ties share a probability
        weights = (1.0 / ranks) ** (1.0 / self.temperature)
        p_rank = weights / weights.sum()
        last = np.array([-1 if t.last_seen is None else t.last_seen for t in tasks], dtype=np.float64)
        now = self.current_step if self.current_step is not None else last.max() + 1.0
        stale = np.clip(now - last, 0.0, None)
        p_stale = stale / stale.sum() if stale.sum() > 0 else np.full(len(tasks), 1.0 / len(tasks))
        return (1.0 - self.staleness_coef) * p_rank + self.staleness_coef * p_stale

    def order(self, tasks: Sequence[TaskEstimate], rng: Seed = None) -> Ordering:
        _check_unique(tasks)
        if not tasks:
            return _ranked(self, tasks, [], [])
        probs = self.probabilities(tasks)
        # Gumbel top-k: sorting log p + Gumbel noise samples without replacement, one task at a time
        with np.errstate(divide="ignore"):
            keys = np.log(probs) + _generator(rng).gumbel(size=len(tasks))
        order = _sorted(tasks, list(-keys))
        if self.size is not None:
            order = order[: max(0, self.size)]
        return _ranked(self, tasks, order, probs)


STRATEGIES: dict[str, type] = {
    cls.name: cls
    for cls in (RandomStrategy, FixedStrategy, DifficultyStrategy, LearnabilityStrategy, PLRStrategy)
}


def make_strategy(name: str, **params: Any) -> Strategy:
    """The strategy registered as ``name``, built with ``params``."""
    if name not in STRATEGIES:
        raise InputError(f"unknown strategy {name!r}; choose from {', '.join(sorted(STRATEGIES))}",
                         field="strategy")
    try:
        strategy: Strategy = STRATEGIES[name](**params)
    except TypeError as exc:
        raise InputError(f"bad parameters for strategy {name!r}: {exc}", field="strategy") from None
    return strategy
