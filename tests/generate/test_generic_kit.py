"""The generic kit: verified tasks in a pack no kit was written for, worded like its own traces."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from clawloop_synth.generate.base import GenerationRequest, Verdict
from clawloop_synth.generate.gate import mined_codes
from clawloop_synth.generate.procedural import ProceduralGenerator
from clawloop_synth.generate.procedural.wording import request_templates
from clawloop_synth.sim.pack import DomainPack, load_pack
from clawloop_synth.sim.verify import verify
from clawloop_synth.types import FailureCluster, Message, TaskSpec, ToolCall, Trace

OWNERS = ["Dana Reyes", "Omar Haddad", "Lin Wei", "Priya Nair", "Tomas Berg", "Ada Obi", "Ivo Petrov", "Mae Lund"]


def _bank(folder: Path) -> DomainPack:
    """A bank the project never saw: accounts with owners and balances, transfers between them."""
    (folder / "handlers").mkdir(parents=True)
    (folder / "state").mkdir()
    (folder / "pack.toml").write_text('name = "bank"\ndescription = "A retail bank assistant."\n'
                                      'writes = ["transfer_funds"]\n'
                                      '[collections.accounts]\nkey = "account_id"\n'
                                      '[collections.transfers]\nkey = "transfer_id"\n')
    (folder / "policy.md").write_text("You are the bank's assistant. Check an account before you move money.\n")
    account = {"type": "object", "properties": {"account_id": {"type": "string"}}, "required": ["account_id"]}
    transfer = {"type": "object", "required": ["source", "target", "amount"],
                "properties": {"source": {"type": "string", "description": "Account to take money from."},
                               "target": {"type": "string", "description": "Account to pay into."},
                               "amount": {"type": "number", "minimum": 0}}}
    tools = [{"type": "function", "function": {"name": "get_account", "description": "Look an account up.",
                                               "parameters": account}},
             {"type": "function", "function": {"name": "transfer_funds", "description": "Move money between "
                                               "two accounts.", "parameters": transfer}}]
    (folder / "tools.json").write_text(json.dumps(tools))
    (folder / "handlers" / "get_account.py").write_text(
        "def invoke(state, account_id):\n"
        "    account = state['accounts'].get(account_id)\n"
        "    if account is None:\n"
        "        return 'Error: account ' + account_id + ' not found'\n"
        "    return account\n")
    (folder / "handlers" / "transfer_funds.py").write_text(
        "def invoke(state, source, target, amount):\n"
        "    accounts = state['accounts']\n"
        "    if source not in accounts or target not in accounts:\n"
        "        return 'Error: account not found'\n"
        "    if source == target:\n"
        "        return 'Error: source and target are the same account'\n"
        "    if accounts[source]['balance'] < amount:\n"
        "        return 'Error: insufficient funds'\n"
        "    accounts[source]['balance'] = accounts[source]['balance'] - amount\n"
        "    accounts[target]['balance'] = accounts[target]['balance'] + amount\n"
        "    number = state['accounts'][source]['transfers_made'] + 1\n"
        "    accounts[source]['transfers_made'] = number\n"
        "    tid = 'TR-' + source + '-' + str(number)\n"
        "    state['transfers'][tid] = {'transfer_id': tid, 'source': source, 'target': target, 'amount': amount}\n"
        "    return state['transfers'][tid]\n")
    accounts = {f"ACC-{1001 + k}": {"account_id": f"ACC-{1001 + k}", "owner": owner, "balance": 100 + 50 * k,
                                    "transfers_made": 0}
                for k, owner in enumerate(OWNERS)}
    (folder / "state" / "accounts.json").write_text(json.dumps(accounts))
    (folder / "state" / "transfers.json").write_text("{}")
    return load_pack(folder)


def _trace(k: int, owner: str, source: str, target: str, amount: int, state: dict) -> Trace:
    account = json.dumps(state["accounts"][source])
    tid = f"TR-{source}-1"
    done = json.dumps({"transfer_id": tid, "source": source, "target": target, "amount": amount})
    return Trace(id=f"bank-{k}", source="openai_chat", messages=[
        Message(role="system", content="You are the bank's assistant."),
        Message(role="user", content=f"Hello, {owner} here. Could you send {amount} dollars from my account "
                                     f"{source} to {target}? Thanks!"),
        Message(role="assistant", tool_calls=[ToolCall(id="c1", name="get_account",
                                                       arguments={"account_id": source})]),
        Message(role="tool", tool_call_id="c1", name="get_account", content=account),
        Message(role="assistant", tool_calls=[ToolCall(id="c2", name="transfer_funds",
                                                       arguments={"source": source, "target": target,
                                                                  "amount": amount})]),
        Message(role="tool", tool_call_id="c2", name="transfer_funds", content=done),
        Message(role="assistant", content=f"Done, transfer {tid}."),
    ], reward=1.0)


@pytest.fixture()
def bank(tmp_path: Path) -> tuple[DomainPack, dict, list[Trace]]:
    pack = _bank(tmp_path / "bank")
    state = pack.load_state()
    traces = [_trace(0, "Dana Reyes", "ACC-1001", "ACC-1002", 20, state),
              _trace(1, "Lin Wei", "ACC-1003", "ACC-1005", 35, state),
              _trace(2, "Ada Obi", "ACC-1006", "ACC-1001", 10, state)]
    return pack, state, traces


def _request(code: str, pack: DomainPack, state: dict, traces: list[Trace], count: int = 3) -> GenerationRequest:
    cluster = FailureCluster(id="c00", label=code, codes=[code], size=1, member_ids=[], exemplar_ids=[])
    return GenerationRequest(cluster=cluster, target_code=code, exemplars=[], domain=pack.name, pack=pack,
                             state=state, traces=traces, count=count, seed=3, id_prefix="bank-c00")


def test_templates_replace_entities_by_slots(bank: tuple[DomainPack, dict, list[Trace]]) -> None:
    pack, state, traces = bank
    (first, *_) = request_templates(pack, state, traces)["transfer_funds"]
    assert first.text == ("Hello, {source.owner} here. Could you send {arg:amount} dollars from my account "
                          "{arg:source} to {arg:target}? Thanks!")


@pytest.mark.parametrize("code", ["agent/action/missing_action", "agent/action/wrong_argument"])
def test_verified_tasks_come_out_of_a_pack_with_no_kit(bank: tuple[DomainPack, dict, list[Trace]],
                                                       code: str) -> None:
    pack, state, traces = bank
    out = list(ProceduralGenerator().propose(_request(code, pack, state, traces), lambda t: Verdict(True)))
    tasks: list[TaskSpec] = [c.task for c in out if c.task is not None]
    assert len(tasks) == 3, [c.detail for c in out]
    recorded = {t.messages[1].content for t in traces}
    for task in tasks:
        assert verify(task).ok and code in mined_codes(task)
        assert task.domain == "bank" and task.policy == pack.policy
        assert task.instruction.startswith("Hello, ") and "Could you send" in task.instruction
        assert not any(task.instruction.startswith(text) for text in recorded)  # new entities, same wording
        write = task.reference.calls[-1]
        assert write.name == "transfer_funds"
        assert task.initial_state["accounts"][write.arguments["source"]]["owner"] in task.instruction
        # The new transfer's id is the simulator's own (the same in every task): not a required output.
        assert not any(out.startswith("TR-") for out in task.checks.required_outputs)
        assert any(value.startswith("TR-") for value in task.reference.answer.split())


def test_without_traces_the_wording_falls_back_to_the_tool_description(
        bank: tuple[DomainPack, dict, list[Trace]]) -> None:
    pack, state, _ = bank
    out = list(ProceduralGenerator(attempts_per_task=40).propose(
        _request("agent/action/missing_action", pack, state, [], count=2), lambda t: Verdict(True)))
    tasks = [c.task for c in out if c.task is not None]
    assert len(tasks) == 2, [c.detail for c in out]
    for task in tasks:
        assert verify(task).ok
        assert task.instruction.startswith("I need this done: move money between two accounts.")
        write = task.reference.calls[-1]
        assert all(str(value) in task.instruction for value in write.arguments.values())


def test_the_kit_also_asks_questions_a_lookup_answers_and_two_writes(
        bank: tuple[DomainPack, dict, list[Trace]]) -> None:
    import random

    from clawloop_synth.generate.graph import build_graph
    from clawloop_synth.generate.procedural.base import BaseTask, KitContext
    from clawloop_synth.generate.procedural.generic import GenericKit

    pack, state, traces = bank
    ctx = KitContext(pack, state, build_graph(traces, pack.write_tools), traces=traces)
    draws = GenericKit().base_tasks(ctx, random.Random(1))
    bases = [b for b in (next(draws) for _ in range(60)) if isinstance(b, BaseTask)]
    questions = [b for b in bases if not b.write_indices() and b.forbidden is None]
    doubles = [b for b in bases if len(b.write_indices()) == 2]
    assert questions and doubles and len(bases) > len(questions) + len(doubles)
    for base in questions:  # a lookup, and an answer only its result gives
        assert [c.name for c in base.calls] == ["get_account"] and base.outputs
        assert all(out not in base.instruction for out in base.outputs)
        assert any(out in str(state["accounts"][base.calls[0].arguments["account_id"]]) for out in base.outputs)
    for base in doubles:  # two different transfers from the account the user asks for first
        first, second = (base.calls[i] for i in base.write_indices())
        assert first != second and first.arguments["source"] == second.arguments["source"]
        assert " Also: " in base.instruction


def _refusals(pack: DomainPack, traces: list[Trace], draws: int = 120) -> list:
    import random

    from clawloop_synth.generate.graph import build_graph
    from clawloop_synth.generate.procedural.base import BaseTask, KitContext
    from clawloop_synth.generate.procedural.generic import GenericKit

    ctx = KitContext(pack, pack.load_state(), build_graph(traces, pack.write_tools), traces=traces)
    kit = GenericKit().base_tasks(ctx, random.Random(2))
    return [b for b in (next(kit) for _ in range(draws)) if isinstance(b, BaseTask) and b.forbidden is not None]


def test_a_pack_without_rules_gets_refusals_of_writes_its_handler_refuses(
        bank: tuple[DomainPack, dict, list[Trace]]) -> None:
    from clawloop_synth.generate.procedural.base import scratch_task
    from clawloop_synth.sim.env import SimEnv

    pack, state, traces = bank
    refusals = _refusals(pack, traces)
    assert refusals
    for base in refusals:  # no write; a lookup; the fallback answer is a field only the lookup shows
        assert base.kind.startswith("refusal: transfer_funds") and not base.write_indices()
        assert [c.name for c in base.calls] == ["get_account"] and base.outputs
        assert all(out not in base.instruction for out in base.outputs)
        assert SimEnv(scratch_task(pack.tools, base.state)).step(base.forbidden).is_error


def test_a_rule_makes_refusals_and_a_handoff_tool_makes_transfers(tmp_path: Path) -> None:
    pack = _bank(tmp_path / "bank")
    folder = tmp_path / "bank"
    (folder / "rules").mkdir()
    (folder / "rules" / "small_transfers.py").write_text(
        "tools = ['transfer_funds']\n"
        "def check(state, call):\n"
        "    if call['arguments']['amount'] > 15:\n"
        "        return 'transfers above 15 need a branch visit.'\n"
        "    return None\n")
    tools = json.loads((folder / "tools.json").read_text())
    summary = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
    tools.append({"type": "function", "function": {"name": "transfer_to_human_agents",
                                                   "description": "Hand the user to a person.",
                                                   "parameters": summary}})
    (folder / "tools.json").write_text(json.dumps(tools))
    (folder / "handlers" / "transfer_to_human_agents.py").write_text(
        "def invoke(state, summary):\n    return 'Transfer successful'\n")
    pack = load_pack(folder)
    state = pack.load_state()
    traces = [_trace(0, "Dana Reyes", "ACC-1001", "ACC-1002", 20, state),
              _trace(1, "Lin Wei", "ACC-1003", "ACC-1005", 35, state)]
    refusals = _refusals(pack, traces, 200)
    kinds = {b.kind.split(":")[0] for b in refusals}
    assert any(b.forbidden.arguments["amount"] > 15 and "branch visit" in b.answer for b in refusals)
    assert kinds == {"refusal", "transfer"}
    for base in refusals:
        if base.forbidden.arguments["amount"] > 15:  # the rule's reason is the answer's
            assert "branch visit" in base.answer
        if base.kind.startswith("transfer"):
            assert base.calls[-1].name == "transfer_to_human_agents"


def test_without_rules_an_extra_action_is_a_write_on_what_the_user_only_asked_about(
        bank: tuple[DomainPack, dict, list[Trace]]) -> None:
    pack, state, traces = bank  # no rules: a refusal's complying call errors, so it could not be an extra action
    out = list(ProceduralGenerator().propose(_request("agent/action/extra_action", pack, state, traces, count=8),
                                             lambda t: Verdict(True)))
    tasks = [c.task for c in out if c.task is not None]
    asked = [t for t in tasks if not any(c.name == "transfer_funds" for c in t.reference.calls)]
    assert asked, [t.kind for t in tasks]
    for task in asked:
        assert verify(task).ok and "agent/action/extra_action" in mined_codes(task)
        assert "please don't change anything" in task.instruction
        (lookup,) = task.reference.calls
        extra = task.failure_exemplar.calls[-1]
        assert extra.name == "transfer_funds" and lookup.arguments["account_id"] in extra.arguments.values()
