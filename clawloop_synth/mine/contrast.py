"""Explain a failed run without gold: contrast it with successful runs, or other attempts at its task.

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
- With no success of the task at all but several failed attempts at it, what most of them changed
  stands in for the gold actions (``consensus``): attempts at one request agree on the change it
  asked for more often than on how they got it wrong.

The card names the failure (code, tool, argument) whatever the reference was, so failures of one
kind cluster together; the detail says what it was contrasted with.

Traces that carry gold actions are left to the gold diff.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from clawloop_synth.mine.context import MineContext, failure
from clawloop_synth.mine.gold import _last_assistant, _norm, diff_actions, successful_writes
from clawloop_synth.mine.references import Calls
from clawloop_synth.types import Failure, GoldAction, Trace

__all__ = ["consensus", "contrast"]


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
                               "state-changing action the task did not ask for", tool=s.call.name,
                               arguments=s.call.arguments, detail=f"extra {s.call.name} (vs similar runs {ids})"))
        else:
            out.append(failure(trace, s.call_index, "agent/action/wrong_argument", "contrast",
                               "wrong argument values",
                               tool=s.call.name, arguments=s.call.arguments,
                               detail=f"{s.call.name} arguments (vs similar runs {ids})"))
    end = _last_assistant(trace)
    out += [failure(trace, end, "agent/action/missing_action", "contrast",
                    "required state-changing action never performed",
                    tool=name, detail=f"missing {name} (vs similar runs {ids})")
            for name in sorted(wanted) if done[name] < wanted[name]]
    return out


def _key(name: str, arguments: dict[str, Any]) -> tuple[str, str]:
    return name, json.dumps(_norm(arguments), sort_keys=True, default=str)


def consensus(attempts: list[Calls], writes: set[str]) -> list[GoldAction]:
    """The changes most of several attempts at one task agree on, as stand-in gold actions.

    A change (tool and arguments) more than half of the attempts made is expected, as many times as
    most of them made it. A tool more than half called, with arguments no majority shares, is
    expected once with its most common arguments: the kind of change is agreed, its values are not.
    """
    per_run = [Counter(_key(name, args) for _, name, args in calls if name in writes) for calls in attempts]
    majority = len(per_run) / 2
    votes = Counter(key for run in per_run for key in run)
    arguments = {_key(name, args): args for calls in attempts for _, name, args in calls}
    expected = []
    for key, n in sorted(votes.items()):
        if n > majority:
            times = sorted((run[key] for run in per_run), reverse=True)[len(per_run) // 2]
            expected += [GoldAction(name=key[0], arguments=arguments[key])] * times
    agreed = {a.name for a in expected}
    tools = Counter(name for run in per_run for name in {key[0] for key in run})
    for name, n in sorted(tools.items()):
        if n > majority and name not in agreed:
            key = max((k for k in votes if k[0] == name), key=lambda k: (votes[k], k))
            expected.append(GoldAction(name=name, arguments=arguments[key]))
    return expected


def _attempts(trace: Trace, ctx: MineContext) -> list[Failure]:
    """With no successful run of the task, the other (failed) attempts at it: what most of them
    changed is most likely what the request asked for, so a change this run made beyond it is extra,
    one it skipped is missing, and one it made with other values has the wrong argument."""
    others = ctx.references.other_attempts(trace)
    if len(others) < ctx.contrast_attempts:
        return []
    expected = consensus([calls for _, calls in others], ctx.writes)
    return diff_actions(trace, expected, successful_writes(trace, ctx), signal="contrast",
                        against=f"(vs {len(others)} other attempts at the task)")


def _no_change(trace: Trace, ctx: MineContext) -> list[Failure]:
    """A failed run in a domain with state-changing tools that never tried to change anything: most
    likely the change it was asked for never happened (weak evidence: it may also have been a question
    it answered wrong). A run whose write failed is explained by that error instead."""
    if any(s.call.name in ctx.writes for s in trace.tool_steps()):
        return []
    return [failure(trace, _last_assistant(trace), "agent/action/missing_action", "no_change",
                    "required state-changing action never performed", detail="no state-changing call made")]


def contrast(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Missing, extra and wrong-argument actions of a failed trace without gold, from successful runs;
    a failed run that changed nothing, when nothing to contrast with says more."""
    if trace.gold_actions is not None or not ctx.failed(trace) or not ctx.writes:
        return []
    # A success of the same task is the best reference, then the task's other attempts, then the
    # most alike successes of other tasks.
    same_task = bool(ctx.references.same_task(trace))
    found = _same_task(trace, ctx) if same_task else _attempts(trace, ctx) or _nearest(trace, ctx)
    return found or _no_change(trace, ctx)
