"""Base tasks: a verified-to-be reference run over a sliced state, before any failure is injected.

A domain kit either builds :class:`BaseTask` objects itself (the demo kit reuses the demo task
builder) or describes a :class:`Scenario` (the state-changing calls and what the user states) and
lets :func:`base_from_scenario` do the generic part: prepend the reads that the tool-dependency graph
says produce the write arguments, slice the state, run the reference in ``SimEnv`` (rejecting it
when a write errors) and let the kit word the answer from the results.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from clawloop_synth.generate.graph import ToolGraph, leaf_strings
from clawloop_synth.sim.env import SimEnv
from clawloop_synth.sim.pack import DomainPack, State
from clawloop_synth.sim.rules import RuleSet, pack_rules
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import Choice, PlannedCall, PolicyRule, Provenance, Solution, TaskSpec, ToolSpec, Trace

__all__ = ["BaseTask", "DomainKit", "KitContext", "Scenario", "base_from_scenario", "candidate_reads", "generated_keys",
           "joined", "plan_reads", "scratch_task"]

_MAX_READS = 6


@dataclass
class KitContext:
    """What a kit may read: the pack, its full state, the mined graph, the source trace ids, the traces."""

    pack: DomainPack
    state: State
    graph: ToolGraph
    source_ids: list[str] = field(default_factory=list)
    traces: list[Trace] = field(default_factory=list)  # the real traces (their wording, their recorded calls)
    target_code: str | None = None  # the failure the task is for: a kit may pick situations that provoke it


@dataclass
class Scenario:
    """What a kit decides: the writes, what the user states, and how to word the answer.

    ``finish(values)`` gets the handler return values of the writes, in order, and returns the final
    answer and the required outputs.
    """

    kind: str
    writes: list[PlannedCall]
    given: dict[str, Any]
    instruction: str
    finish: Callable[[list[Any]], tuple[str, list[str]]]
    persona: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # value -> how the user names it ("my visa card")
    constraints: list[Choice] = field(default_factory=list)  # what the instruction fixes (uniqueness check)
    reads: list[PlannedCall] = field(default_factory=list)  # lookups made before the planned ones, as given
    # A refusal: the call the user asks for, which a policy rule forbids; the reference does not make it,
    # a complying agent does (the failure exemplar), answering ``complied``.
    forbidden: PlannedCall | None = None
    complied: str = ""
    refused_by_handler: bool = False  # the forbidden call is one the pack's handler errors on (no rule needed)
    unasked: bool = False  # the forbidden call is a write the user did not ask for (no rule needed either)


@dataclass
class BaseTask:
    """A correct task with no failure on its path yet."""

    kind: str
    instruction: str
    state: State
    tools: list[ToolSpec]
    calls: list[PlannedCall]
    answer: str
    outputs: list[str]
    writes: frozenset[str]
    distractors: int = 0
    persona: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    constraints: list[Choice] = field(default_factory=list)
    forbidden: PlannedCall | None = None  # a refusal's forbidden request (see Scenario)
    complied: str = ""

    def write_indices(self) -> list[int]:
        return [i for i, call in enumerate(self.calls) if call.name in self.writes]


class DomainKit(Protocol):
    """Per-domain knowledge: how to sample correct base tasks from a domain's state."""

    domain: str

    def base_tasks(self, ctx: KitContext, rng: random.Random) -> Iterator[BaseTask | str]:
        """Yield base tasks forever (or until the domain runs out); a string is a skipped draw's reason."""
        ...


def scratch_task(tools: list[ToolSpec], state: State, calls: list[PlannedCall] | None = None,
                 rules: list[PolicyRule] | None = None) -> TaskSpec:
    """A throwaway TaskSpec to run calls in SimEnv (with the pack's policy rules when given)."""
    return TaskSpec(id="scratch", domain="scratch", instruction="", tools=tools, initial_state=state,
                    reference=Solution(calls=calls or []), provenance=Provenance(generator="procedural"),
                    rules=list(rules or []))


