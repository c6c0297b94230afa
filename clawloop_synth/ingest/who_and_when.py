"""Who&When failure-attribution logs: ``{question, ground_truth, history, mistake_agent, mistake_step, ...}``.

Each history entry becomes one message, in order, so the annotated ``mistake_step`` indexes
``Trace.messages`` directly. The acting agent is kept as the message's ``name``
(``"Orchestrator (-> WebSurfer)"`` is the Orchestrator speaking). Every log in this dataset is a
failed run, hence reward 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, text_of
from clawloop_synth.ingest.records import make_trace
from clawloop_synth.types import Trace

__all__ = ["is_who_and_when", "read_who_and_when"]

_AGENT = re.compile(r"^\s*([^(]+?)\s*(\(.*\))?\s*$")


def is_who_and_when(value: Any) -> bool:
    return isinstance(value, dict) and "history" in value and "mistake_agent" in value


def _message(entry: Any, where: Where, index: int) -> dict[str, Any]:
    if not isinstance(entry, dict) or not isinstance(entry.get("role"), str):
        raise where.error("a history entry needs a role", f"history[{index}].role")
    role = entry["role"]
    if role.lower() in ("human", "user"):
        return {"role": "user", "content": text_of(entry.get("content")), "name": role}
    match = _AGENT.match(role)
    agent = match.group(1) if match else role
    return {"role": "assistant", "content": text_of(entry.get("content")), "name": agent}


def who_record(value: Any, where: Where, trace_id: str) -> Trace:
    history = value.get("history")
    if not isinstance(history, list) or not history:
        raise where.error("record has no history", "history")
    try:
        step = int(value.get("mistake_step"))
    except (TypeError, ValueError):
        raise where.error(f"mistake_step is not an integer: {value.get('mistake_step')!r}", "mistake_step") from None
    roles = [entry.get("role") if isinstance(entry, dict) else None for entry in history]
    return make_trace(
        {
            "id": trace_id,
            "source": "who_and_when",
            "task_id": value.get("question_ID"),
            "domain": "who_and_when",
            "messages": [_message(entry, where, i) for i, entry in enumerate(history)],
            "reward": 0.0,
            "instruction": value.get("question"),
            "gold_outputs": [] if value.get("ground_truth") is None else [str(value["ground_truth"])],
            "gold_failure": {"agent": str(value.get("mistake_agent")), "step": step,
                             "reason": str(value.get("mistake_reason") or ""),
                             "mistake_type": value.get("mistake_type")},
            "metadata": {"roles": roles, "level": value.get("level"), "is_corrected": value.get("is_corrected")},
        },
        where,
    )


def read_who_and_when(path: Path, value: Any | None = None) -> Iterator[Trace | InputError]:
    if value is None:
        value = orjson.loads(path.read_bytes())
    try:
        yield who_record(value, Where(str(path), "record 1"), f"whowhen-{path.stem}")
    except InputError as exc:
        yield exc
