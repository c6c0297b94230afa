"""Observed rewards as a sparse agents x tasks table.

An observation is one attempt: ``(agent, task_id, reward)`` with ``reward`` in [0, 1]. The binomial
models (beta-binomial pass rates, 1PL IRT) need a success or a failure, so a reward counts as a
success when it is at least ``SUCCESS_THRESHOLD`` (0.5): a partially correct run that a checker
scored 0.5 or above passes, anything below fails.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from clawloop_synth.errors import InputError

__all__ = ["SUCCESS_THRESHOLD", "Observations"]

SUCCESS_THRESHOLD = 0.5


def _unpack(record: Any) -> tuple[Any, Any, Any]:
    """(agent, task_id, reward) from a tuple, a mapping or an object with those attributes (Rollout)."""
    if isinstance(record, Mapping):
        return record.get("agent"), record.get("task_id"), record.get("reward")
    if isinstance(record, (tuple, list)) and len(record) == 3:
        return record[0], record[1], record[2]
    return getattr(record, "agent", None), getattr(record, "task_id", None), getattr(record, "reward", None)


def _check_ids(values: Sequence[Any], field: str) -> None:
    for i, value in enumerate(values):
        if not isinstance(value, str) or not value:
            raise InputError(f"expected a non-empty string, got {value!r}", record=f"observation {i}",
                             field=field)


def _rewards(reward: Sequence[float] | np.ndarray) -> np.ndarray:
    """Rewards as floats in [0, 1]; the first bad one is named."""
    try:
        rewards = np.asarray(reward, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        rewards = None
    if rewards is not None and rewards.shape[0] == len(reward) and bool(
            np.all((rewards >= 0.0) & (rewards <= 1.0))):  # the comparison also rejects NaN
        return rewards
    for i, value in enumerate(reward):
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = float("nan")
        if not 0.0 <= number <= 1.0:
            raise InputError(f"reward must be a number in [0, 1], got {value!r}", record=f"observation {i}",
                             field="reward")
    raise InputError("rewards must be a flat list of numbers in [0, 1]", field="reward")


@dataclass(frozen=True)
class Observations:
    """Attempts in long format: one row per attempt, indices into ``agents`` and ``tasks``."""

    agents: tuple[str, ...]
    tasks: tuple[str, ...]
    agent_index: np.ndarray  # int64, one per attempt
    task_index: np.ndarray  # int64, one per attempt
    reward: np.ndarray  # float64 in [0, 1], one per attempt

    @classmethod
    def from_records(cls, records: Iterable[Any], *, tasks: Sequence[str] | None = None) -> Observations:
        """Build from ``(agent, task_id, reward)`` tuples, mappings with those keys, or Rollouts.

        ``tasks`` lists every task that should get a row, including those with no attempt yet (they
        keep that order; task ids seen only in ``records`` follow, sorted).
        """
        agents, task_ids, rewards = [], [], []
        for record in records:
            agent, task_id, reward = _unpack(record)
            agents.append(agent)
            task_ids.append(task_id)
            rewards.append(reward)
        return cls.from_arrays(agents, task_ids, rewards, tasks=tasks)

    @classmethod
    def from_arrays(cls, agent: Sequence[str], task_id: Sequence[str], reward: Sequence[float] | np.ndarray,
                    *, tasks: Sequence[str] | None = None) -> Observations:
        """Build from three equally long columns."""
        if not (len(agent) == len(task_id) == len(reward)):
            raise InputError(f"columns differ in length: agent {len(agent)}, task_id {len(task_id)}, "
                             f"reward {len(reward)}")
        _check_ids(agent, "agent")
        _check_ids(task_id, "task_id")
        rewards = _rewards(reward)
        agent_names, agent_index = np.unique(np.asarray(agent, dtype=object).astype(str), return_inverse=True)
        known = list(dict.fromkeys(tasks)) if tasks is not None else []
        _check_ids(known, "tasks")
        extra = sorted(set(task_id) - set(known))
        task_names = known + extra
        position = {name: i for i, name in enumerate(task_names)}
        task_index = np.fromiter((position[t] for t in task_id), dtype=np.int64, count=len(task_id))
        return cls(tuple(str(a) for a in agent_names), tuple(task_names), agent_index.astype(np.int64),
                   task_index, rewards)

    def __len__(self) -> int:
        return int(self.reward.shape[0])

    def success(self, threshold: float = SUCCESS_THRESHOLD) -> np.ndarray:
        """1.0 where an attempt counts as a success (reward >= threshold), else 0.0."""
        return (self.reward >= threshold).astype(np.float64)

    def task_counts(self, threshold: float = SUCCESS_THRESHOLD) -> tuple[np.ndarray, np.ndarray]:
        """Successes and trials per task, aligned with ``tasks`` (zeros for tasks with no attempt)."""
        n = len(self.tasks)
        successes = np.bincount(self.task_index, weights=self.success(threshold), minlength=n)
        trials = np.bincount(self.task_index, minlength=n).astype(np.float64)
        return successes, trials

    def cell_counts(self, threshold: float = SUCCESS_THRESHOLD
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Observed (agent, task) cells with their successes and trials: repeated attempts are summed."""
        key = self.agent_index * len(self.tasks) + self.task_index
        cells, inverse = np.unique(key, return_inverse=True)
        successes = np.bincount(inverse, weights=self.success(threshold), minlength=cells.shape[0])
        trials = np.bincount(inverse, minlength=cells.shape[0]).astype(np.float64)
        return cells // len(self.tasks), cells % len(self.tasks), successes, trials
