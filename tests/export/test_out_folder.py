"""`export -o`: only folders the export wrote itself are replaced (issue 11, defects 8 and 9)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from clawloop_synth.cli import main
from clawloop_synth.export.stage import MARKER
from clawloop_synth.workdir import LOCK_NAME
from tests.export.tiny import make_task, make_workdir


def _run(args: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr(sys, "argv", ["clawloop-synth", *args])
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def _tree(root: Path) -> set[str]:
    """Every path under ``root`` but the work directory's lock file, which any command holding it leaves."""
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.name != LOCK_NAME}


@pytest.mark.parametrize("where", ["workdir", "parent", "other_workdir", "foreign", "file", "inputs"])
def test_export_refuses_folders_it_did_not_write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str], where: str) -> None:
    traces = tmp_path / "data" / "traces.jsonl"
    traces.parent.mkdir()
    traces.write_text("{}\n")
    workdir = make_workdir(tmp_path, [make_task(1)], inputs=[traces])
    (workdir / "manifest.json").write_text("{}")
    other = tmp_path / "other"
    other.mkdir()
    out = {"workdir": workdir, "parent": tmp_path, "other_workdir": other, "foreign": other,
           "file": tmp_path / "notes.txt", "inputs": traces.parent}[where]
    if where == "other_workdir":
        (other / "manifest.json").write_text("{}")
    if where == "foreign":
        (other / "thesis.tex").write_text("years of work")
    if where == "file":
        out.write_text("keep me")
    before = _tree(tmp_path)
    assert _run(["export", "-w", str(workdir), "-o", str(out)], monkeypatch) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "refusing to export here" in err[0], err
    assert _tree(tmp_path) == before  # nothing deleted, nothing written


def test_export_replaces_its_own_earlier_export(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workdir = make_workdir(tmp_path, [make_task(i) for i in range(3)])
    out = tmp_path / "out"
    assert _run(["export", "-w", str(workdir), "-o", str(out), "-f", "openai"], monkeypatch) == 0
    assert (out / MARKER).is_file()
    assert _run(["export", "-w", str(workdir), "-o", str(out), "-f", "hf"], monkeypatch) == 0
    assert json.loads((out / "export.json").read_text())["format"] == "hf"
    empty = tmp_path / "empty"
    empty.mkdir()
    assert _run(["export", "-w", str(workdir), "-o", str(empty)], monkeypatch) == 0


def test_manual_export_keeps_the_runs_own_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clawloop_synth.export import export_tasks

    workdir = make_workdir(tmp_path, [make_task(i) for i in range(3)])
    run_summary = export_tasks(workdir, "hf", workdir / "export")  # what run's export stage does
    assert json.loads((workdir / "export.json").read_text()) == run_summary
    assert _run(["export", "-w", str(workdir), "-o", str(tmp_path / "mine"), "-f", "openai"], monkeypatch) == 0
    assert json.loads((workdir / "export.json").read_text()) == run_summary
    assert json.loads((tmp_path / "mine" / "export.json").read_text())["format"] == "openai"
