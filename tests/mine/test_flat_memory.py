"""Mine and cluster keep the driver's memory flat: forked workers read the runs by task from their file (no
pickled copy), the cluster stage's failures are small columns read through views, exemplars are scored per
distinct card, and records are read back without memory-mapping the dataset."""

from __future__ import annotations

import gc
import os
import pickle
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from clawloop_synth.engine.pool import pool_map_ordered
from clawloop_synth.mine import stage
from clawloop_synth.mine.failure_columns import FailureColumns
from clawloop_synth.mine.task_runs import TaskRuns
from clawloop_synth.store import save_records
from clawloop_synth.types import Failure


def _no_pickling(self: TaskRuns) -> dict[str, Any]:
    raise AssertionError("the runs were pickled")


def _runs_of(runs: TaskRuns, task: str) -> tuple[list[Any], int]:
    return runs.get(task), os.getpid()


def test_forked_workers_read_the_runs_from_their_file_without_a_pickled_copy(monkeypatch: Any) -> None:
    runs = TaskRuns()
    for i in range(5000):  # one flushed batch, the rest still buffered when the pool forks
        runs.add(f"task{i % 5}", f"t{i}", ((1, "book", {"n": i}),))
    monkeypatch.setattr(TaskRuns, "__getstate__", _no_pickling)
    got = list(pool_map_ordered(_runs_of, [f"task{k}" for k in range(5)] * 4, runs, processes=2, batch=1,
                                inherit=True))
    assert os.getpid() not in {pid for _, pid in got}
    for k, (found, _) in enumerate(got):
        assert found == runs.get(f"task{k % 5}")
        assert [trace for trace, _ in found] == [f"t{i}" for i in range(k % 5, 5000, 5)]
    # The children leaving did not remove the driver's file; dropping the object does.
    path = runs._path
    assert path is not None and os.path.exists(path)
    runs.add("task0", "late", ())
    assert runs.get("task0")[-1] == ("late", ())
    del runs, got, found
    gc.collect()
    assert not os.path.exists(path)


def test_runs_that_were_never_written_leave_no_file(tmp_path: Path, monkeypatch: Any) -> None:
    """Empty contexts are made in pool workers that are terminated (no finalizer runs): no file to leak."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runs = TaskRuns()
    assert runs.get("a") == [] and pickle.loads(pickle.dumps(runs)).get("a") == []
    assert list(pool_map_ordered(_runs_of, ["a", "b"], runs, processes=2, batch=1, inherit=True))[0][0] == []
    assert list(tmp_path.iterdir()) == []
    runs.add("a", "t1", ())
    assert list(pool_map_ordered(_runs_of, ["a"] * 3, runs, processes=2, batch=1, inherit=True))[0][0] == [("t1", ())]
    assert len(list(tmp_path.iterdir())) == 1  # written before the fork, for the workers to read
    del runs
    gc.collect()
    assert list(tmp_path.iterdir()) == []


def test_a_pickled_copy_is_a_private_database_that_takes_new_runs() -> None:
    runs = TaskRuns()
    runs.add("a", "t1", ())
    copy = pickle.loads(pickle.dumps(runs))
    copy.add("a", "t2", ())
    assert copy.get("a") == [("t1", ()), ("t2", ())] and runs.get("a") == [("t1", ())]


def test_mine_on_two_processes_never_pickles_the_runs(tmp_path: Path, monkeypatch: Any) -> None:
    from clawloop_synth.ingest.stage import run_ingest
    from clawloop_synth.mine.stage import run_mine

    run_ingest([Path(__file__).resolve().parents[2] / "datasets" / "demo" / "traces.jsonl"], tmp_path)
    monkeypatch.setattr(TaskRuns, "__getstate__", _no_pickling)
    assert run_mine(tmp_path, processes=2)["failures"] > 0


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(f"{field}:"))


def _peak_growth_kb(fn: Any) -> tuple[Any, int]:
    """``fn()`` and how far this process's resident memory rose above where it was, at its peak."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")  # resets the peak (VmHWM) to the current resident size
    except OSError:
        pytest.skip("cannot reset the peak resident size")
    before = _status_kb("VmRSS")
    out = fn()
    return out, _status_kb("VmHWM") - before


def test_failure_columns_read_ids_and_records_without_mapping_the_dataset(tmp_path: Path) -> None:
    """The memory-mapped read of the old records_by_id concatenated the JSON column (and left the pages it
    read resident): 200 MB more at 250,000 traces, 800 MB at a million."""
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads /proc")
    n = 60_000
    failures = (Failure(id=f"t{i}#0", trace_id=f"t{i}", step=i % 9, code=f"agent/action/c{i % 3}", signal="schema",
                        card=f"card {i % 4}", detail="x" * 600) for i in range(n))
    save_records(tmp_path / "failures", failures)
    size = (tmp_path / "failures" / "data" / "data-00000-of-00001.arrow").stat().st_size
    assert size > 40_000_000
    columns = FailureColumns.read(tmp_path / "failures")
    columns.ids(np.array([1]))  # the first take imports pyarrow.compute (7 MB, however big the dataset)
    ids, grew = _peak_growth_kb(lambda: columns.ids(np.array([n - 1, 0, 7])))
    assert ids == [f"t{n - 1}#0", "t0#0", "t7#0"] and grew < 5_000  # KB
    found, grew = _peak_growth_kb(lambda: columns.records_by_id([f"t{n - 1}#0", "t7#0", "missing"]))
    assert sorted(found) == [f"t{n - 1}#0", "t7#0"] and found["t7#0"].step == 7 and found["t7#0"].card == "card 3"
    assert grew < 10_000  # KB, reading a 40,000 KB dataset


