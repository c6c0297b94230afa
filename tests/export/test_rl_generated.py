"""The RL environment on 50 generated airline tasks: the reference earns 1, the failure exemplar less."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.export import environment_class, reward_func
from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.ingest.stage import run_ingest
from clawloop_synth.mine.stage import run_cluster, run_mine
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.store import load_records
from clawloop_synth.types import Solution, TaskSpec
from tests.export.test_rl import _play


def test_reference_earns_one_and_exemplar_less_on_50_generated_airline_tasks(
        airline_trajectories: Path, airline_db: Path, tmp_path: Path) -> None:
    run_ingest([airline_trajectories], tmp_path)
    run_mine(tmp_path, pack_tools=list(load_pack("airline", airline_db).tools))
    run_cluster(tmp_path, seed=0)
    run_generate(tmp_path, GenerateConfig(domain="airline", db=airline_db, per_cluster=4, seed=0))
    tasks: list[TaskSpec] = list(load_records(tmp_path / "tasks", TaskSpec))[:50]
    assert len(tasks) == 50

    cls = environment_class([spec for task in tasks for spec in task.tools])
    for task in tasks:
        row = {"prompt": [], "task": task.model_dump_json(), "id": task.id}
        rewards = []
        for solution in (task.reference, task.failure_exemplar or Solution()):
            env = cls()
            env.reset(**row)
            rewards.append(reward_func([_play(env, solution)], environments=[env])[0])
        assert rewards[0] == 1.0 and rewards[1] < 1.0, (task.id, task.target_code, rewards)
