"""Formats from the wild (issue 11): mini-swe-agent, ClawLoop's server list and archive, and a folder
of every real-world shape ingested in one command."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawloop_synth.ingest.detect import detect_format
from clawloop_synth.ingest.stage import run_ingest
from tests.ingest.helpers import cli, cli_json
from tests.ingest.test_formats import chat_record, episode
from tests.ingest.test_wild import algorithm_generated, traces_of


def mini_trajectory(instance: str, exit_status: str = "Submitted") -> dict[str, Any]:
    return {
        "info": {"exit_status": exit_status, "submission": "diff --git a/x.py b/x.py\n",
                 "model_stats": {"instance_cost": 0.1, "api_calls": 3}, "mini_version": "1.0"},
        "messages": [
            {"role": "system", "content": "You are a helpful assistant that can interact with a computer."},
            {"role": "user", "content": f"<pr_description>Fix the bug in {instance}</pr_description>"},
            {"role": "assistant", "content": "THOUGHT: look around.\n\n```bash\nls -la\n```",
             "extra": {"response": {"id": "r1"}}},
            {"role": "user", "content": "<returncode>0</returncode>\n<output>\nx.py\n</output>"},
            {"role": "assistant", "content": "THOUGHT: run tests.\n\n```bash\npython -m pytest -q\n```"},
            {"role": "user", "content": "<returncode>1</returncode>\n<output>\n1 failed\n</output>"},
            {"role": "assistant", "content": "Two commands at once:\n```bash\nls\n```\n```bash\npwd\n```"},
            {"role": "user", "content": "Please always provide EXACTLY ONE action in triple backticks."},
            {"role": "assistant",
             "content": "THOUGHT: done.\n\n```bash\necho COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT\n```"},
            {"role": "exit", "content": "Submitted", "extra": {"exit_status": "Submitted"}},
        ],
        "trajectory_format": "mini-swe-agent-1",
        "instance_id": instance,
    }


def test_mini_swe_agent_commands_become_bash_calls(tmp_path: Path) -> None:
    path = tmp_path / "django__django-1" / "django__django-1.traj.json"
    path.parent.mkdir()
    path.write_text(json.dumps(mini_trajectory("django__django-1"), indent=2))
    assert detect_format(path) == ("mini_swe_agent", "object")
    rewards = tmp_path / "report.json"
    rewards.write_text(json.dumps({"resolved_ids": [], "unresolved_ids": ["django__django-1"]}))
    summary = run_ingest([path], tmp_path / "w", rewards=rewards)
    (trace,) = traces_of(tmp_path / "w")
    assert trace.id == trace.task_id == "django__django-1" and trace.source == "mini_swe_agent"
    assert trace.reward == 0.0 and summary["rated"] == 1
    steps = trace.tool_steps()
    assert [s.call.arguments["command"] for s in steps] == [
        "ls -la", "python -m pytest -q", "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"]
    assert [s.is_error for s in steps[:2]] == [False, True] and steps[2].result_index is None
    assert steps[1].result is not None and "1 failed" in steps[1].result
    assert trace.metadata["exit_codes"] == [0, 1]
    # The two-block turn is not run: it stays text and the format complaint stays a user turn.
    assert trace.messages[6].tool_calls == [] and trace.messages[7].role == "user"
    assert trace.metadata["info"]["exit_status"] == "Submitted"
    assert trace.metadata["message_extras"]["2"] == {"extra": {"response": {"id": "r1"}}}
    assert trace.metadata["other_turns"][0]["role"] == "exit" and len(trace.messages) == 9
    assert trace.tools[0]["function"]["name"] == "bash"


def test_rewards_file_forms(tmp_path: Path) -> None:
    lines = [mini_trajectory(f"repo__i-{i}") for i in range(3)]
    path = tmp_path / "trajs.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in lines))
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"repo__i-0": True, "repo__i-1": {"resolved": False}, "nope": 0.5}))
    summary = cli_json("ingest", "-i", path, "-w", tmp_path / "w", "--rewards", mapping)
    assert [t.reward for t in traces_of(tmp_path / "w")] == [1.0, 0.0, None]
    assert summary["rewards_file"]["traces_matched"] == 2 and summary["rewards_file"]["traces_not_listed"] == 1
    assert summary["rewards_file"]["entries_unused"] == 1
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"resolved_ids": ["repo__i-2"], "submitted_ids": ["repo__i-0", "repo__i-2"]}))
    run_ingest([path], tmp_path / "w2", rewards=report)
    assert [t.reward for t in traces_of(tmp_path / "w2")] == [0.0, None, 1.0]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"repo__i-0": "yes"}))
    done = cli("ingest", "-i", path, "-w", tmp_path / "w3", "--rewards", bad)
    assert done.returncode == 1 and len(done.stderr.strip().splitlines()) == 1 and "repo__i-0" in done.stderr


def server_episode(i: int, value: float) -> dict[str, Any]:
    """One record of ClawLoop's server ``GET /episodes`` list: signals at the top level."""
    return {"id": f"srv-{i}", "created_at": 1767225600.0 + i, "model": "m", "bench": "car", "task_id": f"t{i}",
            "messages": [{"role": "user", "content": "book a car"}, {"role": "assistant", "content": "booked"}],
            "signals": {"outcome": {"value": value, "confidence": 1.0}},
            "effective_reward": value, "normalized_reward": (value + 1) / 2, "n_steps": 1, "session_id": "s"}


