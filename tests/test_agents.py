"""Scripted agents: the reference replay, each planted flaw, determinism, and the Trace they give."""

from __future__ import annotations

import json
import math

import pytest

from clawloop_synth.agents import (
    FLAW_MODES,
    GIVE_UP_TRANSIENT,
    FlawedAgent,
    ReferenceAgent,
    fire_chance,
    opportunities,
    plan_for,
    run_agent,
    scripted_population,
)
from clawloop_synth.demo import build_demo_tasks, demo_pack
from clawloop_synth.types import TaskSpec, Trace


@pytest.fixture(scope="module")
def tasks() -> list[TaskSpec]:
    return build_demo_tasks(20, seed=0)


def _calls(trace: Trace) -> list[tuple[str, dict]]:
    return [(s.call.name, s.call.arguments) for s in trace.tool_steps()]


def _answer(trace: Trace) -> str:
    return trace.messages[-1].content or ""


def test_reference_agent_gets_reward_one(tasks: list[TaskSpec]) -> None:
    for task in tasks:
        trace = run_agent(ReferenceAgent(), task)
        assert trace.reward == 1.0
        assert trace.metadata["planted_mode"] == "none"
        assert _calls(trace) == [(c.name, c.arguments) for c in task.reference.calls]


def test_trace_is_openai_chat_shaped(tasks: list[TaskSpec]) -> None:
    trace = run_agent(FlawedAgent({"hallucinated_tool": 1.0}), tasks[0])
    assert isinstance(trace, Trace) and trace.source == "rollout"
    assert [m.role for m in trace.messages[:2]] == ["system", "user"]
    assert trace.messages[-1].role == "assistant" and not trace.messages[-1].tool_calls
    for message in trace.messages:
        if message.role == "tool":
            assert message.tool_call_id and message.name and message.is_error is not None
    assert {t["function"]["name"] for t in trace.tools} == {t.name for t in tasks[0].tools}
    assert trace.metadata["agent"] and trace.metadata["task_id"] == tasks[0].id
    assert type(trace).model_validate_json(trace.model_dump_json()) == trace


def _symptom(mode: str, task: TaskSpec, trace: Trace) -> None:
    """The trail each mode must leave (besides the failing reward)."""
    steps = trace.tool_steps()
    ref = task.reference.calls
    names = {t.name for t in task.tools}
    if mode == "wrong_argument_format":
        texts = [s.result or "" for s in steps if s.is_error]
        assert any("YYYY-MM-DD" in text or "expected an id" in text for text in texts), "no format error"
    elif mode == "skipped_lookup":
        made = [(c.name, c.arguments) for c in ref]
        assert len(steps) < len(ref) or _calls(trace) != made
        ref_names = [c.name for c in ref]
        assert any(ref_names.count(n) > [s.call.name for s in steps].count(n) for n in set(ref_names))
    elif mode == "ignored_tool_error":
        assert steps[-1].is_error
        assert "sorry" not in _answer(trace).lower()
    elif mode == "no_retry_after_transient":
        assert steps[-1].is_error and "please retry" in (steps[-1].result or "")
        assert _answer(trace) == GIVE_UP_TRANSIENT
    elif mode == "hallucinated_tool":
        assert any(s.call.name not in names and s.is_error for s in steps)
    elif mode == "premature_finish":
        writes = [c for c in ref if c.name in demo_pack().write_tools]
        done = [s.call for s in steps if s.call.name in demo_pack().write_tools and not s.is_error]
        assert len(done) < len(writes) or not writes
        assert not any(s.is_error for s in steps[len(steps) - 1:]) or not steps
    elif mode == "repeated_call":
        pairs = list(zip(steps, steps[1:], strict=False))
        assert any(a.call.name == b.call.name and a.call.arguments == b.call.arguments and not a.is_error
                   for a, b in pairs)


@pytest.mark.parametrize("mode", FLAW_MODES)
def test_each_flaw_at_rate_one_fails_with_its_symptom(tasks: list[TaskSpec], mode: str) -> None:
    agent = FlawedAgent({mode: 1.0}, seed=7)
    planted = 0
    for task in tasks:
        trace = run_agent(agent, task)
        if trace.metadata["planted_mode"] == "none":
            # Only a task without a transient error leaves no room for this one mode.
            assert mode == "no_retry_after_transient"
            assert not task.initial_state["service"]["outages"]
            assert trace.reward == 1.0
            continue
        planted += 1
        assert trace.metadata["planted_mode"] == mode
        assert trace.reward == 0.0, (task.id, trace.checks)
        _symptom(mode, task, trace)
    assert planted >= 5


