"""Detect a file's trace format from its content, never from its name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.hf import is_saved_dataset
from clawloop_synth.ingest.jsonstream import BOM, first_bytes, first_line, iter_json_array, iter_jsonl, load_object
from clawloop_synth.ingest.mini_swe_agent import is_mini_swe_agent
from clawloop_synth.ingest.who_and_when import is_who_and_when

__all__ = ["FORMATS", "classify_record", "detect_format"]

FORMATS = ("openai_chat", "tau_bench", "clawloop", "who_and_when", "mini_swe_agent", "hf_dataset", "parquet")
_CLAWLOOP_KEYS = ("steps", "step_boundaries", "summary", "state_id", "bench")
# Records looked at to find a file's format: a bad record at the top does not hide the good ones
# after it (in skip mode they are read and the bad ones counted).
_PROBE_RECORDS = 100
_WHOLE_OBJECT_BYTES = 512 * 2**20


def classify_record(value: Any) -> str | None:
    """The format one parsed record belongs to, or None."""
    if not isinstance(value, dict):
        return None
    if "traj" in value and "info" in value:
        return "tau_bench"
    if is_who_and_when(value):
        return "who_and_when"
    if is_mini_swe_agent(value):
        return "mini_swe_agent"
    if "messages_ref" in value and "messages" not in value:
        return "clawloop"  # an archive's episodes.jsonl: the messages are in the file it refers to
    if "messages" in value:
        return "clawloop" if any(key in value for key in _CLAWLOOP_KEYS) else "openai_chat"
    return None


def _unknown(path: Path, why: str) -> InputError:
    return InputError(
        f"unknown format: {why} (expected OpenAI chat JSONL, tau-bench JSON, ClawLoop episodes, "
        "Who&When JSON, mini-swe-agent trajectories, a saved Hugging Face dataset or parquet)",
        file=str(path),
    )


def detect_format(path: Path) -> tuple[str, str]:
    """Return (format, layout): layout is ``jsonl``, ``list``, ``object``, ``dataset`` or ``parquet``."""
    if path.is_dir():
        if is_saved_dataset(path):
            return "hf_dataset", "dataset"
        raise _unknown(path, "a folder that is not a saved dataset")
    head = first_bytes(path)
    if head.startswith(b"PAR1"):
        return "hf_dataset", "parquet"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise InputError("the file is empty", file=str(path))
    if text[:1] == b"[":
        number = 0
        for number, record in iter_json_array(path):
            kind = classify_record(record)
            if kind is not None and kind != "who_and_when":
                return kind, "list"
            if number >= _PROBE_RECORDS:
                break
        if number == 0:
            raise InputError("the JSON list is empty", file=str(path))
        raise _unknown(path, "a JSON list whose first record has no messages, traj or history" if number == 1
                       else f"a JSON list none of whose first {number} records has messages, traj or history")
    if text[:1] != b"{":
        found = _later_line(path)  # JSON Lines whose first line is not an object (``5``, ``"x"``, text)
        if found is None:
            raise _unknown(path, "the content is not JSON")
        return found, "jsonl"
    # A first line longer than the window is read whole: coding agents' traces run to megabytes a line.
    line = text.split(b"\n", 1)[0] if b"\n" in text else first_line(path).lstrip(BOM)
    try:
        first = orjson.loads(line)
        layout = "jsonl"
    except orjson.JSONDecodeError:
        try:
            first, layout = _whole_object(path), "object"
        except InputError:
            found = _later_line(path)  # JSON Lines whose first line is broken
            if found is None:
                raise
            return found, "jsonl"
    kind = classify_record(first)
    if kind is None and layout == "jsonl":
        later = _later_line(path)
        if later is not None:
            return later, "jsonl"
    if kind is None and isinstance(first, dict) and isinstance(first.get("episodes"), list) \
            and first["episodes"] and classify_record(first["episodes"][0]) == "clawloop":
        return "clawloop", "object"  # a server's list response wrapped in an object
    if kind is None:
        raise _unknown(path, "the first record has no messages, traj or history")
    if kind == "who_and_when":
        layout = "object"
    return kind, layout


def _later_line(path: Path) -> str | None:
    """The format of the first classifiable record among the file's first lines, or None."""
    for number, value in iter_jsonl(path):
        kind = classify_record(value)
        if kind is not None and kind != "who_and_when":
            return kind
        if number >= _PROBE_RECORDS:
            break
    return None


def _whole_object(path: Path) -> Any:
    if path.stat().st_size > _WHOLE_OBJECT_BYTES:
        raise InputError("not valid JSON (and too large to be read as one object)", file=str(path),
                         record="record 1")
    try:
        return load_object(path)
    except orjson.JSONDecodeError as exc:
        problem = "truncated JSON: the file ends early" if "EOF" in str(exc) or "end of" in str(exc).lower() \
            else f"not valid JSON ({exc})"
        raise InputError(problem, file=str(path), record="record 1") from None
