"""Text views of tasks and clusters: what the near-duplicate check embeds and what prompts show.

The **task view** (embedded for the near-duplicate check) is what an agent working on the task would
see and have to do, and nothing it would not: the instruction, the user persona, the reference's tool
calls with their arguments in order, and the required outputs, one per line::

    instruction: Cancel reservation ZFA04Y for Mia Li ...
    persona: ...
    call: get_reservation_details reservation_id=ZFA04Y
    call: cancel_reservation reservation_id=ZFA04Y
    outputs: 450

The initial state is left out (it is mostly distractors, and two tasks over the same entities with
different instructions are different tasks), and so are the failure exemplar and the provenance (an
agent never sees them).
"""

from __future__ import annotations

import json
from typing import Any

from clawloop_synth.redact import clip
from clawloop_synth.types import Failure, FailureCluster, TaskSpec, Trace

__all__ = ["cluster_brief", "failure_steps", "state_excerpt", "task_view", "tools_brief"]


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)


def task_view(task: TaskSpec) -> str:
    """The documented text view of ``task`` used for near-duplicate detection (see the module doc)."""
    lines = [f"instruction: {task.instruction}"]
    if task.user_persona:
        lines.append(f"persona: {task.user_persona}")
    for call in task.reference.calls:
        args = " ".join(f"{k}={_value(v)}" for k, v in sorted(call.arguments.items()))
        lines.append(f"call: {call.name} {args}".rstrip())
    if task.checks.required_outputs:
        lines.append("outputs: " + " ".join(task.checks.required_outputs))
    return "\n".join(lines)


def _clip(text: str | None, limit: int) -> str:
    return clip(text, limit)  # redacted before clipping: a secret cut in half escapes its rule


def failure_steps(failure: Failure, trace: Trace | None, window: int = 3, limit: int = 240) -> list[str]:
    """The steps of ``trace`` around ``failure`` (the tool calls and results just before and at it)."""
    if trace is None:
        return []
    steps = [s for s in trace.tool_steps() if s.call_index <= failure.step + 1]
    out = []
    for step in steps[-window:]:
        args = _clip(json.dumps(step.call.arguments, sort_keys=True, default=str), limit)
        result = _clip(step.result, limit)
        flag = " (error)" if step.is_error else ""
        out.append(f"{step.call.name}({args}) -> {result}{flag}")
    final = max((i for i, m in enumerate(trace.messages) if m.role == "assistant" and m.content), default=None)
    if final is not None and failure.step >= final:
        out.append(f"final answer: {_clip(trace.messages[final].content, limit)}")
    return out


def cluster_brief(cluster: FailureCluster, exemplars: list[Failure], traces: dict[str, Trace],
                  max_exemplars: int = 3) -> dict[str, Any]:
    """The cluster as a prompt sees it: label, codes, keywords, exemplar failures with their steps."""
    return {
        "id": cluster.id,
        "label": cluster.label,
        "codes": cluster.codes,
        "keywords": cluster.keywords[:8],
        "size": cluster.size,
        "exemplars": [
            {"code": f.code, "tool": f.tool, "card": f.card, "error": _clip(f.error, 240) if f.error else None,
             "detail": _clip(f.detail, 240), "steps": failure_steps(f, traces.get(f.trace_id))}
            for f in exemplars[:max_exemplars]
        ],
    }


def tools_brief(tools: list[Any]) -> list[dict[str, Any]]:
    """Tool name, whether it writes, description and parameter names with their types (no handlers)."""
    out = []
    for spec in tools:
        props = spec.parameters.get("properties", {}) if isinstance(spec.parameters, dict) else {}
        params = {name: (p.get("type", "any") if isinstance(p, dict) else "any") for name, p in props.items()}
        out.append({"name": spec.name, "writes": spec.writes, "description": _clip(spec.description, 300),
                    "parameters": params, "required": spec.parameters.get("required", [])})
    return out


def state_excerpt(state: dict[str, Any], keys: dict[str, list[str]] | None = None, per_collection: int = 1,
                  limit: int = 1500) -> dict[str, Any]:
    """A compact picture of the state: per collection its size and one or two entities (clipped JSON).

    ``keys`` picks which entities to show per collection (default: the first ones).
    """
    out: dict[str, Any] = {}
    for name, table in state.items():
        if not isinstance(table, dict):
            out[name] = _clip(json.dumps(table, default=str), 200)
            continue
        chosen = (keys or {}).get(name) or list(table)[:per_collection]
        sample = {k: table[k] for k in chosen[:per_collection] if k in table}
        out[name] = {"entities": len(table), "example": _clip(json.dumps(sample, default=str), limit)}
    return out