def test_runs_are_deterministic_under_the_seed(tasks: list[TaskSpec]) -> None:
    rates = {mode: 0.2 for mode in FLAW_MODES}
    first = [run_agent(FlawedAgent(rates, seed=3), t).model_dump_json() for t in tasks]
    again = [run_agent(FlawedAgent(rates, seed=3), t).model_dump_json() for t in tasks]
    assert first == again
    other = [run_agent(FlawedAgent(rates, seed=4), t).model_dump_json() for t in tasks]
    assert other != first
    attempts = {run_agent(FlawedAgent(rates, seed=3), tasks[0], attempt=a).metadata["planted_mode"]
                for a in range(12)}
    assert len(attempts) > 1


def test_zero_rates_behave_like_the_reference(tasks: list[TaskSpec]) -> None:
    agent = FlawedAgent({})
    assert all(run_agent(agent, t).reward == 1.0 for t in tasks)


def test_bad_flaw_specs_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown flaw"):
        FlawedAgent({"typo": 0.5})
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        FlawedAgent({"skipped_lookup": 1.5})


def test_population_is_graded(tasks: list[TaskSpec]) -> None:
    agents = scripted_population(0)
    assert len({a.name for a in agents}) == len(agents)
    rewards = [sum(run_agent(a, t).reward or 0.0 for t in tasks) / len(tasks) for a in agents]
    assert rewards[0] == 1.0
    assert rewards[1] > rewards[-1]
    assert len(set(rewards)) >= 4


def test_agents_run_on_other_domains(tasks: list[TaskSpec]) -> None:
    # Generic over TaskSpec: rename the domain and tools' owner; only the reference drives them.
    task = tasks[1].model_copy(update={"domain": "elsewhere", "id": "x-1"})
    assert run_agent(ReferenceAgent(), task).reward == 1.0
    trace = run_agent(FlawedAgent({"premature_finish": 1.0}), task)
    assert trace.reward == 0.0 and json.loads(trace.model_dump_json())["domain"] == "elsewhere"


def test_agents_run_on_airline_gold_tasks(airline_trajectories, airline_db) -> None:
    from clawloop_synth.ingest import iter_items
    from clawloop_synth.sim import verify
    from clawloop_synth.sim.gold import airline_gold_tasks

    traces = [t for _, _, t in iter_items([airline_trajectories]) if isinstance(t, Trace)]
    tasks = [t for t in airline_gold_tasks(traces, airline_db) if verify(t).ok][:12]
    assert tasks
    assert all(run_agent(ReferenceAgent(), t).reward == 1.0 for t in tasks)
    for mode in ("hallucinated_tool", "premature_finish", "ignored_tool_error"):
        runs = [run_agent(FlawedAgent({mode: 1.0}), t) for t in tasks]
        assert all(r.metadata["planted_mode"] == mode and r.reward == 0.0 for r in runs)


# ---------------------------------------------------------------- per-opportunity flaw rates


def test_opportunities_follow_the_plan(tasks: list[TaskSpec]) -> None:
    for task in tasks:
        plan = plan_for(task)
        counts = opportunities(plan)
        assert set(counts) == set(FLAW_MODES) and all(n >= 0 for n in counts.values())
        transient = len(plan.transient_indices)
        assert (counts["no_retry_after_transient"] > 0) == bool(task.initial_state["service"]["outages"])
        assert counts["no_retry_after_transient"] == transient
        # every call is a chance to name a made-up tool, but a retry is the same call again
        assert counts["hallucinated_tool"] == counts["repeated_call"] == len(task.reference.calls) - transient
        assert counts["skipped_lookup"] == sum(1 for i in range(len(plan.calls)) if plan.looked_up(i))
        assert 1 <= counts["premature_finish"] <= len(task.reference.calls)
        # each write that went through may instead fail unnoticed; a read-only task has its one answer
        assert counts["ignored_tool_error"] == (sum(1 for i in plan.write_indices if not plan.results[i].is_error)
                                                or 1)


def test_fire_chance_is_one_slip_in_n_chances() -> None:
    assert fire_chance(0.0, 10) == 0.0 and fire_chance(0.3, 0) == 0.0
    assert fire_chance(0.1, 1) == pytest.approx(0.1)
    assert fire_chance(0.1, 3) == pytest.approx(1 - 0.9 ** 3)
    assert fire_chance(0.1, 3, load=2.0) == pytest.approx(1 - 0.8 ** 3)
    assert fire_chance(0.6, 2, load=2.0) == 1.0
    assert [fire_chance(0.05, n) for n in range(6)] == sorted(fire_chance(0.05, n) for n in range(6))


