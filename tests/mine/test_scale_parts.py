"""Mining's memory-bounded parts: the quick schema check, runs by task on disk, the sampled references."""

from __future__ import annotations

import pickle
from typing import Any

import jsonschema
from hypothesis import given, settings
from hypothesis import strategies as st

from clawloop_synth.mine.quick_schema import quick_check
from clawloop_synth.mine.references import References
from clawloop_synth.mine.task_runs import TaskRuns
from clawloop_synth.types import Message, ToolCall, Trace

SCHEMAS: list[dict[str, Any]] = [
    {"type": "object", "properties": {"flight": {"type": "string"}, "seats": {"type": "integer"}},
     "required": ["flight", "seats"]},
    {"type": "object", "properties": {"cabin": {"type": "string", "enum": ["economy", "business"]},
                                      "total": {"type": "number", "description": "in dollars"}},
     "additionalProperties": False},
    {"type": "object", "properties": {"methods": {"type": "array", "items": {
        "type": "object", "properties": {"id": {"type": "string"}, "amount": {"type": "number"}},
        "required": ["id"]}}, "flag": {"type": "boolean"}, "note": {"type": "null"}, "any": {}}},
]
JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.floats(-2, 2) | st.sampled_from(
    ["economy", "business", "x"]), lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
    st.sampled_from(["flight", "seats", "cabin", "total", "methods", "id", "amount", "flag", "note", "any", "z"]),
    inner, max_size=4), max_leaves=8)


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(range(len(SCHEMAS))), st.dictionaries(
    st.sampled_from(["flight", "seats", "cabin", "total", "methods", "flag", "note", "any", "z"]), JSON, max_size=4))
def test_quick_check_never_passes_what_jsonschema_rejects(which: int, arguments: dict[str, Any]) -> None:
    schema = SCHEMAS[which]
    quick = quick_check(schema)
    assert quick is not None
    if quick(arguments):
        assert jsonschema.Draft202012Validator(schema).is_valid(arguments)


def test_quick_check_passes_plain_valid_calls_and_declines_other_keywords() -> None:
    assert quick_check(SCHEMAS[0])({"flight": "HAT001", "seats": 2})  # type: ignore[misc]
    assert not quick_check(SCHEMAS[0])({"flight": "HAT001"})  # type: ignore[misc]
    assert quick_check(SCHEMAS[2])({"methods": [{"id": "p1", "amount": 3.5}], "flag": True})  # type: ignore[misc]
    assert not quick_check(SCHEMAS[1])({"cabin": "first"})  # type: ignore[misc]
    assert quick_check({"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}) is None
    assert quick_check({"type": "object", "properties": {"n": {"anyOf": [{"type": "string"}]}}}) is None


def test_task_runs_keep_order_and_survive_pickling() -> None:
    runs = TaskRuns()
    for i in range(10_000):  # past one buffered batch
        runs.add(f"task{i % 7}", f"t{i}", ((1, "book", {"n": i}),))
    got = runs.get("task3")
    assert [trace for trace, _ in got] == [f"t{i}" for i in range(3, 10_000, 7)]
    assert got[0][1] == ((1, "book", {"n": 3}),)
    runs.add("task3", "late", ())
    assert runs.get("task3")[-1] == ("late", ())
    copy = pickle.loads(pickle.dumps(runs))
    assert copy.get("task3") == runs.get("task3") and copy.get("none") == []


def _success(n: int, task: str, words: str) -> Trace:
    return Trace(id=f"ok{n}", source="openai_chat", task_id=task, reward=1.0, messages=[
        Message(role="user", content=words),
        Message(role="assistant", tool_calls=[ToolCall(id="c", name="update_order", arguments={"n": n})]),
        Message(role="tool", tool_call_id="c", content="done")])


def test_references_sample_is_bounded_seeded_and_whole_below_its_size() -> None:
    kinds = ["cancel my order please", "change the shipping address", "refund the broken lamp"]
    refs, small = References(sample=50), References(sample=1000)
    for n in range(600):
        trace = _success(n, f"task{n}", kinds[n % 3] + f" number {n}")
        refs.add(trace)
        small.add(trace)
    assert len(refs.runs) == 50  # memory holds the sample, not the 600 runs
    assert len(small.runs) == 600
    again = References(sample=50)
    for n in range(600):
        again.add(_success(n, f"task{n}", kinds[n % 3] + f" number {n}"))
    assert [r.trace_id for r in again.runs] == [r.trace_id for r in refs.runs]
    assert len({r.trace_id for r in refs.runs}) == 50 and any(int(r.trace_id[2:]) >= 300 for r in refs.runs)
    query = _success(9999, "other", "please cancel my order")
    best = refs.nearest(query, 0.3)
    assert best and best[0][1].trace_id in {r.trace_id for r in refs.runs}
    assert int(best[0][1].trace_id[2:]) % 3 == 0  # a cancel request
    # every run stays reachable by its task, sampled or not
    assert [r.trace_id for r in refs.same_task(_success(7, "task599", "x"))] == ["ok599"]


def test_failure_columns_read_what_clustering_needs_and_fetch_rows_back(tmp_path: Any) -> None:
    from clawloop_synth.mine.failure_columns import FailureColumns
    from clawloop_synth.store import save_records
    from clawloop_synth.types import Failure

    failures = [Failure(id=f"t{i}#0", trace_id=f"t{i}", step=i, code=f"agent/action/c{i % 3}", signal="schema",
                        card=f"card {i % 4}", tool=None if i % 2 else "book") for i in range(2500)]
    save_records(tmp_path / "failures", failures)
    columns = FailureColumns.read(tmp_path / "failures")
    assert len(columns) == 2500 and len(columns.cards) == 4 and len(columns.codes) == 3
    assert [m.card for m in columns.members([5, 6])] == ["card 1", "card 2"]
    assert columns.members([3])[0].tool is None and columns.members([4])[0].tool == "book"
    import numpy as np

    assert columns.ids(np.array([2499, 0])) == ["t2499#0", "t0#0"]
    assert columns.records_by_id(["t7#0", "t1200#0"]) == {"t7#0": failures[7], "t1200#0": failures[1200]}


def _rss_file_kb() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("RssFile:"))


def test_streaming_a_dataset_does_not_leave_it_resident(tmp_path: Any) -> None:
    """A memory-mapped read left every page read in the process's resident set (7 GB at a million traces)."""
    import os

    import pytest

    from clawloop_synth.store import load_rows, save_records

    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads /proc")
    blob = "x" * 40_000
    save_records(tmp_path / "rows", ({"id": str(i), "text": blob + str(i)} for i in range(1500)))  # 60 MB
    before, most, rows = _rss_file_kb(), 0, 0
    for _ in load_rows(tmp_path / "rows"):
        rows += 1
        if rows % 100 == 0:
            most = max(most, _rss_file_kb() - before)
    assert rows == 1500
    assert most < 20_000  # KB, while reading; the whole file is 60,000
