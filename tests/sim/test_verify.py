"""verify(): each rule passes on a sound task and catches the defect it is named after."""

from __future__ import annotations

from collections import OrderedDict

from sim_bank import make_task, tools

from clawloop_synth.sim import RULES, run_solution, verify
from clawloop_synth.types import Checks, PlannedCall, Solution, TaskSpec


def rules(task: TaskSpec) -> dict[str, tuple[bool, str]]:
    report = verify(task)
    assert [r.rule for r in report.rules] == list(RULES)
    return {r.rule: (r.passed, r.detail) for r in report.rules}


def transfer(amount: int = 1000) -> PlannedCall:
    return PlannedCall(name="transfer", arguments={"source": "A1", "target": "B2", "amount": amount})


def freeze(account: str = "A1") -> PlannedCall:
    return PlannedCall(name="freeze", arguments={"account_id": account})


def look(account: str = "A1") -> PlannedCall:
    return PlannedCall(name="get_account", arguments={"account_id": account})


def test_sound_task_passes_every_rule(task: TaskSpec) -> None:
    report = verify(task)
    assert report.ok, report.failed()


def test_run_solution_returns_reward_checks_and_results(task: TaskSpec) -> None:
    reward, checks, results = run_solution(task, task.reference)
    assert reward == 1.0 and len(checks) == 3 and len(results) == 3
    reward, _, _ = run_solution(task, task.failure_exemplar)  # type: ignore[arg-type]
    assert reward == 0.0


def test_read_only_task_is_solved_by_the_empty_run() -> None:
    task = make_task(reference=Solution(calls=[look()], answer="Ann has 1500"), checks=Checks())
    result = rules(task)
    assert result["empty_run_fails"] == (False, "solved by the empty run")
    assert result["reference_passes"][0]


def test_a_prefix_that_already_solves_the_task_is_named() -> None:
    task = make_task(reference=Solution(calls=[freeze(), look(), freeze()], answer=""), checks=Checks(),
                     failure_exemplar=Solution(calls=[look()]))
    passed, detail = rules(task)["prefixes_fail"]
    assert not passed and "prefix of 1 call(s) passed" in detail


def test_undeclared_writes_count_as_state_changing() -> None:
    # freeze is declared read-only here, but it changes the state, so prefixes up to it are checked.
    task = make_task(tools=tools(freeze_writes=False), checks=Checks(),
                     reference=Solution(calls=[transfer(), look(), freeze()], answer=""))
    assert rules(task)["prefixes_fail"] == (True, "all 2 prefix(es) fail")
    noop = make_task(tools=tools(freeze_writes=False), checks=Checks(),
                     reference=Solution(calls=[transfer(), look()], answer=""))
    assert rules(noop)["prefixes_fail"] == (True, "no prefix to check")


def test_exemplar_rules() -> None:
    passing = make_task(failure_exemplar=Solution(calls=[transfer(), freeze()], answer="1020"))
    assert rules(passing)["exemplar_fails"] == (False, "the failure exemplar passes every check")
    missing = make_task(failure_exemplar=None)
    assert rules(missing)["exemplar_fails"] == (False, "the task has no failure exemplar")


def test_handlers_sound_flags_crashes_and_schema_violations() -> None:
    crash = make_task(reference=Solution(calls=[transfer(-5), freeze()], answer="1,020"))
    passed, detail = rules(crash)["handlers_sound"]
    assert not passed and "call 1 (transfer)" in detail and "ValueError" in detail
    invalid = make_task(reference=Solution(calls=[PlannedCall(name="freeze", arguments={"id": "A1"})]))
    passed, detail = rules(invalid)["handlers_sound"]
    assert not passed and "invalid arguments" in detail


def test_reference_that_misses_an_output_fails() -> None:
    task = make_task(reference=Solution(calls=[look(), transfer(), freeze()], answer="done"))
    passed, detail = rules(task)["reference_passes"]
    assert not passed and "output:1,020" in detail


def test_broken_handler_source_is_reported_not_raised() -> None:
    broken = tools()
    broken[1] = broken[1].model_copy(update={"handler": "import os\ndef invoke(state, **a):\n    return 1\n"})
    result = rules(make_task(tools=broken))
    assert not result["handlers_sound"][0] and "Import is not allowed" in result["handlers_sound"][1]


def test_verify_once_runs_once_per_task_content(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    module = sys.modules["clawloop_synth.sim.verify"]  # the package's ``verify`` name is the function
    runs: list[str] = []
    real = module.verify
    monkeypatch.setattr(module, "verify", lambda task: runs.append(task.id) or real(task))
    monkeypatch.setattr(module, "_once", OrderedDict())  # nothing kept from an earlier test
    task = make_task()
    first = module.verify_once(task)
    assert first.ok and runs == [task.id]
    again = TaskSpec.model_validate_json(task.model_dump_json())  # the same task read back from disk
    first.rules[0].passed = False  # a caller's edit of its copy does not reach the kept report
    assert module.verify_once(again).ok and runs == [task.id]
    edited = again.model_copy(update={"reference": Solution(calls=[look()], answer="")}, deep=True)
    assert not module.verify_once(edited).ok and len(runs) == 2


def test_verify_once_verifies_again_when_the_isolation_mode_changes(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import sys

    from clawloop_synth.sim import trust

    module = sys.modules["clawloop_synth.sim.verify"]
    runs: list[str] = []
    real = module.verify
    monkeypatch.setattr(module, "verify", lambda task: runs.append(task.id) or real(task))
    monkeypatch.setattr(module, "_once", OrderedDict())  # nothing kept from an earlier test
    task = make_task()
    module.verify_once(task)
    monkeypatch.setattr(trust, "_isolate_all", not trust.mode()[0])  # as isolate_everything() sets it
    module.verify_once(task)
    assert len(runs) == 2


def test_reports_recorded_in_one_process_are_not_verified_again_in_another(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pickle
    import sys

    module = sys.modules["clawloop_synth.sim.verify"]
    runs: list[str] = []
    real = module.verify
    monkeypatch.setattr(module, "verify", lambda task: runs.append(task.id) or real(task))
    monkeypatch.setattr(module, "_once", OrderedDict())
    task, known = make_task(), make_task(reference=Solution(calls=[look()], answer=""))
    module.verify_once(known)  # verified before the block: not handed back again
    with module.recorded_reports() as reports:
        module.verify_once(task)
        module.verify_once(known)
    assert len(reports) == 1 and runs == [known.id, task.id]
    shipped = pickle.loads(pickle.dumps(reports))  # as a pool worker's result travels
    monkeypatch.setattr(module, "_once", OrderedDict())  # the driver's own, empty cache
    module.adopt_reports(shipped)
    read_back = TaskSpec.model_validate_json(task.model_dump_json())
    assert module.verify_once(read_back).ok and runs == [known.id, task.id]
