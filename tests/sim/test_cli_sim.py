"""`clawloop-synth sim verify`: files and datasets in, a per-rule report out, exit 1 on failures."""

from __future__ import annotations

import json
from pathlib import Path

from sim_bank import make_task
from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.sim import RULES
from clawloop_synth.store import save_records
from clawloop_synth.types import Checks, PlannedCall, Solution

runner = CliRunner()


def test_verify_jsonl_all_pass(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    path.write_text(make_task().model_dump_json() + "\n" + make_task(id="bank-2").model_dump_json() + "\n")
    result = runner.invoke(app, ["sim", "verify", str(path), "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["tasks"] == 2 and payload["failed"] == 0
    assert [r["rule"] for r in payload["reports"][0]["rules"]] == list(RULES)


def test_verify_dataset_folder_with_a_failing_task(tmp_path: Path) -> None:
    easy = make_task(id="easy", checks=Checks(),
                     reference=Solution(calls=[PlannedCall(name="get_account", arguments={"account_id": "A1"})]))
    save_records(tmp_path / "tasks", [make_task(), easy])
    result = runner.invoke(app, ["sim", "verify", str(tmp_path / "tasks")])
    assert result.exit_code == 1
    assert "1/2 tasks pass every rule" in result.output
    assert "solved by the empty run" in result.output


def test_verify_json_list_file(tmp_path: Path) -> None:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([make_task().model_dump(mode="json")]))
    assert runner.invoke(app, ["sim", "verify", str(path)]).exit_code == 0


def test_bad_input_names_file_record_and_field(tmp_path: Path) -> None:
    path = tmp_path / "tasks.jsonl"
    record = make_task().model_dump(mode="json")
    del record["instruction"]
    path.write_text(make_task().model_dump_json() + "\n" + json.dumps(record) + "\n")
    result = runner.invoke(app, ["sim", "verify", str(path)])
    assert result.exit_code != 0
    message = str(result.exception)
    assert "tasks.jsonl" in message and "line 2" in message and "instruction" in message
