"""Concurrent rollouts: deterministic per (agent, task, attempt), in job order, errors surface."""

from __future__ import annotations

import pytest

from clawloop_synth.agents import Episode, FlawedAgent, ReferenceAgent, run_agent, scripted_population
from clawloop_synth.rollout import iter_rollouts, make_jobs
from clawloop_synth.types import Rollout, TaskSpec
from tests.rollout.helpers import demo_tasks


def _dump(rollouts: list[Rollout]) -> list[str]:
    return [r.model_dump_json() for r in rollouts]


def test_same_rollouts_whatever_the_concurrency() -> None:
    tasks = demo_tasks(10)
    jobs = make_jobs(scripted_population(0)[:4], tasks, k=2)
    serial = list(iter_rollouts(jobs, concurrency=1))
    parallel = list(iter_rollouts(jobs, concurrency=6))
    assert len(serial) == 4 * 10 * 2
    assert _dump(serial) == _dump(parallel)
    # job order: agents, then tasks, then attempts
    assert [(r.agent, r.task_id, r.attempt) for r in parallel] == [
        (j.agent.name, j.task.id, j.attempt) for j in jobs]
    # and each one is what a single run_agent call gives
    assert serial[5].model_dump() == run_agent(jobs[5].agent, jobs[5].task, attempt=jobs[5].attempt).model_dump()


def test_attempts_differ_and_rewards_follow_the_flaws() -> None:
    tasks = demo_tasks(10)
    clean, broken = ReferenceAgent(), FlawedAgent({"premature_finish": 1.0}, seed=3)
    rollouts = list(iter_rollouts(make_jobs([clean, broken], tasks, k=3), concurrency=4))
    assert all(r.reward == 1.0 for r in rollouts if r.agent == "reference")
    flawed = [r for r in rollouts if r.agent == broken.name]
    assert sum(r.reward < 1.0 for r in flawed if r.reward is not None) >= len(flawed) // 2
    assert all(r.source == "rollout" and r.tool_steps() for r in rollouts)


class _Broken:
    name = "broken"

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:  # a deliberately failing agent
        raise RuntimeError("agent bug")


def test_an_episode_error_is_raised_to_the_consumer() -> None:
    with pytest.raises(RuntimeError, match="agent bug"):
        list(iter_rollouts(make_jobs([ReferenceAgent(), _Broken()], demo_tasks(5), k=1), concurrency=2))


class _WhereRun(ReferenceAgent):
    """The reference agent, noting the thread each episode ran in."""

    def __init__(self) -> None:
        super().__init__()
        self.threads: set[int] = set()

    def episode(self, task: TaskSpec, attempt: int = 0) -> Episode:
        import threading

        self.threads.add(threading.get_ident())
        return super().episode(task, attempt)


def test_in_process_agents_run_in_the_calling_thread() -> None:
    import threading

    agent = _WhereRun()
    rollouts = list(iter_rollouts(make_jobs([agent], demo_tasks(4), k=2), concurrency=8))
    assert len(rollouts) == 8 and all(r.reward == 1.0 for r in rollouts)
    # no pool threads for agents that never wait: they would only contend for the GIL
    assert agent.threads == {threading.get_ident()}
