"""`--pack PATH` reads a pack folder wherever `--domain NAME` reads a built-in pack."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.sim.pack_folder import write_pack
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.generate.helpers import make_workdir


def test_generate_with_a_pack_folder_path_builds_tasks_in_it(tmp_path: Path) -> None:
    demo = load_pack("demo")
    folder = write_pack(demo, tmp_path / "packs" / "my-clinic", demo.load_state())
    work = make_workdir(tmp_path / "work")
    result = CliRunner().invoke(app, ["generate", "-w", str(work), "--pack", str(folder), "--per-cluster", "1", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["accepted"] >= 1 and summary["domain"] == "demo" and summary["pack"] == str(folder)
    tasks = list(load_records(work / "tasks", TaskSpec))
    assert tasks and all(t.policy == demo.policy and t.domain == "demo" for t in tasks)


def test_editing_the_pack_changes_the_generate_config_hash(tmp_path: Path) -> None:
    from clawloop_synth.generate.stage import GenerateConfig

    demo = load_pack("demo")
    folder = write_pack(demo, tmp_path / "clinic", demo.load_state())
    before = GenerateConfig(domain=str(folder)).hashed()
    (folder / "policy.md").write_text("Be brief.\n")
    assert GenerateConfig(domain=str(folder)).hashed() != before


def test_unknown_pack_is_one_line_exit_1(tmp_path: Path) -> None:
    work = make_workdir(tmp_path / "work")
    done = subprocess.run([sys.executable, "-m", "clawloop_synth", "generate", "-w", str(work), "--domain", "no-such-pack"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: unknown domain pack 'no-such-pack' (built-in: airline, demo; or give a pack folder's path)"]


def test_policy_from_traces_replaces_the_pack_policy(tmp_path: Path) -> None:
    from clawloop_synth.store import save_records
    from clawloop_synth.types import Message, Trace

    work = make_workdir(tmp_path / "work")
    text = "You serve the clinic's patients; confirm every change before you make it."
    save_records(work / "traces", [Trace(id=f"t-{k}", source="openai_chat", messages=[
        Message(role="system", content=text), Message(role="user", content="hi")]) for k in range(3)])
    result = CliRunner().invoke(app, ["generate", "-w", str(work), "--pack", "demo", "--per-cluster", "1",
                                      "--policy-from-traces", "--json"])
    assert result.exit_code == 0, result.output
    tasks = list(load_records(work / "tasks", TaskSpec))
    assert tasks and all(t.policy == text for t in tasks)


def test_policy_from_traces_without_a_shared_prompt_is_an_input_error(tmp_path: Path) -> None:
    from clawloop_synth.errors import InputError
    from clawloop_synth.generate.stage import GenerateConfig, run_generate

    work = make_workdir(tmp_path / "work")  # its one trace has no system prompt
    try:
        run_generate(work, GenerateConfig(domain="demo", per_cluster=1, policy_from_traces=True))
    except InputError as exc:
        assert exc.field == "policy_from_traces" and "share no system prompt" in str(exc)
    else:
        raise AssertionError("expected an InputError")
