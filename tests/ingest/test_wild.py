"""Traces from the wild (issue 11): each defect seen on real public data, on inputs written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from clawloop_synth.ingest.stage import run_ingest
from clawloop_synth.store import load_records
from clawloop_synth.types import Trace
from tests.ingest.helpers import cli, cli_json
from tests.ingest.test_formats import chat_record


def traces_of(workdir: Path) -> list[Trace]:
    return list(load_records(workdir / "traces", Trace))


def write_jsonl(path: Path, records: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


# --- defect 1: tool schemas in other dialects -------------------------------------------------

BFCL_TOOL = {
    "name": "geo.distance",
    "description": "distance between two cities",
    "parameters": {
        "type": "dict",
        "properties": {
            "origin": {"type": "String", "description": "city"},
            "scale": {"type": "float"},
            "legs": {"type": "tuple", "items": {"type": "integer"}},
            "options": {"type": "HashMap", "properties": {"retries": {"type": "long"}}},
            "ids": {"type": "ArrayList<Integer>"},
            "flag": {"type": "Boolean"},
            "anything": {"type": "any"},
            "custom": {"type": "Coordinate"},
            "bad_regex": {"type": "string", "pattern": "(["},
            "bad_required": {"type": "string", "required": True},
        },
        "required": ["origin"],
    },
}


def test_dialect_schemas_are_normalized_and_never_crash_validation(tmp_path: Path) -> None:
    from clawloop_synth.mine.stage import run_mine

    record = chat_record(0, reward=0.0)
    record["tools"] = [BFCL_TOOL, {"type": "function", "function": {"name": "x", "parameters": "not a schema"}}]
    record["messages"][2]["tool_calls"][0]["function"] = {
        "name": "geo.distance", "arguments": json.dumps({"origin": 3, "scale": "far", "ids": [1, "2"]})}
    summary = run_ingest([write_jsonl(tmp_path / "bfcl.jsonl", [record])], tmp_path / "w")
    mined = run_mine(tmp_path / "w")  # jsonschema raised UnknownType on 'dict' here before
    assert mined["failures"] >= 1
    (trace,) = traces_of(tmp_path / "w")
    params = trace.tools[0]["parameters"]
    props = params["properties"]
    assert params["type"] == "object"
    assert props["origin"]["type"] == "string" and props["scale"]["type"] == "number"
    assert props["legs"] == {"type": "array", "items": {"type": "integer"}}
    assert props["options"]["type"] == "object" and props["options"]["properties"]["retries"]["type"] == "integer"
    assert props["ids"] == {"type": "array", "items": {"type": "integer"}}
    assert props["flag"]["type"] == "boolean"
    assert "type" not in props["anything"] and "type" not in props["custom"]  # unknown: any value
    assert "pattern" not in props["bad_regex"] and "required" not in props["bad_required"]
    assert trace.tools[1]["function"]["parameters"] == {"type": "object"}
    for tool in trace.tools:  # what mine does with them: no exception
        schema = tool.get("function", tool)["parameters"]
        jsonschema.Draft202012Validator.check_schema(schema)
        list(jsonschema.Draft202012Validator(schema).iter_errors({"origin": 3, "scale": "far"}))
    counts = summary["tool_schemas"]
    assert counts["tools_changed"] == 2
    assert counts["types"]["dict -> object"] == 1 and counts["types"]["float -> number"] == 1
    assert counts["unknown_types_as_any"] == {"any": 1, "Coordinate": 1}
    assert counts["invalid_keywords_dropped"]["pattern"] == 1
    assert json.loads((tmp_path / "w" / "ingest.json").read_text())["tool_schemas"] == counts


# --- defect 2: a first JSONL line longer than the sniffer's window ----------------------------

def test_jsonl_whose_first_line_is_longer_than_the_window(tmp_path: Path) -> None:
    big = chat_record(0)
    big["messages"][3]["content"] = "x" * 200_000  # one 200 KB line, as coding agents write them
    path = write_jsonl(tmp_path / "long.jsonl", [big, chat_record(1)])
    assert len(path.read_text().splitlines()[0]) > 1 << 16
    summary = run_ingest([path], tmp_path / "w")
    assert summary["traces"] == 2 and summary["by_format"] == {"openai_chat": 2}


# --- defect 3: Who&When Algorithm-Generated logs ---------------------------------------------

def algorithm_generated() -> dict[str, Any]:
    return {
        "is_correct": False, "question": "How many stops?", "question_ID": "q-ag-1", "level": "2",
        "ground_truth": "7",
        "history": [
            {"content": "You are given a task. Plan it.", "role": "assistant", "name": "Planner_Expert"},
            {"content": "I will count the stops with code.", "role": "user", "name": "Verifier_Expert"},
            {"content": "exitcode: 0 (execution succeeded)\nCode output: 9", "role": "user",
             "name": "Computer_terminal"},
            {"content": "The answer is 9.", "role": "assistant", "name": "Planner_Expert"},
        ],
        "mistake_agent": "Verifier_Expert", "mistake_step": "1", "mistake_reason": "wrong count",
        "system_prompt": {"Planner_Expert": "You plan."},
    }


def test_who_and_when_algorithm_generated_keeps_every_agent(tmp_path: Path) -> None:
    path = tmp_path / "ag" / "1.json"
    path.parent.mkdir()
    path.write_text(json.dumps(algorithm_generated()))
    run_ingest([path], tmp_path / "w")
    (trace,) = traces_of(tmp_path / "w")
    names = [m.name for m in trace.messages]
    assert names == ["Planner_Expert", "Verifier_Expert", "Computer_terminal", "Planner_Expert"]
    # Another agent's turn is not the end user's: the localizer's worker steps include it.
    assert [m.role for m in trace.messages] == ["assistant"] * 4
    assert trace.gold_failure is not None and trace.gold_failure.step == 1
    assert trace.messages[trace.gold_failure.step].name == trace.gold_failure.agent
    assert trace.metadata["is_corrected"] is False and trace.metadata["is_correct"] is False
    assert trace.metadata["system_prompt"] == {"Planner_Expert": "You plan."}


def test_who_and_when_end_user_turn_stays_user(tmp_path: Path) -> None:
    record = algorithm_generated()
    record["history"].insert(0, {"content": "Please answer.", "role": "user"})
    record["mistake_step"] = "2"
    path = tmp_path / "2.json"
    path.write_text(json.dumps(record))
    run_ingest([path], tmp_path / "w")
    (trace,) = traces_of(tmp_path / "w")
    assert trace.messages[0].role == "user" and trace.messages[2].role == "assistant"
    assert trace.messages[2].name == "Verifier_Expert"


# --- defect 4: duplicate trace ids and duplicate files ----------------------------------------

def test_duplicate_ids_are_made_unique_and_counted(tmp_path: Path) -> None:
    first = write_jsonl(tmp_path / "in" / "a.jsonl", [chat_record(0), chat_record(0), chat_record(1)])
    write_jsonl(tmp_path / "in" / "b.jsonl", [{**chat_record(0), "reward": 0.0}])
    summary = run_ingest([tmp_path / "in"], tmp_path / "w")
    ids = [t.id for t in traces_of(tmp_path / "w")]
    assert len(ids) == len(set(ids)) == 4
    assert ids == ["chat-0", "chat-0@in/a.jsonl#2", "chat-1", "chat-0@in/b.jsonl#1"]
    assert summary["duplicate_ids"] == 2
    assert summary["duplicate_id_examples"][0] == {"id": "chat-0", "renamed_to": "chat-0@in/a.jsonl#2",
                                                   "file": str(first)}
    again = run_ingest([tmp_path / "in"], tmp_path / "w2")  # deterministic
    assert [t.id for t in traces_of(tmp_path / "w2")] == ids and again["duplicate_ids"] == 2


def test_two_copies_of_a_file_are_reported_not_merged(tmp_path: Path) -> None:
    one = write_jsonl(tmp_path / "a" / "t.jsonl", [chat_record(i) for i in range(3)])
    two = tmp_path / "b" / "t.jsonl"
    two.parent.mkdir()
    two.write_bytes(one.read_bytes())
    summary = cli_json("ingest", "-i", one, "-i", two, "-w", tmp_path / "w")
    assert summary["traces"] == 3 and summary["duplicate_ids"] == 0
    assert summary["duplicate_files"] == [{"file": str(two), "same_content_as": str(one)}]
    done = cli("ingest", "-i", one, "-i", two, "-w", tmp_path / "w")
    assert f"not read: {two} has the same content as {one}" in done.stdout


# --- defect 5: metadata that is a string but not JSON -----------------------------------------

@pytest.mark.parametrize("on_error", ["raise", "skip"])
def test_metadata_free_text_is_kept(tmp_path: Path, on_error: str) -> None:
    record = {**chat_record(0), "metadata": "run 7, model x (not JSON)"}
    listed = {**chat_record(1), "metadata": "[1, 2]"}
    done = cli("ingest", "-i", write_jsonl(tmp_path / "m.jsonl", [record, listed]), "-w", tmp_path / "w",
               "--on-error", on_error, "--json")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    first, second = traces_of(tmp_path / "w")
    assert first.metadata == {"value": "run 7, model x (not JSON)"}
    assert second.metadata == {"value": "[1, 2]"}


# --- defect 7 (ingest half): no reward anywhere ------------------------------------------------

def test_unrated_traces_are_said_plainly(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "u.jsonl", [chat_record(i, reward=None) for i in range(3)])
    done = cli("ingest", "-i", path, "-w", tmp_path / "w")
    assert done.returncode == 0, done.stderr
    assert "none of the 3 traces has a reward: nothing counts as failed" in done.stdout
    assert "--rewards FILE" in done.stdout
    summary = json.loads((tmp_path / "w" / "ingest.json").read_text())
    assert summary["rated"] == 0 and summary["unrated"].startswith("none of the 3 traces")
    rated = run_ingest([write_jsonl(tmp_path / "r.jsonl", [chat_record(0)])], tmp_path / "w2")
    assert rated["rated"] == 1 and rated["unrated"] is None


# --- extra fields kept, dropped ones listed ----------------------------------------------------

def test_extra_fields_are_kept_in_metadata(tmp_path: Path) -> None:
    record = {**chat_record(0), "run_id": "r-9", "model": "gpt-x", "metadata": {"agent": "a", "model": "m"}}
    record["messages"][2]["refusal"] = None
    record["messages"][4]["reasoning_content"] = "thinking"
    summary = run_ingest([write_jsonl(tmp_path / "x.jsonl", [record])], tmp_path / "w")
    (trace,) = traces_of(tmp_path / "w")
    assert trace.metadata["run_id"] == "r-9" and trace.metadata["model"] == "m"
    assert trace.metadata["source_fields"] == {"model": "gpt-x"}  # a name taken by the source's metadata
    assert trace.metadata["message_extras"] == {"4": {"reasoning_content": "thinking"}}
    assert summary["dropped_fields"] == {"openai_chat": {}}


def test_tau_bench_lists_the_gold_copy_it_drops(tmp_path: Path) -> None:
    record = {"task_id": 3, "reward": 1.0, "trial": 0, "traj": chat_record(0)["messages"],
              "info": {"task": {"user_id": "u", "actions": [{"name": "cancel_booking", "kwargs": {}}],
                                "instruction": "cancel", "outputs": [], "extra_key": 5},
                       "reward_info": {"reward": 1.0, "info": {"r_actions": 1.0},
                                       "actions": [{"name": "cancel_booking", "kwargs": {}}]},
                       "source": "user", "user_cost": 0.1}}
    (tmp_path / "tau.json").write_text(json.dumps([record]))
    summary = run_ingest([tmp_path / "tau.json"], tmp_path / "w")
    (trace,) = traces_of(tmp_path / "w")
    assert trace.metadata["task"] == {"extra_key": 5} and trace.metadata["info"] == {"user_cost": 0.1}
    assert trace.metadata["reward_info"] == {"reward": 1.0}
    assert summary["dropped_fields"] == {"tau_bench": {"info.reward_info.actions": 1}}
