"""Bad input as a new user would try it: one red line naming file, record and field; exit 1;
nothing written; with --on-error skip, every skipped record counted with its reason."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.ingest.helpers import cli, cli_json
from tests.ingest.test_formats import chat_record

GOOD = json.dumps(chat_record(0))


def bad_arguments() -> str:
    record = chat_record(1)
    record["messages"][2]["tool_calls"][0]["function"]["arguments"] = "{not json"
    return json.dumps(record)


CASES = {
    # name: (file name, content, words the error must contain)
    "line_not_json": ("t.jsonl", f"{GOOD}\n{{oops\n", ["t.jsonl", "line 2", "not valid JSON"]),
    "no_messages": ("t.jsonl", f"{GOOD}\n{json.dumps({'id': 'x', 'reward': 1})}\n",
                    ["t.jsonl", "line 2", "field 'messages'", "no messages"]),
    "arguments_not_json": ("t.jsonl", f"{GOOD}\n{bad_arguments()}\n",
                           ["line 2", "field 'messages[2].tool_calls[0].function.arguments'", "not JSON"]),
    "reward_out_of_range": ("t.jsonl", f"{GOOD}\n{json.dumps({**chat_record(2), 'reward': 7})}\n",
                            ["line 2", "field 'reward'", "[0, 1]"]),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_record_errors(tmp_path: Path, case: str) -> None:
    name, content, words = CASES[case]
    path = tmp_path / name
    path.write_text(content)
    done = cli("ingest", "-i", path, "-w", tmp_path / "w")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for word in words:
        assert word in lines[0]
    assert not (tmp_path / "w" / "traces").exists()
    assert not (tmp_path / "w" / "ingest.json").exists()

    summary = cli_json("ingest", "-i", path, "-w", tmp_path / "w", "--on-error", "skip")
    assert summary["traces"] == 1 and summary["skipped"] == 1
    (skipped,) = summary["skipped_records"]
    assert skipped["record"] == "line 2" and skipped["file"] == str(path) and skipped["reason"]


def test_truncated_json_list(tmp_path: Path, airline_trajectories: Path) -> None:
    text = airline_trajectories.read_text()
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2])
    done = cli("ingest", "-i", path, "-w", tmp_path / "w")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "cut.json" in line and "truncated" in line and "record" in line
    summary = cli_json("ingest", "-i", path, "-w", tmp_path / "w", "--on-error", "skip")
    # Every complete record before the cut is kept; the cut one is counted.
    assert 90 <= summary["traces"] < 200 and summary["skipped"] == 1
    assert "truncated" in summary["skipped_records"][0]["reason"]


@pytest.mark.parametrize(
    ("content", "words"),
    [("hello, this is plain text\n", ["unknown format", "not JSON"]),
     ('{"users": {"u1": {"name": "x"}}}\n', ["unknown format"]),
     ("", ["empty"])],
)
def test_unknown_format(tmp_path: Path, content: str, words: list[str]) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(content)
    done = cli("ingest", "-i", path, "-w", tmp_path / "w")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "data.jsonl" in line and all(word in line for word in words)


def test_unreadable_path(tmp_path: Path) -> None:
    done = cli("ingest", "-i", tmp_path / "missing.jsonl", "-w", tmp_path / "w")
    assert done.returncode == 1
    (line,) = done.stderr.strip().splitlines()
    assert "missing.jsonl" in line and "no such file" in line


def test_skip_goes_on_with_the_other_files(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text("not a trace file\n")
    (folder / "b.jsonl").write_text(GOOD + "\n")
    done = cli("ingest", "-i", folder, "-w", tmp_path / "w")
    assert done.returncode == 1 and "a.txt" in done.stderr
    summary = cli_json("ingest", "-i", folder, "-w", tmp_path / "w", "--on-error", "skip")
    assert summary["traces"] == 1 and summary["skipped"] == 1
    assert summary["files"][str(folder / "a.txt")]["skipped"] == 1
