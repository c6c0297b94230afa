"""Who&When failure-attribution logs: ``{question, ground_truth, history, mistake_agent, mistake_step, ...}``.

Each history entry becomes one message, in order, so the annotated ``mistake_step`` indexes
``Trace.messages`` directly. The acting agent is kept as the message's ``name``
(``"Orchestrator (-> WebSurfer)"`` is the Orchestrator speaking), whether the set carries it in
``role`` (hand-crafted) or in ``name`` (Algorithm-Generated). Every log in this dataset is an
annotated failed run, hence reward 0.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, text_of
from clawloop_synth.ingest.jsonstream import load_object
from clawloop_synth.ingest.records import make_trace
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["is_who_and_when", "read_who_and_when"]

_AGENT = re.compile(r"^\s*([^(]+?)\s*(\(.*\))?\s*$")


def is_who_and_when(value: Any) -> bool:
    return isinstance(value, dict) and "history" in value and "mistake_agent" in value


_END_USER = {"human", "user"}
_KNOWN = {"history", "question", "question_ID", "ground_truth", "mistake_agent", "mistake_step",
          "mistake_reason", "mistake_type"}


def _agent_name(label: str) -> str:
    match = _AGENT.match(label)
    return match.group(1) if match else label


def _message(entry: Any, where: Where, index: int) -> dict[str, Any]:
    """One history entry as one message (so ``mistake_step`` indexes ``Trace.messages``).

    The acting agent is in ``name`` (Algorithm-Generated set: ``role`` is only ``assistant`` or
    ``user``, the latter for every agent other than the recorder) or in ``role`` itself
    (hand-crafted set: ``"Orchestrator (-> WebSurfer)"``). A turn by a named agent is an assistant
    turn whatever its role says; only an unnamed ``user``/``human`` turn is the end user.
    """
    if not isinstance(entry, dict) or not isinstance(entry.get("role"), str):
        raise where.error("a history entry needs a role", f"history[{index}].role")
    role, name = entry["role"], entry.get("name")
    content = text_of(entry.get("content"), where, f"history[{index}].content")
    if isinstance(name, str) and name.strip() and name.strip().lower() not in _END_USER:
        return {"role": "assistant", "content": content, "name": _agent_name(name)}
    if role.lower() in _END_USER:
        return {"role": "user", "content": content, "name": role}
    if role.lower() == "assistant":
        return {"role": "assistant", "content": content}
    return {"role": "assistant", "content": content, "name": _agent_name(role)}


def _step(raw: Any, steps: int, where: Where) -> int:
    """The annotated mistake step: an integer (or its digits as text) indexing the history."""
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int):  # 2.7 or True are not steps
        raise where.error(f"mistake_step is not an integer: {raw!r}", "mistake_step")
    if not 0 <= raw < steps:
        raise where.error(f"mistake_step {raw} is outside the history of {steps} entries", "mistake_step")
    return raw


def who_record(value: Any, where: Where, trace_id: str) -> TraceRecord:
    history = value.get("history")
    if not isinstance(history, list) or not history:
        raise where.error("record has no history", "history")
    step = _step(value.get("mistake_step"), len(history), where)
    if not isinstance(value.get("mistake_agent"), str):
        raise where.error(f"mistake_agent must be text, got {type(value.get('mistake_agent')).__name__}",
                          "mistake_agent")
    roles = [entry.get("role") if isinstance(entry, dict) else None for entry in history]
    # The hand-crafted set says ``is_corrected``, the Algorithm-Generated one ``is_correct``.
    corrected = value.get("is_corrected", value.get("is_correct"))
    extras = {key: item for key, item in value.items() if key not in _KNOWN}
    entry_extras = {str(i): {k: v for k, v in entry.items() if k not in ("role", "name", "content")}
                    for i, entry in enumerate(history)
                    if isinstance(entry, dict) and set(entry) - {"role", "name", "content"}}
    metadata: dict[str, Any] = {**extras, "roles": roles, "is_corrected": corrected}
    if entry_extras:
        metadata["message_extras"] = entry_extras
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
            "gold_failure": {"agent": _agent_name(value["mistake_agent"]), "step": step,
                             "reason": str(value.get("mistake_reason") or ""),
                             "mistake_type": value.get("mistake_type")},
            "metadata": orjson.loads(orjson.dumps(metadata, default=str)),
        },
        where,
    )


def read_who_and_when(path: Path, value: Any | None = None) -> Iterator[TraceRecord | InputError]:
    if value is None:
        value = load_object(path)
    try:
        yield who_record(value, Where(str(path), "record 1"), f"whowhen-{path.stem}")
    except InputError as exc:
        yield exc
