"""Normalize OpenAI-style chat messages, shared by every reader.

The legacy OpenAI form (an assistant ``function_call`` answered by a ``function`` message) becomes a
tool call and its tool result, paired by a generated id.

Readers hand raw dicts here and get plain dicts shaped like ``types.Message``; building the pydantic
objects happens once, at the end, in :func:`clawloop_synth.ingest.records.make_trace`.
"""

from __future__ import annotations

from typing import Any

import orjson

from clawloop_synth.errors import InputError

__all__ = ["Where", "looks_like_error", "normalize_messages", "parse_arguments", "text_of"]

_ROLE_ALIASES = {"developer": "system", "function": "tool", "human": "user", "ai": "assistant"}
_ROLES = {"system", "user", "assistant", "tool"}
_MESSAGE_FIELDS = {"role", "content", "name", "tool_calls", "tool_call_id", "is_error"}
_ERROR_PREFIXES = ("error", "exception", "traceback")


class Where:
    """Where a record came from, to name it in errors."""

    def __init__(self, file: str, record: str) -> None:
        self.file = file
        self.record = record
        self.message_extras: dict[str, dict[str, Any]] = {}  # message index -> fields it has no slot for
        self.dropped: list[str] = []  # fields left out on purpose (listed in ingest.json)

    def error(self, message: str, field: str | None = None) -> InputError:
        return InputError(message, file=self.file, record=self.record, field=field)


def looks_like_error(content: str | None) -> bool:
    """Whether a tool result's text reads as a failure (``Error: ...`` or ``{"error": ...}``)."""
    if not content:
        return False
    # Only the head is looked at: stripping the whole text would copy a result of megabytes.
    head = content[:256].lstrip()[:16].lower()
    if head.startswith(_ERROR_PREFIXES):
        return True
    if head.startswith("{") and '"error"' in content[:200]:
        try:
            value = orjson.loads(content)
        except orjson.JSONDecodeError:
            return False
        return isinstance(value, dict) and bool(value.get("error"))
    return False


def text_of(content: Any, where: Where | None = None, field: str = "content") -> str | None:
    """Message content as text: strings as-is, lists of parts joined, other values as JSON.

    A part is text or an object whose ``text`` (if any) is text; anything else is an error of
    ``field`` (an InputError when ``where`` is given, else ValueError).
    """
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for i, part in enumerate(content):
            text = part.get("text", "") if isinstance(part, dict) else part
            if not isinstance(text, str):
                problem = f"a content part's text must be a string, got {type(text).__name__}"
                if where is None:
                    raise ValueError(problem)
                raise where.error(problem, f"{field}[{i}]")
            parts.append(text)
        return "\n".join(part for part in parts if part)
    return orjson.dumps(content).decode()


def _flag(raw: Any, where: Where, field: str) -> bool | None:
    """A boolean field: true/false, or the words "true"/"false" (not any non-empty text)."""
    if raw is None or isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    raise where.error(f"must be true or false, got {raw!r}"[:120], field)


def parse_arguments(raw: Any, where: Where, field: str) -> dict[str, Any]:
    """Tool-call arguments as a dict; JSON strings are parsed, anything else that is not an object fails."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str):
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise where.error(f"tool call arguments are not JSON: {raw[:80]!r}", field) from None
        if isinstance(value, dict):
            return value
    raise where.error("tool call arguments must be a JSON object", field)


def _tool_calls(raw: Any, where: Where, field: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise where.error("tool_calls must be a list", field)
    calls = []
    for i, call in enumerate(raw):
        if not isinstance(call, dict):
            raise where.error("a tool call must be an object", f"{field}[{i}]")
        function = call.get("function")
        if not isinstance(function, dict):
            function = call
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise where.error("tool call has no function name", f"{field}[{i}].function.name")
        arguments = function.get("arguments")
        if arguments.__class__ is str and arguments:  # the OpenAI form: a JSON string
            try:
                parsed = orjson.loads(arguments)
            except orjson.JSONDecodeError:
                parsed = None  # parse_arguments names the problem
            if parsed.__class__ is dict:
                arguments = parsed
        if not isinstance(arguments, dict):  # (already an object is the common case of HF datasets)
            arguments = parse_arguments(arguments, where, f"{field}[{i}].function.arguments")
        calls.append({"id": str(call.get("id") or f"call_{i}"), "name": name, "arguments": arguments})
    return calls


def normalize_messages(raw: Any, where: Where, field: str = "messages") -> list[dict[str, Any]]:
    """Validate and normalize a list of OpenAI chat messages into ``types.Message``-shaped dicts.

    This runs for every message of every trace, so the common case (a known role, text content, no
    tool calls) is kept to a few dict look-ups and no calls; field paths for errors are only
    formatted when there is an error. Fields a message has no value for are left out: the trace
    record's validation fills in their defaults.
    """
    if not isinstance(raw, list) or not raw:
        raise where.error("record has no messages" if not raw else "messages must be a list", field)
    messages = []
    function_call_id = None  # the id given to the last legacy ``function_call``, for its result
    for i, message in enumerate(raw):
        if not isinstance(message, dict):
            raise where.error("a message must be an object", f"{field}[{i}]")
        role = message.get("role")
        if role.__class__ is not str or role not in _ROLES:
            role = _ROLE_ALIASES.get(role) if isinstance(role, str) else None
            if role is None:
                raise where.error(f"unknown role {message.get('role')!r}"[:120], f"{field}[{i}].role")
        content = message.get("content")
        if content is not None and content.__class__ is not str:
            content = text_of(content, where, f"{field}[{i}].content")
        normalized: dict[str, Any] = {"role": role, "content": content}
        name = message.get("name")
        if name:
            normalized["name"] = str(name)
        if role == "assistant":
            calls = message.get("tool_calls")
            if calls:
                normalized["tool_calls"] = _tool_calls(calls, where, f"{field}[{i}].tool_calls")
            elif message.get("function_call"):
                function_call_id = f"function_call_{i}"
                legacy = [{"id": function_call_id, "function": message["function_call"]}]
                normalized["tool_calls"] = _tool_calls(legacy, where, f"{field}[{i}].function_call")
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id is None and message.get("role") == "function":
                # A legacy ``function`` result answers the ``function_call`` before it.
                call_id, function_call_id = function_call_id, None
            normalized["tool_call_id"] = call_id
            flagged = message.get("is_error")
            if flagged is not None and flagged.__class__ is not bool:
                flagged = _flag(flagged, where, f"{field}[{i}].is_error")
            normalized["is_error"] = flagged if flagged is not None else looks_like_error(content)
        if not message.keys() <= _MESSAGE_FIELDS:  # (a C-speed test first: most messages have no extras)
            extra = {k: v for k, v in message.items() if k not in _MESSAGE_FIELDS and v is not None
                     and not (k == "function_call" and normalized.get("tool_calls"))}
            if extra:
                where.message_extras.setdefault(str(i), {}).update(extra)
        messages.append(normalized)
    return messages
