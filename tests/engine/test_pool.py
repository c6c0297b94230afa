"""The local engine's fork pool (``--workers 2``): the same outputs as one process (``--workers 1``), stage by
stage, as the ray engine's tests check for Ray. Nothing here is timed (``evals/bench_run.py`` is)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.engine.compare import cli, differences


@pytest.fixture(autouse=True)
def pool_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool takes over after the first piece of each stage's work (by default only work that takes
    more than a second here starts one, and these runs are small)."""
    from clawloop_synth.engine import local

    monkeypatch.setattr(local, "PROBE_SECONDS", 0.0)


@pytest.fixture(scope="module")
def demo_alone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo") / "alone"
    cli("run", "-w", str(workdir), "--per-cluster", "2", "--workers", "1")
    return workdir


def test_demo_run_on_two_processes_equals_the_one_process_run(demo_alone: Path) -> None:
    workdir = demo_alone.parent / "pooled"
    cli("run", "-w", str(workdir), "--per-cluster", "2", "--workers", "2")
    assert differences(demo_alone, workdir) == []


def test_airline_run_on_two_processes_equals_the_one_process_run(tmp_path: Path, airline_trajectories: Path,
                                                                 airline_db: Path) -> None:
    args = ["-i", str(airline_trajectories), "--pack", "airline", "--db", str(airline_db), "--per-cluster", "2"]
    cli("run", "-w", str(tmp_path / "alone"), *args, "--workers", "1")
    cli("run", "-w", str(tmp_path / "pooled"), *args, "--workers", "2")
    assert differences(tmp_path / "alone", tmp_path / "pooled") == []


def test_sim_verify_on_two_processes_gives_the_one_process_reports(demo_alone: Path) -> None:
    tasks = str(demo_alone / "tasks")
    assert (cli("sim", "verify", tasks, "--json", "--workers", "2")
            == cli("sim", "verify", tasks, "--json", "--workers", "1"))
