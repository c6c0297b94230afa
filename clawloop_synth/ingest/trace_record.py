"""``types.Trace`` as a plain dict: the form traces take on ingest's hot path.

Building the pydantic ``Message`` and ``ToolCall`` objects of every trace was most of ingest's CPU
time, only for the stage to serialize them again at once. These TypedDicts mirror ``types.Trace``
field for field (same names, types, bounds, defaults and order, extra fields forbidden), so one
``TypeAdapter`` validates a whole trace into dicts with the same errors (``messages.3.role``), fills
the same defaults, and ``orjson`` writes exactly the JSON ``Trace.model_dump_json()`` would.
``tests/ingest/test_trace_record.py`` keeps the two in step.
"""

from __future__ import annotations

from typing import Annotated, Any, NotRequired

from pydantic import ConfigDict, Field, TypeAdapter
from typing_extensions import TypedDict  # (pydantic needs this one before Python 3.12)

from clawloop_synth.types import Role, Trace, TraceSource

__all__ = ["TRACE_RECORD", "TraceRecord", "to_trace"]

_FORBID = ConfigDict(extra="forbid")


class ToolCallRecord(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    id: str
    name: str
    arguments: NotRequired[Annotated[dict[str, Any], Field(default_factory=dict)]]


class MessageRecord(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    role: Role
    content: NotRequired[Annotated[str | None, Field(default=None)]]
    name: NotRequired[Annotated[str | None, Field(default=None)]]
    tool_calls: NotRequired[Annotated[list[ToolCallRecord], Field(default_factory=list)]]
    tool_call_id: NotRequired[Annotated[str | None, Field(default=None)]]
    is_error: NotRequired[Annotated[bool | None, Field(default=None)]]


class SignalRecord(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    name: str
    value: Annotated[float, Field(ge=-1.0, le=1.0)]
    confidence: NotRequired[Annotated[float | None, Field(default=None, ge=0.0, le=1.0)]]


class GoldActionRecord(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    name: str
    arguments: NotRequired[Annotated[dict[str, Any], Field(default_factory=dict)]]


class GoldFailureRecord(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    agent: str
    step: int
    reason: str
    mistake_type: NotRequired[Annotated[str | None, Field(default=None)]]


class TraceRecord(TypedDict):
    __pydantic_config__ = _FORBID  # type: ignore[misc]
    id: str
    source: TraceSource
    task_id: NotRequired[Annotated[str | None, Field(default=None)]]
    domain: NotRequired[Annotated[str | None, Field(default=None)]]
    messages: list[MessageRecord]
    tools: NotRequired[Annotated[list[dict[str, Any]], Field(default_factory=list)]]
    reward: NotRequired[Annotated[float | None, Field(default=None, ge=0.0, le=1.0)]]
    signals: NotRequired[Annotated[dict[str, SignalRecord], Field(default_factory=dict)]]
    instruction: NotRequired[Annotated[str | None, Field(default=None)]]
    gold_actions: NotRequired[Annotated[list[GoldActionRecord] | None, Field(default=None)]]
    gold_outputs: NotRequired[Annotated[list[str], Field(default_factory=list)]]
    gold_failure: NotRequired[Annotated[GoldFailureRecord | None, Field(default=None)]]
    metadata: NotRequired[Annotated[dict[str, Any], Field(default_factory=dict)]]


TRACE_RECORD: TypeAdapter[TraceRecord] = TypeAdapter(TraceRecord)


def to_trace(record: TraceRecord) -> Trace:
    """The pydantic ``Trace`` of a validated record (for callers that want the objects)."""
    return Trace.model_validate(record)
