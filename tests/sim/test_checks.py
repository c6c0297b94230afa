"""Checks: outcome against the reference's final state, required outputs, JMESPath assertions."""

from __future__ import annotations

import copy

from sim_bank import make_task

from clawloop_synth.sim import copy_state, normalize_text, reference_state, reward_of, run_checks
from clawloop_synth.types import Checks, JsonAssertion, TaskSpec


def by_name(task: TaskSpec, state: object, answer: str) -> dict[str, tuple[bool, str]]:
    return {c.name: (c.passed, c.detail) for c in run_checks(task, state, answer)}


def test_reference_state_is_computed_once(task: TaskSpec) -> None:
    first = reference_state(task)
    assert first is reference_state(task)
    assert first["accounts"]["A1"] == {"owner": "Ann", "balance": 500, "frozen": True}
    assert task.initial_state["accounts"]["A1"]["balance"] == 1500


def test_outcome_names_missing_and_unexpected_changes(task: TaskSpec) -> None:
    final = copy_state(reference_state(task))
    assert by_name(task, final, "1,020")["outcome"][0]
    final["accounts"]["A1"]["frozen"] = False  # a change the reference made, missing
    final["accounts"]["C3"]["balance"] = 9  # a change the reference did not make
    passed, detail = by_name(task, final, "1,020")["outcome"]
    assert not passed
    assert "$.accounts.A1.frozen: expected True, got False" in detail
    assert "$.accounts.C3.balance: expected 0, got 9" in detail


def test_outcome_detects_added_keys_and_list_changes(task: TaskSpec) -> None:
    final = copy.deepcopy(reference_state(task))
    final["accounts"]["D4"] = {"owner": "Eve"}
    final["log"].append({"amount": 1})
    passed, detail = by_name(task, final, "")["outcome"]
    assert not passed and "$.accounts.D4: expected <missing>" in detail and "$.log" in detail


def test_required_outputs_ignore_case_and_number_commas(task: TaskSpec) -> None:
    state = reference_state(task)
    assert by_name(task, state, "Bob has 1020.")["output:1,020"][0]
    assert by_name(task, state, "BOB HAS 1,020")["output:1,020"][0]
    assert not by_name(task, state, "Bob has 102")["output:1,020"][0]
    assert normalize_text("Total: 1,000,000 USD, thanks") == "total: 1000000 usd, thanks"
    words = make_task(checks=Checks(outcome=False, required_outputs=["Bob", "1000"]))
    assert reward_of(run_checks(words, {}, "bob got 1,000")) == 1.0


def test_jmespath_assertions() -> None:
    task = make_task(checks=Checks(outcome=False, assertions=[
        JsonAssertion(expression="accounts.A1.balance", expected=500),
        JsonAssertion(expression="length(log)", expected=1),
        JsonAssertion(expression="accounts.[", expected=1),
    ]))
    results = run_checks(task, reference_state(task), "")
    assert [r.passed for r in results] == [True, True, False]
    assert "cannot evaluate" in results[2].detail
    assert reward_of(results) == 0.0
    assert reward_of(results[:2]) == 1.0


OPEN = '''
def invoke(state, owner):
    key = "N" + str(len(state["accounts"]) + 1)
    state["accounts"][key] = {"owner": owner, "balance": 0, "frozen": False}
    return {"account_id": key}
'''


def test_created_ids_are_judged_against_the_run_that_created_them() -> None:
    from sim_bank import initial_state

    from clawloop_synth.types import PlannedCall, Solution, ToolSpec

    schema = {"type": "object", "properties": {"owner": {"type": "string"}}, "required": ["owner"]}
    opener = ToolSpec(name="open_account", description="Open one.", parameters=schema, handler=OPEN, writes=True)
    task = make_task(tools=[opener], reference=Solution(calls=[PlannedCall(name="open_account",
                                                                           arguments={"owner": "Dan"})],
                                                        answer="Opened N4."),
                     checks=Checks(outcome=False, required_outputs=["N4"]), failure_exemplar=None)
    state = initial_state()
    state["accounts"]["N5"] = {"owner": "Dan", "balance": 0, "frozen": False}  # this run's id is N5
    assert by_name(task, state, "Your new account is N5.")["output:N4"][0]
    passed, detail = by_name(task, state, "Your new account is N4.")["output:N4"]
    assert not passed and "N5" in detail  # the reference's id, but not the one this run created
    passed, detail = by_name(task, initial_state(), "Your new account is N4.")["output:N4"]
    assert not passed and "created no accounts entry" in detail
