"""Retail: the test writes its own traces over the tau-bench retail database, induces, replays held-out calls."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.induce import induce, induce_pack
from clawloop_synth.induce.state import load_db
from clawloop_synth.sim.pack_check import check_pack
from clawloop_synth.sim.pack_folder import load_pack
from clawloop_synth.sim.policy import check_and_transform
from clawloop_synth.sim.state import copy_state
from tests.induce.helpers import record, replay_db

DB = Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "tau-bench" / "retail-db"
pytestmark = pytest.mark.skipif(not DB.is_dir(), reason="the tau-bench retail database is not available")


def get_user_details(state: dict[str, Any], user_id: str) -> Any:
    if user_id not in state["users"]:
        return "Error: user not found"
    return state["users"][user_id]


def get_order_details(state: dict[str, Any], order_id: str) -> Any:
    if order_id not in state["orders"]:
        return "Error: order not found"
    return state["orders"][order_id]


def cancel_pending_order(state: dict[str, Any], order_id: str, reason: str) -> Any:
    if order_id not in state["orders"]:
        return "Error: order not found"
    order = state["orders"][order_id]
    if order["status"] != "pending":
        return "Error: non-pending order cannot be cancelled"
    order["status"] = "cancelled"
    order["cancel_reason"] = reason
    return order


BACKEND = {"get_user_details": get_user_details, "get_order_details": get_order_details,
           "cancel_pending_order": cancel_pending_order}


@pytest.fixture(scope="module")
def retail() -> tuple[dict[str, Any], list[Any]]:
    return make_retail()


def make_retail() -> tuple[dict[str, Any], list[Any]]:
    """60 trajectories: look a user and an order up, maybe a missing order, cancel, read the order again."""
    base = load_db(DB)
    rng = random.Random(7)
    users = sorted(u for u, v in base["users"].items() if v["orders"])
    traces = []
    for index in range(60):
        state = copy_state(base)
        user = rng.choice(users)
        orders = state["users"][user]["orders"]
        order = rng.choice(orders)
        calls: list[tuple[str, dict[str, Any]]] = [("get_user_details", {"user_id": user}),
                                                   ("get_order_details", {"order_id": order})]
        if index % 10 == 3:
            calls.append(("get_order_details", {"order_id": "#W0000000"}))
        calls.append(("cancel_pending_order", {"order_id": order, "reason": rng.choice(["no longer needed",
                                                                                       "ordered by mistake"])}))
        calls.append(("get_order_details", {"order_id": order}))
        traces.append(record(f"retail-{index}", f"task-{index % 20}", state, BACKEND, calls,
                             system="You are a retail customer service agent."))
    return base, traces


def test_induced_handlers_reproduce_held_out_calls(retail: tuple[dict[str, Any], list[Any]]) -> None:
    base, traces = retail
    train, held = traces[:45], traces[45:]
    induced = induce(train, db=DB)
    assert induced.writes == {"cancel_pending_order"}
    assert induced.policy == "You are a retail customer service agent."
    assert induced.collections["orders"] == "order_id"
    exact, total, missed = replay_db(induced.tools, held, DB)
    assert exact == total, missed[:3]
    cancels = [e for t in held for e in t.tool_steps() if e.call.name == "cancel_pending_order"]
    assert any("non-pending" in (s.result or "") for s in cancels) and any("cancelled" in (s.result or "")
                                                                          for s in cancels)


def test_pack_folder_and_induce_json_counts(retail: tuple[dict[str, Any], list[Any]], tmp_path: Path) -> None:
    _, traces = retail
    folder = induce_pack(traces, tmp_path / "retail", db=DB)
    report = json.loads((folder / "induce.json").read_text())
    calls: dict[str, int] = {}
    for trace in traces:
        for step in trace.tool_steps():
            calls[step.call.name] = calls.get(step.call.name, 0) + 1
    assert {tool: figures["seen"] for tool, figures in report["tools"].items()} == calls
    assert all(figures["reproduced"] == figures["seen"] for figures in report["tools"].values())
    assert report["collections"]["orders"] == {"key": "order_id", "entities": 1000}
    assert sorted(p.name for p in (folder / "handlers").iterdir()) == sorted(f"{t}.py" for t in calls)
    assert sorted(p.name for p in (folder / "state").iterdir()) == ["orders.json", "products.json", "users.json"]
    pack = load_pack(folder)  # the pack folder loads like any other
    assert pack.write_tools == {"cancel_pending_order"} and pack.key_fields["orders"] == "order_id"
    assert pack.policy == "You are a retail customer service agent."
    checked = check_pack(folder)
    assert checked.ok, checked.problems
    tools = json.loads((folder / "tools.json").read_text())
    assert {t["function"]["name"] for t in tools} == set(calls)
    for path in (folder / "handlers").iterdir():
        source = path.read_text()
        check_and_transform(source, path.name)  # the sandbox policy accepts every induced handler
        assert "import" not in source and "reproduces" in source
