"""`clawloop-synth serve` refuses bad input with one line (exit 1) before it starts serving."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from clawloop_synth.cli import main
from clawloop_synth.types import TaskSpec
from tests.export.tiny import make_task


def run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["clawloop-synth", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


@pytest.mark.parametrize(("extra", "words"), [
    (["--transport", "carrier-pigeon"], "unknown transport"),
    (["--task", "demo-book-000"], "--task needs --workdir"),
    (["--tool-result-format", "yaml"], "unknown tool result format"),
])
def test_bad_options_are_one_line(extra: list[str], words: str, monkeypatch: pytest.MonkeyPatch,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "demo", *extra], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0], err


def test_unknown_task_id_and_foreign_tools_are_one_line(demo_tasks_file: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", "demo", "--tasks", str(demo_tasks_file), "--task", "no-such-task"], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no task with id 'no-such-task'" in err[0], err

    other: TaskSpec = make_task(0)  # the tiny inventory domain: its tools are not the clinic's
    foreign = tmp_path / "inventory.jsonl"
    foreign.write_text(other.model_dump_json() + "\n")
    assert run(["serve", "demo", "--tasks", str(foreign)], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "tools the pack does not have: lookup, restock" in err[0], err


def test_a_missing_pack_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["serve", str(tmp_path / "no-pack")], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err


def test_sessions_take_the_tasks_in_turn_and_reset_can_switch_task(demo_tasks: list[TaskSpec],
                                                                    tmp_path: Path) -> None:
    import json

    from clawloop_synth.interfaces.mcp_server import SimMCP
    from clawloop_synth.sim import SimEnv

    sim = SimMCP(demo_tasks[:3], traces=tmp_path, episode_tools=True)
    assert [sim.session(name).episode.task.id for name in ("a", "b", "c", "d")] == \
        [t.id for t in (*demo_tasks[:3], demo_tasks[0])]
    call = demo_tasks[1].reference.calls[0]
    text, is_error, _ = sim.call("a", call.name, call.arguments)  # session a plays task 0: another patient
    text2, _, observation = sim.call("a", "clawloop_reset", {"task_id": demo_tasks[1].id})
    assert observation["task_id"] == demo_tasks[1].id and json.loads(text2) == observation
    after, after_error, _ = sim.call("a", call.name, call.arguments)
    assert (after, after_error) == (SimEnv(demo_tasks[1]).step(call).content, False)
    assert sorted(p.name for p in tmp_path.glob("*.jsonl")) == ["a.jsonl", "b.jsonl", "c.jsonl", "d.jsonl"]
    assert len((tmp_path / "a.jsonl").read_text().splitlines()) == 2  # one record per episode of the session
