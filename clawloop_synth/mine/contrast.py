"""Explain a failed run without gold: contrast it with successful runs.

- Successful runs of the same task are the best stand-in for the gold actions: what they changed
  is what the task needed. The failed run's state-changing calls are diffed against the closest of
  them (the one with the fewest differences), which names the missing or extra action or the
  argument that differs (``book_reservation.payment_methods``).
- With no success of the same task, the successful runs whose opening request reads most alike
  say which *kinds* of change such a request needs: a write tool most of them used and the failed
  run never did is missing, a write tool none of them used is extra, and a write tool they used too is
  the change that went wrong: the run made the right kind of change and still failed, so its
  arguments are what differs (which one cannot be told: values of other tasks belong to other
  records).

Traces that carry gold actions are left to the gold diff.
"""

from __future__ import annotations

from collections import Counter

from clawloop_synth.mine.context import MineContext, failure
from clawloop_synth.mine.gold import _last_assistant, diff_actions, successful_writes
from clawloop_synth.types import Failure, GoldAction, Trace

__all__ = ["contrast"]


def _same_task(trace: Trace, ctx: MineContext) -> list[Failure]:
    writes = successful_writes(trace, ctx)
    best: list[Failure] | None = None
    for ref in ctx.references.same_task(trace):
        expected = [GoldAction(name=name, arguments=args) for _, name, args in ref.calls if name in ctx.writes]
        found = diff_actions(trace, expected, writes, signal="contrast", against=f"(vs successful run {ref.trace_id})")
        if best is None or len(found) < len(best):
            best = found
        if not found:
            break
    return best or []


def _nearest(trace: Trace, ctx: MineContext) -> list[Failure]:
    refs = ctx.references.nearest(trace, ctx.contrast_min_similarity, n=ctx.contrast_neighbours,
                                  text=ctx.contrast_text)
    if not refs:
        return []
    used = [Counter(name for _, name, _ in ref.calls if name in ctx.writes) for _, ref in refs]
    # A change most of the similar runs made is wanted (as many times as most of them made it); one
    # none of them made is extra.
    votes = Counter(name for c in used for name in c)
    wanted = Counter({name: sorted((c[name] for c in used), reverse=True)[len(used) // 2]
                      for name, n in votes.items() if 2 * n > len(used)})
    seen = set(votes)
    writes = successful_writes(trace, ctx)
    done = Counter(s.call.name for s in writes)
    ids = ", ".join(ref.trace_id for _, ref in refs)
    out = []
    for s in writes:
        if s.call.name not in seen:
            out.append(failure(trace, s.call_index, "agent/action/extra_action", "contrast",
                               "state-changing action that similar successful runs never made", tool=s.call.name,
                               arguments=s.call.arguments, detail=f"extra {s.call.name} (vs similar runs {ids})"))
        else:
            out.append(failure(trace, s.call_index, "agent/action/wrong_argument", "contrast",
                               "the change similar successful runs made, with arguments that failed the task",
                               tool=s.call.name, arguments=s.call.arguments,
                               detail=f"{s.call.name} arguments (vs similar runs {ids})"))
    end = _last_assistant(trace)
    out += [failure(trace, end, "agent/action/missing_action", "contrast",
                    "state-changing action that similar successful runs made and this one never did",
                    tool=name, detail=f"missing {name} (vs similar runs {ids})")
            for name in sorted(wanted) if done[name] < wanted[name]]
    return out


def _no_change(trace: Trace, ctx: MineContext) -> list[Failure]:
    """A failed run in a domain with state-changing tools that never tried to change anything: most
    likely the change it was asked for never happened (weak evidence: it may also have been a question
    it answered wrong). A run whose write failed is explained by that error instead."""
    if any(s.call.name in ctx.writes for s in trace.tool_steps()):
        return []
    return [failure(trace, _last_assistant(trace), "agent/action/missing_action", "no_change",
                    "failed run that made no state-changing call", detail="no state-changing call made")]


def contrast(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Missing, extra and wrong-argument actions of a failed trace without gold, from successful runs;
    a failed run that changed nothing, when nothing to contrast with says more."""
    if trace.gold_actions is not None or not ctx.failed(trace) or not ctx.writes:
        return []
    found = _same_task(trace, ctx) if ctx.references.same_task(trace) else _nearest(trace, ctx)
    return found or _no_change(trace, ctx)
