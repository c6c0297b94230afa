"""The demo clinic: its state, its sandboxed tools, its tasks and their verification."""

from __future__ import annotations

import pytest

from clawloop_synth.demo import build_demo_tasks, demo_pack, generate_state
from clawloop_synth.sim import SimEnv, compile_handler, verify
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.types import PlannedCall, TaskSpec


@pytest.fixture(scope="module")
def tasks() -> list[TaskSpec]:
    return build_demo_tasks(40, seed=0)


def test_state_is_deterministic_and_small() -> None:
    state = generate_state(0)
    assert state == generate_state(0)
    assert state != generate_state(1)
    sizes = {name: len(state[name]) for name in ("patients", "doctors", "slots", "appointments", "invoices")}
    assert sizes["patients"] == 40 and sizes["doctors"] == 8
    assert all(10 <= size <= 400 for name, size in sizes.items() if name != "doctors")


TOOL_NAMES = ("find_patient", "get_patient", "list_doctors", "search_open_slots", "get_appointment",
              "book_appointment", "cancel_appointment", "reschedule_appointment", "pay_invoice")
WRITE_TOOLS = {"book_appointment", "cancel_appointment", "reschedule_appointment", "pay_invoice"}


def test_tools_count_and_writes() -> None:
    tools = demo_pack().tools
    assert 6 <= len(tools) <= 10
    assert [t.name for t in tools] == list(TOOL_NAMES)
    assert {t.name for t in tools if t.writes} == WRITE_TOOLS
    assert any(not t.writes for t in tools) and any(t.writes for t in tools)


@pytest.mark.parametrize("tool", demo_pack().tools, ids=lambda t: t.name)
def test_handler_passes_the_sandbox(tool) -> None:
    handler = compile_handler(tool.handler)
    assert handler is not None


def _env(task: TaskSpec) -> SimEnv:
    return SimEnv(task)


def test_error_results_are_realistic(tasks: list[TaskSpec]) -> None:
    task = next(t for t in tasks if t.id.startswith("demo-pay"))
    env = _env(task)
    find = task.reference.calls[0]
    wrong_date = env.step(PlannedCall(name="find_patient", arguments={**find.arguments, "date_of_birth": "07/20/1963"}))
    assert wrong_date.is_error and "YYYY-MM-DD" in wrong_date.content
    missing = env.step(PlannedCall(name="get_patient", arguments={"patient_id": "P-9999"}))
    assert missing.is_error and "not found" in missing.content
    bad_id = env.step(PlannedCall(name="get_appointment", arguments={"appointment_id": "5012"}))
    assert bad_id.is_error and "expected an id like" in bad_id.content
    unknown = env.step(PlannedCall(name="list_doctors", arguments={"specialty": "astrology"}))
    assert unknown.is_error and "unknown specialty" in unknown.content


def test_insufficient_wallet_balance(tasks: list[TaskSpec]) -> None:
    for task in tasks:
        state = task.initial_state
        for invoice in state["invoices"].values():
            patient = state["patients"][invoice["patient_id"]]
            if invoice["status"] == "open" and patient["wallet_balance_cents"] < invoice["amount_cents"]:
                env = _env(task)
                result = env.step(PlannedCall(name="pay_invoice", arguments={
                    "invoice_id": invoice["invoice_id"], "payment_method": "wallet"}))
                assert result.is_error and "insufficient wallet balance" in result.content
                assert env.state["invoices"][invoice["invoice_id"]]["status"] == "open"
                return
    pytest.fail("no open invoice larger than its patient's wallet in the demo tasks")


def test_transient_error_clears_on_retry(tasks: list[TaskSpec]) -> None:
    task = next(t for t in tasks if t.initial_state["service"]["outages"].get("search_open_slots"))
    search = next(c for c in task.reference.calls if c.name == "search_open_slots")
    env = _env(task)
    first, second, third = env.step(search), env.step(search), env.step(search)
    assert first.is_error and "temporarily unavailable" in first.content and "retry" in first.content
    assert not second.is_error and second.content == third.content


def test_writes_change_state_and_refuse_invalid_operations(tasks: list[TaskSpec]) -> None:
    task = next(t for t in tasks if t.id.startswith("demo-cancel"))
    cancel = task.reference.calls[-1]
    env = _env(task)
    assert not env.step(cancel).is_error
    aid = cancel.arguments["appointment_id"]
    assert env.state["appointments"][aid]["status"] == "cancelled"
    again = env.step(cancel)
    assert again.is_error and "cannot be cancelled" in again.content


def test_tasks_are_deterministic_and_varied(tasks: list[TaskSpec]) -> None:
    again = build_demo_tasks(40, seed=0)
    assert [t.model_dump() for t in tasks] == [t.model_dump() for t in again]
    assert {t.provenance.prompt_version for t in tasks} == {"book", "reschedule", "pay", "cancel", "info"}
    assert len({t.instruction for t in tasks}) == len(tasks)
    assert any(t.initial_state["service"]["outages"] for t in tasks)
    sizes = sorted(len(t.model_dump_json()) for t in tasks)
    assert sizes[len(sizes) // 2] < 50_000


def test_references_look_up_before_they_write(tasks: list[TaskSpec]) -> None:
    for task in tasks:
        calls = task.reference.calls
        assert calls[0].name == "find_patient"
        assert task.checks.required_outputs
        first_write = next((i for i, c in enumerate(calls) if c.name in WRITE_TOOLS), len(calls))
        assert first_write >= 2
        for output in task.checks.required_outputs:
            assert output.lower() not in task.instruction.lower()


@pytest.mark.parametrize("index", range(40))
def test_demo_task_passes_every_verify_rule(tasks: list[TaskSpec], index: int) -> None:
    report = verify(tasks[index])
    assert report.ok, [r.model_dump() for r in report.failed()]


def test_registered_as_demo_pack(tasks: list[TaskSpec]) -> None:
    pack = load_pack("demo")
    assert {t.name for t in pack.tools} == set(TOOL_NAMES)
    state = pack.load_state()
    assert state == generate_state(0)
    calls = [(c.name, c.arguments) for c in tasks[0].reference.calls]
    sliced = pack.slice_state(state, calls, seed="t")
    assert sliced["today"] == state["today"] and "outages" in sliced["service"]
    patient = tasks[0].reference.calls[-1].arguments["patient_id"]
    assert patient in sliced["patients"]
