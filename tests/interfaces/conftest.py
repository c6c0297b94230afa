"""Fixtures for the interface tests: demo tasks as a work directory and as a JSONL file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from clawloop_synth.types import TaskSpec

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def demo_tasks() -> list[TaskSpec]:
    """Six demo tasks (every kind; some with an outage the reference retries), each with a failing exemplar."""
    from clawloop_synth.demo import build_demo_tasks

    tasks = build_demo_tasks(6, seed=0)
    assert all(task.failure_exemplar is not None for task in tasks)
    return tasks


@pytest.fixture(scope="session")
def demo_workdir(tmp_path_factory: pytest.TempPathFactory, demo_tasks: list[TaskSpec]) -> Path:
    """A work directory whose tasks/ holds the demo tasks, as generate leaves it."""
    from tests.export.tiny import make_workdir

    return make_workdir(tmp_path_factory.mktemp("interfaces"), demo_tasks)


@pytest.fixture(scope="session")
def demo_tasks_file(tmp_path_factory: pytest.TempPathFactory, demo_tasks: list[TaskSpec]) -> Path:
    path = tmp_path_factory.mktemp("interfaces-jsonl") / "tasks.jsonl"
    path.write_text("".join(task.model_dump_json() + "\n" for task in demo_tasks), encoding="utf-8")
    return path


@pytest.fixture
def child_env() -> dict[str, str]:
    """The environment for a child process that imports this checkout's clawloop_synth."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