def _param_value(name: str, given: dict[str, Any], writes: list[PlannedCall], entities: list[dict[str, Any]]
                 ) -> Any:
    if name in given:
        return given[name]
    for call in writes:
        if name in call.arguments:
            return call.arguments[name]
    for call in writes:
        for key, value in leaf_strings(call.arguments):
            if key == name:
                return value
    for entity in entities:
        if name in entity and isinstance(entity[name], str | int | float):
            return entity[name]
    return None


def candidate_reads(pack: DomainPack, graph: ToolGraph, state: State, writes: list[PlannedCall],
                     given: dict[str, Any]) -> list[PlannedCall]:
    """The reads the graph says produce the writes' arguments (and theirs, one level down), with arguments
    taken from what the user states, the writes and the entities they touch."""
    refs = pack.touched(state, [(c.name, c.arguments) for c in writes], depth=0)
    entities = [state[col][key] for col, keys in sorted(refs.items()) for key in sorted(keys)
                if isinstance(state[col].get(key), dict)]
    reads: list[PlannedCall] = []
    tools = {t.name: t for t in pack.tools}
    for call in writes:
        for producer in graph.producers(call.name):
            spec = tools.get(producer)
            if spec is None or spec.writes:
                continue
            params = spec.parameters.get("properties", {})
            required = spec.parameters.get("required", list(params))
            args = {p: _param_value(p, given, writes, entities) for p in required}
            if any(v is None for v in args.values()):
                continue
            read = PlannedCall(name=producer, arguments=args)
            if read not in reads:
                reads.append(read)
    # Reads of the read arguments themselves (a reservation id a user lookup gives), one level down.
    for read in list(reads):
        for producer in graph.producers(read.name):
            spec = tools.get(producer)
            if spec is None or spec.writes:
                continue
            required = spec.parameters.get("required", list(spec.parameters.get("properties", {})))
            args = {p: _param_value(p, given, writes, entities) for p in required}
            if all(v is not None for v in args.values()):
                extra = PlannedCall(name=producer, arguments=args)
                if extra not in reads:
                    reads.append(extra)
    return reads


def plan_reads(pack: DomainPack, graph: ToolGraph, state: State, writes: list[PlannedCall],
               given: dict[str, Any], env: SimEnv) -> list[PlannedCall]:
    """Order the reads so that every argument value is stated by the user or returned earlier.

    A candidate read runs once its argument strings are all known; it is kept when its result
    reveals a value a write (or a later read) needs, or when it looks up an entity a write changes.
    """
    known = {s for _, s in leaf_strings(given)}
    needed = {s for c in writes for _, s in leaf_strings(c.arguments) if len(s) >= 3} - known
    refs = pack.touched(state, [(c.name, c.arguments) for c in writes], depth=0)
    write_keys = {key for keys in refs.values() for key in keys}
    candidates = candidate_reads(pack, graph, state, writes, given)
    needed |= {s for c in candidates for _, s in leaf_strings(c.arguments)} - known
    kept: list[PlannedCall] = []
    progress = True
    while progress and candidates and len(kept) < _MAX_READS:
        progress = False
        for read in list(candidates):
            strings = {s for _, s in leaf_strings(read.arguments)}
            if not strings <= known:
                continue
            candidates.remove(read)
            result = env.step(read)
            if result.is_error:
                continue
            revealed = {s for s in needed if s in result.content}
            if revealed or strings & write_keys:
                kept.append(read)
                known |= revealed
                needed -= revealed
                progress = True
    return kept


def generated_keys(before: State, after: State) -> set[str]:
    """Keys of the entities the calls created: in a collection of ``after`` and not of ``before``."""
    out: set[str] = set()
    for name, table in after.items():
        if isinstance(table, dict):
            old = before.get(name)
            out |= {str(key) for key in table if not (isinstance(old, dict) and key in old)}
    return out


