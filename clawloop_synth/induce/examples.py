"""Recorded tool calls as induction examples: one per call with a result, in trajectory order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from clawloop_synth.types import Trace

__all__ = ["Example", "TraceCalls", "collect_calls", "is_error_text", "parse_result"]

_MISSING = object()


def parse_result(text: str) -> Any:
    """The recorded result as JSON when it is JSON, else the text itself."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def is_error_text(text: str) -> bool:
    """A recorded error result: the common ``Error...`` prefix that tool backends use."""
    return text.lstrip().lower().startswith("error")


@dataclass
class Example:
    """One recorded call: its arguments, the result text and the parsed value."""

    trace_id: str
    index: int  # position among the trajectory's answered calls
    tool: str
    args: dict[str, Any]
    text: str
    value: Any
    error: bool
    pre: dict[str, Any] | None = None  # state snapshot before the call (set by the tracker)
    post: dict[str, Any] = field(default_factory=dict)  # (collection, key) -> observed entity after


@dataclass
class TraceCalls:
    """A trajectory's answered calls in order."""

    trace: Trace
    calls: list[Example]


def collect_calls(traces: Iterable[Trace]) -> list[TraceCalls]:
    """Every trajectory's answered tool calls as examples (unanswered calls carry no evidence)."""
    out: list[TraceCalls] = []
    for trace in traces:
        calls: list[Example] = []
        for step in trace.tool_steps():
            if step.result is None:
                continue
            value = parse_result(step.result)
            error = bool(step.is_error) or (isinstance(value, str) and is_error_text(value))
            calls.append(Example(trace.id, len(calls), step.call.name, dict(step.call.arguments), step.result,
                                 value, error))
        out.append(TraceCalls(trace, calls))
    return out
