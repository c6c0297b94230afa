"""OpenAI chat records: ``{"messages", "tools"?, "reward"?, "id"?, "metadata"?}``, one a JSONL line.

The same record shape is read from Hugging Face datasets (see ``hf.py``), where ``tools`` is often a
JSON string and tool-call arguments are often dicts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, normalize_messages
from clawloop_synth.ingest.jsonstream import iter_json_array, iter_jsonl, load_object
from clawloop_synth.ingest.records import make_trace, optional_reward
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["chat_record", "metadata_object", "read_openai_chat", "read_single"]


_MAPPED = ("id", "task_id", "domain", "messages", "tools", "reward", "metadata")


def _tools(raw: Any, where: Where) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if isinstance(raw, str):
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise where.error("tools is a string that is not JSON", "tools") from None
    if not isinstance(raw, list) or not all(isinstance(tool, dict) for tool in raw):
        raise where.error("tools must be a list of function schemas", "tools")
    return raw


def metadata_object(raw: Any, where: Where) -> dict[str, Any]:
    """A record's ``metadata`` as a dict: objects as-is, JSON text parsed, any other text kept as ``value``."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, str):
        try:
            parsed = orjson.loads(raw)
        except orjson.JSONDecodeError:
            return {"value": raw}  # free text (a note, a run name): kept, not an error
        return parsed if isinstance(parsed, dict) else {"value": raw}
    if not isinstance(raw, dict):
        raise where.error(f"metadata must be an object or text, got {type(raw).__name__}", "metadata")
    return raw


def chat_record(value: Any, where: Where, default_id: str, source: str = "openai_chat") -> TraceRecord:
    if not isinstance(value, dict):
        raise where.error("record must be a JSON object")
    metadata = metadata_object(value.get("metadata"), where)
    return make_trace(
        {
            "id": str(value.get("id") or default_id),
            "source": source,
            "task_id": None if value.get("task_id") is None else str(value["task_id"]),
            "domain": value.get("domain"),
            "messages": normalize_messages(value.get("messages"), where),
            "tools": _tools(value.get("tools"), where),
            "reward": optional_reward(value.get("reward"), where),
            "metadata": metadata,
        },
        where,
        value,
        _MAPPED,
    )


def read_openai_chat(path: Path, *, as_list: bool = False) -> Iterator[TraceRecord | InputError]:
    """JSON Lines (or, with ``as_list``, one JSON array) of chat records."""
    stem = path.stem
    if as_list:
        for number, value in iter_json_array(path):
            if isinstance(value, InputError):
                yield value
                continue
            where = Where(str(path), f"record {number}")
            try:
                yield chat_record(value, where, f"{stem}-{number}")
            except InputError as exc:
                yield exc
        return
    for line_no, value in iter_jsonl(path):
        if isinstance(value, InputError):
            yield value
            continue
        where = Where(str(path), f"line {line_no}")
        try:
            yield chat_record(value, where, f"{stem}-{line_no}")
        except InputError as exc:
            yield exc


def read_single(path: Path) -> Iterator[TraceRecord | InputError]:
    """A file holding one chat record as a (possibly pretty-printed) JSON object."""
    try:
        yield chat_record(load_object(path), Where(str(path), "record 1"), path.stem)
    except InputError as exc:
        yield exc
