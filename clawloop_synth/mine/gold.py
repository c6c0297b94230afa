"""Compare a failed trace's state-changing calls with its gold actions.

Unmatched gold actions are *missing*, unmatched agent calls are *extra*, and a gold action paired
with a same-name call that differs only in some arguments yields one *wrong argument* failure per
differing argument, named ``tool.argument`` (``book_reservation.payment_methods``).
"""

from __future__ import annotations

from typing import Any

from clawloop_synth.mine.context import HANDOFF, MineContext, failure
from clawloop_synth.types import Failure, GoldAction, ToolStep, Trace

__all__ = ["diff_actions", "gold_diff", "premature_finish", "successful_writes"]


def _norm(value: Any) -> Any:
    """Compare JSON values loosely on number type (250 == 250.0) and key order, not on content."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, dict):
        return {k: _norm(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_norm(v) for v in value]
    return value


def _differing(gold: dict[str, Any], got: dict[str, Any]) -> list[str]:
    keys = sorted(set(gold) | set(got))
    return [k for k in keys if _norm(gold.get(k)) != _norm(got.get(k))]


def successful_writes(trace: Trace, ctx: MineContext) -> list[ToolStep]:
    """The agent's state-changing calls that went through (an error result changed nothing)."""
    return [s for s in trace.tool_steps() if s.call.name in ctx.writes and not s.is_error]


def _last_assistant(trace: Trace) -> int:
    return max((i for i, m in enumerate(trace.messages) if m.role == "assistant"), default=len(trace.messages) - 1)


def diff_actions(trace: Trace, gold: list[GoldAction], calls: list[ToolStep], signal: str = "gold_diff",
                 against: str = "") -> list[Failure]:
    """Missing, extra and wrong-argument failures of ``calls`` against the expected ``gold`` actions.

    ``against`` names what the expectation came from (added to each detail, e.g. ``vs run X``).
    """
    # Exact matches first, so a near miss is not paired with a gold action another call fulfils.
    open_gold = list(gold)
    open_calls = list(calls)
    for action in gold:
        hit = next((c for c in open_calls if c.call.name == action.name
                    and not _differing(action.arguments, c.call.arguments)), None)
        if hit is not None:
            open_gold.remove(action)
            open_calls.remove(hit)
    suffix = f" {against}" if against else ""
    out: list[Failure] = []
    for action in list(open_gold):
        same = [c for c in open_calls if c.call.name == action.name]
        if not same:
            continue
        best = min(same, key=lambda c: len(_differing(action.arguments, c.call.arguments)))
        open_gold.remove(action)
        open_calls.remove(best)
        for arg in _differing(action.arguments, best.call.arguments):
            name = f"{action.name}.{arg}"
            out.append(failure(trace, best.call_index, "agent/action/wrong_argument", signal,
                               f"wrong value for argument {arg}", tool=action.name, arguments=best.call.arguments,
                               detail=name + suffix))
    end = _last_assistant(trace)
    for action in open_gold:
        out.append(failure(trace, end, "agent/action/missing_action", signal,
                           "required state-changing action never performed", tool=action.name,
                           arguments=action.arguments, detail=f"missing {action.name}{suffix}"))
    for step in open_calls:
        out.append(failure(trace, step.call_index, "agent/action/extra_action", signal,
                           "state-changing action the task did not ask for", tool=step.call.name,
                           arguments=step.call.arguments, detail=f"extra {step.call.name}{suffix}"))
    return out


def gold_diff(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Missing, extra and wrong-argument state-changing actions of a failed trace with gold actions."""
    if trace.gold_actions is None or not ctx.failed(trace):
        return []
    gold: list[GoldAction] = [a for a in trace.gold_actions if a.name in ctx.writes or not ctx.writes]
    return diff_actions(trace, gold, successful_writes(trace, ctx))


def premature_finish(trace: Trace, ctx: MineContext) -> list[Failure]:
    """A failed, solvable trace where the agent changed nothing although gold needs writes.

    Hand-offs are reported by their own detector, so a trace that handed off is not counted here.
    """
    if not (ctx.failed(trace) and ctx.solvable(trace)) or not trace.gold_actions:
        return []
    needed = [a for a in trace.gold_actions if a.name in ctx.writes and not HANDOFF.search(a.name)]
    if not needed or successful_writes(trace, ctx):
        return []
    for message in trace.messages:
        if any(HANDOFF.search(c.name) for c in message.tool_calls) or (
                message.role == "assistant" and message.content and HANDOFF.search(message.content)):
            return []
    return [failure(trace, _last_assistant(trace), "agent/planning/premature_termination", "premature",
                    "ended without any state-changing action although the task needed some",
                    detail=f"no writes; needed {', '.join(sorted({a.name for a in needed}))}")]
