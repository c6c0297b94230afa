"""Failure signals in free-text multi-agent traces (no tool calls), e.g. Who&When logs.

Two kinds of evidence: a worker agent saying its own action failed, and the coordinator judging
that the run stopped making progress or loops (blamed on the worker turn just before that
judgement). Traces with tool calls are left to the tool detectors: there the text is noisier than
the structured results.
"""

from __future__ import annotations

import re

from clawloop_synth.mine.context import MineContext, failure
from clawloop_synth.types import Failure, Trace

__all__ = ["coordinator", "reported_failures", "stalls", "worker_steps"]

_REPORTED = re.compile(
    r"\b(error|failed|failure|unable to|could not|couldn't|cannot|can't|not found|404|access denied|"
    r"permission denied|timed out)\b", re.IGNORECASE)
_STALL = [
    re.compile(r'is_progress_being_made"?\s*:\s*\{[^}]*"answer"\s*:\s*false', re.IGNORECASE | re.DOTALL),
    re.compile(r'is_in_loop"?\s*:\s*\{[^}]*"answer"\s*:\s*true', re.IGNORECASE | re.DOTALL),
    re.compile(r"\b(we are|we're|seem to be|are) (stuck|going in circles|in a loop|not making progress)\b",
               re.IGNORECASE),
]
# Only the head of long page dumps is the agent's own report; the rest is page content.
_HEAD = 600


def _text_only(trace: Trace) -> bool:
    return not any(m.tool_calls or m.role == "tool" for m in trace.messages)


def coordinator(trace: Trace) -> str | None:
    """The agent that speaks first in a trace with several named agents (it plans and delegates)."""
    names = [m.name for m in trace.messages if m.role == "assistant" and m.name]
    return names[0] if len(set(names)) > 1 else None


def worker_steps(trace: Trace) -> list[int]:
    """Message indexes of assistant turns by agents other than the coordinator."""
    boss = coordinator(trace)
    return [i for i, m in enumerate(trace.messages) if m.role == "assistant" and m.name != boss]


def reported_failures(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Worker turns that report their own failure; only the first per agent (later ones echo it)."""
    if not _text_only(trace) or not ctx.failed(trace):
        return []
    out, seen = [], set()
    for index in worker_steps(trace):
        message = trace.messages[index]
        head = (message.content or "")[:_HEAD]
        match = _REPORTED.search(head)
        if match is None or message.name in seen:
            continue
        seen.add(message.name)
        snippet = head[max(0, match.start() - 60): match.end() + 60]
        out.append(failure(trace, index, "agent/action/tool_failure_reported", "reported_failure",
                           f"{message.name} reports: {snippet}", error=snippet, detail=f"{message.name} failed"))
    return out


def stalls(trace: Trace, ctx: MineContext) -> list[Failure]:
    """The first judgement that progress stalled, blamed on the worker turn right before it."""
    if not _text_only(trace) or not ctx.failed(trace):
        return []
    workers = worker_steps(trace)
    for index, message in enumerate(trace.messages):
        if message.role != "assistant" or not any(p.search(message.content or "") for p in _STALL):
            continue
        before = [w for w in workers if w < index]
        step = before[-1] if before else index
        return [failure(trace, step, "agent/planning/stalled_progress", "stall",
                        f"progress stalled after {trace.messages[step].name or 'agent'} turn",
                        detail=f"stall judged at message {index}")]
    return []
