"""mini-swe-agent trajectories: ``{trajectory_format: "mini-swe-agent-1", info, messages, instance_id}``.

The agent has one tool, a shell: each assistant turn holds its command in a fenced ``bash`` block
and the next user turn is the observation, ``<returncode>N</returncode>`` then the output. Each
such pair becomes a call of a ``bash`` tool and its result (``is_error`` when the exit code is not
0, or when the observation has no exit code: a timeout). A turn with no block or several blocks is
not run by the agent's loop (it answers with a format error), so it stays plain text. The reward
is not in the file: SWE-bench's evaluation gives it (``ingest --rewards``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from clawloop_synth.errors import InputError
from clawloop_synth.ingest.chat import Where, text_of
from clawloop_synth.ingest.jsonstream import iter_json_array, iter_jsonl, load_object
from clawloop_synth.ingest.records import make_trace, optional_reward
from clawloop_synth.ingest.trace_record import TraceRecord

__all__ = ["BASH_TOOL", "is_mini_swe_agent", "mini_record", "read_mini_swe_agent"]

BASH_TOOL: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": "bash",
        "description": "Run one shell command in the task's repository and return its exit code and output.",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}},
                       "required": ["command"]},
    },
}
_BLOCK = re.compile(r"```(?:bash|sh|shell)\s*\n(.*?)\n?```", re.DOTALL)
_RETURNCODE = re.compile(r"^\s*<returncode>\s*(-?\d+)\s*</returncode>")
_KNOWN = {"messages", "info", "instance_id", "trajectory_format", "reward"}
_MESSAGE_KNOWN = {"role", "content"}


def is_mini_swe_agent(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("messages"), list):
        return False
    fmt = value.get("trajectory_format")
    return isinstance(fmt, str) and fmt.startswith("mini-swe-agent")


def _messages(raw: Any, where: Where) -> tuple[list[dict[str, Any]], dict[str, Any], list[int | None],
                                               list[dict[str, Any]]]:
    if not isinstance(raw, list) or not raw:
        raise where.error("record has no messages", "messages")
    out: list[dict[str, Any]] = []
    extras: dict[str, Any] = {}
    exit_codes: list[int | None] = []
    others: list[dict[str, Any]] = []
    pending: str | None = None  # id of the bash call waiting for its observation
    for i, message in enumerate(raw):
        here = f"messages[{i}]"
        if not isinstance(message, dict):
            raise where.error("a message must be an object", here)
        role = message.get("role")
        if not isinstance(role, str):
            raise where.error("a message needs a role", f"{here}.role")
        if role not in ("system", "user", "assistant", "tool"):
            # Bookkeeping turns of the agent's loop (an ``exit`` turn with the final status): no
            # chat role, so kept beside the conversation instead of in it.
            others.append({"index": i, **message})
            continue
        content = text_of(message.get("content"), where, f"{here}.content")
        extra = {k: v for k, v in message.items() if k not in _MESSAGE_KNOWN}
        if extra:
            extras[str(len(out))] = extra
        if role == "assistant":
            blocks = _BLOCK.findall(content or "")
            turn: dict[str, Any] = {"role": "assistant", "content": content, "tool_calls": []}
            if len(blocks) == 1:
                pending = f"bash_{i}"
                turn["tool_calls"] = [{"id": pending, "name": "bash", "arguments": {"command": blocks[0].strip()}}]
            else:
                pending = None
            out.append(turn)
            continue
        if role == "user" and pending is not None:
            match = _RETURNCODE.match(content or "")
            code = int(match.group(1)) if match else None
            exit_codes.append(code)
            out.append({"role": "tool", "tool_call_id": pending, "name": "bash", "content": content,
                        "is_error": code is None or code != 0})
            pending = None
            continue
        out.append({"role": role, "content": content})
    return out, extras, exit_codes, others


def mini_record(value: Any, where: Where, default_id: str) -> TraceRecord:
    if not isinstance(value, dict):
        raise where.error("trajectory must be a JSON object")
    messages, extras, exit_codes, others = _messages(value.get("messages"), where)
    instance = value.get("instance_id")
    info = value.get("info") if isinstance(value.get("info"), dict) else {}
    metadata: dict[str, Any] = {key: item for key, item in value.items() if key not in _KNOWN}
    metadata.update({"instance_id": instance, "info": info, "trajectory_format": value.get("trajectory_format"),
                     "exit_codes": exit_codes})
    if extras:
        metadata["message_extras"] = extras
    if others:
        metadata["other_turns"] = others
    return make_trace(
        {
            "id": str(instance or default_id),
            "source": "mini_swe_agent",
            "task_id": None if instance is None else str(instance),
            "messages": messages,
            "tools": [BASH_TOOL],
            "reward": optional_reward(value.get("reward"), where),
            "metadata": orjson.loads(orjson.dumps(metadata, default=str)),
        },
        where,
    )


def read_mini_swe_agent(path: Path, layout: str) -> Iterator[TraceRecord | InputError]:
    """One trajectory per file (``*.traj.json``), one a JSONL line, or a JSON list of them."""
    if layout == "object":
        try:
            yield mini_record(load_object(path), Where(str(path), "record 1"),
                              path.name.split(".")[0])
        except InputError as exc:
            yield exc
        return
    items = iter_json_array(path) if layout == "list" else iter_jsonl(path)
    label = "record" if layout == "list" else "line"
    for number, value in items:
        if isinstance(value, InputError):
            yield value
            continue
        try:
            yield mini_record(value, Where(str(path), f"{label} {number}"), f"{path.stem}-{number}")
        except InputError as exc:
            yield exc
