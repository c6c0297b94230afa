"""Run every detector over the traces and summarise what was found."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from clawloop_synth.mine.context import MineContext, failure
from clawloop_synth.mine.contrast import contrast
from clawloop_synth.mine.evidence import result_evidence
from clawloop_synth.mine.gold import gold_diff, premature_finish
from clawloop_synth.mine.localize import WEAK
from clawloop_synth.mine.outcome import claimed_success, missing_retry, ungrounded_answer
from clawloop_synth.mine.signals import (
    error_results,
    handoffs,
    missing_outputs,
    repeated_calls,
    schema_violations,
)
from clawloop_synth.mine.taxonomy import UNEXPLAINED
from clawloop_synth.mine.text_signals import reported_failures, stalls
from clawloop_synth.types import Failure, Trace

if TYPE_CHECKING:
    from clawloop_synth.engine import Engine

__all__ = ["DETECTORS", "MineStats", "mine_one", "mine_trace", "mine_traces"]

_BATCH = 256  # traces per message to a worker
Detector = Callable[[Trace, MineContext], list[Failure]]

DETECTORS: list[Detector] = [
    error_results, result_evidence, schema_violations, repeated_calls, gold_diff, contrast, premature_finish,
    handoffs, missing_outputs, reported_failures, stalls, missing_retry, claimed_success,
    ungrounded_answer,
]


def _agent_at(trace: Trace, step: int) -> str:
    """Who acted at a message: its name, or for a tool result the assistant that made the call."""
    index = min(step, len(trace.messages) - 1)
    message = trace.messages[index]
    if message.role == "tool":
        for back in range(index - 1, -1, -1):
            if trace.messages[back].role == "assistant":
                message = trace.messages[back]
                break
    if message.name and message.role != "tool":
        return message.name
    return "user" if message.role == "user" else "assistant"


def mine_trace(trace: Trace, ctx: MineContext) -> list[Failure]:
    """All failures of one trace, ordered by step, with ids ``TRACE#N``.

    Weak evidence (an empty result, a run that changed nothing) is kept only when nothing stronger
    explains the trace: as a fallback it says something, beside a real cause it is noise in the
    clusters. A failed trace that no detector explains still gets one *unexplained* failure at its
    last assistant turn, so every failed trace is located somewhere.
    """
    found = [f for detect in DETECTORS for f in detect(trace, ctx)]
    if any(f.signal not in WEAK for f in found):
        found = [f for f in found if f.signal not in WEAK]
    if not found and ctx.failed(trace) and trace.messages:
        last = max((i for i, m in enumerate(trace.messages) if m.role == "assistant"),
                   default=len(trace.messages) - 1)
        found.append(failure(trace, last, UNEXPLAINED, "unexplained",
                             "low reward and no detector found a cause",
                             detail=f"reward {trace.reward}"))
    found.sort(key=lambda f: f.step)
    return [f.model_copy(update={"id": f"{trace.id}#{n}", "agent": f.agent or _agent_at(trace, f.step)})
            for n, f in enumerate(found)]


@dataclass
class MineStats:
    """Counts for the ``mine.json`` summary."""

    traces: int = 0
    rated_traces: int = 0
    failed_traces: int = 0
    failed_located: int = 0
    unexplained_traces: int = 0
    failures: int = 0
    error_results: int = 0
    error_results_unknown: int = 0
    by_code: Counter[str] = field(default_factory=Counter)
    by_signal: Counter[str] = field(default_factory=Counter)
    gold: dict[str, Counter[str]] = field(
        default_factory=lambda: {"missing": Counter(), "extra": Counter(), "wrong_argument": Counter()})
    gold_by_trace: dict[str, list[str]] = field(default_factory=dict)

    def add(self, trace: Trace, failed: bool, failures: list[Failure], rated: bool = True) -> None:
        self.add_result(trace.id, failed, failures, rated)

    def add_result(self, trace_id: str, failed: bool, failures: list[Failure], rated: bool = True) -> None:
        self.traces += 1
        self.rated_traces += rated
        self.failures += len(failures)
        self.failed_traces += failed
        # Located means a detector explained it; the unexplained placeholder only marks the trace.
        self.failed_located += failed and any(f.code != UNEXPLAINED for f in failures)
        self.unexplained_traces += any(f.code == UNEXPLAINED for f in failures)
        listed = []
        for f in failures:
            self.by_code[f.code] += 1
            self.by_signal[f.signal] += 1
            if f.signal == "error_result":
                self.error_results += 1
                self.error_results_unknown += f.code.endswith("/unknown")
            if f.signal == "gold_diff":
                kind = f.code.split("/")[-1].replace("_action", "")
                name = f.detail if kind == "wrong_argument" else (f.tool or "")
                self.gold[kind if kind in self.gold else "wrong_argument"][name] += 1
                listed.append(f"{kind}:{name}")
        if listed:
            self.gold_by_trace[trace_id] = listed

    def summary(self) -> dict[str, Any]:
        return {
            "traces": self.traces,
            "rated_traces": self.rated_traces,
            "failed_traces": self.failed_traces,
            "failed_traces_located": self.failed_located,
            "failures": self.failures,
            "unexplained_traces": self.unexplained_traces,
            "unexplained_share": round(self.unexplained_traces / self.failed_traces, 4) if self.failed_traces else 0.0,
            "error_results": self.error_results,
            "error_results_unknown": self.error_results_unknown,
            "by_code": dict(self.by_code.most_common()),
            "by_signal": dict(self.by_signal.most_common()),
            "gold_diff": {kind: dict(c.most_common()) for kind, c in self.gold.items()},
            "gold_diff_by_trace": self.gold_by_trace,
        }


def mine_one(ctx: MineContext, trace: Trace) -> tuple[str, bool, bool, list[Failure]]:
    """One trace's (id, failed, rated, failures): what :class:`MineStats` and the output need."""
    return trace.id, ctx.failed(trace), ctx.rated(trace), mine_trace(trace, ctx)


