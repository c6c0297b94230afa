"""Episodes that share calls share one run (agents/_memo.py), and a task's setup is built once
(sim/setup.py): the rollouts are the ones fresh environments give, and a changed task is rebuilt."""

from __future__ import annotations

import pytest

from clawloop_synth.agents import run_agent, scripted_population
from clawloop_synth.agents._memo import MemoEnv
from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.sim import SimEnv
from clawloop_synth.sim.setup import setup_of
from clawloop_synth.sim.trust import isolate_everything
from clawloop_synth.types import PlannedCall, TaskSpec
from tests.sim.sim_bank import make_task


def _fresh(agent, task: TaskSpec, attempt: int):
    # An environment passed in is used as it is: no memo.
    return run_agent(agent, task, SimEnv(task), attempt=attempt)


def test_memoized_rollouts_equal_rollouts_in_fresh_environments() -> None:
    tasks = build_demo_tasks(8, seed=3)
    memo_tasks = [task.model_copy(deep=True) for task in tasks]  # objects of their own: a cold memo
    for agent in scripted_population(seed=1):
        for task, twin in zip(tasks, memo_tasks, strict=True):
            for attempt in range(3):
                want = _fresh(agent, task, attempt)
                got = run_agent(agent, twin, attempt=attempt)
                assert got.model_dump() == want.model_dump(), (agent.name, task.id, attempt)


def test_a_known_path_needs_no_environment_and_a_new_call_replays_the_path() -> None:
    task = make_task()
    calls = task.reference.calls
    first = MemoEnv(task)
    for call in calls:
        first.step(call)
    first.finish("Bob has 1,020")
    second = MemoEnv(task)
    results = [second.step(call) for call in calls]
    assert second._env is None and second.finish("Bob has 1,020")[0] == 1.0
    assert results[1].content == first._env.calls[1].result.content  # type: ignore[union-attr]
    third = MemoEnv(task)
    third.step(calls[0])
    third.step(calls[1])
    off = third.step(PlannedCall(name="get_account", arguments={"account_id": "B2"}))
    assert third._env is not None  # started at the first unknown call, with the two calls replayed
    assert '"balance": 1020' in off.content  # the transfer happened in the replayed state


def test_a_crashed_call_is_not_memoized() -> None:
    task = make_task()
    env = MemoEnv(task)
    bad = PlannedCall(name="transfer", arguments={"source": "A1", "target": "B2", "amount": -5})
    assert env.step(bad).crashed
    assert not any(result.crashed for result, _ in env._memo.steps.values())


def test_setup_is_shared_by_episodes_and_rebuilt_when_the_task_changes() -> None:
    task = make_task()
    setup = setup_of(task)
    assert setup_of(task) is setup
    SimEnv(task).step(task.reference.calls[0])
    assert setup_of(task) is setup
    broken = task.tools[0].model_copy(update={"handler": "def invoke(state, account_id):\n    return 'v2'\n"})
    task.tools = [broken, *task.tools[1:]]
    assert SimEnv(task).step(task.reference.calls[0]).content == "v2"
    task.initial_state = {"accounts": {}, "log": []}
    assert SimEnv(task).step(task.reference.calls[1]).is_error


@pytest.fixture
def isolated_mode():
    isolate_everything(True)
    yield
    isolate_everything(False)


def test_setup_follows_the_isolation_mode(isolated_mode: None) -> None:
    task = build_demo_tasks(1, seed=0)[0]  # shipped handlers: in-process unless everything is isolated
    isolate_everything(False)
    in_process = setup_of(task)
    isolate_everything(True)
    rebuilt = setup_of(task)
    assert not any(t.handler.isolated for t in in_process.tools.values() if t.handler)
    assert rebuilt is not in_process
    assert all(t.handler.isolated for t in rebuilt.tools.values() if t.handler)
