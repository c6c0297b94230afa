"""The tau-bench airline tasks as TaskSpecs: gold actions become the reference solution.

One TaskSpec per distinct task id (the trajectory file holds several trials of each):

- initial state: the airline database sliced to what the gold actions and the failure exemplar
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

from clawloop_synth.sim.domains.airline import airline_pack
from clawloop_synth.sim.pack import Call, DomainPack, State
from clawloop_synth.types import Checks, PlannedCall, Provenance, Solution, TaskFeatures, TaskSpec, Trace

__all__ = ["GENERATOR", "airline_gold_tasks", "exemplar_of", "reference_of"]

GENERATOR = "tau_bench_gold"
# Other users come with their reservations, so random reservations (each dragging in its owner) add
# little; two other users and two unrelated flights keep a task near 45 KB.
DISTRACTORS = {"users": 2, "reservations": 0, "flights": 2}


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


def airline_gold_tasks(
    traces: Iterable[Trace],
    db: Path | State,
    pack: DomainPack | None = None,
    distractors: int | Mapping[str, int] = DISTRACTORS,
) -> list[TaskSpec]:
    """One verified-to-be TaskSpec per distinct tau-bench airline task among ``traces``.

    ``db`` is the database folder or an already loaded state. Trials of a task must agree on the
    instruction and gold actions; the first trial's are used.
    """
    pack = pack or airline_pack(db if isinstance(db, Path) else None)
    state = db if isinstance(db, dict) else pack.load_state(Path(db))
    tasks = []
    for task_id, trials in sorted(_group(traces).items(), key=lambda item: _task_key(item[0])):
        first = trials[0]
        reference = reference_of(first)
        exemplar, exemplar_source = exemplar_of(trials, reference, pack.write_tools)
        calls: list[Call] = [(c.name, c.arguments) for c in reference.calls + exemplar.calls]
        initial = pack.slice_state(state, calls, distractors=distractors, seed=f"airline-gold-{task_id}")
        ref_calls: list[Call] = [(c.name, c.arguments) for c in reference.calls]
        tasks.append(
            TaskSpec(
                id=f"airline-gold-{task_id}",
                domain="airline",
                instruction=first.instruction or "",
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
