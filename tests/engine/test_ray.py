"""`--engine ray`: the same outputs as the local engine, a killed worker retried, the LLM budget shared.

One local Ray cluster (127.0.0.1, 2 CPUs, ``conftest.py``) serves the whole session. Ray starts slowly on a
loaded machine: nothing here is timed.
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.engine.compare import cli, differences
from tests.fake_openai import FakeOpenAI, calls


@pytest.fixture(scope="module")
def demo_local(tmp_path_factory: pytest.TempPathFactory) -> Path:
    workdir = tmp_path_factory.mktemp("demo") / "local"
    cli("run", "-w", str(workdir), "--per-cluster", "2")
    return workdir


def test_demo_run_on_ray_equals_the_local_run(cluster: None, demo_local: Path) -> None:
    workdir = demo_local.parent / "ray"
    cli("run", "-w", str(workdir), "--per-cluster", "2", "--engine", "ray")
    assert (workdir / "rollouts").is_dir() and (workdir / "report" / "index.html").is_file()
    assert differences(demo_local, workdir) == []


def test_airline_run_on_ray_equals_the_local_run(cluster: None, tmp_path: Path, airline_trajectories: Path,
                                                 airline_db: Path) -> None:
    args = ["-i", str(airline_trajectories), "--pack", "airline", "--db", str(airline_db), "--per-cluster", "1"]
    cli("run", "-w", str(tmp_path / "local"), *args)
    cli("run", "-w", str(tmp_path / "ray"), *args, "--engine", "ray")
    assert differences(tmp_path / "local", tmp_path / "ray") == []


def test_sim_verify_on_ray_gives_the_local_reports(cluster: None, demo_local: Path) -> None:
    tasks = str(demo_local / "tasks")
    assert cli("sim", "verify", tasks, "--json", "--engine", "ray") == cli("sim", "verify", tasks, "--json")


def _kill_one_batch(stop: threading.Event, killed: list[int]) -> None:
    """SIGKILL the first Ray worker seen running a batch (its process title is ``ray::_run_batch``)."""
    while not stop.is_set() and not killed:
        for path in glob.glob("/proc/[0-9]*/cmdline"):
            try:
                title = Path(path).read_bytes()
            except OSError:
                continue
            if title.startswith(b"ray::_run_batch"):
                pid = int(path.split("/")[2])
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    continue
                killed.append(pid)
                return
        time.sleep(0.005)


def test_a_worker_killed_mid_stage_gives_the_same_output(cluster: None, demo_local: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    shutil.copytree(demo_local, workdir)
    stop, killed = threading.Event(), []
    watcher = threading.Thread(target=_kill_one_batch, args=(stop, killed), daemon=True)
    watcher.start()
    try:
        # Batches of 16 episodes: the watcher kills a worker while the stage is under way.
        cli("rollout", "-w", str(workdir), "--agents", "scripted", "--k", "2", "--engine", "ray")
    finally:
        stop.set()
        watcher.join()
    assert killed, "no worker was seen running a batch"
    assert differences(demo_local, workdir, only=("rollout",)) == []


def test_the_budget_holds_across_workers(cluster: None, demo_local: Path, tmp_path: Path) -> None:
    workdir = tmp_path / "w"
    shutil.copytree(demo_local, workdir)
    # Every turn asks for a tool call, so no episode ends before the budget does.
    with FakeOpenAI(default=calls(("get_patient", {"patient_id": "P-0"})), delay=0.05) as server:
        out = cli("rollout", "-w", str(workdir), "--agents", "llm", "--model", "openai/fake-model", "--api-base",
                  server.base_url, "--max-requests", "10", "--concurrency", "2", "--engine", "ray",
                  "--workers", "4", "--json")
        assert server.count <= 10
        assert server.count == 10  # the budget, not the tasks, ended the run
        assert server.max_in_flight <= 2  # and the concurrency limit held across the 4 workers
    assert '"budget_exceeded": "max_requests=10 reached"' in out


def test_bad_input_read_on_a_worker_is_the_same_one_line_error(cluster: None, tmp_path: Path) -> None:
    from clawloop_synth.cli import app
    from clawloop_synth.errors import InputError

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "hi"}]}\n{"messages": 3}\n')
    with pytest.raises(InputError) as raised:
        CliRunner().invoke(app, ["ingest", "-i", str(bad), "-w", str(tmp_path / "w"), "--engine", "ray"],
                           catch_exceptions=False)
    local = CliRunner().invoke(app, ["ingest", "-i", str(bad), "-w", str(tmp_path / "w2")])
    assert isinstance(local.exception, InputError)
    assert str(raised.value) == str(local.exception) and "bad.jsonl" in str(raised.value)


def test_ingest_on_ray_cleans_on_the_workers_and_equals_the_local_one(cluster: None, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from clawloop_synth.ingest import cleaning
    from tests.ingest.test_per_file import mixed_inputs

    inputs, rewards = mixed_inputs(tmp_path)
    common = [arg for path in inputs for arg in ("-i", str(path))] + ["--on-error", "skip", "--rewards", str(rewards)]
    cli("ingest", "-w", str(tmp_path / "local"), *common)

    def on_the_driver(*args: object) -> None:
        raise AssertionError("a trace was cleaned on the driver")

    # The workers are other processes: only the driver's copy of the cleaning is replaced.
    monkeypatch.setattr(cleaning, "_clean", on_the_driver)
    cli("ingest", "-w", str(tmp_path / "ray"), *common, "--engine", "ray")
    assert differences(tmp_path / "local", tmp_path / "ray") == []
