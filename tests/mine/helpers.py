"""Small hand-built traces for the detector tests."""

from __future__ import annotations

from typing import Any

from clawloop_synth.types import GoldAction, Message, ToolCall, Trace


def call(name: str, n: int, **arguments: Any) -> Message:
    return Message(role="assistant", tool_calls=[ToolCall(id=f"c{n}", name=name, arguments=arguments)])


def result(name: str, n: int, content: str, is_error: bool = False) -> Message:
    return Message(role="tool", name=name, tool_call_id=f"c{n}", content=content, is_error=is_error)


def trace(messages: list[Message], reward: float | None = 0.0, gold: list[GoldAction] | None = None,
          tools: list[dict[str, Any]] | None = None, trace_id: str = "t1", **extra: Any) -> Trace:
    return Trace(id=trace_id, source="openai_chat", messages=[Message(role="user", content="help me"), *messages],
                 reward=reward, gold_actions=gold, tools=tools or [], **extra)


BOOK_SCHEMA = {
    "type": "function",
    "function": {
        "name": "book",
        "parameters": {"type": "object", "properties": {"flight": {"type": "string"}, "seats": {"type": "integer"}},
                       "required": ["flight", "seats"]},
    },
}
GET_SCHEMA = {"type": "function", "function": {"name": "get_flight", "parameters": {
    "type": "object", "properties": {"flight": {"type": "string"}}, "required": ["flight"]}}}
