"""No shortcuts, no ambiguity: the shortcut agent, the information need and the structured constraints."""

from __future__ import annotations

from typing import Any

from tests.sim.sim_bank import initial_state, make_task, tools

from clawloop_synth.agents import ShortcutAgent, information_needs, run_agent, shortcut_solution
from clawloop_synth.generate.constraints import constraint_problem, satisfying
from clawloop_synth.generate.gate import examine, shortcut_solves
from clawloop_synth.generate.procedural.airline import _flight_choice
from clawloop_synth.types import Checks, Choice, Constraint, PlannedCall, Solution, ToolSpec

LIMIT = '''
def invoke(state, account_id, limit):
    state["accounts"][account_id]["limit"] = limit
    return "ok"
'''


def _limit_task(instruction: str, limit: int) -> Any:
    schema = {"type": "object", "properties": {"account_id": {"type": "string"}, "limit": {"type": "integer"}},
              "required": ["account_id", "limit"]}
    spec = ToolSpec(name="set_limit", description="Set a limit.", parameters=schema, handler=LIMIT, writes=True)
    return make_task(instruction=instruction, tools=[*tools(), spec],
                     reference=Solution(calls=[PlannedCall(name="set_limit",
                                                           arguments={"account_id": "A1", "limit": limit})],
                                        answer="Done."),
                     failure_exemplar=Solution(answer="Done."), checks=Checks())


def test_shortcut_agent_uses_only_what_the_instruction_states() -> None:
    task = make_task()  # the instruction states both writes, not Bob's new balance
    calls = shortcut_solution(task)
    assert [c.arguments for c in calls] == [{"source": "A1", "target": "B2", "amount": 1000},
                                            {"account_id": "A1"}]
    rollout = run_agent(ShortcutAgent(), task)
    assert rollout.reward == 0.0  # the outcome is right, but "1,020" comes only from a result
    assert [c.name for c in rollout.checks if not c.passed] == ["output:1,020"]
    hidden = make_task(instruction="Move the usual amount from Ann (A1) to Bob (B2), then freeze A1.")
    assert shortcut_solution(hidden)[0].arguments["amount"] == 0 and not shortcut_solves(hidden)


def test_information_needs_name_the_values_no_result_is_needed_for() -> None:
    assert information_needs(make_task()) == ["output=1,020"]
    told = make_task(instruction="Move 1000 from A1 to B2, freeze A1 and say that Bob has 1020.")
    assert information_needs(told) == []
    verdict = examine(told, None)
    assert (verdict.accepted, verdict.reason) == (False, "no_information_need")
    assert examine(make_task(), None).accepted


def test_gate_rejects_a_task_the_shortcut_agent_solves() -> None:
    # "zero" is not the token 0, so the limit counts as unstated; the shortcut's blind 0 is right anyway.
    task = _limit_task("Set the limit of A1 to zero.", 0)
    assert information_needs(task) == ["set_limit.limit=0"]
    assert shortcut_solves(task)
    assert examine(task, None).reason == "shortcut"
    assert not shortcut_solves(_limit_task("Set the limit of A1 to the maximum the bank allows.", 700))


def test_constraints_stated_and_unique() -> None:
    bob = [Constraint(field="owner", value="Bob", text="Bob"),
           Constraint(field="balance", op="le", value=100, text="Bob")]
    task = make_task(constraints=[Choice(collection="accounts", key="B2", constraints=bob)])
    assert constraint_problem(task) is None
    state = initial_state()
    state["accounts"]["B9"] = {"owner": "Bob", "balance": 5, "frozen": False}
    twin = make_task(initial_state=state, constraints=task.constraints)
    assert satisfying(task.constraints[0], state) == ["B2", "B9"]
    reason, detail = constraint_problem(twin) or ("", "")
    assert reason == "ambiguous" and "B9" in detail
    assert examine(twin, None).reason == "ambiguous"
    rich = initial_state()
    rich["accounts"]["B9"] = {"owner": "Bob", "balance": 500, "frozen": False}  # fails balance <= 100
    assert constraint_problem(make_task(initial_state=rich, constraints=task.constraints)) is None
    unsaid = [Constraint(field="owner", value="Bob", text="Robert")]
    assert constraint_problem(make_task(constraints=[Choice(collection="accounts", key="B2",
                                                            constraints=unsaid)]))[0] == "constraint_unstated"
    assert constraint_problem(make_task(constraints=[Choice(collection="accounts", key="C3",
                                                            constraints=bob)]))[0] == "constraint_unmet"


def test_airline_flight_choice_sees_a_second_fitting_flight() -> None:
    def flight(time: str, seats: int) -> dict[str, Any]:
        return {"origin": "JFK", "destination": "LAX", "scheduled_departure_time_est": f"{time}:00",
                "dates": {"2024-05-20": {"status": "available", "available_seats": {"economy": seats}}}}

    choice = _flight_choice("HAT001", "JFK", "LAX", "2024-05-20", "10:00", "economy", 2)
    state = {"flights": {"HAT001": flight("10:00", 5), "HAT002": flight("11:00", 5), "HAT003": flight("10:00", 1)}}
    assert satisfying(choice, state) == ["HAT001"]  # another time; too few seats
    state["flights"]["HAT004"] = flight("10:00", 9)
    assert satisfying(choice, state) == ["HAT001", "HAT004"]
    assert {c.text for c in choice.constraints} == {"JFK", "LAX", "2024-05-20", "10:00", "economy"}
