"""ClawLoop ``Episode`` records (its dataclasses as dicts), one a JSON line or a JSON list.

Tool calls there carry their outcome inline (``result``, ``success``, ``error``); each becomes a tool
turn after the assistant turn unless the episode already has a tool message for that call. The
reward is the first signal present in the order user, outcome, execution (only when confident),
judge, mapped from [-1, 1] to [0, 1].
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, looks_like_error, normalize_messages, text_of
from clawloop_synth.ingest.jsonstream import iter_json_array, iter_jsonl
from clawloop_synth.ingest.records import make_trace
from clawloop_synth.types import Trace

__all__ = ["episode_record", "read_clawloop", "read_single", "reward_from_signals"]

REWARD_ORDER = ("user", "outcome", "execution", "judge")
EXECUTION_MIN_CONFIDENCE = 0.7
_MESSAGE_EXTRAS = ("timestamp", "model", "reasoning_content")
_EPISODE_EXTRAS = ("state_id", "bench", "session_id", "model", "created_at", "step_boundaries", "steps")


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


def _signals(summary: Any, where: Where) -> dict[str, dict[str, Any]]:
    raw = summary.get("signals") if isinstance(summary, dict) else None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise where.error("signals must be an object", "summary.signals")
    signals = {}
    for name, signal in raw.items():
        if not isinstance(signal, dict) or not isinstance(signal.get("value"), int | float):
            raise where.error("a signal needs a numeric value", f"summary.signals.{name}.value")
        signals[name] = {"name": signal.get("name") or name, "value": float(signal["value"]),
                         "confidence": signal.get("confidence")}
    return signals


def _inline_results(raw_messages: list[dict[str, Any]], messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    answered = {m.get("tool_call_id") for m in raw_messages if m.get("role") == "tool"}
    out: list[dict[str, Any]] = []
    for raw, message in zip(raw_messages, messages, strict=True):
        out.append(message)
        for call in raw.get("tool_calls") or []:
            if not isinstance(call, dict) or call.get("id") in answered:
                continue
            if "result" not in call and "error" not in call:
                continue
            failed = call.get("success") is False or bool(call.get("error"))
            content = text_of(call.get("error") if call.get("error") else call.get("result"))
            out.append({"role": "tool", "tool_call_id": call.get("id"), "name": call.get("name"),
                        "content": content, "is_error": failed or looks_like_error(content)})
    return out


def episode_record(value: Any, where: Where) -> Trace:
    if not isinstance(value, dict):
        raise where.error("episode must be a JSON object")
    raw_messages = value.get("messages")
    messages = normalize_messages(raw_messages, where)
    assert isinstance(raw_messages, list)
    signals = _signals(value.get("summary"), where)
    extras = {str(i): {k: m[k] for k in _MESSAGE_EXTRAS if m.get(k) is not None}
              for i, m in enumerate(raw_messages) if any(m.get(k) is not None for k in _MESSAGE_EXTRAS)}
    metadata = {key: value[key] for key in _EPISODE_EXTRAS if value.get(key) is not None}
    if isinstance(value.get("metadata"), dict):
        metadata.update(value["metadata"])
    summary = value.get("summary")
    if isinstance(summary, dict):
        metadata["summary"] = {k: v for k, v in summary.items() if k != "signals"}
    if extras:
        metadata["message_extras"] = extras
    return make_trace(
        {
            "id": str(value.get("id") or where.record),
            "source": "clawloop",
            "task_id": None if value.get("task_id") is None else str(value["task_id"]),
            "domain": value.get("bench"),
            "messages": _inline_results(raw_messages, messages),
            "reward": reward_from_signals(signals),
            "signals": signals,
            "metadata": orjson.loads(orjson.dumps(metadata, default=str)),
        },
        where,
    )


def read_clawloop(path: Path, *, as_list: bool) -> Iterator[Trace | InputError]:
    items = iter_json_array(path) if as_list else iter_jsonl(path)
    label = "record" if as_list else "line"
    for number, value in items:
        if isinstance(value, InputError):
            yield value
            continue
        try:
            yield episode_record(value, Where(str(path), f"{label} {number}"))
        except InputError as exc:
            yield exc


def read_single(path: Path) -> Iterator[Trace | InputError]:
    """A file holding one episode as a (possibly pretty-printed) JSON object."""
    try:
        yield episode_record(orjson.loads(path.read_bytes()), Where(str(path), "record 1"))
    except InputError as exc:
        yield exc
