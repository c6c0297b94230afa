"""SIGKILL `clawloop-synth generate` (offline, procedural, demo domain) mid-run and run it again: the
accepted set equals that of an uninterrupted run with the same seed, nothing lost or duplicated."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from clawloop_synth.store import load_records
from clawloop_synth.types import TaskSpec

REPO = Path(__file__).resolve().parents[2]
CLUSTERS = ["c00", "c03", "c05", "c10"]


@pytest.fixture(scope="module")
def demo_clusters(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_cluster, run_mine
    from clawloop_synth.sim.pack import load_pack

    work = tmp_path_factory.mktemp("demo-clusters")
    run_ingest([REPO / "datasets" / "demo" / "traces.jsonl"], work)
    run_mine(work, pack_tools=list(load_pack("demo").tools))
    run_cluster(work, seed=0)
    return work


def _command(work: Path) -> list[str]:
    args = [sys.executable, "-m", "clawloop_synth", "generate", "-w", str(work), "--domain", "demo", "--per-cluster", "3",
            "--seed", "7", "--json"]
    for cid in CLUSTERS:
        args += ["--cluster", cid]
    return args


def _candidates(journal: Path) -> int:
    try:
        return journal.read_bytes().count(b'"kind":"candidate"')
    except FileNotFoundError:
        return 0


def _copy(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("generate", "tasks", "rejects", "generate.json"))
    return dst


def test_sigkill_mid_run_then_rerun_equals_uninterrupted(demo_clusters: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    whole = _copy(demo_clusters, tmp_path / "whole")
    subprocess.run(_command(whole), cwd=REPO, env=env, check=True, capture_output=True)
    expected = [t.model_dump() for t in load_records(whole / "tasks", TaskSpec)]
    assert len(expected) == 3 * len(CLUSTERS)

    killed = _copy(demo_clusters, tmp_path / "killed")
    journal = killed / "generate" / "journal.jsonl"
    proc = subprocess.Popen(_command(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _candidates(journal) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "tasks").exists()  # killed mid-run: nothing consolidated yet
    assert 3 <= _candidates(journal) < len(expected)

    again = subprocess.run(_command(killed), cwd=REPO, env=env, check=True, capture_output=True, text=True)
    assert '"accepted": 12' in again.stdout
    got = [t.model_dump() for t in load_records(killed / "tasks", TaskSpec)]
    assert got == expected  # same tasks in the same order: nothing lost, nothing duplicated
