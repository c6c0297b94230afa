"""Detectors that read how a failed run ended: gave up on a transient error, or claimed a success
that the tool results contradict."""

from __future__ import annotations

import re

from clawloop_synth.mine.context import MineContext, failure, is_transient
from clawloop_synth.mine.taxonomy import classify_error
from clawloop_synth.types import Failure, Trace

__all__ = ["claimed_success", "missing_retry", "ungrounded_answer"]

# A final message that reports a completed change ("You're booked", "I've cancelled ...", "Paid ...").
_DONE = (r"(booked|cancell?ed|rescheduled|paid|updated|changed|modified|refunded|moved|sent|processed|"
         r"completed|confirmed|issued|added|removed|upgraded|exchanged|returned)")
_CLAIM = re.compile(
    rf"\b(i(?:'ve| have)|has been|have been|was|you(?:'re| are) (?:all )?)\s*(?:now\s+|successfully\s+)?{_DONE}\b"
    rf"|(?:^|[.!]\s+){_DONE}\b|\bis now (?:on|at|for|set|booked)\b", re.IGNORECASE)
_APOLOGY = re.compile(r"\b(sorry|unable|could ?n[o']t|can ?n[o']t|wasn't able|was not able|failed|error|"
                      r"unfortunately|try again|contact us)\b", re.IGNORECASE)
_ENTITY = re.compile(r"\b(?=[\w-]*[A-Za-z])(?=[\w-]*\d)[A-Za-z][\w-]*\d[\w-]*\b")


def _final(trace: Trace) -> int | None:
    return max((i for i, m in enumerate(trace.messages) if m.role == "assistant" and m.content), default=None)


def missing_retry(trace: Trace, ctx: MineContext) -> list[Failure]:
    """A transient error after which the agent never called that tool again, in a failed trace."""
    if not ctx.failed(trace):
        return []
    steps = trace.tool_steps()
    for n, step in enumerate(steps):
        if not step.is_error or step.result_index is None:
            continue
        if is_transient(classify_error(step.result or "")) and not any(
                s.call.name == step.call.name for s in steps[n + 1:]):
            return [failure(trace, step.result_index, "agent/planning/missing_retry", "no_retry",
                            "gave up after a transient error instead of retrying", tool=step.call.name,
                            error=step.result, detail=f"{step.call.name} not retried")]
    return []


def claimed_success(trace: Trace, ctx: MineContext) -> list[Failure]:
    """How a failed run's final answer contradicts its tool results.

    - the last tool call before the answer failed (and nothing of that tool succeeded after it), yet
      the answer does not admit it: the agent ignored the error (located at the error);
    - the answer claims a change but no state-changing call went through: it finished before doing
      the work (located at the answer).
    """
    final = _final(trace)
    if not ctx.failed(trace) or final is None:
        return []
    text = trace.messages[final].content or ""
    steps = [s for s in trace.tool_steps() if s.call_index < final]
    if steps and steps[-1].is_error and steps[-1].result_index is not None and not _APOLOGY.search(text) \
            and not is_transient(classify_error(steps[-1].result or "")):
        last = steps[-1]
        assert last.result_index is not None
        return [failure(trace, last.result_index, "agent/verification/ignored_error", "claimed_success",
                        "answered as if the failed call had succeeded", tool=last.call.name,
                        error=last.result, detail=f"{last.call.name} failed, answer ignores it")]
    if ctx.writes and _CLAIM.search(text) and not any(s.call.name in ctx.writes and not s.is_error for s in steps):
        return [failure(trace, final, "agent/planning/premature_termination", "claimed_success",
                        "reported a change it never made: finished before the state-changing call",
                        detail="success claimed with no state-changing call")]
    return []


def ungrounded_answer(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Identifiers in a failed run's final answer that no tool result, user or system turn contains."""
    final = _final(trace)
    if not ctx.failed(trace) or final is None or not any(m.role == "tool" for m in trace.messages):
        return []
    seen = " ".join(m.content or "" for m in trace.messages[:final] if m.role in ("tool", "user", "system"))
    invented = sorted({e for e in _ENTITY.findall(trace.messages[final].content or "") if e not in seen})
    if not invented:
        return []
    return [failure(trace, final, "agent/reasoning/wrong_information", "ungrounded",
                    "final answer states identifiers no tool returned", detail=f"ungrounded {', '.join(invented)}")]
