"""Folds by task: every trial of one real task lands in the same fold, so no held-out task is seen in training.

A seed is one (permutation, fold) pair: seed ``s`` shuffles the task keys with ``s // k`` and holds out fold
``s % k``, so ``k`` consecutive seeds are a full k-fold cross-validation and more seeds repeat it reshuffled.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from clawloop_synth.types import Trace

__all__ = ["Split", "split", "task_key"]


def task_key(trace: Trace) -> str:
    """The real task a trace is a trial of: its task id, else a hash of its instruction, else its own id."""
    if trace.task_id:
        return f"task:{trace.task_id}"
    if trace.instruction:
        return "instr:" + hashlib.sha256(trace.instruction.strip().encode()).hexdigest()[:16]
    return f"trace:{trace.id}"


@dataclass(frozen=True)
class Split:
    seed: int
    fold: int
    k: int
    train: list[Trace]
    held: list[Trace]

    def summary(self) -> dict[str, int]:
        return {"seed": self.seed, "fold": self.fold, "k": self.k, "train_traces": len(self.train),
                "held_traces": len(self.held), "train_tasks": len({task_key(t) for t in self.train}),
                "held_tasks": len({task_key(t) for t in self.held})}


def split(traces: Iterable[Trace], seed: int, k: int = 5) -> Split:
    """The training and held-out traces of ``seed`` (see the module docstring)."""
    traces = list(traces)
    keys: Sequence[str] = sorted({task_key(t) for t in traces})
    if len(keys) < 2:
        raise ValueError(f"{len(keys)} distinct task(s) among the traces: folds by task need at least 2")
    k = max(2, min(k, len(keys)))
    order = list(keys)
    random.Random(f"folds:{seed // k}").shuffle(order)
    fold = seed % k
    held_keys = {key for i, key in enumerate(order) if i % k == fold}
    return Split(seed=seed, fold=fold, k=k, train=[t for t in traces if task_key(t) not in held_keys],
                 held=[t for t in traces if task_key(t) in held_keys])
