"""The induced policy: the system prompt the traces share (the most common first system message)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from clawloop_synth.types import Trace

__all__ = ["shared_policy"]


def shared_policy(traces: Iterable[Trace]) -> tuple[str, int]:
    """(policy text, how many traces start with it); ("", 0) when no trace has a system message."""
    counts: Counter[str] = Counter()
    for trace in traces:
        first = next((m for m in trace.messages if m.role == "system" and m.content), None)
        if first is not None and first.content:
            counts[first.content] += 1
    if not counts:
        return "", 0
    return counts.most_common(1)[0]