def base_from_scenario(ctx: KitContext, scenario: Scenario, distractors: int, seed: str) -> BaseTask | str:
    """The generic part of a base task; a string says why the scenario was dropped."""
    pack = ctx.pack
    tools = pack.tools
    asked = scenario.reads + scenario.writes + ([scenario.forbidden] if scenario.forbidden else [])
    probe_calls = [(c.name, c.arguments) for c in asked]
    # Slice generously first (reads may touch what the writes name), then plan and run on the slice.
    candidates = candidate_reads(pack, ctx.graph, ctx.state, scenario.writes, scenario.given)
    # Only read here and run in SimEnv (which copies it), so the slice need not be a copy of its own.
    # ctx.state is the pack's database as loaded, never edited: what its entities touch is remembered.
    sliced = pack.slice_state(ctx.state, probe_calls + [(c.name, c.arguments) for c in candidates],
                              distractors=distractors, seed=seed, copy=False, fixed=True)
    env = SimEnv(scratch_task(tools, sliced))
    for read in scenario.reads:
        env.step(read)
    planned = plan_reads(pack, ctx.graph, sliced, scenario.writes, scenario.given, env)
    calls = scenario.reads + [r for r in planned if r not in scenario.reads] + scenario.writes
    # Re-slice around the calls actually kept: reads that were dropped should not widen the state.
    kept = calls + ([scenario.forbidden] if scenario.forbidden else [])
    sliced = pack.slice_state(ctx.state, [(c.name, c.arguments) for c in kept], distractors=distractors, seed=seed,
                              fixed=True)
    rules = pack_rules(pack)
    env = SimEnv(scratch_task(tools, sliced, rules=rules))
    values: list[Any] = []
    for call in calls:
        result = env.step(call)
        if result.is_error:
            return f"{call.name} failed: {result.content[:120]}"
        if call.name in pack.write_tools:
            values.append(copy_state(result.value))  # the handler's value may share objects with the state
    if env.violations:
        # The kit should only pick what the policy allows; this is the safety net, counted as a drop.
        return f"policy: {env.violations[0].rule}: {env.violations[0].message[:120]}"
    if scenario.forbidden is not None:
        # A refusal must be one: some rule forbids the request on the state the reference leaves.
        judged = RuleSet(rules).check(env.state, scenario.forbidden.name, scenario.forbidden.arguments, len(calls))
        # Without a rule, the pack's own dynamics may forbid it: its handler refuses the call (a failed
        # precondition of an induced handler), which is what the reference's answer reports.
        refused = scenario.refused_by_handler and \
            SimEnv(scratch_task(tools, copy_state(env.state))).step(scenario.forbidden).is_error
        if not judged and not refused and not scenario.unasked:
            return f"refusal: no rule forbids {scenario.forbidden.name}"
    answer, outputs = scenario.finish(values)
    # An id the simulator made up for a new entity is the same in every task (the id generator is
    # deterministic), so an answer could guess it: it is no evidence that the agent read the result.
    made = generated_keys(sliced, env.state)
    outputs = [o for o in outputs if o not in made]
    used = [(c.name, c.arguments) for c in calls]
    return BaseTask(kind=scenario.kind, instruction=scenario.instruction, state=sliced, tools=tools, calls=calls,
                    answer=answer, outputs=outputs, writes=pack.write_tools,
                    distractors=pack.count_distractors(sliced, ctx.state, used, fixed=True), persona=scenario.persona,
                    labels=dict(scenario.labels), constraints=list(scenario.constraints),
                    forbidden=scenario.forbidden, complied=scenario.complied)


def joined(parts: list[Scenario | str]) -> Scenario | str:
    """One scenario of one or two writes (two must be different calls); a string says why not."""
    problem = next((p for p in parts if isinstance(p, str)), None)
    if problem is not None:
        return problem
    chosen = [p for p in parts if isinstance(p, Scenario)]
    if len(chosen) == 1:
        return chosen[0]
    first, second = chosen
    if first.writes == second.writes:
        return "generic kit, the two writes are the same call"
    given = {**first.given, **{k: v for k, v in second.given.items() if k not in first.given}}

    def finish(results: list[Any]) -> tuple[str, list[str]]:
        answer_a, outputs_a = first.finish(results[:1])
        answer_b, outputs_b = second.finish(results[1:])
        return f"{answer_a} {answer_b}", list(dict.fromkeys(outputs_a + outputs_b))

    text = second.instruction
    return Scenario(kind=f"{first.kind} + {second.kind}", writes=first.writes + second.writes, given=given,
                    instruction=f"{first.instruction} Also: {text[:1].lower()}{text[1:]}", finish=finish)
