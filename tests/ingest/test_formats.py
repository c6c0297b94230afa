"""Each format the project writes itself: ClawLoop episodes, OpenAI chat JSONL, HF datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.ingest import iter_traces
from clawloop_synth.ingest.detect import detect_format
from tests.ingest.helpers import cli_json


def chat_record(i: int, reward: float | None = 1.0) -> dict[str, Any]:
    return {
        "id": f"chat-{i}",
        "messages": [
            {"role": "system", "content": "support agent"},
            {"role": "user", "content": f"cancel booking B{i}"},
            {"role": "assistant", "content": None, "tool_calls": [
                {"id": "t1", "type": "function",
                 "function": {"name": "cancel_booking", "arguments": json.dumps({"booking_id": f"B{i}"})}}]},
            {"role": "tool", "tool_call_id": "t1", "name": "cancel_booking",
             "content": "Error: booking not found" if i % 2 else '{"status": "cancelled"}'},
            {"role": "assistant", "content": "done"},
        ],
        "tools": [{"type": "function", "function": {"name": "cancel_booking", "parameters": {"type": "object"}}}],
        "reward": reward,
        "metadata": {"agent": "test"},
    }


def episode(signals: dict[str, dict[str, float]]) -> dict[str, Any]:
    return {
        "id": "ep-1", "state_id": "s0", "task_id": "task-7", "bench": "demo",
        "messages": [
            {"role": "user", "content": "What is the weather in Oslo?", "name": None, "tool_calls": [],
             "tool_call_id": None, "timestamp": 1.0, "model": None, "reasoning_content": None},
            {"role": "assistant", "content": "", "name": None, "tool_call_id": None, "timestamp": 2.0,
             "model": "m", "reasoning_content": "look it up",
             "tool_calls": [
                 {"id": "c1", "name": "weather", "arguments": '{"city": "Oslo"}', "result": {"temp": 3},
                  "success": True, "latency_ms": 5.0, "error": None},
                 {"id": "c2", "name": "forecast", "arguments": '{"city": "Oslo"}', "result": None,
                  "success": False, "latency_ms": 5.0, "error": "service unavailable"}]},
            {"role": "assistant", "content": "It is 3 degrees.", "name": None, "tool_calls": [],
             "tool_call_id": None, "timestamp": 3.0, "model": "m", "reasoning_content": None},
        ],
        "step_boundaries": [0, 3],
        "steps": [{"t": 0, "reward": 0.0, "done": True, "timing_ms": 10.0, "info": {}}],
        "summary": {"signals": {name: {"name": name, **value} for name, value in signals.items()}, "turns": 3},
        "session_id": "sess", "model": "m", "created_at": "2026-01-01T00:00:00", "metadata": {"team": "x"},
    }


@pytest.mark.parametrize(
    ("signals", "reward"),
    [
        ({"judge": {"value": 0.0, "confidence": 1.0}, "user": {"value": 1.0, "confidence": 0.5}}, 1.0),
        ({"execution": {"value": -1.0, "confidence": 0.9}, "judge": {"value": 1.0, "confidence": 1.0}}, 0.0),
        ({"execution": {"value": -1.0, "confidence": 0.5}, "judge": {"value": 0.5, "confidence": 1.0}}, 0.75),
        ({"outcome": {"value": 0.0, "confidence": 0.1}}, 0.5),
        ({}, None),
    ],
)
def test_clawloop_episode_reward_and_inline_results(tmp_path: Path, signals: dict, reward: float | None) -> None:
    path = tmp_path / "episodes.jsonl"
    path.write_text(json.dumps(episode(signals)) + "\n")
    (trace,) = iter_traces([path])
    assert trace.source == "clawloop" and trace.task_id == "task-7"
    assert trace.reward == reward
    steps = trace.tool_steps()
    assert [(s.call.name, s.result, s.is_error) for s in steps] == [
        ("weather", '{"temp":3}', False), ("forecast", "service unavailable", True)]
    assert trace.metadata["message_extras"]["1"]["reasoning_content"] == "look it up"


def test_clawloop_episodes_as_a_json_list(tmp_path: Path) -> None:
    path = tmp_path / "episodes.json"
    path.write_text(json.dumps([episode({"user": {"value": 1.0, "confidence": 1.0}})] * 3, indent=2))
    assert detect_format(path) == ("clawloop", "list")
    assert [t.reward for t in iter_traces([path])] == [1.0, 1.0, 1.0]


def test_openai_chat_jsonl_detected_from_content_not_name(tmp_path: Path) -> None:
    path = tmp_path / "traces.txt"
    path.write_text("\n".join(json.dumps(chat_record(i)) for i in range(4)) + "\n")
    summary = cli_json("ingest", "-i", path, "-w", tmp_path / "w")
    assert summary["by_format"] == {"openai_chat": 4}
    assert summary["tool_results"] == 4 and summary["tool_result_errors"] == 2
    assert summary["tool_calls_by_tool"] == {"cancel_booking": 4}


def test_saved_dataset_and_parquet(tmp_path: Path) -> None:
    from datasets import Dataset

    rows = [chat_record(i) for i in range(5)]
    for row in rows:  # the usual Hub shapes: tools as a JSON string, arguments as JSON strings
        row["tools"] = json.dumps(row["tools"])
        row["metadata"] = json.dumps(row["metadata"])
    dataset = Dataset.from_list(rows)
    dataset.save_to_disk(str(tmp_path / "saved"))
    dataset.to_parquet(str(tmp_path / "rows.parquet"))
    for path in (tmp_path / "saved", tmp_path / "rows.parquet"):
        traces = list(iter_traces([path]))
        assert [t.id for t in traces] == [f"chat-{i}" for i in range(5)]
        assert all(t.source == "hf_dataset" and t.tools[0]["function"]["name"] == "cancel_booking" for t in traces)
        assert traces[0].messages[2].tool_calls[0].arguments == {"booking_id": "B0"}


def test_directory_is_read_file_by_file(tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.jsonl").write_text(json.dumps(chat_record(1)) + "\n")
    (tmp_path / "in" / "b.json").write_text(json.dumps(episode({"user": {"value": 1, "confidence": 1}})))
    summary = cli_json("ingest", "-i", tmp_path / "in", "-w", tmp_path / "w")
    assert summary["by_format"] == {"openai_chat": 1, "clawloop": 1}


def test_legacy_openai_function_call_becomes_a_tool_call_with_its_result(tmp_path: Path) -> None:
    record = {"id": "legacy", "reward": 0.0, "messages": [
        {"role": "user", "content": "weather in Oslo?"},
        {"role": "assistant", "content": None,
         "function_call": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
        {"role": "function", "name": "get_weather", "content": "Error: city not found"},
        {"role": "assistant", "content": "Sorry, I could not find it."}]}
    path = tmp_path / "legacy.jsonl"
    path.write_text(json.dumps(record) + "\n")
    (trace,) = list(iter_traces([path]))
    (step,) = trace.tool_steps()
    assert (step.call.name, step.call.arguments, step.result, step.is_error) == (
        "get_weather", {"city": "Oslo"}, "Error: city not found", True)
    assert step.result_index == 2 and trace.messages[2].role == "tool"
    assert "message_extras" not in trace.metadata  # converted, not also kept as an unknown field
