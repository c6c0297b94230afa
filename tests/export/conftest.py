"""Fixtures for the export tests: the airline gold tasks (built once per session)."""

from __future__ import annotations

from pathlib import Path

import pytest

from clawloop_synth.types import TaskSpec


@pytest.fixture(scope="session")
def airline_tasks(airline_trajectories: Path, airline_db: Path) -> list[TaskSpec]:
    """All 50 tau-bench airline gold tasks (not all of them verify)."""
    from clawloop_synth.ingest import iter_traces
    from clawloop_synth.sim.gold import airline_gold_tasks

    tasks = airline_gold_tasks(list(iter_traces([airline_trajectories])), airline_db)
    for index, task in enumerate(tasks):
        task.target_cluster = f"cluster-{index % 4}"
    return tasks


@pytest.fixture(scope="session")
def airline_accepted(airline_tasks: list[TaskSpec]) -> list[TaskSpec]:
    """The airline tasks that pass verification: what a work directory's tasks/ would hold."""
    from clawloop_synth.sim import verify

    return [task for task in airline_tasks if verify(task).ok]


@pytest.fixture(scope="session")
def airline_workdir(tmp_path_factory: pytest.TempPathFactory, airline_accepted: list[TaskSpec],
                    airline_trajectories: Path) -> Path:
    from tests.export.tiny import make_workdir

    return make_workdir(tmp_path_factory.mktemp("airline"), airline_accepted, inputs=[airline_trajectories])
