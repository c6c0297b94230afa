"""Issue 11, defects 6 and 7: mining uses the traces' own tools; `run` stops with one line when the
traces fit no pack or carry no reward; "located" does not count the unexplained placeholder."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from clawloop_synth.mine.context import build_context
from clawloop_synth.mine.miner import mine_trace
from clawloop_synth.mine.stage import run_mine
from clawloop_synth.mine.toolset import matching_packs, near_miss, pack_mismatch, tools_match
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.store import save_records
from clawloop_synth.types import Message

from .helpers import call, result, trace

ROOT = Path(__file__).resolve().parents[2]


def _bank_record(n: int, reward: float | None) -> dict[str, Any]:
    """A small bank assistant's chat trace, in OpenAI chat form with no `tools` field."""
    account = f"ACC-{1000 + n}"
    calls = [("get_balance", {"account_id": account}, json.dumps({"balance": 120.5 + n})),
             ("transfer_funds", {"from_account": account, "to_account": "ACC-2000", "amount": 50},
              json.dumps({"status": "ok"}) if reward else "Error: daily transfer limit reached")]
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "You are the assistant of a small bank."},
        {"role": "user", "content": f"Please move 50 dollars from {account} to my savings ACC-2000."}]
    for i, (name, args, out) in enumerate(calls):
        cid = f"call_{n}_{i}"
        messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": cid, "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]})
        messages.append({"role": "tool", "tool_call_id": cid, "name": name, "content": out})
    messages.append({"role": "assistant", "content": "Done." if reward else "Sorry, that did not work."})
    record: dict[str, Any] = {"id": f"bank-{n}", "task_id": f"bank-task-{n % 3}", "messages": messages}
    if reward is not None:
        record["reward"] = reward
    return record


def _write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clawloop_synth", *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_tools_match_needs_the_same_tool_names() -> None:
    demo = [t.name for t in load_pack("demo").tools]
    assert tools_match({"find_patient": 30, "book_appointment": 9, "payInvoiceTool": 1}, demo)
    assert not tools_match(["get_balance", "transfer_funds"], demo)
    assert not tools_match({}, demo)  # no tool use says nothing about the domain
    assert matching_packs({"get_balance": 3}, {"demo": demo, "bank": ["get_balance", "transfer_funds"]}) == ["bank"]
    line = pack_mismatch({"get_balance": 3}, "demo", {"demo": demo})
    assert line is not None and "\n" not in line and "--pack PATH" in line and "induce" in line
    assert "--pack airline" in (pack_mismatch({"get_user_details": 3}, "demo",
                                                {"demo": demo, "airline": ["get_user_details"]}) or "")


def test_another_domains_traces_get_no_false_nonexistent_tool_findings(tmp_path: Path) -> None:
    from clawloop_synth.ingest.stage import run_ingest

    src = _write(tmp_path / "bank.jsonl", [_bank_record(n, 1.0 if n % 2 else 0.0) for n in range(8)])
    run_ingest([src], tmp_path / "w")
    summary = run_mine(tmp_path / "w", list(load_pack("demo").tools))
    assert summary["pack_applied"] is False and summary["tools_from"] == "calls"
    assert "agent/action/nonexistent_tool" not in summary["by_code"]
    assert summary["by_code"]  # the real error (the transfer limit) is still found


def test_run_refuses_a_given_pack_the_traces_do_not_fit_instead_of_making_its_tasks(tmp_path: Path) -> None:
    src = _write(tmp_path / "bank.jsonl", [_bank_record(n, 1.0 if n % 2 else 0.0) for n in range(8)])
    work = tmp_path / "w"
    proc = _cli("run", "-w", str(work), "-i", str(src), "--pack", "demo")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert len(_lines(proc.stderr)) == 1 and "match no known domain pack" in proc.stderr
    assert "--pack PATH" in proc.stderr and "Traceback" not in proc.stderr
    assert (work / "mine.json").exists() and not (work / "cluster.json").exists()
    assert not (work / "generate.json").exists() and not (work / "export").exists()


def test_run_on_unrated_traces_says_so_and_stops_after_mine(tmp_path: Path) -> None:
    src = _write(tmp_path / "bank.jsonl", [_bank_record(n, None) for n in range(7)])
    work = tmp_path / "w"
    proc = _cli("run", "-w", str(work), "-i", str(src))
    assert proc.returncode == 1
    assert "none of the 7 traces has a reward: nothing counts as failed" in proc.stderr
    assert "coverage" not in proc.stderr and len(_lines(proc.stderr)) == 1
    assert "(none has a reward)" in proc.stdout
    assert not (work / "cluster.json").exists()


def test_located_does_not_count_the_unexplained_placeholder(tmp_path: Path) -> None:
    explained = trace([call("get_flight", 1, flight="F1"), result("get_flight", 1, "Error: flight F1 not found", True),
                       Message(role="assistant", content="Sorry.")], trace_id="a")
    silent = trace([Message(role="assistant", content="Bye.")], trace_id="b")
    save_records(tmp_path / "traces", [explained, silent])
    summary = run_mine(tmp_path)
    assert summary["failed_traces"] == 2 and summary["unexplained_traces"] == 1
    assert summary["failed_traces_located"] == 1


def test_near_miss_names_are_misnamed_not_made_up() -> None:
    declared = ["maps.get_distance", "get_appointment", "book"]
    assert near_miss("maps_get_distance", declared) == "maps.get_distance"
    assert near_miss("GetAppointment", declared) == "get_appointment"
    assert near_miss("get_appointments", declared) == "get_appointment"
    assert near_miss("fly_me", declared) is None and near_miss("boot", declared) is None
    schema = {"type": "function", "function": {"name": "maps.get_distance", "parameters": {"type": "object"}}}
    t = trace([call("maps_get_distance", 1), result("maps_get_distance", 1, "12 km"), call("fly_me", 2),
               result("fly_me", 2, "?")], tools=[schema])
    got = {(f.code, f.detail) for f in mine_trace(t, build_context([t]))}
    assert ("agent/action/misnamed_tool", "maps_get_distance for maps.get_distance") in got
    assert ("agent/action/nonexistent_tool", "no tool named fly_me") in got


def test_calls_alone_give_no_nonexistent_tool_evidence() -> None:
    t = trace([call("anything", 1), result("anything", 1, "fine")])
    assert not [f for f in mine_trace(t, build_context([t])) if f.signal == "schema"]
