"""`run` on a domain the project has never seen: no built-in pack fits the traces' tools, so the run
induces a pack from the traces into the work directory and builds verified tasks in it (issue 12)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from clawloop_synth.types import Trace
from tests.induce.test_bank_traces import bank_traces

ROOT = Path(__file__).resolve().parents[1]
WRITES = ("deposit", "withdraw", "freeze_account")


def _chat_record(trace: Trace) -> dict[str, Any]:
    """The trace as an OpenAI chat JSONL record, rated: a write the bank refused failed the run."""
    messages: list[dict[str, Any]] = []
    failed = False
    for message in trace.messages:
        out: dict[str, Any] = {"role": message.role, "content": message.content}
        if message.tool_calls:
            out["tool_calls"] = [{"id": c.id, "type": "function",
                                  "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                                 for c in message.tool_calls]
        if message.role == "tool":
            out.update(tool_call_id=message.tool_call_id, name=message.name)
            failed |= message.name in WRITES and str(message.content).startswith("Error")
        messages.append(out)
    return {"id": trace.id, "task_id": trace.task_id, "messages": messages, "reward": 0.0 if failed else 1.0}


def test_run_induces_a_pack_for_an_unseen_domain_and_builds_verified_tasks(tmp_path: Path) -> None:
    src = tmp_path / "bank.jsonl"
    src.write_text("".join(json.dumps(_chat_record(t)) + "\n" for t in bank_traces()))
    work = tmp_path / "w"
    proc = subprocess.run([sys.executable, "-m", "clawloop_synth", "run", "-w", str(work), "-i", str(src)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    chosen = json.loads((work / "pack.json").read_text())
    assert chosen["how"] == "induced" and Path(chosen["pack"]) == work / "pack"
    assert "induced pack" in proc.stdout and str(work / "pack") in proc.stdout
    generated = json.loads((work / "generate.json").read_text())
    assert generated["accepted"] > 0 and generated["pack"] == str(work / "pack")

    from clawloop_synth.sim.pack import load_pack
    from clawloop_synth.sim.verify import verify
    from clawloop_synth.store import load_records
    from clawloop_synth.types import TaskSpec

    bank = {tool.name for tool in load_pack(str(work / "pack")).tools}
    tasks = list(load_records(work / "tasks", TaskSpec))
    assert tasks and all({tool.name for tool in task.tools} <= bank for task in tasks)  # the bank's own tools
    assert all(verify(task).ok for task in tasks)
