"""Traces the tests write themselves: scripted calls run through a small host backend of the test."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from clawloop_synth.induce.examples import collect_calls, parse_result
from clawloop_synth.induce.fidelity import matches, run_handler
from clawloop_synth.sim.sandbox import compile_handler
from clawloop_synth.types import Message, ToolCall, Trace

Backend = dict[str, Callable[..., Any]]


def record(trace_id: str, task: str, state: dict[str, Any], backend: Backend,
           calls: Sequence[tuple[str, dict[str, Any]]], system: str = "You are a helpful assistant.") -> Trace:
    """A trajectory whose results are what ``backend`` answers on ``state`` (changed in place)."""
    messages = [Message(role="system", content=system), Message(role="user", content="Hello, please help me.")]
    for index, (name, args) in enumerate(calls):
        call_id = f"call_{index}"
        result = backend[name](state, **args)
        text = result if isinstance(result, str) else json.dumps(result)
        messages.append(Message(role="assistant", tool_calls=[ToolCall(id=call_id, name=name, arguments=args)]))
        messages.append(Message(role="tool", content=text, tool_call_id=call_id, name=name))
    messages.append(Message(role="assistant", content="Done."))
    return Trace(id=trace_id, source="openai_chat", task_id=task, messages=messages)


def replay_exact(tools: Sequence[Any], traces: Sequence[Trace], state_of: Callable[[Trace], dict[str, Any]],
                 aliases: dict[str, str] | None = None) -> tuple[int, int, list[str]]:
    """(exact, total, mismatches) of the traces' recorded results replayed in order through the handlers."""
    handlers = {spec.name: compile_handler(spec.handler) for spec in tools}
    exact = total = 0
    missed: list[str] = []
    for run in collect_calls(traces):
        state = state_of(run.trace)
        for example in run.calls:
            value, text = run_handler(handlers[example.tool], state, example.args)
            total += 1
            if matches(value, text, example, aliases or {}):
                exact += 1
            else:
                missed.append(f"{run.trace.id} {example.tool} got {text[:120]!r} recorded {example.text[:120]!r}")
    return exact, total, missed


def replay_request(payload: dict[str, Any]) -> list[Any]:
    """``replay_exact`` from a fresh copy of a database folder, run in a contained child (the induced
    handlers are untrusted: a sandbox worker per call would send the whole database every time)."""
    from pathlib import Path

    from clawloop_synth.induce.state import load_db
    from clawloop_synth.sim.state import copy_state
    from clawloop_synth.types import ToolSpec

    base = load_db(Path(payload["db"]))
    tools = [ToolSpec.model_validate(item) for item in payload["tools"]]
    traces = [Trace.model_validate(item) for item in payload["traces"]]
    return list(replay_exact(tools, traces, lambda trace: copy_state(base), payload.get("aliases") or {}))


def replay_db(tools: Sequence[Any], traces: Sequence[Trace], db: Any,
              aliases: dict[str, str] | None = None) -> tuple[int, int, list[str]]:
    """(exact, total, mismatches) of the traces replayed from a fresh copy of ``db`` each, contained."""
    from pathlib import Path

    from clawloop_synth.induce.contained import run_contained

    exact, total, missed = run_contained("tests.induce.helpers:replay_request", {
        "tools": [spec.model_dump(mode="json") for spec in tools],
        "traces": [t.model_dump(mode="json") for t in traces], "db": str(Path(db).resolve()), "aliases": aliases or {}})
    return int(exact), int(total), [str(line) for line in missed]


__all__ = ["Backend", "parse_result", "record", "replay_db", "replay_exact"]
