from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clawloop_synth.cli import main
from tests.export.tiny import make_task, make_workdir


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["clawloop-synth", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_export_without_tasks_is_one_red_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(["export", "-w", str(tmp_path), "--out", str(tmp_path / "out")], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no accepted tasks" in err[0] and str(tmp_path / "tasks") in err[0]


def test_unknown_format_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    workdir = make_workdir(tmp_path, [make_task(1)])
    assert _run(["export", "-w", str(workdir), "--format", "csv", "--out", str(tmp_path / "out")], monkeypatch) == 1
    assert "unknown format 'csv'" in capsys.readouterr().err


def test_json_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    workdir = make_workdir(tmp_path, [make_task(i) for i in range(5)])
    out = tmp_path / "out"
    assert _run(["export", "-w", str(workdir), "--format", "sft", "--out", str(out), "--seed", "2", "--json"],
                monkeypatch) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["exported"] == 5 and summary["seed"] == 2 and "README.md" in summary["files"]
    assert (out / "dataset").is_dir() and json.loads((out / "export.json").read_text()) == summary