def test_per_opportunity_chances_depend_on_the_task(tasks: list[TaskSpec]) -> None:
    per_run = FlawedAgent({mode: 0.05 for mode in FLAW_MODES}, seed=1)
    per_opp = FlawedAgent({mode: 0.05 for mode in FLAW_MODES}, seed=1, per_opportunity=True)
    loaded = FlawedAgent({mode: 0.05 for mode in FLAW_MODES}, seed=1, per_opportunity=True, distractor_load=0.1)
    assert len({tuple(per_run.chances(t).values()) for t in tasks}) == 1
    clean = [sum(-math.log1p(-c) for c in per_opp.chances(t).values()) for t in tasks]
    totals = [sum(opportunities(plan_for(t)).values()) for t in tasks]
    # the chance of a clean run falls exactly with the number of opportunities
    assert clean == pytest.approx([-n * math.log1p(-0.05) for n in totals])
    for task in tasks:
        if task.features.distractors:
            assert all(a >= b for a, b in zip(loaded.chances(task).values(), per_opp.chances(task).values(),
                                               strict=True))
            assert sum(loaded.chances(task).values()) > sum(per_opp.chances(task).values())


def test_per_opportunity_mode_without_room_never_fires(tasks: list[TaskSpec]) -> None:
    agent = FlawedAgent({"no_retry_after_transient": 1.0}, per_opportunity=True)
    for task in tasks[:10]:
        trace = run_agent(agent, task)
        if task.initial_state["service"]["outages"]:
            assert trace.metadata["planted_mode"] == "no_retry_after_transient" and trace.reward == 0.0
        else:
            assert trace.metadata["planted_mode"] == "none" and trace.reward == 1.0


def test_per_opportunity_longer_tasks_fail_more() -> None:
    many = build_demo_tasks(60, seed=1)
    agent = FlawedAgent({mode: 0.04 for mode in FLAW_MODES}, seed=5, per_opportunity=True)
    totals = [sum(opportunities(plan_for(t)).values()) for t in many]
    low, high = sorted(totals)[len(totals) // 3], sorted(totals)[2 * len(totals) // 3]
    short = [t for t, n in zip(many, totals, strict=True) if n < low]
    long = [t for t, n in zip(many, totals, strict=True) if n > high]
    assert short and long

    def pass_rate(group: list[TaskSpec]) -> float:
        runs = [run_agent(agent, t, attempt=a).reward or 0.0 for t in group for a in range(4)]
        return sum(runs) / len(runs)

    assert pass_rate(short) > pass_rate(long) + 0.1, (pass_rate(short), pass_rate(long))


def test_distractor_load_needs_per_opportunity_rates() -> None:
    with pytest.raises(ValueError, match="needs per_opportunity"):
        FlawedAgent({"skipped_lookup": 0.1}, distractor_load=0.1)
    with pytest.raises(ValueError, match=">= 0"):
        FlawedAgent({"skipped_lookup": 0.1}, per_opportunity=True, distractor_load=-1)


def test_per_opportunity_population_is_graded(tasks: list[TaskSpec]) -> None:
    agents = scripted_population(0, per_opportunity=True)
    assert [a.name for a in agents] == [a.name for a in scripted_population(0)]
    assert all(a.per_opportunity for a in agents if isinstance(a, FlawedAgent))
    rewards = [sum(run_agent(a, t).reward or 0.0 for t in tasks) / len(tasks) for a in agents]
    assert rewards[0] == 1.0 and rewards[1] > rewards[-1] and len(set(rewards)) >= 4
    again = scripted_population(0, per_opportunity=True)
    assert [run_agent(a, tasks[3]).model_dump_json() for a in again] == \
        [run_agent(a, tasks[3]).model_dump_json() for a in agents]


def test_nested_arguments_are_opportunities_too() -> None:
    from clawloop_synth.agents._mutate import leaves, replace_at

    args = {"user_id": "u_1", "passengers": [{"name": "Ann", "dob": "1990-01-02"}], "total": 2}
    assert leaves(args) == [(("user_id",), "u_1"), (("passengers", 0, "name"), "Ann"),
                            (("passengers", 0, "dob"), "1990-01-02"), (("total",), 2)]
    changed = replace_at(args, ("passengers", 0, "dob"), "01/02/1990")
    assert changed["passengers"][0] == {"name": "Ann", "dob": "01/02/1990"}
    assert args["passengers"][0]["dob"] == "1990-01-02"  # the original is left alone