def test_member_views_hold_nothing_per_member(tmp_path: Path) -> None:
    failures = [Failure(id=f"t{i}#0", trace_id=f"t{i}", step=0, code=f"agent/action/c{i % 3}", signal="schema",
                        card=f"card {i % 4}", tool=None if i % 2 else "book") for i in range(3000)]
    save_records(tmp_path / "failures", failures)
    columns = FailureColumns.read(tmp_path / "failures")
    rows = np.arange(len(columns))
    members, cards = columns.members(rows), columns.card_texts(rows)
    assert [(m.code, m.tool, m.card) for m in members] == [(f.code, f.tool, f.card) for f in failures]
    assert list(cards) == [f.card for f in failures] and cards[5] == "card 1"
    assert list(cards[2:4]) == ["card 2", "card 3"]
    big = np.zeros(500_000, dtype=np.int64)
    tracemalloc.start()
    view = columns.members(big)
    assert len(view) == 500_000 and sum(1 for m in view if m.tool == "book") == 500_000
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 1_000_000  # a list of the members would be 36 MB


def test_big_clusters_are_scored_per_card_without_gathering_member_vectors(monkeypatch: Any) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(12, 256)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    rows = rng.integers(0, 12, size=40_000)
    members = np.arange(len(rows))
    centroid = x[:4].mean(axis=0)
    monkeypatch.setattr(stage, "_GATHER_FLOATS", 1 << 40)
    small = stage._exemplars(members, x, centroid, rows)  # the gathered path: 40 MB of member vectors
    monkeypatch.setattr(stage, "_GATHER_FLOATS", 0)
    tracemalloc.start()
    big = stage._exemplars(members, x, centroid, rows)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 4_000_000  # bytes: a score and an order per member, not 1 KB of vector each
    # The same cards, nearest first; among equal cards the per-card path keeps the first stored member.
    assert [rows[i] for i in big] == [rows[i] for i in small]
    assert big == [int(np.flatnonzero(rows == rows[i])[0]) for i in big]
    assert len(set(rows[big])) == 3


def test_id_column_takes_chunk_by_chunk_without_concatenating() -> None:
    import pyarrow as pa

    from clawloop_synth.mine.failure_columns import IdColumn

    small = IdColumn([pa.array(["a", "b", "c"]), pa.array([], type=pa.string()), pa.array(["d", "e", "f", "g", "h"]),
                      pa.array(["i", "j"])])
    assert len(small) == 10 and small.take([9, 0, 4, 4, 3, 7]) == ["j", "a", "e", "e", "d", "h"]
    assert small.take([]) == [] and small.positions(["h", "a", "zz"]).tolist() == [0, 7]
    chunks = [pa.array([f"trace-{j}-{i:06d}#0" for i in range(1000)]) for j in range(300)]
    column, every_third = IdColumn(chunks), np.arange(0, 300_000, 3)
    default = pa.default_memory_pool()
    watched = pa.proxy_memory_pool(default)
    pa.set_memory_pool(watched)
    try:
        got = column.take(every_third[::-1])
    finally:
        pa.set_memory_pool(default)
    assert got[0] == "trace-299-000997#0" and got[-1] == "trace-0-000000#0" and len(got) == 100_000
    assert watched.max_memory() < column.nbytes // 10  # Arrow's take over the chunks copies them all first


def _per_member(cards_by_cluster: list[list[str]], top: int = 6) -> list[list[str]]:
    """c-TF-IDF as it was computed before: every member's card read on its own."""
    import math
    from collections import Counter

    from clawloop_synth.mine.ctfidf import _words

    counts = [Counter(w for card in cards for w in _words(card)) for cards in cards_by_cluster]
    total: Counter[str] = Counter()
    for c in counts:
        total.update(c)
    mean_words = sum(total.values()) / max(1, len(counts))
    out = []
    for c in counts:
        size = sum(c.values()) or 1
        scored = {w: (n / size) * math.log(1 + mean_words / total[w]) for w, n in c.items()}
        out.append([w for w, _ in sorted(scored.items(), key=lambda kv: (-kv[1], kv[0]))[:top]])
    return out


def test_keywords_from_card_counts_equal_those_from_every_members_card() -> None:
    from collections import Counter

    from clawloop_synth.mine.ctfidf import ctfidf_from_counts, ctfidf_keywords

    rng = np.random.default_rng(1)
    cards = [f"agent/x | tool{i % 3} | wrong {w} value for payment_methods {i}" for i, w in
             enumerate(["date", "seat", "cabin", "amount", "flight", "bag", "name"])]
    clusters = [[cards[j] for j in rng.integers(0, len(cards), size=int(rng.integers(1, 400)))] for _ in range(6)]
    assert ctfidf_from_counts([Counter(c) for c in clusters]) == ctfidf_keywords(clusters) == _per_member(clusters)
    assert ctfidf_from_counts([{cards[0]: 3}, {cards[1]: 1}])[0][0] == "date"
