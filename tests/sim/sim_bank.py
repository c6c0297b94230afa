"""A tiny bank domain (3 tools) for the simulator tests; ``make_task`` builds a sound task."""

from __future__ import annotations

from typing import Any

from clawloop_synth.types import (
    Checks,
    JsonAssertion,
    PlannedCall,
    Provenance,
    Solution,
    TaskSpec,
    ToolSpec,
)

GET_ACCOUNT = '''
def invoke(state, account_id):
    account = state["accounts"].get(account_id)
    if account is None:
        return "Error: account " + account_id + " not found"
    return {"account_id": account_id, "owner": account["owner"], "balance": account["balance"]}
'''

TRANSFER = '''
def invoke(state, source, target, amount):
    accounts = state["accounts"]
    if source not in accounts or target not in accounts:
        return "Error: unknown account"
    if amount <= 0:
        raise ValueError("amount must be positive")
    if accounts[source]["balance"] < amount:
        return "Error: insufficient funds"
    accounts[source]["balance"] -= amount
    accounts[target]["balance"] += amount
    state["log"].append({"source": source, "target": target, "amount": amount})
    return {"ok": True, "balance": accounts[source]["balance"]}
'''

FREEZE = '''
def invoke(state, account_id):
    state["accounts"][account_id]["frozen"] = True
    return "frozen " + account_id
'''


def tools(freeze_writes: bool = True) -> list[ToolSpec]:
    account = {"type": "object", "properties": {"account_id": {"type": "string"}},
               "required": ["account_id"], "additionalProperties": False}
    transfer = {
        "type": "object",
        "properties": {"source": {"type": "string"}, "target": {"type": "string"},
                       "amount": {"type": "integer"}},
        "required": ["source", "target", "amount"],
        "additionalProperties": False,
    }
    return [
        ToolSpec(name="get_account", description="Look up an account.", parameters=account, handler=GET_ACCOUNT),
        ToolSpec(name="transfer", description="Move money.", parameters=transfer, handler=TRANSFER, writes=True),
        ToolSpec(name="freeze", description="Freeze an account.", parameters=account, handler=FREEZE,
                 writes=freeze_writes),
    ]


def initial_state() -> dict[str, Any]:
    return {
        "accounts": {
            "A1": {"owner": "Ann", "balance": 1500, "frozen": False},
            "B2": {"owner": "Bob", "balance": 20, "frozen": False},
            "C3": {"owner": "Cid", "balance": 0, "frozen": False},
        },
        "log": [],
    }


def make_task(**overrides: Any) -> TaskSpec:
    fields: dict[str, Any] = {
        "id": "bank-1",
        "domain": "bank",
        "instruction": "Move 1,000 from Ann (A1) to Bob (B2), then freeze A1 and tell me Bob's new balance.",
        "tools": tools(),
        "initial_state": initial_state(),
        "reference": Solution(
            calls=[
                PlannedCall(name="get_account", arguments={"account_id": "A1"}),
                PlannedCall(name="transfer", arguments={"source": "A1", "target": "B2", "amount": 1000}),
                PlannedCall(name="freeze", arguments={"account_id": "A1"}),
            ],
            answer="Done: Bob now has 1,020.",
        ),
        "failure_exemplar": Solution(
            calls=[PlannedCall(name="transfer", arguments={"source": "A1", "target": "B2", "amount": 1000})],
            answer="Bob now has 1020.",
        ),
        "checks": Checks(
            required_outputs=["1,020"],
            assertions=[JsonAssertion(expression="accounts.A1.frozen", expected=True)],
        ),
        "provenance": Provenance(generator="test"),
    }
    fields.update(overrides)
    return TaskSpec(**fields)
