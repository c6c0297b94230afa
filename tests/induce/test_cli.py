"""`clawloop-synth induce` from the command line: a pack folder, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.induce.test_bank_traces import bank_traces


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "clawloop_synth", *args], capture_output=True, text=True,
                          timeout=120)


def _write(tmp_path: Path) -> Path:
    path = tmp_path / "bank.jsonl"
    with path.open("w") as handle:
        for trace in bank_traces(24):
            record = trace.model_dump(mode="json", exclude_none=True)
            for message in record["messages"]:
                for call in message.get("tool_calls", []):
                    call.update({"type": "function", "function": {"name": call.pop("name"),
                                                                  "arguments": json.dumps(call.pop("arguments"))}})
            handle.write(json.dumps({"id": record["id"], "task_id": record["task_id"],
                                     "messages": record["messages"]}) + "\n")
    return path


def test_induce_command_writes_the_pack(tmp_path: Path) -> None:
    traces = _write(tmp_path)
    done = _run("induce", "-i", str(traces), "-o", str(tmp_path / "bank"))
    assert done.returncode == 0, done.stderr
    assert "induced 5 tools from 24 traces" in done.stdout and "state from traces (accounts)" in done.stdout
    assert (tmp_path / "bank" / "policy.md").read_text().startswith("You are the assistant of Northwind Bank")
    assert json.loads((tmp_path / "bank" / "state" / "accounts.json").read_text())


def test_a_missing_db_folder_is_one_line_and_exit_1(tmp_path: Path) -> None:
    traces = _write(tmp_path)
    done = _run("induce", "-i", str(traces), "-o", str(tmp_path / "bank"), "--db", str(tmp_path / "nope"))
    assert done.returncode == 1
    assert done.stderr.strip().count("\n") == 0 and "nope" in done.stderr and "Traceback" not in done.stderr


def test_a_bad_collection_file_names_the_file(tmp_path: Path) -> None:
    traces = _write(tmp_path)
    db = tmp_path / "db"
    db.mkdir()
    (db / "accounts.json").write_text("[1, 2]")
    done = _run("induce", "-i", str(traces), "-o", str(tmp_path / "bank"), "--db", str(db))
    assert done.returncode == 1 and "accounts.json" in done.stderr and "keyed by entity key" in done.stderr
