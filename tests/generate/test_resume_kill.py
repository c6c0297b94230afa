"""SIGKILL the offline generate stage mid-run, run it again: the same accepted set as an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from clawloop_synth.generate.stage import GenerateConfig, run_generate
from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec
from tests.generate.helpers import TemplatesGenerator, make_workdir

REPO = Path(__file__).resolve().parents[2]


def _candidates(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b'"kind":"candidate"')
    except FileNotFoundError:
        return 0


def test_sigkill_mid_run_then_rerun_equals_uninterrupted(tmp_path: Path) -> None:
    whole = make_workdir(tmp_path / "whole")
    run_generate(whole, GenerateConfig(domain="demo", per_cluster=4), generator=TemplatesGenerator())
    expected = [t.model_dump() for t in load_records(whole / "tasks", TaskSpec)]

    killed = make_workdir(tmp_path / "killed")
    journal = killed / "generate" / "journal.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "tests.generate.run_stage", str(killed), "0.05"], cwd=REPO,
                            env=env)
    deadline = time.monotonic() + 60
    while _candidates(journal) < 6 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "tasks").exists()  # killed before the end: nothing consolidated yet
    partial = _candidates(journal)
    assert 6 <= partial < 15

    summary = run_generate(killed, GenerateConfig(domain="demo", per_cluster=4), generator=TemplatesGenerator())
    assert summary["resumed_candidates"] >= 6
    got = [t.model_dump() for t in load_records(killed / "tasks", TaskSpec)]
    assert got == expected  # same tasks, same order: nothing lost, nothing duplicated
