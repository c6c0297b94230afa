"""`run --config FILE`, `--print-config` and the common flags (issue 16, item 2)."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.cli.run_config import table_keys
from clawloop_synth.pipeline import RUN_SETS, STAGE_COMMANDS, default_inputs
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.fake_openai import Behaviour, FakeOpenAI, ok
from tests.generate.llm_script import good_drafts, slot_of

STAGES = ["ingest", "mine", "pack", "cluster", "generate", "coverage", "rollout", "difficulty", "curriculum", "export",
          "report"]


def small_traces(tmp_path: Path, n: int = 120) -> Path:
    """The first ``n`` demo traces (enough for several clusters, quick to run)."""
    lines = default_inputs()[0].read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_config(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def run_cli(*args: str) -> Any:
    result = CliRunner().invoke(app, ["run", *args])
    assert result.exit_code == 0, (result.output, result.exception)
    return result


def redone(output: str) -> list[str]:
    """The stages a run's output says it ran (not '(done before)')."""
    ran = []
    for line in output.split("work directory:")[0].splitlines():
        match = re.match(r"\s*(\w+): (.*)", line)
        if match and match.group(1) in STAGES and not match.group(2).startswith("(done before)"):
            ran.append(match.group(1))
    return ran


def test_every_option_of_every_stage_command_is_a_key_of_its_table() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    tables = table_keys()
    assert set(tables) == set(STAGE_COMMANDS.values())
    for stage, name in STAGE_COMMANDS.items():
        options = {p.name for p in commands[name].params if p.param_type_name == "option"}
        keyed = {p.name for p in commands[name].params
                 if any(opt[2:] in tables[name] for opt in p.opts if opt.startswith("--"))}
        # --engine/--address/--workers say where a command runs, not what it makes: run takes them itself.
        left = (options - keyed - set(RUN_SETS.get(stage, {}))
                - {"workdir", "old_workdir", "as_json", "engine", "address", "workers"})
        assert not left, f"options of `{name}` missing from [{name}]: {left}"
    assert "per-cluster" in tables["generate"] and "fail-below" in tables["mine"] and "rounds" in tables["induce"]


def test_command_line_beats_file_beats_defaults_and_print_config_reads_back(tmp_path: Path) -> None:
    config = write_config(tmp_path / "run.toml", 'model = "openai/from-top"\nseed = 3\n'
                          '[generate]\nper-cluster = 2\nmodel = "openai/from-table"\n'
                          '[rollout]\nk = 1\n[cluster]\nmethod = "hdbscan"\n')
    printed = tomllib.loads(run_cli("--config", str(config), "--print-config", "--per-cluster", "4").output)
    assert printed["generate"]["per-cluster"] == 4  # command line > file
    assert printed["generate"]["model"] == "openai/from-table"  # the stage's table > the file's common key
    assert printed["rollout"]["model"] == "openai/from-top"  # the common key fills the other stages it names
    assert printed["rollout"]["k"] == 1 and printed["cluster"]["method"] == "hdbscan"
    assert printed["generate"]["attempts"] == 4 and printed["export"]["format"] == "hf"  # defaults
    assert {printed[t]["seed"] for t in ("cluster", "generate", "curriculum", "export")} == {3}
    assert not (tmp_path / "runs").exists()  # --print-config runs nothing
    run_cli("-w", str(tmp_path / "w"), "--print-config")
    assert not (tmp_path / "w").exists()  # nor creates the work directory

    # What --print-config writes is a config file that gives the same configuration again.
    again = write_config(tmp_path / "again.toml", run_cli("--config", str(config), "--print-config",
                                                          "--per-cluster", "4").output)
    assert tomllib.loads(run_cli("--config", str(again), "--print-config").output) == printed


@pytest.mark.parametrize(("text", "words"), [
    ("[generate]\nper-clusters = 2\n", ["unknown key", "per-clusters", "[generate]"]),
    ("[generat]\nper-cluster = 2\n", ["unknown table", "generat"]),
    ("[generate]\nper-cluster = 0\n", ["per-cluster", "1"]),
    ("[rollout]\nk = \"many\"\n", ["k", "many"]),
    ("[generate\n", ["invalid TOML"]),
])
def test_a_bad_config_file_is_one_line_naming_the_file_and_key(tmp_path: Path, text: str, words: list[str]) -> None:
    from clawloop_synth.errors import InputError

    config = write_config(tmp_path / "bad.toml", text)
    result = CliRunner().invoke(app, ["run", "--config", str(config), "--print-config"])
    assert isinstance(result.exception, InputError), result.output
    message = str(result.exception)
    assert str(config) in message and all(word in message for word in words), message
    assert "\n" not in message


def test_changing_one_option_in_the_file_reruns_exactly_the_stages_after_it(tmp_path: Path) -> None:
    traces, work = small_traces(tmp_path), tmp_path / "w"
    base = '[generate]\nper-cluster = 1\n[rollout]\nk = 1\n'
    config = write_config(tmp_path / "run.toml", base)
    args = ("-w", str(work), "-i", str(traces), "--config", str(config))
    assert redone(run_cli(*args).output) == STAGES
    assert redone(run_cli(*args).output) == []  # nothing changed: nothing re-runs

    write_config(config, base.replace("[rollout]", "attempts = 3\n[rollout]"))  # one generate option
    assert redone(run_cli(*args).output) == STAGES[STAGES.index("generate"):]

    write_config(config, base.replace("[rollout]", "attempts = 3\n[rollout]") + "[difficulty]\nholdout = 0.3\n")
    assert redone(run_cli(*args).output) == ["difficulty", "curriculum", "export", "report"]

    # The same option on the command line instead of in the file: the same configuration, nothing re-runs.
    moved = base.replace("[rollout]", "attempts = 3\n[rollout]") + "[difficulty]\nholdout = 0.3\n"
    write_config(config, moved.replace("per-cluster = 1\n", ""))
    assert redone(run_cli(*args, "--per-cluster", "1").output) == []


def _by_target(body: dict[str, Any]) -> Behaviour:
    """A scripted model: a valid demo draft for the prompt's target code (the first code's otherwise)."""
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    code = re.search(r"Target code: (\S+)", user)
    drafts = good_drafts(code.group(1)) if code else []
    drafts = drafts or good_drafts()
    return ok(drafts[slot_of(body) % len(drafts)])


def test_run_with_a_model_in_the_config_generates_llm_tasks_end_to_end(
        tmp_path: Path, fake_openai: FakeOpenAI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    fake_openai.default = _by_target
    traces, work = small_traces(tmp_path), tmp_path / "w"
    config = write_config(tmp_path / "run.toml", 'generator = "llm"\nmodel = "openai/fake-model"\n'
                          '[generate]\nper-cluster = 1\nconcurrency = 2\n[rollout]\nk = 1\n')
    result = run_cli("-w", str(work), "-i", str(traces), "--config", str(config), "--api-base", fake_openai.base_url)
    assert redone(result.output) == STAGES
    generate = json.loads((work / "generate.json").read_text())
    tasks = list(load_records(work / "tasks", TaskSpec))
    assert fake_openai.count > 0 and all(r["model"] == "fake-model" for r in fake_openai.requests)
    assert tasks and all(t.provenance.generator == "llm" for t in tasks), generate["rejected_by_reason"]
    assert generate["usage"]["total"]["requests"] == fake_openai.count
    print(f"run --config (llm generator, --api-base {fake_openai.base_url}): {len(tasks)} LLM tasks accepted, "
          f"{generate['rejected']} rejected, {fake_openai.count} requests to the scripted server")
    assert json.loads((work / "export.json").read_text())["exported"] > 0
