"""Traces with gold actions (tau-bench's) as TaskSpecs of a pack: gold actions become the reference solution.

One TaskSpec per distinct task id (the trajectory file holds several trials of each):

- initial state: the pack's database sliced to what the gold actions and the failure exemplar
  touch, plus a few distractor entities;
- reference: the gold actions in order, answered with the required outputs;
- checks: the outcome check plus the task's required outputs;
- failure exemplar: the calls of the first trial that the recording scored 0, answered with
  everything that trial's agent said (tau-bench looks for outputs in any agent message). When every
  trial succeeded, the exemplar is the reference cut just before its last write with an empty
  answer: a premature finish, which must fail; for a task that writes nothing that is the empty run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from clawloop_synth.sim.pack import Call, DomainPack, State, load_pack
from clawloop_synth.types import Checks, PlannedCall, Provenance, Solution, TaskFeatures, TaskSpec, Trace

__all__ = ["GENERATOR", "airline_gold_tasks", "exemplar_of", "gold_tasks", "reference_of"]

GENERATOR = "tau_bench_gold"
DEFAULT_DISTRACTORS = 3  # per collection, when the pack sets none


def reference_of(trace: Trace) -> Solution:
    """The gold actions as a solution whose answer states every required output."""
    calls = [PlannedCall(name=a.name, arguments=a.arguments) for a in trace.gold_actions or []]
    return Solution(calls=calls, answer="; ".join(trace.gold_outputs))


def _said(trace: Trace) -> str:
    return "\n".join(m.content for m in trace.messages if m.role == "assistant" and m.content)


def exemplar_of(trials: list[Trace], reference: Solution, writes: frozenset[str]) -> tuple[Solution, str]:
    """The failure exemplar and where it came from (a trial id, or how it was made)."""
    for trial in trials:
        if trial.reward is not None and trial.reward < 1.0:
            steps = [s for s in trial.tool_steps() if s.result is not None]
            calls = [PlannedCall(name=s.call.name, arguments=s.call.arguments) for s in steps]
            return Solution(calls=calls, answer=_said(trial)), trial.id
    last_write = max((i for i, call in enumerate(reference.calls) if call.name in writes), default=-1)
    if last_write < 0:
        return Solution(), "empty run (no failing trial, no write to stop before)"
    return Solution(calls=reference.calls[:last_write]), "reference cut before its last write (no failing trial)"


def _group(traces: Iterable[Trace]) -> dict[str, list[Trace]]:
    groups: dict[str, list[Trace]] = {}
    for trace in traces:
        if trace.task_id is None or trace.gold_actions is None:
            continue
        groups.setdefault(trace.task_id, []).append(trace)
    for trials in groups.values():
        trials.sort(key=lambda t: (t.metadata.get("trial", 0), t.id))
    return groups


def _task_key(task_id: str) -> tuple[int, str]:
    return (int(task_id), "") if task_id.isdigit() else (1 << 30, task_id)


def gold_tasks(
    traces: Iterable[Trace],
    pack: DomainPack,
    db: Path | State | None = None,
    distractors: int | Mapping[str, int] | None = None,
) -> list[TaskSpec]:
    """One verified-to-be TaskSpec of ``pack`` per distinct task id among ``traces`` that carry gold actions.

    ``db`` is the database folder or an already loaded state (default: the pack's own); ``distractors``
    defaults to the pack's ``distractors``. Trials of a task must agree on the instruction and gold
    actions; the first trial's are used.
    """
    state = db if isinstance(db, dict) else pack.load_state(Path(db) if db is not None else None)
    if distractors is None:
        distractors = pack.distractors or DEFAULT_DISTRACTORS
    tasks = []
    for task_id, trials in sorted(_group(traces).items(), key=lambda item: _task_key(item[0])):
        first = trials[0]
        reference = reference_of(first)
        exemplar, exemplar_source = exemplar_of(trials, reference, pack.write_tools)
        calls: list[Call] = [(c.name, c.arguments) for c in reference.calls + exemplar.calls]
        initial = pack.slice_state(state, calls, distractors=distractors, seed=f"{pack.name}-gold-{task_id}")
        ref_calls: list[Call] = [(c.name, c.arguments) for c in reference.calls]
        tasks.append(
            TaskSpec(
                id=f"{pack.name}-gold-{task_id}",
                domain=pack.name,
                instruction=first.instruction or "",
                policy=pack.policy,
                tools=pack.tools,
                initial_state=initial,
                reference=reference,
                failure_exemplar=exemplar,
                checks=Checks(outcome=True, required_outputs=list(first.gold_outputs)),
                provenance=Provenance(
                    generator=GENERATOR,
                    prompt_version=f"exemplar: {exemplar_source}",
                    source_trace_ids=[t.id for t in trials],
                ),
                features=TaskFeatures(
                    steps=len(reference.calls),
                    tools=len({c.name for c in reference.calls}),
                    writes=sum(1 for c in reference.calls if c.name in pack.write_tools),
                    distractors=pack.count_distractors(initial, state, ref_calls),
                ),
            )
        )
    return tasks


def airline_gold_tasks(
    traces: Iterable[Trace],
    db: Path | State,
    pack: DomainPack | None = None,
    distractors: int | Mapping[str, int] | None = None,
) -> list[TaskSpec]:
    """:func:`gold_tasks` in the built-in airline pack (tau-bench's airline trajectories and database)."""
    pack = pack or load_pack("airline", db if isinstance(db, Path) else None)
    return gold_tasks(traces, pack, db, distractors)
