"""Mining on several local processes gives the one-process output: the same failures in the same order."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.engine.pool import pool_map_ordered
from clawloop_synth.ingest.stage import run_ingest
from clawloop_synth.mine import miner
from clawloop_synth.mine.context import MineContext, build_context
from clawloop_synth.mine.stage import run_mine
from clawloop_synth.store import load_records, load_rows
from clawloop_synth.types import Trace

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


def _context_facts(ctx: MineContext) -> tuple[Any, ...]:
    refs = ctx.references
    by_task = {task: (list(refs._ok.get(task)), list(refs._failed.get(task))) for task in ctx.solved_tasks}
    return (list(ctx.schemas.items()), ctx.writes, ctx.solved_tasks, dict(ctx.tools.declared),
            dict(ctx.tools.called), ctx.tools.answering, refs.runs, refs._words, refs._seen, by_task)


def test_context_keeps_the_first_schema_and_mining_on_two_processes_equals_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Each record declares its own version of one tool's schema, and every record is its own batch, so the
    # mining workers see interleaved records: the context keeps the first record's schema of the tool, is the
    # same when built again (its reference sample is seeded), and mining on two processes equals one.
    records = [json.loads(line) for line in DEMO.read_text().splitlines()]
    for n, record in enumerate(records):
        record["tools"][0]["function"]["parameters"]["description"] = f"version {n}"
    source = tmp_path / "traces.jsonl"
    source.write_text("".join(json.dumps(record) + "\n" for record in records))
    run_ingest([source], tmp_path / "w")
    monkeypatch.setattr(miner, "_BATCH", 1)
    folder = tmp_path / "w" / "traces"
    one = build_context(load_records(folder, Trace))
    two = build_context(load_records(folder, Trace))
    assert one.schemas[records[0]["tools"][0]["function"]["name"]]["description"] == "version 0"
    assert one.references.runs and one.tools.answering
    assert _context_facts(one) == _context_facts(two)
    shutil.copytree(tmp_path / "w", tmp_path / "w2")
    run_mine(tmp_path / "w")
    run_mine(tmp_path / "w2", processes=2)
    assert list(load_rows(tmp_path / "w" / "failures")) == list(load_rows(tmp_path / "w2" / "failures"))
