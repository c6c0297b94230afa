"""`clawloop-synth pack check`: one line per problem and exit 1; the shipped packs pass."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.sim import compile_handler
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.sim.pack_check import check_pack

_GOOD_HANDLER = ("def invoke(state, account_id):\n"
                 "    account = state['accounts'].get(account_id)\n"
                 "    if account is None:\n"
                 "        return 'Error: account not found'\n"
                 "    return account\n")


def _bank(folder: Path) -> Path:
    """A small valid pack: accounts and transfers, one read and one write."""
    (folder / "handlers").mkdir(parents=True)
    (folder / "state").mkdir()
    (folder / "pack.toml").write_text('name = "bank"\nwrites = ["transfer_funds"]\n'
                                      '[collections.accounts]\nkey = "account_id"\n'
                                      '[collections.transfers]\nkey = "transfer_id"\n')
    obj = {"type": "object", "properties": {"account_id": {"type": "string"}}, "required": ["account_id"]}
    transfer = {"type": "object", "required": ["source", "target", "amount"],
                "properties": {"source": {"type": "string"}, "target": {"type": "string"},
                               "amount": {"type": "number", "minimum": 0}}}
    tools = [{"type": "function", "function": {"name": "get_account", "description": "Read one.", "parameters": obj}},
             {"type": "function", "function": {"name": "transfer_funds", "description": "Move money.",
                                               "parameters": transfer}}]
    (folder / "tools.json").write_text(json.dumps(tools))
    (folder / "handlers" / "get_account.py").write_text(_GOOD_HANDLER)
    (folder / "handlers" / "transfer_funds.py").write_text(
        "def invoke(state, source, target, amount):\n"
        "    accounts = state['accounts']\n"
        "    if source not in accounts or target not in accounts:\n"
        "        return 'Error: account not found'\n"
        "    if accounts[source]['balance'] < amount:\n"
        "        return 'Error: insufficient funds'\n"
        "    accounts[source]['balance'] -= amount\n"
        "    accounts[target]['balance'] += amount\n"
        "    tid = 'T' + str(len(state['transfers']) + 1)\n"
        "    state['transfers'][tid] = {'transfer_id': tid, 'source': source, 'target': target, 'amount': amount}\n"
        "    return state['transfers'][tid]\n")
    accounts = {"A1": {"account_id": "A1", "balance": 100}, "A2": {"account_id": "A2", "balance": 5}}
    (folder / "state" / "accounts.json").write_text(json.dumps(accounts))
    (folder / "state" / "transfers.json").write_text("{}")
    (folder / "rules").mkdir()
    (folder / "rules" / "no_overdraft.py").write_text(
        "def check(state, call):\n"
        "    if call['name'] == 'transfer_funds':\n"
        "        source = state['accounts'].get(call['arguments']['source'])\n"
        "        if source is not None and source['balance'] < call['arguments']['amount']:\n"
        "            return 'a transfer may not overdraw the source account'\n"
        "    return None\n")
    return folder


def test_a_valid_user_pack_passes(tmp_path: Path) -> None:
    report = check_pack(_bank(tmp_path / "bank"))
    assert report.ok, report.problems
    assert report.calls >= 6 and report.rules == 1 and report.collections == 2
    result = CliRunner().invoke(app, ["pack", "check", str(tmp_path / "bank")])
    assert result.exit_code == 0 and result.output.startswith("OK: pack 'bank'")
    # A rule runs in the sandbox as check(state, call).
    pack = load_pack(tmp_path / "bank")
    rule = compile_handler(pack.rules["no_overdraft"], entry="check")
    state = pack.load_state()
    big = {"name": "transfer_funds", "arguments": {"source": "A2", "target": "A1", "amount": 50}}
    assert rule(state, {"call": big}) == "a transfer may not overdraw the source account"
    assert rule(state, {"call": {**big, "arguments": {**big["arguments"], "amount": 1}}}) is None


def test_broken_pack_prints_one_line_per_problem_and_exits_1(tmp_path: Path) -> None:
    folder = _bank(tmp_path / "bank")
    (folder / "handlers" / "get_account.py").write_text("import os\n" + _GOOD_HANDLER)
    tools = json.loads((folder / "tools.json").read_text())
    tools[1]["function"]["parameters"]["properties"]["amount"]["type"] = "money"  # not a JSON Schema type
    (folder / "tools.json").write_text(json.dumps(tools))
    (folder / "state" / "transfers.json").unlink()
    result = CliRunner().invoke(app, ["pack", "check", str(folder)])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    problems, tail = lines[:-1], lines[-1]
    assert tail == f"3 problem(s) in {folder}"
    assert len(problems) == 3, problems
    assert any("handlers/get_account.py" in p and "Import is not allowed" in p for p in problems)
    assert any("tools.json, tool 'transfer_funds'" in p and "not a valid JSON Schema" in p for p in problems)
    assert any("transfers.json" in p and "missing collection 'transfers'" in p for p in problems)
    assert "Traceback" not in result.output


def test_handler_that_crashes_on_schema_valid_arguments_is_a_problem(tmp_path: Path) -> None:
    folder = _bank(tmp_path / "bank")
    # A KeyError on an unknown account: the schema allows any string, so the handler must answer, not crash.
    (folder / "handlers" / "get_account.py").write_text("def invoke(state, account_id):\n"
                                                        "    return state['accounts'][account_id]['balance']\n")
    (folder / "rules" / "bad.py").write_text("def rule(state, call):\n    return None\n")
    report = check_pack(folder)
    assert len(report.problems) == 2, report.problems
    assert any("handlers/get_account.py: crashed on schema-valid arguments" in p and "KeyError" in p
               for p in report.problems)
    assert any("rules/bad.py: defines no `def check(state, call)`" in p for p in report.problems)


def test_unreadable_pack_is_one_line(tmp_path: Path) -> None:
    folder = _bank(tmp_path / "bank")
    (folder / "pack.toml").write_text('name = "bank"\nflavour = 1\n')
    result = CliRunner().invoke(app, ["pack", "check", str(folder)])
    assert result.exit_code == 1 and "unknown key 'flavour'" in result.output


def test_shipped_packs_pass(airline_db: Path) -> None:
    for args in (["demo"], ["airline"], ["airline", "--db", str(airline_db)]):
        result = CliRunner().invoke(app, ["pack", "check", *args])
        assert result.exit_code == 0, result.output
        assert result.output.startswith("OK: pack")
