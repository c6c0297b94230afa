"""The airline pack: tools, schemas, handlers, and the domain-free slicing in ``sim.pack``."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.sim.pack import DomainPack, find_keys, load_pack, pack_names
from clawloop_synth.sim.replay import _Runner
from clawloop_synth.sim.sandbox import compile_handler
from tests.sim.airline_data import gold_tasks, pack, state, traces

TOOL_NAMES = ("get_user_details", "get_reservation_details", "search_direct_flight", "search_onestop_flight",
              "list_all_airports", "book_reservation", "cancel_reservation", "update_reservation_flights",
              "update_reservation_baggages", "update_reservation_passengers", "send_certificate", "calculate",
              "think", "transfer_to_human_agents")


def test_fourteen_tools_compile_in_the_sandbox_and_have_valid_schemas() -> None:
    tools = load_pack("airline").tools
    assert [t.name for t in tools] == list(TOOL_NAMES) and len(tools) == 14
    for tool in tools:
        compile_handler(tool.handler)
        jsonschema.Draft202012Validator.check_schema(tool.parameters)
        assert tool.description
    assert {t.name for t in tools if t.writes} == {
        "book_reservation",
        "cancel_reservation",
        "update_reservation_flights",
        "update_reservation_baggages",
        "update_reservation_passengers",
        "send_certificate",
    }


def test_registry_and_missing_db_are_clear_errors() -> None:
    assert "airline" in pack_names()
    with pytest.raises(InputError, match="unknown domain"):
        load_pack("no-such-domain")
    with pytest.raises(InputError, match="needs a database folder"):
        load_pack("airline").load_state()


def test_missing_collection_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "users.json").write_text("{}")
    with pytest.raises(InputError) as info:
        load_pack("airline", tmp_path).load_state()
    assert "flights" in str(info.value)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("152 + 103", "255.0"),
        ("(158 + 161) * 3 + 3 * 30", "1047.0"),
        ("498 * 1.5", "747.0"),
        ("10 / 4", "2.5"),
        ("-2 ** 2", "-4.0"),
        ("2 ** -1", "0.5"),
        ("7 // 2", "3.0"),
        ("1 / 3", "0.33"),
        ("1 / 0", "Error: division by zero"),
        ("2 +", "Error: invalid syntax"),
        ("(1", "Error: invalid syntax"),
        ("import os", "Error: invalid characters in expression"),
        ("1.2.3", "Error: invalid syntax"),
    ],
)
def test_calculate_matches_python_arithmetic(expression: str, expected: str) -> None:
    tool = next(t for t in load_pack("airline").tools if t.name == "calculate")
    assert compile_handler(tool.handler)({}, {"expression": expression}) == expected


def test_every_recorded_call_fits_the_schemas(airline_trajectories: Path) -> None:
    validators = {t.name: jsonschema.Draft202012Validator(t.parameters) for t in load_pack("airline").tools}
    calls = [s.call for t in traces(airline_trajectories) for s in t.tool_steps()]
    gold = [a for t in traces(airline_trajectories) for a in t.gold_actions or []]
    assert len(calls) == 1164
    for call in [*calls, *gold]:
        errors = list(validators[call.name].iter_errors(call.arguments))
        assert not errors, (call.name, call.arguments, errors[0].message)


def test_slice_answers_the_reference_as_the_full_database_does(airline_trajectories: Path, airline_db: Path) -> None:
    runner = _Runner(pack(airline_db))
    full = state(airline_db)
    for task in gold_tasks(airline_trajectories, airline_db):
        small = json.loads(json.dumps(task.initial_state))
        refs = pack(airline_db).touched(full, [(c.name, c.arguments) for c in task.reference.calls])
        big = pack(airline_db).working_copy(full, refs)
        for call in task.reference.calls:
            assert runner.run(small, call.name, call.arguments)[1] == runner.run(big, call.name, call.arguments)[1], (
                task.id,
                call.name,
            )
        for name, table in small.items():  # what the reference touched ends up the same in both worlds
            for key in refs.get(name, set()) & set(table):
                if name != "flights":  # sliced flights keep only the days near the task's dates
                    assert table[key] == big[name][key], (task.id, name, key)


def test_slices_are_small_and_hold_distractors(airline_trajectories: Path, airline_db: Path) -> None:
    tasks = gold_tasks(airline_trajectories, airline_db)
    sizes = sorted(len(t.model_dump_json()) for t in tasks)
    assert sizes[len(sizes) // 2] < 50_000
    assert all(t.features.distractors > 0 for t in tasks)
    full = state(airline_db)
    for task in tasks:
        for name, table in task.initial_state.items():
            assert set(table) <= set(full[name])
            assert len(table) < len(full[name]) / 5


def test_working_copy_shares_untouched_entities_and_copies_touched_ones(airline_db: Path) -> None:
    full = state(airline_db)
    user = next(iter(full["users"]))
    copy = pack(airline_db).working_copy(full, {"users": {user}})
    assert copy["users"][user] == full["users"][user] and copy["users"][user] is not full["users"][user]
    other = list(full["users"])[1]
    assert copy["users"][other] is full["users"][other]
    copy["users"]["someone_new"] = {}
    assert "someone_new" not in full["users"]


def test_retail_database_loads_and_slices_through_the_same_machinery(shared_datasets: Path) -> None:
    retail = DomainPack(
        name="retail",
        tools=[],
        collections=("users", "products", "orders"),
        db=shared_datasets / "tau-bench" / "retail-db",
    )
    full = retail.load_state()
    assert {name: len(table) > 0 for name, table in full.items()} == {"users": True, "products": True, "orders": True}
    order_id = next(iter(full["orders"]))
    order = full["orders"][order_id]
    assert find_keys(full, {"order_id": order_id}) == {"orders": {order_id}}
    sliced = retail.slice_state(full, [("get_order_details", {"order_id": order_id})], distractors=1, seed="t")
    assert order_id in sliced["orders"] and order["user_id"] in sliced["users"]
    assert {item["product_id"] for item in order["items"]} <= set(sliced["products"])
    assert len(sliced["orders"]) < 20 and sliced == retail.slice_state(
        full, [("get_order_details", {"order_id": order_id})], distractors=1, seed="t"
    )
