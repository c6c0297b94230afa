"""A failure shown as its trace's conversation, with the message the failure is located at marked.

The output is plain data for the template (which escapes every string): trace text is untrusted
input and never becomes markup here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from clawloop_synth.types import Failure, Message, Trace

__all__ = ["MAX_CHARS", "conversation", "load_traces"]

MAX_CHARS = 1500  # per message: a long tool result is cut, and the cut is said


def _clip(text: str, limit: int = MAX_CHARS) -> str:
    if len(text) <= limit:
        return text
    return f"{text[:limit]} [... {len(text) - limit:,} more characters not shown]"


def _message(index: int, message: Message, marked: bool) -> dict[str, Any]:
    calls = [f"{call.name}({json.dumps(call.arguments, ensure_ascii=False, sort_keys=True)})"
             for call in message.tool_calls]
    return {"index": index, "role": message.role, "content": _clip(message.content or ""),
            "calls": [_clip(c, 500) for c in calls], "is_error": bool(message.is_error), "marked": marked}


def conversation(trace: Trace, failure: Failure, context: int = 40) -> dict[str, Any]:
    """The trace's messages around ``failure.step`` (at most ``context`` either side), the step marked."""
    step = failure.step
    first = max(0, step - context)
    last = min(len(trace.messages), step + context + 1)
    return {
        "trace_id": trace.id, "source": trace.source, "reward": trace.reward, "step": step,
        "code": failure.code, "signal": failure.signal, "tool": failure.tool, "error": _clip(failure.error or "", 500),
        "detail": _clip(failure.detail, 500), "card": failure.card,
        "omitted_before": first, "omitted_after": len(trace.messages) - last,
        "messages": [_message(i, trace.messages[i], i == step) for i in range(first, last)],
        "step_found": 0 <= step < len(trace.messages),
    }


def load_traces(folder: Path, ids: set[str]) -> dict[str, Trace]:
    """Only the traces with these ids, found through the dataset's flat ``id`` column."""
    from datasets import load_from_disk

    if not ids or not (folder / "data").is_dir():
        return {}
    dataset = load_from_disk(str(folder / "data"))
    rows = [i for i, value in enumerate(dataset["id"]) if value in ids]
    return {trace.id: trace for trace in (Trace.model_validate_json(blob) for blob in dataset.select(rows)["json"])}
