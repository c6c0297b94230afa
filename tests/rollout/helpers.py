"""A small work directory of demo tasks for the rollout, difficulty and curriculum tests."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.store import save_records
from clawloop_synth.types import TaskSpec


def demo_tasks(n: int = 30) -> list[TaskSpec]:
    return build_demo_tasks(n, seed=0)


def make_workdir(path: Path, tasks: list[TaskSpec]) -> Path:
    save_records(path / "tasks", tasks, columns=lambda t: {"domain": t.domain})
    return path
