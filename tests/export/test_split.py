from __future__ import annotations

from collections import Counter

import pytest

from clawloop_synth.export import SPLITS, split_tasks
from tests.export.tiny import make_task


def _tasks() -> list:
    # Clusters of 20, 10, 5, 3, 1 tasks and 6 with no cluster.
    sizes = {"a": 20, "b": 10, "c": 5, "d": 3, "e": 1, None: 6}
    tasks, index = [], 0
    for cid, size in sizes.items():
        for _ in range(size):
            tasks.append(make_task(index, cluster=cid))
            index += 1
    return tasks


def _ids(parts: dict) -> dict:
    return {name: [t.id for t in part] for name, part in parts.items()}


def test_split_is_seeded_and_ignores_input_order() -> None:
    tasks = _tasks()
    first = _ids(split_tasks(tasks, seed=3))
    assert _ids(split_tasks(list(reversed(tasks)), seed=3)) == first
    assert _ids(split_tasks(tasks, seed=4)) != first


def test_split_sizes_follow_the_fractions_and_partition_the_tasks() -> None:
    tasks = _tasks()
    parts = split_tasks(tasks, seed=0)
    assert list(parts) == list(SPLITS)
    assert sorted(t.id for p in parts.values() for t in p) == sorted(t.id for t in tasks)
    n = len(tasks)
    for name, share in zip(SPLITS, (0.8, 0.1, 0.1), strict=True):
        assert abs(len(parts[name]) - share * n) <= 1


@pytest.mark.parametrize("seed", range(5))
def test_every_cluster_spreads_in_proportion(seed: int) -> None:
    parts = split_tasks(_tasks(), seed=seed)
    per_split = {name: Counter(t.target_cluster for t in part) for name, part in parts.items()}
    for cid, size in {"a": 20, "b": 10, "c": 5}.items():
        # Systematic dealing keeps each cluster within one task of its share in every split.
        assert abs(per_split["train"][cid] - 0.8 * size) <= 1.0
        assert abs(per_split["validation"][cid] - 0.1 * size) <= 1.0
        assert abs(per_split["test"][cid] - 0.1 * size) <= 1.0
    assert per_split["validation"]["a"] >= 1 and per_split["test"]["a"] >= 1


def test_bad_fractions_are_refused() -> None:
    with pytest.raises(ValueError):
        split_tasks(_tasks(), fractions=(1.0, 0.0))