def mine_row(context: tuple[MineContext, type[Trace]], row: str) -> tuple[str, bool, bool, list[Failure]]:
    """:func:`mine_one` of a stored record's JSON (parsed where it is mined: text is cheaper to ship)."""
    ctx, model = context
    return mine_one(ctx, model.model_validate_json(row))


def mine_traces(traces: Iterable[Trace], ctx: MineContext, stats: MineStats | None = None,
                engine: Engine | None = None, rows: tuple[Iterable[str], type[Trace]] | None = None,
                processes: int = 1) -> Iterable[Failure]:
    """Stream the failures of ``traces``; ``stats`` (if given) is filled along the way. With an ``engine``
    (``ray``) they are mined on its workers in batches, the failures handed back in trace order; ``rows``
    (the records' JSON and their model) then stand for ``traces``. With ``processes`` > 1 and ``rows`` (and
    no remote engine) they are mined on that many local processes, in trace order."""
    if processes > 1 and rows is not None and (engine is None or engine.in_process):
        from clawloop_synth.engine.pool import pool_map_ordered

        # The workers use the context as forked (its runs by task are a file they reopen: see
        # mine.task_runs), so the driver never holds a pickled copy that grows with the traces.
        results = pool_map_ordered(mine_row, rows[0], (ctx, rows[1]), processes, batch=_BATCH, inherit=True)
    elif engine is not None and rows is not None:
        results = engine.map_ordered(mine_row, rows[0], context=(ctx, rows[1]), batch=_BATCH)
    elif engine is not None and not engine.in_process:
        results = engine.map_ordered(mine_one, traces, context=ctx, batch=_BATCH)
    else:
        results = (mine_one(ctx, trace) for trace in traces)
    for trace_id, failed, rated, found in results:
        if stats is not None:
            stats.add_result(trace_id, failed, found, rated)
        yield from found
