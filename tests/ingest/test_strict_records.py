"""Record-level strictness (issue 14): each class of bad record found by fuzzing is an InputError of
that record naming its field, the good records of the same file are kept, and values are not coerced
into something they did not say."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.ingest import iter_items
from clawloop_synth.ingest.stage import run_ingest
from tests.ingest.test_formats import chat_record


def tau(i: int, outputs: Any = None) -> dict[str, Any]:
    return {"task_id": i, "reward": 1.0, "trial": 0, "traj": chat_record(i)["messages"],
            "info": {"task": {"user_id": "u", "actions": [{"name": "cancel_booking", "kwargs": {}}],
                              "instruction": "cancel", "outputs": outputs if outputs is not None else ["42"]}}}


def who(step: Any) -> dict[str, Any]:
    return {"question": "How many?", "ground_truth": "7", "mistake_agent": "Planner", "mistake_step": step,
            "history": [{"role": "user", "content": "go"}, {"role": "Planner", "content": "plan"},
                        {"role": "Coder", "content": "run"}]}


def outcomes(path: Path) -> list[Any]:
    """Per record: the Trace, or (record, field) of its InputError."""
    out: list[Any] = []
    for _, _, item in iter_items([path]):
        out.append((item.record, item.field) if isinstance(item, InputError) else item)
    return out


def skip_counts(path: Path, tmp_path: Path) -> tuple[int, int]:
    summary = run_ingest([path], tmp_path / "w", on_error="skip")
    return summary["traces"], summary["skipped"]


@pytest.mark.parametrize(("outputs", "field"), [(5, "info.task.outputs"), ("abc", "info.task.outputs"),
                                                ([{"a": 1}], "info.task.outputs[0]")])
def test_tau_outputs_must_be_a_list_of_text(tmp_path: Path, outputs: Any, field: str) -> None:
    path = tmp_path / "tau.json"
    path.write_text(json.dumps([tau(0), tau(1, outputs)]))
    first, second = outcomes(path)
    assert first.gold_outputs == ["42"]
    assert second == ("record 2", field)  # not ['a', 'b', 'c'], not a traceback


def write_chat_jsonl(path: Path, change: Any) -> None:
    records = [chat_record(0), chat_record(1), chat_record(2)]
    change(records[1])
    path.write_text("\n".join(json.dumps(r) for r in records) + "\n")


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r["messages"][1].update(role=["user"]), "messages[1].role"),
    (lambda r: r["messages"][1].update(content=[{"type": "text", "text": 5}]), "messages[1].content[0]"),
    (lambda r: r["messages"][3].update(is_error="maybe"), "messages[3].is_error"),
])
def test_chat_field_types(tmp_path: Path, change: Any, field: str) -> None:
    path = tmp_path / "t.jsonl"
    write_chat_jsonl(path, change)
    first, second, third = outcomes(path)
    assert second == ("line 2", field)
    assert first.id == "chat-0" and third.id == "chat-2"


@pytest.mark.parametrize(("flag", "expected"), [("false", False), ("True", True), (False, False)])
def test_is_error_as_words_reads_as_said(tmp_path: Path, flag: Any, expected: bool) -> None:
    path = tmp_path / "t.jsonl"
    # chat_record(1)'s tool result reads "Error: ...", so only an explicit flag can make it False.
    write_chat_jsonl(path, lambda r: r["messages"][3].update(is_error=flag))
    trace = outcomes(path)[1]
    assert trace.messages[3].is_error is expected


def list_file(path: Path, middle: bytes) -> None:
    path.write_bytes(b"[" + json.dumps(chat_record(0)).encode() + b",\n" + middle + b",\n"
                     + json.dumps(chat_record(2)).encode() + b"]")


@pytest.mark.parametrize("middle", [
    json.dumps({**chat_record(1), "extra": 2**70}).encode(),  # beyond 64 bits
    json.dumps(chat_record(1)).encode().replace(b"cancel booking", b"cancel \xff\xfe booking"),  # invalid UTF-8
    json.dumps(chat_record(1)).encode().replace(b"cancel booking", b"cancel \\ud800 booking"),  # lone surrogate
    json.dumps({**chat_record(1), "extra": "@"}).encode().replace(b'"@"', b"[" * 5000 + b"]" * 5000),  # deep
], ids=["int-beyond-64-bits", "invalid-utf8", "escaped-lone-surrogate", "5000-deep"])
def test_a_bad_record_in_a_json_list_costs_only_itself(tmp_path: Path, middle: bytes) -> None:
    path = tmp_path / "t.json"
    list_file(path, middle)
    first, second, third = outcomes(path)
    assert second[0] == "record 2"
    assert first.id == "chat-0" and third.id == "chat-2"
    assert skip_counts(path, tmp_path) == (2, 1)


def test_a_bad_first_record_does_not_hide_the_rest(tmp_path: Path) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text("{broken\n" + "\n".join(json.dumps(chat_record(i)) for i in (1, 2)) + "\n")
    assert skip_counts(jsonl, tmp_path / "1") == (2, 1)
    unclassified = tmp_path / "b.jsonl"
    unclassified.write_text("\n".join(json.dumps(r) for r in ({"id": "x"}, chat_record(1), chat_record(2))) + "\n")
    assert skip_counts(unclassified, tmp_path / "2") == (2, 1)
    listed = tmp_path / "c.json"
    listed.write_text(json.dumps([{"id": "x"}, chat_record(1), chat_record(2)]))
    assert skip_counts(listed, tmp_path / "3") == (2, 1)


@pytest.mark.parametrize("first", ["5", '"text"', "null", "not json at all"])
def test_a_first_line_that_is_not_an_object_does_not_hide_the_rest(tmp_path: Path, first: str) -> None:
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_text(first + "\n" + "\n".join(json.dumps(chat_record(i)) for i in (1, 2)) + "\n")
    assert skip_counts(jsonl, tmp_path) == (2, 1)


def test_a_byte_order_mark_loses_nothing(tmp_path: Path) -> None:
    bom = b"\xef\xbb\xbf"
    jsonl = tmp_path / "a.jsonl"
    jsonl.write_bytes(bom + b"\n".join(json.dumps(chat_record(i)).encode() for i in range(3)) + b"\n")
    assert skip_counts(jsonl, tmp_path / "1") == (3, 0)
    log = tmp_path / "b" / "1.json"
    log.parent.mkdir()
    log.write_bytes(bom + json.dumps(who("1")).encode())
    assert skip_counts(log, tmp_path / "2") == (1, 0)


@pytest.mark.parametrize(("step", "ok"), [(999, False), (3, False), (-1, False), (2.5, False), (True, False),
                                          ("1", True), (2, True)])
def test_who_and_when_mistake_step_indexes_the_history(tmp_path: Path, step: Any, ok: bool) -> None:
    path = tmp_path / "1.json"
    path.write_text(json.dumps(who(step)))
    (item,) = outcomes(path)
    if ok:
        assert item.gold_failure.step == int(step)
    else:
        assert item == ("record 1", "mistake_step")


@pytest.mark.parametrize("number", [2**64, 2**70, -(2**63) - 1, -(10**30)], ids=["2^64", "2^70", "-2^63-1", "-1e30"])
def test_a_jsonl_integer_beyond_64_bits_is_an_error_of_its_line_not_a_float(tmp_path: Path, number: int) -> None:
    # orjson alone reads these as inexact floats (1.8446744073709552e19), silently.
    path = tmp_path / "t.jsonl"
    records = [chat_record(0), {**chat_record(1), "metadata": {"seed": number}}, chat_record(2)]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    first, second, third = outcomes(path)
    assert second == ("line 2", None) and first.id == "chat-0" and third.id == "chat-2"
    summary = run_ingest([path], tmp_path / "w", on_error="skip")
    assert summary["skipped_records"][0]["reason"] == "not valid JSON (an integer beyond 64 bits)"


def test_long_digit_runs_that_fit_are_kept_exact(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    metadata = {"u64": 2**64 - 1, "i64": -(2**63), "text": "9" * 40, "float": 12345678901234567890.5}
    path.write_text(json.dumps({**chat_record(0), "metadata": metadata}) + "\n")
    (trace,) = outcomes(path)
    assert trace.metadata == metadata


def test_a_single_object_file_with_a_big_integer_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "one.json"
    path.write_text(json.dumps({**chat_record(0), "metadata": {"seed": 2**70}}, indent=2))
    summary = run_ingest([path], tmp_path / "w", on_error="skip")
    assert (summary["traces"], summary["skipped"]) == (0, 1)
    assert "integer beyond 64 bits" in summary["skipped_records"][0]["reason"]