def test_clawloop_server_list_carries_its_reward(tmp_path: Path) -> None:
    path = tmp_path / "episodes_response.json"
    path.write_text(json.dumps([server_episode(0, 1.0), server_episode(1, -1.0)]))
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"episodes": [server_episode(2, 1.0)], "total": 1}))
    run_ingest([path, wrapped], tmp_path / "w")
    traces = traces_of(tmp_path / "w")
    assert [t.reward for t in traces] == [1.0, 0.0, 1.0]
    assert traces[0].metadata["effective_reward"] == 1.0 and traces[0].metadata["n_steps"] == 1
    neutral = {**server_episode(3, 0.0), "signals": {}, "normalized_reward": 0.5}
    (tmp_path / "n.json").write_text(json.dumps([neutral]))
    run_ingest([tmp_path / "n.json"], tmp_path / "w2")
    assert traces_of(tmp_path / "w2")[0].reward is None  # ClawLoop's neutral fallback is not a rating


def archive_record(i: int, value: float) -> dict[str, Any]:
    return {"_schema": 1, "record_type": "episode", "run_id": "run1", "iteration_num": 0,
            "episode_id": f"arc-{i}", "task_id": f"t{i}", "bench": "car", "model": "m",
            "reward": (value + 1) / 2, "signals": {"outcome": {"value": value, "confidence": 1.0}},
            "n_steps": 1, "n_tool_calls": 0, "token_usage": {}, "latency_ms": 5,
            "messages_ref": f"traces/arc-{i}.json", "created_at": 1767225600.0}


def write_archive(root: Path, with_messages: bool = True) -> Path:
    run = root / "run1"
    run.mkdir(parents=True)
    (run / "episodes.jsonl").write_text("".join(json.dumps(archive_record(i, 1.0 - 2 * i)) + "\n" for i in range(2)))
    if with_messages:
        (root / "traces").mkdir()
        for i in range(2):
            held = {**episode({}), "id": f"arc-{i}"}
            (root / "traces" / f"arc-{i}.json").write_text(json.dumps(held))
    return run / "episodes.jsonl"


def test_clawloop_archive_is_read_with_its_messages(tmp_path: Path) -> None:
    write_archive(tmp_path / "archive")
    summary = run_ingest([tmp_path / "archive"], tmp_path / "w")
    traces = traces_of(tmp_path / "w")
    assert [t.id for t in traces] == ["arc-0", "arc-1"] and [t.reward for t in traces] == [1.0, 0.0]
    assert len(traces[0].messages) == 5 and traces[0].metadata["run_id"] == "run1"
    assert summary["traces"] == 2 and summary["duplicate_ids"] == 0  # the message files are not read twice
    assert sorted(summary["read_through_messages_ref"]) == [
        str(tmp_path / "archive" / "traces" / f"arc-{i}.json") for i in range(2)]


