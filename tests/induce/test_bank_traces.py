"""A domain the project has never seen (a small bank), from traces alone: induce, then replay held-out runs."""

from __future__ import annotations

import random
from typing import Any

from clawloop_synth.induce import induce, to_domain_pack
from clawloop_synth.induce.examples import collect_calls
from clawloop_synth.induce.state import seed_from_reads
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import Trace
from tests.induce.helpers import record, replay_exact

POLICY = "You are the assistant of Northwind Bank. Verify the account before moving money."


def get_account(state: dict[str, Any], account_id: str) -> Any:
    account = state["accounts"].get(account_id)
    return "Error: account " + account_id + " not found" if account is None else account


def list_accounts(state: dict[str, Any], owner: str) -> Any:
    return [a for a in state["accounts"].values() if a["owner"] == owner]


def deposit(state: dict[str, Any], account_id: str, amount: int) -> Any:
    account = state["accounts"].get(account_id)
    if account is None:
        return "Error: account " + account_id + " not found"
    if account["status"] != "open":
        return "Error: account " + account_id + " is frozen"
    account["balance"] += amount
    return account


def withdraw(state: dict[str, Any], account_id: str, amount: int) -> Any:
    account = state["accounts"].get(account_id)
    if account is None:
        return "Error: account " + account_id + " not found"
    if account["status"] != "open":
        return "Error: account " + account_id + " is frozen"
    if account["balance"] < amount:
        return "Error: insufficient funds"
    account["balance"] -= amount
    return account


def freeze_account(state: dict[str, Any], account_id: str) -> Any:
    account = state["accounts"].get(account_id)
    if account is None:
        return "Error: account " + account_id + " not found"
    account["status"] = "frozen"
    return account


BACKEND = {"get_account": get_account, "list_accounts": list_accounts, "deposit": deposit, "withdraw": withdraw,
           "freeze_account": freeze_account}
OWNERS = ["ana", "bo", "cy", "dee", "eli", "fay"]


def bank_state(rng: random.Random) -> dict[str, Any]:
    accounts = {}
    for number in range(24):
        key = f"AC-{1000 + number}"
        accounts[key] = {"account_id": key, "owner": OWNERS[number % len(OWNERS)], "kind": rng.choice(["checking",
                         "savings"]), "balance": rng.randrange(0, 500), "status": "open" if number % 5 else "frozen"}
    return {"accounts": accounts}


def bank_traces(count: int = 80) -> list[Trace]:
    rng = random.Random(3)
    base = bank_state(rng)
    traces = []
    for index in range(count):
        state = copy_state(base)
        owner = rng.choice(OWNERS)
        mine = [k for k, a in state["accounts"].items() if a["owner"] == owner]
        account = rng.choice(mine)
        calls: list[tuple[str, dict[str, Any]]] = [("list_accounts", {"owner": owner}),
                                                   ("get_account", {"account_id": account})]
        action = index % 4
        if action == 0:
            calls.append(("deposit", {"account_id": account, "amount": rng.randrange(1, 300)}))
        elif action == 1:
            calls.append(("withdraw", {"account_id": account, "amount": rng.randrange(1, 600)}))
        elif action == 2:
            calls.append(("freeze_account", {"account_id": account}))
            calls.append(("deposit", {"account_id": account, "amount": 10}))
        else:
            calls.append(("get_account", {"account_id": "AC-9999"}))
            calls.append(("withdraw", {"account_id": account, "amount": rng.randrange(1, 200)}))
        calls.append(("get_account", {"account_id": account}))
        traces.append(record(f"bank-{index}", f"bank-task-{index % 16}", state, BACKEND, calls, system=POLICY))
    return traces


def test_traces_only_induction_of_an_unseen_domain() -> None:
    traces = bank_traces()
    train, held = traces[:64], traces[64:]
    induced = induce(train)
    assert induced.policy == POLICY
    assert induced.writes == {"deposit", "withdraw", "freeze_account"}
    assert "accounts" in induced.collections and induced.collections["accounts"] == "account_id"
    assert len(induced.state["accounts"]) >= 20  # reconstructed from read results
    report = induced.report["tools"]
    assert report["get_account"]["kind"].startswith("lookup") and report["list_accounts"]["kind"].startswith("search")
    # The search is declared for slicing: a call touches every account of the owner it names.
    assert [(s.tool, s.collection, s.match) for s in to_domain_pack(induced).searches] == [
        ("list_accounts", "accounts", {"owner": "owner"})]

    def seeded(trace: Trace) -> dict[str, Any]:
        state: dict[str, Any] = {}
        seed_from_reads(collect_calls([trace])[0], state, dict(induced.collections), induced.writes, True)
        return state

    exact, total, missed = replay_exact(induced.tools, held, seeded)
    assert exact == total, missed[:3]


def test_inferred_schemas_have_types_required_fields_and_enums() -> None:
    induced = induce(bank_traces(40))
    schemas = {spec.name: spec.parameters for spec in induced.tools}
    assert schemas["deposit"]["properties"]["amount"] == {"type": "integer"}
    assert schemas["deposit"]["required"] == ["account_id", "amount"]
    assert schemas["list_accounts"]["properties"]["owner"]["enum"] == OWNERS


def open_account(state: dict[str, Any], owner: str, kind: str) -> Any:
    number = 2000
    while f"AC-{number}" in state["accounts"]:
        number += 1
    account = {"account_id": f"AC-{number}", "owner": owner, "kind": kind, "balance": 0, "status": "open"}
    state["accounts"][account["account_id"]] = account
    return account


def test_a_create_runs_on_a_state_without_its_collection() -> None:
    # Regression: a created entity's collection may be absent from a state seeded from reads alone.
    backend = {**BACKEND, "open_account": open_account}
    rng = random.Random(5)
    traces = []
    for index in range(12):
        state = bank_state(rng)
        owner = OWNERS[index % len(OWNERS)]
        calls: list[tuple[str, dict[str, Any]]] = [("list_accounts", {"owner": owner}),
                                                   ("open_account", {"owner": owner, "kind": "savings"})]
        traces.append(record(f"open-{index}", f"open-{index % 3}", state, backend, calls, system=POLICY))
    induced = induce(traces[:8])
    assert induced.report["tools"]["open_account"]["kind"] == "create in accounts"
    held = [trace for trace in traces[8:]]
    exact, total, missed = replay_exact([s for s in induced.tools if s.name == "open_account"] + [
        s for s in induced.tools if s.name == "list_accounts"], held, lambda trace: {})
    # On an empty state the search finds nothing (recorded: the owner's accounts), the create succeeds.
    assert total == 8 and exact == 4, missed


def test_a_task_s_own_ids_repeated_over_its_trials_are_not_an_enum() -> None:
    # Four trials of each of four tasks, each closing its own account for its own reason: each value
    # repeats 4 times, but within one task, so both are plain strings; the kind, chosen across tasks, is an enum.
    def close(state: dict[str, Any], account_id: str, kind: str, reason: str) -> Any:
        return {"account_id": account_id, "kind": kind, "status": "closed"}

    traces = [record(f"t{task}-{trial}", f"task{task}", {}, {"close_account": close},
                     [("close_account", {"account_id": f"AC-{1000 + task}", "kind": ("checking", "savings")[task % 2],
                                         "reason": f"moving to city {task}"})])
              for task in range(4) for trial in range(4)]
    schema = {spec.name: spec.parameters for spec in induce(traces).tools}["close_account"]
    assert schema["properties"]["account_id"] == {"type": "string"}
    assert schema["properties"]["reason"] == {"type": "string"}
    assert schema["properties"]["kind"]["enum"] == ["checking", "savings"]
