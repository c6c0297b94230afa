from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from clawloop_synth.cli import app
from clawloop_synth.store import load_records, save_records
from clawloop_synth.types import Failure, FailureCluster, GoldAction, Message

from .helpers import call, result, trace


def _workdir(tmp_path: Path) -> Path:
    traces = []
    for n in range(12):
        error = [f"Error: not enough seats on flight HAT1{n:02d}", "Error: gift card balance is not enough",
                 f"Error: payment method certificate_{n} not found"][n % 3]
        traces.append(trace([call("book", 1, flight=f"F{n}", seats=1), result("book", 1, error, True),
                             Message(role="assistant", content="Sorry.")],
                            gold=[GoldAction(name="book", arguments={"flight": f"F{n}", "seats": 1})],
                            trace_id=f"t{n}"))
    save_records(tmp_path / "traces", traces)
    return tmp_path


def test_mine_then_cluster_writes_outputs_and_rerun_hits_the_cache(tmp_path: Path) -> None:
    wd = _workdir(tmp_path)
    runner = CliRunner()
    out = runner.invoke(app, ["mine", "-w", str(wd), "--json"])
    assert out.exit_code == 0, out.output
    summary = json.loads(out.output)
    assert summary["failed_traces"] == summary["failed_traces_located"] == 12
    assert summary["gold_diff"]["missing"] == {"book": 12}
    failures = list(load_records(wd / "failures", Failure))
    assert len(failures) == summary["failures"] == 36  # error, missing book, premature finish
    assert json.loads((wd / "mine.json").read_text())["failures"] == 36

    first = json.loads(runner.invoke(app, ["cluster", "-w", str(wd), "--json", "--seed", "1"]).output)
    assert first["embedder"]["embedded"] > 0 and first["k"] >= 2
    clusters = list(load_records(wd / "clusters", FailureCluster))
    assert sum(c.size for c in clusters) == 36 and all(len(c.exemplar_ids) <= 3 for c in clusters)
    assert "## c00" in (wd / "clusters.md").read_text()
    again = runner.invoke(app, ["cluster", "-w", str(wd), "--json", "--seed", "1"])
    second = json.loads(again.output)
    assert second["embedder"]["embedded"] == 0 and second["embedder"]["cache_hits"] == first["embedder"]["embedded"]
    assert [c["size"] for c in second["clusters"]] == [c["size"] for c in first["clusters"]]
    fixed = json.loads(runner.invoke(app, ["cluster", "-w", str(wd), "--json", "--k", "2"]).output)
    assert fixed["k"] == 2 and fixed["k_chosen_by"] == "given"


def test_missing_inputs_are_one_red_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", "from clawloop_synth.cli import main; main()", "mine", "-w", str(tmp_path)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stderr.count("\n") == 1 and "traces" in proc.stderr
    proc = subprocess.run([sys.executable, "-c", "from clawloop_synth.cli import main; main()", "cluster",
                           str(_workdir(tmp_path)), "--embedder", "nope"], capture_output=True, text=True)
    assert proc.returncode == 1


def test_offline_stages_never_import_litellm(tmp_path: Path) -> None:
    wd = _workdir(tmp_path)
    code = ("import sys; from clawloop_synth.mine.stage import run_mine, run_cluster; from pathlib import Path; "
            f"run_mine(Path({str(wd)!r})); run_cluster(Path({str(wd)!r})); print('litellm' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "False"
