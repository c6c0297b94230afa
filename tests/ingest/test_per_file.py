"""Ingest on an engine that runs elsewhere (``ingest/per_file.py``): each file's pass made alone, the files
merged in order on the driver, and the dataset and ``ingest.json`` equal to the local engine's.

The engine here runs every call in this process but hands the context and each result through pickle, as a
cluster's worker would (one context per worker, read once): what crosses files must go through the merge.
The same inputs run on a real Ray cluster in ``tests/engine/test_ray.py``.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.stage import run_ingest
from tests.engine.compare import differences
from tests.ingest.test_formats import chat_record
from tests.ingest.test_wild import BFCL_TOOL, traces_of, write_jsonl


class Elsewhere:
    """A stand-in for a remote engine: calls in input order, their context and results pickled."""

    name = "elsewhere"
    in_process = False

    def __init__(self) -> None:
        self.calls = 0

    def workers(self) -> int:
        return 2

    def map_ordered(self, fn: Callable[..., Any], items: Iterable[Any], *, context: Any = None,
                    batch: int = 1) -> Iterator[Any]:
        shared = pickle.loads(pickle.dumps(context))
        for item in items:
            self.calls += 1
            result = fn(item) if context is None else fn(shared, item)
            yield pickle.loads(pickle.dumps(result))


def mixed_inputs(root: Path) -> tuple[list[Path], Path]:
    """Files whose ingest needs state across files: ids repeated within a file and across two files, a
    byte copy of a file, dialect tool schemas in two files, a dropped field, a bad record, a truncated
    file, unrated traces, a rewards file; plus a missing input. Returns (inputs, rewards file)."""
    bfcl = {**chat_record(1), "tools": [BFCL_TOOL]}
    first = write_jsonl(root / "in" / "a.jsonl", [chat_record(0), chat_record(0), bfcl, {"messages": 3},
                                                  chat_record(2, reward=0.3)])
    write_jsonl(root / "in" / "b.jsonl", [{**chat_record(0), "reward": 0.0}, {**bfcl, "reward": 0.7},
                                          chat_record(3, reward=None), chat_record(4, reward=0.1)])
    tau = {"task_id": 3, "reward": 1.0, "trial": 0, "traj": chat_record(0)["messages"],
           "info": {"task": {"user_id": "u", "actions": [], "instruction": "cancel", "outputs": []},
                    "reward_info": {"reward": 1.0, "actions": [{"name": "cancel_booking", "kwargs": {}}]}}}
    (root / "in" / "c").mkdir()
    (root / "in" / "c" / "tau.json").write_text(json.dumps([tau, {**tau, "trial": 1, "reward": 0.0}]))
    (root / "in" / "d.json").write_text("[" + json.dumps(chat_record(1)) + ', {"id": "x", "mess')
    (root / "in" / "e").mkdir()
    (root / "in" / "e" / "a.jsonl").write_bytes(first.read_bytes())
    rewards = root / "rewards.json"
    rewards.write_text(json.dumps({"chat-3": 0.0, "chat-4": 1.0, "unused": 0.5}))
    return [root / "in", root / "missing"], rewards


def test_per_file_ingest_equals_the_local_one(tmp_path: Path) -> None:
    inputs, rewards = mixed_inputs(tmp_path)
    local = run_ingest(inputs, tmp_path / "local", on_error="skip", rewards=rewards)
    engine = Elsewhere()
    run_ingest(inputs, tmp_path / "elsewhere", on_error="skip", rewards=rewards, engine=engine)
    assert engine.calls == 4  # a.jsonl, b.jsonl, c/tau.json, d.json; e/a.jsonl is a copy, not read
    assert differences(tmp_path / "local", tmp_path / "elsewhere") == []
    # The cases the merge must get right are there to compare.
    ids = [t.id for t in traces_of(tmp_path / "local")]
    assert ids[:2] == ["chat-0", "chat-0@in/a.jsonl#2"] and "chat-0@in/b.jsonl#1" in ids
    assert "chat-1@in/b.jsonl#2" in ids and "chat-1@in/d.json#1" in ids
    assert local["duplicate_files"] and local["skipped"] == 3  # bad record, truncated file, missing input
    assert local["tool_schemas"]["tools_changed"] == 2 and local["dropped_fields"]["tau_bench"]
    assert local["rewards_file"]["traces_matched"] == 2 and local["rewards_file"]["entries_unused"] == 1


def test_per_file_ingest_stops_at_the_first_bad_record_in_file_order(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in" / "a.jsonl", [chat_record(0), {"messages": 3}])
    write_jsonl(tmp_path / "in" / "b.jsonl", [{"messages": "no"}])
    with pytest.raises(InputError) as local:
        run_ingest([tmp_path / "in"], tmp_path / "local")
    with pytest.raises(InputError) as elsewhere:
        run_ingest([tmp_path / "in"], tmp_path / "elsewhere", engine=Elsewhere())
    assert str(elsewhere.value) == str(local.value) and "a.jsonl" in str(local.value)


def test_an_input_with_no_trace_gives_the_same_empty_dataset(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "in" / "a.jsonl", [{"messages": 3}])
    run_ingest([tmp_path / "in"], tmp_path / "local", on_error="skip")
    run_ingest([tmp_path / "in"], tmp_path / "elsewhere", on_error="skip", engine=Elsewhere())
    assert differences(tmp_path / "local", tmp_path / "elsewhere") == []
    assert traces_of(tmp_path / "elsewhere") == []
