"""One command shape (issue 16, item 3): every stage takes `-w WORKDIR` and `-i INPUT`; the old forms
(`STAGE WORKDIR`, `ingest PATH... -o WORKDIR`, `induce TRACES... -o PACK`) still work with one note."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer.main
from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.pipeline import default_inputs

# Every command that works on a work directory, and the ones that read traces.
STAGES = ["ingest", "mine", "cluster", "generate", "optimize", "coverage", "rollout", "difficulty", "curriculum",
          "export", "evaluate", "report", "induce"]


def traces(tmp_path: Path, n: int = 40) -> Path:
    lines = default_inputs()[0].read_text(encoding="utf-8").splitlines()[:n]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_stage_takes_the_work_directory_and_inputs_the_same_way() -> None:
    commands = typer.main.get_command(app).commands  # type: ignore[attr-defined]
    for name in [*STAGES, "run"]:
        options = {opt for p in commands[name].params if p.param_type_name == "option" for opt in p.opts}
        assert {"-w", "--workdir"} <= options, name
    for name in ("ingest", "induce", "run"):
        options = {opt for p in commands[name].params if p.param_type_name == "option" for opt in p.opts}
        assert {"-i", "--input"} <= options, name


def test_new_and_old_forms_give_the_same_result_and_only_the_old_one_a_note(tmp_path: Path) -> None:
    path = traces(tmp_path, 120)
    code, out, err = invoke("ingest", "-w", str(tmp_path / "new"), "-i", str(path), "--json")
    assert code == 0 and err == "", err
    new = json.loads(out)
    code, out, err = invoke("ingest", str(path), "-o", str(tmp_path / "old"), "--json")
    assert code == 0
    assert err.strip().splitlines() == ["note: `clawloop-synth ingest PATH... -o DIR` is deprecated and goes in the "
                                        "next release; use `clawloop-synth ingest -w DIR -i PATH [-i PATH ...]`"]
    old = json.loads(out)
    assert old["traces"] == new["traces"] == 120 and old["by_format"] == new["by_format"]

    code, out, err = invoke("mine", "-w", str(tmp_path / "new"), "--json")
    assert code == 0 and err == "", err
    code, out_old, err = invoke("mine", str(tmp_path / "old"), "--json")
    assert code == 0 and len(err.strip().splitlines()) == 1 and "`clawloop-synth mine -w DIR`" in err
    assert json.loads(out_old)["failures"] == json.loads(out)["failures"] > 0


def test_induce_takes_inputs_with_i_and_writes_the_pack_into_the_work_directory(tmp_path: Path) -> None:
    path = traces(tmp_path, 20)
    code, out, err = invoke("induce", "-w", str(tmp_path / "w"), "-i", str(path), "--json")
    assert code == 0 and err == "", err
    assert (tmp_path / "w" / "pack" / "induce.json").exists()
    code, out, err = invoke("induce", str(path), "-o", str(tmp_path / "pack"))
    assert code == 0 and "deprecated" in err and (tmp_path / "pack" / "induce.json").exists()


@pytest.mark.parametrize(("args", "words"), [
    (["mine"], "-w DIR"),
    (["ingest", "-w", "W"], "-i FILE"),
    (["induce", "-i", "t.jsonl"], "-o PACK"),
    (["mine", "-w", "A", "B"], "given twice"),
])
def test_a_missing_or_doubled_work_directory_is_a_usage_error(tmp_path: Path, args: list[str], words: str,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = invoke(*args)
    assert code == 2 and words in " ".join(err.split()), err
    assert not (tmp_path / "W").exists() and not (tmp_path / "A").exists()


def test_help_shows_bracketed_text_as_written() -> None:
    """TOML table names and defaults in brackets survive: no markup layer eats them."""
    code, out, _ = invoke("run", "--help")
    assert code == 0
    text = " ".join(out.split())
    assert "([generate], [mine], ...)" in text
    assert "Work directory [default: runs/default]." in text
