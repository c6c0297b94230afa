"""Mining on several local processes gives the one-process output: the same failures in the same order."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from clawloop_synth.engine.pool import pool_map_ordered
from clawloop_synth.ingest.stage import run_ingest
from clawloop_synth.mine.stage import run_mine
from clawloop_synth.store import load_rows

DEMO = Path(__file__).resolve().parents[2] / "datasets" / "demo" / "traces.jsonl"


def _tagged(context: str, item: int) -> tuple[str, int, int]:
    return context, item, os.getpid()


def test_pool_map_keeps_input_order_across_processes() -> None:
    got = list(pool_map_ordered(_tagged, iter(range(200)), "ctx", processes=2, batch=3))
    assert [item for _, item, _ in got] == list(range(200))
    assert {context for context, _, _ in got} == {"ctx"}
    assert os.getpid() not in {pid for _, _, pid in got}  # the work ran in the workers


def test_mine_on_two_processes_equals_one(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    run_ingest([DEMO], one)
    shutil.copytree(one, two)
    first, second = run_mine(one), run_mine(two, processes=2)
    rows = list(load_rows(one / "failures"))
    assert rows and rows == list(load_rows(two / "failures"))
    for summary in (first, second):
        summary.pop("seconds")
    assert first == second
    assert json.loads(rows[0])["trace_id"]