def test_clawloop_archive_without_its_messages_is_refused(tmp_path: Path) -> None:
    path = write_archive(tmp_path / "archive", with_messages=False)
    done = cli("ingest", "-i", path, "-w", tmp_path / "w")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "messages_ref 'traces/arc-0.json' is not beside the archive" in line and "line 1" in line


def test_mixed_real_world_folder_in_one_command(tmp_path: Path) -> None:
    """Every shape at once: nothing that carries a reward unrated, nothing dropped silently."""
    from datasets import Dataset

    folder = tmp_path / "wild"
    folder.mkdir()
    (folder / "chat.jsonl").write_text("".join(json.dumps(chat_record(i, reward=i % 2)) + "\n" for i in range(4)))
    tau = {"task_id": 3, "reward": 0.0, "trial": 1, "traj": chat_record(9)["messages"],
           "info": {"task": {"user_id": "u", "actions": [{"name": "cancel_booking", "kwargs": {"booking_id": "B9"}}],
                             "instruction": "cancel B9", "outputs": []},
                    "reward_info": {"reward": 0.0, "info": {"r_actions": 0.0}}, "source": "user"}}
    (folder / "tau.json").write_text(json.dumps([tau]))
    (folder / "episodes.jsonl").write_text(json.dumps(episode({"user": {"value": 1.0, "confidence": 1.0}})) + "\n")
    (folder / "server.json").write_text(json.dumps([server_episode(0, -1.0)]))
    write_archive(folder / "archive")
    (folder / "whowhen-hand").mkdir()
    hand = {"history": [{"role": "human", "content": "q"}, {"role": "Orchestrator (-> WebSurfer)", "content": "go"},
                        {"role": "WebSurfer", "content": "clicked"}],
            "question": "q", "ground_truth": "a", "is_corrected": False, "question_ID": "h1",
            "mistake_agent": "WebSurfer", "mistake_step": "2", "mistake_reason": "bad click"}
    (folder / "whowhen-hand" / "1.json").write_text(json.dumps(hand))
    (folder / "whowhen-ag").mkdir()
    (folder / "whowhen-ag" / "1.json").write_text(json.dumps(algorithm_generated()))
    (folder / "swe").mkdir()
    for i in range(2):
        (folder / "swe" / f"repo__i-{i}.traj.json").write_text(json.dumps(mini_trajectory(f"repo__i-{i}")))
    rewards = tmp_path / "swe_report.json"
    rewards.write_text(json.dumps({"resolved_ids": ["repo__i-1"], "unresolved_ids": ["repo__i-0"]}))
    rows = [chat_record(20 + i, reward=1.0) for i in range(2)]
    for row in rows:
        row["tools"] = json.dumps(row["tools"])
        row["metadata"] = json.dumps(row["metadata"])
    Dataset.from_list(rows).to_parquet(str(folder / "hub.parquet"))

    summary = cli_json("ingest", "-i", folder, "-w", tmp_path / "w", "--rewards", rewards)
    assert summary["by_format"] == {"clawloop": 4, "openai_chat": 4, "hf_dataset": 2, "mini_swe_agent": 2,
                                    "tau_bench": 1, "who_and_when": 2}
    assert summary["traces"] == 15 and summary["skipped"] == 0 and summary["duplicate_files"] == []
    assert summary["rated"] == 15 and summary["reward"]["unrated"] == 0 and summary["unrated"] is None
    assert len({t.id for t in traces_of(tmp_path / "w")}) == 15  # both Who&When sets name their file 1.json
    assert summary["duplicate_ids"] == 1
    files = summary["files"]
    read = set(files) | set(summary["read_through_messages_ref"])
    on_disk = {str(p) for p in folder.rglob("*") if p.is_file()}
    assert read == on_disk  # every file accounted for
    assert all(files[f]["skipped"] == 0 for f in files)
    assert summary["dropped_fields"] == {kind: {} for kind in summary["by_format"]}
