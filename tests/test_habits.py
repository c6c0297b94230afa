"""One flawed agent per failure code: a habit that is harmless on a plain task and trips on the situation
the generator plants for its code (airline tasks generated here, for each code with a plant)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.agents import CODE_HABITS, HABITS, HabitAgent, ReferenceAgent, habit_opportunities, run_agent
from clawloop_synth.generate.base import GenerationRequest, Verdict
from clawloop_synth.generate.procedural import ProceduralGenerator
from clawloop_synth.sim import verify
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.types import FailureCluster, TaskSpec
from tests.export.tiny import make_task

# Codes that share a plant with another listed code are left out (the same transient fault, the same habit).
PLANTED = sorted(code for code in CODE_HABITS if code not in {
    "agent/verification/ignored_error", "agent/planning/missing_retry", "environment/system/timeout",
    "environment/system/rate_limit", "environment/system/server_error"})


def test_every_habit_is_harmless_on_a_plain_task() -> None:
    task = make_task(1)
    assert habit_opportunities(task) == {name: 0 for name in HABITS}
    for name in HABITS:
        assert run_agent(HabitAgent(name, rate=1.0), task).reward == 1.0


def test_habit_agent_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        HabitAgent("no_such_habit")
    with pytest.raises(ValueError):
        HabitAgent("first_choice", rate=1.5)


@cache
def _tasks(db: str, trajectories: str, code: str) -> list[TaskSpec]:
    from clawloop_synth.ingest import iter_traces

    pack = load_pack("airline", Path(db))
    traces = list(iter_traces([Path(trajectories)]))
    cluster = FailureCluster(id="c0", label=code, codes=[code], size=1, member_ids=[], exemplar_ids=[])
    request = GenerationRequest(cluster=cluster, exemplars=[], domain="airline", pack=pack, state=pack.load_state(),
                                count=2, seed=0, id_prefix="t", target_code=code, traces=traces)
    return [c.task for c in ProceduralGenerator().propose(request, _accept) if c.task is not None]


def _accept(task: Any) -> Verdict:
    return Verdict(True, "", "")


@pytest.mark.parametrize("code", PLANTED)
def test_the_planted_situation_trips_the_codes_habit(code: str, airline_db: Path, airline_trajectories: Path) -> None:
    tasks = _tasks(str(airline_db), str(airline_trajectories), code)
    habit = CODE_HABITS[code]
    tripped = 0
    for task in tasks:
        assert verify(task).ok, (code, verify(task).failed())
        assert run_agent(ReferenceAgent(), task).reward == 1.0
        tripped += habit_opportunities(task)[habit] > 0 and \
            (run_agent(HabitAgent(habit, rate=1.0), task).reward or 0.0) < 1.0
    assert tasks and tripped >= 1, (code, [t.instruction for t in tasks])
