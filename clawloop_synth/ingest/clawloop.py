"""ClawLoop episodes: its ``Episode`` dataclasses as dicts, its server's ``GET /episodes`` records and
its archive's ``episodes.jsonl``; one a JSON line, a JSON list, or a list under ``"episodes"``.

Tool calls there carry their outcome inline (``result``, ``success``, ``error``); each becomes a tool
turn after the assistant turn unless the episode already has a tool message for that call. The
reward is the first signal present in the order user, outcome, execution (only when confident),
judge, mapped from [-1, 1] to [0, 1]; the signals are under ``summary`` (an ``Episode``) or at the
top level (the server, the archive). Without any signal ClawLoop reports a neutral 0.5 that is not
a rating, so the trace stays unrated; a record with no ``signals`` field at all is rated by its
``normalized_reward`` (or ``reward``) when it has one.

An archive record has no messages but a ``messages_ref`` (``traces/<id>.json``), resolved against
the archive file's folder and its parents; the file there holds the episode (or its message list).
A reference that resolves nowhere is refused with the places looked at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, looks_like_error, normalize_messages, text_of
from clawloop_synth.ingest.jsonstream import iter_json_array, iter_jsonl, load_object
from clawloop_synth.ingest.records import make_trace, optional_reward
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["archive_refs", "episode_record", "read_clawloop", "read_single", "resolve_ref", "reward_from_signals"]

REWARD_ORDER = ("user", "outcome", "execution", "judge")
EXECUTION_MIN_CONFIDENCE = 0.7
_MAPPED = {"id", "episode_id", "task_id", "bench", "messages", "summary", "signals", "metadata"}
_REF_DEPTH = 2  # parents of the archive file a messages_ref may be relative to


def reward_from_signals(signals: dict[str, dict[str, Any]]) -> float | None:
    for name in REWARD_ORDER:
        signal = signals.get(name)
        if signal is None:
            continue
        confidence = signal.get("confidence")
        if name == "execution" and (confidence is None or confidence < EXECUTION_MIN_CONFIDENCE):
            continue
        return (float(signal["value"]) + 1.0) / 2.0
    return None


def _signals(raw: Any, where: Where, field: str) -> dict[str, dict[str, Any]]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise where.error("signals must be an object", field)
    signals = {}
    for name, signal in raw.items():
        if not isinstance(signal, dict) or not isinstance(signal.get("value"), int | float):
            raise where.error("a signal needs a numeric value", f"{field}.{name}.value")
        signals[name] = {"name": signal.get("name") or name, "value": float(signal["value"]),
                         "confidence": signal.get("confidence")}
    return signals


def _reward(value: dict[str, Any], signals: dict[str, dict[str, Any]], where: Where) -> float | None:
    if signals:
        return reward_from_signals(signals)
    summary = value.get("summary")
    if "signals" in value or (isinstance(summary, dict) and "signals" in summary):
        return None  # signals present but empty: ClawLoop's neutral fallback, not a rating
    for key in ("normalized_reward", "reward"):
        if value.get(key) is not None:
            return optional_reward(value[key], where, key)
    return None


def resolve_ref(ref: str, archive: Path) -> Path | None:
    """The file a ``messages_ref`` names: beside the archive file or under one of its parents."""
    base = archive.parent
    for _ in range(_REF_DEPTH + 1):
        candidate = base / ref
        if candidate.is_file():
            return candidate
        base = base.parent
    return None


def _referenced_messages(value: dict[str, Any], where: Where, archive: Path) -> list[Any]:
    ref = value.get("messages_ref")
    if not isinstance(ref, str) or not ref:
        raise where.error("record has no messages and no messages_ref", "messages")
    found = resolve_ref(ref, archive)
    if found is None:
        raise where.error(f"messages_ref {ref!r} is not beside the archive (looked under {archive.parent} "
                          f"and {_REF_DEPTH} parent folders); copy the archive's traces with it", "messages_ref")
    try:
        held = orjson.loads(found.read_bytes())
    except orjson.JSONDecodeError as exc:
        raise where.error(f"messages_ref file {found} is not valid JSON ({exc})", "messages_ref") from None
    messages = held.get("messages") if isinstance(held, dict) else held
    if not isinstance(messages, list):
        raise where.error(f"messages_ref file {found} holds no message list", "messages_ref")
    return messages


def _inline_results(raw_messages: list[dict[str, Any]], messages: list[dict[str, Any]],
                    where: Where) -> list[dict[str, Any]]:
    answered = {m.get("tool_call_id") for m in raw_messages if m.get("role") == "tool"}
    out: list[dict[str, Any]] = []
    for i, (raw, message) in enumerate(zip(raw_messages, messages, strict=True)):
        out.append(message)
        for call in raw.get("tool_calls") or []:
            if not isinstance(call, dict) or call.get("id") in answered:
                continue
            if "result" not in call and "error" not in call:
                continue
            failed = call.get("success") is False or bool(call.get("error"))
            content = text_of(call.get("error") if call.get("error") else call.get("result"), where,
                              f"messages[{i}].tool_calls.result")
            out.append({"role": "tool", "tool_call_id": call.get("id"), "name": call.get("name"),
                        "content": content, "is_error": failed or looks_like_error(content)})
    return out


def episode_record(value: Any, where: Where, archive: Path | None = None) -> TraceRecord:
    if not isinstance(value, dict):
        raise where.error("episode must be a JSON object")
    raw_messages = value.get("messages")
    if raw_messages is None and "messages_ref" in value and archive is not None:
        raw_messages = _referenced_messages(value, where, archive)
    messages = normalize_messages(raw_messages, where)
    assert isinstance(raw_messages, list)
    summary = value.get("summary")
    if isinstance(summary, dict) and "signals" in summary:
        signals = _signals(summary["signals"], where, "summary.signals")
    else:
        signals = _signals(value.get("signals"), where, "signals")
    # Everything the trace has no field for (run ids, timings, token usage, rewards as ClawLoop
    # computed them) is kept in metadata under its own name.
    metadata = {key: item for key, item in value.items() if key not in _MAPPED and item is not None}
    if isinstance(value.get("metadata"), dict):
        metadata.update(value["metadata"])
    elif value.get("metadata") is not None:
        metadata["metadata"] = value["metadata"]
    if isinstance(summary, dict):
        metadata["summary"] = {k: v for k, v in summary.items() if k != "signals"}
    trace_id = value.get("id") or value.get("episode_id") or where.record
    return make_trace(
        {
            "id": str(trace_id),
            "source": "clawloop",
            "task_id": None if value.get("task_id") is None else str(value["task_id"]),
            "domain": value.get("bench"),
            "messages": _inline_results(raw_messages, messages, where),
            "reward": _reward(value, signals, where),
            "signals": signals,
            "metadata": orjson.loads(orjson.dumps(metadata, default=str)),
        },
        where,
    )


def read_clawloop(path: Path, *, as_list: bool) -> Iterator[TraceRecord | InputError]:
    items = iter_json_array(path) if as_list else iter_jsonl(path)
    label = "record" if as_list else "line"
    for number, value in items:
        if isinstance(value, InputError):
            yield value
            continue
        try:
            yield episode_record(value, Where(str(path), f"{label} {number}"), path)
        except InputError as exc:
            yield exc


def read_single(path: Path) -> Iterator[TraceRecord | InputError]:
    """A file holding one episode, or ``{"episodes": [...]}``, as a (possibly pretty-printed) JSON object."""
    value = load_object(path)
    if isinstance(value, dict) and isinstance(value.get("episodes"), list) and "messages" not in value:
        for number, item in enumerate(value["episodes"], start=1):
            try:
                yield episode_record(item, Where(str(path), f"episodes[{number - 1}]"), path)
            except InputError as exc:
                yield exc
        return
    try:
        yield episode_record(value, Where(str(path), "record 1"), path)
    except InputError as exc:
        yield exc


def archive_refs(path: Path) -> set[Path]:
    """The message files an archive's ``episodes.jsonl`` refers to (read with it, not on their own)."""
    refs = set()
    for _, value in iter_jsonl(path):
        if isinstance(value, dict) and isinstance(value.get("messages_ref"), str) and "messages" not in value:
            found = resolve_ref(value["messages_ref"], path)
            if found is not None:
                refs.add(found.resolve())
    return refs
