"""Seeded, cluster-stratified train/validation/test split.

Tasks are grouped by target cluster (tasks with none form one group), groups are laid end to end in
a seeded order with their tasks shuffled, and the resulting sequence is dealt out systematically:
each task goes to the split furthest behind its target share. So every split's size is within one
task of its share, and a cluster's tasks spread over the splits in proportion too, however the
clusters are sized (a random per-cluster cut would leave small clusters all in train).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from clawloop_synth.types import TaskSpec

__all__ = ["DEFAULT_FRACTIONS", "SPLITS", "split_tasks"]

SPLITS = ("train", "validation", "test")
DEFAULT_FRACTIONS = (0.8, 0.1, 0.1)
UNCLUSTERED = "(none)"


def split_tasks(
    tasks: Sequence[TaskSpec], seed: int = 0, fractions: Sequence[float] = DEFAULT_FRACTIONS
) -> dict[str, list[TaskSpec]]:
    """Split ``tasks`` into ``SPLITS`` by ``fractions``; the same tasks and seed give the same split.

    The input order does not matter (tasks are sorted by id before shuffling).
    """
    if len(fractions) != len(SPLITS) or any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"fractions must be {len(SPLITS)} non-negative numbers with a positive sum")
    total = sum(fractions)
    shares = [f / total for f in fractions]
    groups: dict[str, list[TaskSpec]] = {}
    for task in sorted(tasks, key=lambda t: t.id):
        groups.setdefault(task.target_cluster or UNCLUSTERED, []).append(task)
    rng = random.Random(seed)
    order = sorted(groups)
    rng.shuffle(order)
    sequence: list[TaskSpec] = []
    for key in order:
        members = groups[key]
        rng.shuffle(members)
        sequence.extend(members)
    out: dict[str, list[TaskSpec]] = {name: [] for name in SPLITS}
    for index, task in enumerate(sequence, 1):
        # Ties go to the earlier split, so train fills first with few tasks.
        deficits = [share * index - len(out[name]) for share, name in zip(shares, SPLITS, strict=True)]
        out[SPLITS[max(range(len(SPLITS)), key=lambda i: (deficits[i], -i))]].append(task)
    return out
