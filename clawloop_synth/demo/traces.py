"""The embedded default traces: the scripted population run on the demo tasks, as OpenAI chat JSONL.

``write_demo_traces(path, n=320, seed=0)`` is what ``clawloop-synth sim demo-traces`` calls; the same
``(n, seed)`` writes the same bytes. Each line is ``{"id", "task_id", "domain", "messages", "tools",
"reward", "metadata"}`` with tool-call arguments as JSON strings; ``metadata.planted_mode`` names the
flaw planted in that run ("none" for clean runs) and is for evaluating the miner, never for mining.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from clawloop_synth.types import Message, Trace

__all__ = ["TASKS_PER_ROUND", "chat_record", "demo_traces", "write_demo_traces"]

TASKS_PER_ROUND = 40


def _message(message: Message) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.role == "assistant" and message.tool_calls:
        out["tool_calls"] = [
            {"id": call.id, "type": "function",
             "function": {"name": call.name, "arguments": json.dumps(call.arguments, ensure_ascii=False)}}
            for call in message.tool_calls
        ]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
        out["name"] = message.name
        out["is_error"] = bool(message.is_error)
    return out


def chat_record(trace: Trace, record_id: str | None = None) -> dict[str, Any]:
    """A trace as one OpenAI chat record (the ``openai_chat`` ingest format)."""
    return {
        "id": record_id or trace.id,
        "task_id": trace.task_id,
        "domain": trace.domain,
        "messages": [_message(m) for m in trace.messages],
        "tools": trace.tools,
        "reward": trace.reward,
        "metadata": {key: trace.metadata[key] for key in ("agent", "task_id", "attempt", "planted_mode")
                     if key in trace.metadata},
    }


def demo_traces(n: int = 320, seed: int = 0) -> list[Trace]:
    """``n`` runs: every agent of the scripted population on every demo task, round after round."""
    from clawloop_synth.agents import run_agent, scripted_population
    from clawloop_synth.demo.tasks import build_demo_tasks

    tasks = build_demo_tasks(TASKS_PER_ROUND, seed)
    agents = scripted_population(seed)
    traces: list[Trace] = []
    for i in range(n):
        task = tasks[i % len(tasks)]
        agent = agents[(i // len(tasks)) % len(agents)]
        attempt = i // (len(tasks) * len(agents))
        traces.append(run_agent(agent, task, attempt=attempt, trace_id=f"demo-{seed}-{i:04d}",
                                system_prompt=task.policy))
    return traces


def write_demo_traces(path: Path, n: int = 320, seed: int = 0) -> Counter[tuple[str, float]]:
    """Write the demo traces as JSONL; returns counts per (planted mode, reward)."""
    traces = demo_traces(n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps(chat_record(t), ensure_ascii=False, separators=(",", ":")) for t in traces]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Counter((t.metadata["planted_mode"], float(t.reward or 0.0)) for t in traces)
