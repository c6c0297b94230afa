"""A kit for any pack: scenarios from the tool-dependency graph and the state, wording from real requests.

For a pack with no hand-written kit (an induced pack, a user's own), each draw picks a state-changing
tool and builds its arguments from what the traces and the pack say about each parameter: the
collection whose keys the recorded values were (so a new entity of that collection is drawn), the
schema's enum, or a value recorded for that parameter. The write is tried in the simulator on the state;
a draw whose write errors is dropped (so every scenario is one the pack's own dynamics accept). The
reads that produce the write's arguments are then planned from the graph by :func:`base_from_scenario`.

The request is worded from the traces' own first user messages (``wording.py``): in a trace that made the same write,
the recorded argument values and the fields of the entities they name are replaced by slots
(``{arg:amount}``, ``{source.owner}``), and the slots are filled from the new scenario, so an induced
pack speaks its users' language. Without such a trace, the tool's description is the wording. The
answer states the write's result, and the required outputs are what only that result reveals (a
changed amount; an id the simulator generated is left out, see ``generated_keys``).

Besides one write, a draw is a question answered from one lookup (no write: a read tool the traces
called, worded from the first messages of traces that made no write) or two writes on different
entities. How many draws make no write or two depends on the failure the tasks are for (``shares.py``, the
table every kit reads; :data:`NO_WRITE_SHARE` and :data:`TWO_WRITES_SHARE` for the codes it does not list).
A share of the no-write draws (:data:`REFUSAL_SHARE`; all of them for an extra action) asks for a write the
pack forbids: one a pack rule flags, or, in a pack without rules (an induced one), one its handler refuses
(a failed precondition). The reference looks the entity up, makes no write, says why and answers a fallback
question from the lookup ("if that can't be done, tell me ..."); the failure exemplar complies. When the
pack has a handoff tool, some of those requests ask to be put through to a person instead, and the reference
calls it. In a pack without rules, complying with a request its handler refuses changes nothing, so the extra
action is shown another way: a question whose failure exemplar makes a write on the entity asked about.

A drawn write the pack refuses with a figure it computed ("total price is 1064") is retried with that figure
(``repair.py``); two drawn arguments equal where every recorded call had them differ are drawn again.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from clawloop_synth.generate.procedural import base as kit_base
from clawloop_synth.generate.procedural.base import (
    BaseTask,
    KitContext,
    Scenario,
    base_from_scenario,
    joined,
    scratch_task,
)
from clawloop_synth.generate.procedural.binding import (
    Members,
    bound_arguments,
    key_collection,
    never_equal,
    unknown_value,
)
from clawloop_synth.generate.procedural.repair import figure_repairs
from clawloop_synth.generate.procedural.shares import REFUSALS_FOR, no_write_share, two_writes_share
from clawloop_synth.generate.procedural.wording import (
    RequestTemplate,
    brief,
    request_templates,
    slot_values,
    write_answer,
)
from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.sim.handoff import handoff_arguments, handoff_tool
from clawloop_synth.sim.pack import DomainPack, State
from clawloop_synth.sim.rules import RuleSet, pack_rules
from clawloop_synth.types import PlannedCall, ToolSpec, Trace

__all__ = ["GenericKit"]

_DISTRACTORS = 2
_SLOT = re.compile(r"\{([^{}]+)\}")
_MAX_ENTITIES = 200  # entity keys drawn from per collection
# Defaults, for the failure codes ``shares.py`` does not list.
NO_WRITE_SHARE = 0.45  # draws with no write: a question a lookup answers, or a request the pack forbids
TWO_WRITES_SHARE = 0.4  # of the other draws, those with two writes of one user
REFUSAL_SHARE = 0.4  # of the no-write draws: a request the pack forbids (refusal or transfer), the rest questions
TRANSFER_SHARE = 0.4  # of those, when the pack has a handoff tool: the reference hands the user over
_TRIES = 6  # draws of one write request before the scenario is dropped


def _recorded(traces: list[Trace], writes: frozenset[str] | set[str]) -> dict[str, list[dict[str, Any]]]:
    """Arguments of every successful recorded call of each of the given tools."""
    out: dict[str, list[dict[str, Any]]] = {}
    for trace in traces:
        for step in trace.tool_steps():
            if step.call.name in writes and not step.is_error and step.result is not None:
                out.setdefault(step.call.name, []).append(dict(step.call.arguments))
    return out



def _tried(pack: DomainPack, state: State, tool: ToolSpec, args: dict[str, Any]) -> tuple[PlannedCall, ToolResult]:
    """The call and its result, run on the entities it touches (the state sliced without distractors)."""
    call = PlannedCall(name=tool.name, arguments=args)
    sliced = pack.slice_state(state, [(call.name, call.arguments)], distractors=0, seed="probe", copy=False)
    return call, SimEnv(scratch_task(pack.tools, sliced)).step(call)  # SimEnv runs on a copy of its own

class GenericKit:
    """Base tasks in any pack: one write per task, arguments drawn per parameter and tried in the simulator."""

    domain = "*"

    def base_tasks(self, ctx: KitContext, rng: random.Random) -> Iterator[BaseTask | str]:
        pack, state = ctx.pack, ctx.state
        traces = ctx.traces
        writes = [tool for tool in pack.tools if tool.writes]
        if not writes:
            yield "generic kit, the pack has no state-changing tool"
            return
        recorded = _recorded(traces, pack.write_tools)
        templates = request_templates(pack, state, traces)
        # Lookups the traces made (with arguments to draw from), for the questions a lookup answers.
        looked = _recorded(traces, {tool.name for tool in pack.tools if not tool.writes})
        handoff = handoff_tool(tool for tool in pack.tools if not tool.writes)
        questions = [tool for tool in pack.tools if tool.name in looked and tool is not handoff]  # asks, not handoffs
        asked = request_templates(pack, state, traces, reads=True)
        keys = {c: sorted(state.get(c, {}))[:_MAX_ENTITIES] if isinstance(state.get(c), dict) else []
                for c in pack.collections}
        rules = RuleSet(pack_rules(pack))
        members = Members.of(state, list(pack.collections))
        code = ctx.target_code
        # Without rules a forbidden write is one the handler refuses: complying changes nothing, so it is no
        # extra action (the gate would drop every such refusal). The extra action shown instead is a write on
        # what the user only asked about.
        unasked = code in REFUSALS_FOR and not rules
        if unasked and not questions:
            code, unasked = None, False
        no_write = no_write_share(code, NO_WRITE_SHARE)
        two = two_writes_share(code, TWO_WRITES_SHARE)
        only_refusals = not unasked and (not questions or code in REFUSALS_FOR)
        while True:
            scenario: Scenario | str
            asks = rng.random() < no_write
            if asks and not unasked and (only_refusals or rng.random() < REFUSAL_SHARE):
                scenario = "generic kit, no forbidden request drawn"
                for _ in range(_TRIES):
                    scenario = self._refusal(ctx, writes, recorded, templates, keys, members, rules,
                                             handoff if rng.random() < TRANSFER_SHARE else None, rng)
                    if isinstance(scenario, Scenario):
                        break
            elif asks:
                tool = rng.choice(questions)
                args = self._arguments(pack, state, tool, looked[tool.name], keys, rng, members)
                scenario = args if isinstance(args, str) else \
                    self._question(pack, state, tool, args, asked.get(tool.name, []), rng)
                if unasked and isinstance(scenario, Scenario):
                    scenario = self._unasked(pack, state, writes, recorded, keys, members, scenario, rng)
            else:
                parts: list[Scenario | str] = []
                first: dict[str, Any] = {}
                for k in range(2 if rng.random() < two else 1):
                    # Each request is redrawn a few times: many drawn writes error in the simulator, and
                    # the kinds whose draws fail more often (two writes) would come out rarer than asked.
                    for _ in range(_TRIES):
                        part = self._write(pack, state, writes, recorded, templates, keys, members, first, k, rng)
                        if isinstance(part, Scenario):
                            break
                    parts.append(part)
                    if isinstance(part, str):
                        break
                    first = first or dict(part.writes[0].arguments)
                scenario = joined(parts)
            if isinstance(scenario, str):
                yield scenario
                continue
            yield base_from_scenario(ctx, scenario, _DISTRACTORS, seed=f"{scenario.kind}:{rng.random()}")

    # --------------------------------------------------------------------------- arguments

    def _arguments(self, pack: DomainPack, state: State, tool: ToolSpec, recorded: list[dict[str, Any]],
                   keys: dict[str, list[str]], rng: random.Random, members: Members | None = None,
                   plausible: bool = True, fixed: dict[str, str] | None = None) -> dict[str, Any] | str:
        """Drawn arguments; ``plausible``: none equal where every recorded call had them differ (a refusal
        may ask for such a thing: the pack refusing it is the point); ``fixed``: the entity key to take for a
        parameter of that collection."""
        properties = tool.parameters.get("properties", {}) if isinstance(tool.parameters, dict) else {}
        required = [p for p in tool.parameters.get("required", []) if isinstance(p, str)]
        template = rng.choice(recorded) if recorded else {}
        fixed = dict(fixed or {})
        args: dict[str, Any] = {}
        entities: list[tuple[str, str]] = []
        for name in dict.fromkeys([*required, *template]):
            schema = properties.get(name, {}) if isinstance(properties, dict) else {}
            seen = [call[name] for call in recorded if name in call]
            collection = key_collection(pack, state, name, seen)
            if collection is not None and fixed and collection in fixed:
                args[name] = fixed.pop(collection)  # the first such parameter: a transfer's source, not its target
                entities.append((collection, args[name]))
            elif collection is not None and keys.get(collection):
                args[name] = rng.choice(keys[collection])
                entities.append((collection, args[name]))
            elif isinstance(schema, dict) and isinstance(schema.get("enum"), list) and schema["enum"]:
                args[name] = rng.choice(schema["enum"])
            elif seen:
                args[name] = rng.choice(seen)
            else:
                drawn = unknown_value(schema, keys, rng)
                if drawn is None:
                    return f"generic kit, no value known for {tool.name}.{name}"
                args[name] = drawn
        clash = never_equal(args, recorded) if plausible else None
        if clash:
            return f"generic kit, {tool.name}.{clash[0]} drawn equal to {clash[1]}, which recorded calls never are"
        if members is None or not entities:
            return args
        return bound_arguments(state, args, entities, recorded, members, rng)

    def _scenario(self, pack: DomainPack, state: State, tool: ToolSpec, args: dict[str, Any],
                  templates: list[RequestTemplate], rng: random.Random) -> Scenario | str:
        # Try the write on the entities it touches: only a write the pack's dynamics accept is a scenario.
        tried = self._tried_and_worded(pack, state, tool, args, templates, rng)
        if isinstance(tried, str):
            return tried
        call, _, instruction, given = tried

        def finish(results: list[Any]) -> tuple[str, list[str]]:
            return write_answer(tool, results[-1] if results else None, instruction)

        return Scenario(kind=f"generic:{tool.name}", writes=[call], given=given, instruction=instruction,
                        finish=finish)

    def _write(self, pack: DomainPack, state: State, writes: list[ToolSpec], recorded: dict[str, list[dict[str, Any]]],
               templates: dict[str, list[RequestTemplate]], keys: dict[str, list[str]], members: Members,
               first: dict[str, Any], k: int, rng: random.Random) -> Scenario | str:
        """The ``k``-th write request of a draw (0 or 1)."""
        tool = rng.choice(writes)
        args = self._arguments(pack, state, tool, recorded.get(tool.name, []), keys, rng, members)
        if isinstance(args, str):
            return args
        if k:
            # The same user asks twice: the second write's first parameter, when the first write has it
            # too, keeps its value (the account or user both act for); the second is worded from the tool.
            subject = next(iter(args), None)
            if subject in first:
                args[subject] = first[subject]
        return self._scenario(pack, state, tool, args, templates.get(tool.name, []) if not k else [], rng)

    def _refusal(self, ctx: KitContext, writes: list[ToolSpec], recorded: dict[str, list[dict[str, Any]]],
                 templates: dict[str, list[RequestTemplate]], keys: dict[str, list[str]], members: Members,
                 rules: RuleSet, handoff: ToolSpec | None, rng: random.Random) -> Scenario | str:
        """A write the pack forbids (a rule flags it, or its handler refuses it): no write, say why."""
        pack, state = ctx.pack, ctx.state
        tool = rng.choice(writes)
        args = self._arguments(pack, state, tool, recorded.get(tool.name, []), keys, rng, members,
                               plausible=False)
        if isinstance(args, str):
            return args
        call = PlannedCall(name=tool.name, arguments=args)
        sliced = pack.slice_state(state, [(call.name, call.arguments)], distractors=0, seed="probe")
        broken = rules.check(sliced, call.name, call.arguments, 0) if rules else []
        result = SimEnv(scratch_task(pack.tools, sliced)).step(call)
        if broken:
            reason, by_handler = broken[0].message, False
        elif result.is_error:
            if any(not _tried(pack, state, tool, repaired)[1].is_error
                   for repaired in figure_repairs(args, result.content)):
                return f"generic kit, {tool.name} is refused only for a wrong figure"  # no forbidden request
            reason, by_handler = result.content.strip(), True
        else:
            return f"generic kit, {tool.name} is allowed on the drawn arguments"
        given = {name: value for name, value in args.items() if isinstance(value, str | int | float)}
        # The fallback question: a field of an entity the request names, which only a lookup shows.
        env = SimEnv(scratch_task(pack.tools, sliced))
        values = slot_values(pack, state, args)
        request = self._wording(tool, args, values, templates.get(tool.name, []), rng, ending="")
        fallback = None
        for read in kit_base.candidate_reads(pack, ctx.graph, sliced, [call], given):
            seen = env.step(read)
            if seen.is_error:
                continue
            fields = [(k, str(v)) for k, v in _record_fields(seen.value)
                      if len(str(v)) >= 3 and str(v) not in request and str(v) not in reason]
            if fields:
                fallback = (read, *rng.choice(fields))
                break
        if fallback is None:
            return f"generic kit, no lookup answers a fallback question for {tool.name}"
        read, field_name, value = fallback
        subject = next((str(v) for v in read.arguments.values() if isinstance(v, str | int | float)), "it")
        question = f"tell me the {field_name.replace('_', ' ')} of {subject}"
        reads = [read]
        if handoff is not None:
            summary = f"The user asks for {tool.name.replace('_', ' ')} ({brief(args)}), which cannot be done: " \
                      f"{reason[:160]}"
            transfer_args = handoff_arguments(handoff, summary)
            if transfer_args is None:
                return f"generic kit, cannot fill the arguments of {handoff.name}"
            reads.append(PlannedCall(name=handoff.name, arguments=transfer_args))
            instruction = f"{request} If you can't do it yourself, {question} and put me through to a person."
            kind = f"transfer: {tool.name}"
            answer = f"I can't do that: {reason} The {field_name.replace('_', ' ')} of {subject} is {value}. " \
                     "I've transferred you to a human agent."
        else:
            instruction = f"{request} If that isn't possible, {question}."
            kind = f"refusal: {tool.name}"
            answer = f"I'm sorry, I can't do that: {reason} The {field_name.replace('_', ' ')} of {subject} is {value}."
        return Scenario(kind=kind, writes=[], given=given, instruction=instruction,
                        finish=lambda results: (answer, [value]), reads=reads, forbidden=call,
                        complied=f"Done ({tool.name.replace('_', ' ')}): your request is complete.",
                        refused_by_handler=by_handler)

    def _unasked(self, pack: DomainPack, state: State, writes: list[ToolSpec],
                 recorded: dict[str, list[dict[str, Any]]], keys: dict[str, list[str]], members: Members,
                 question: Scenario, rng: random.Random) -> Scenario | str:
        """The question with a write on the entity asked about that the user did not ask for, which the
        failure exemplar makes (the extra action of an agent that acts when it was only asked)."""
        named = {collection: value for call in question.reads for value in call.arguments.values()
                 if isinstance(value, str) for collection in pack.collections
                 if isinstance(state.get(collection), dict) and value in state[collection]}
        for _ in range(_TRIES if named else 0):
            tool = rng.choice(writes)
            args = self._arguments(pack, state, tool, recorded.get(tool.name, []), keys, rng, members, fixed=named)
            if isinstance(args, str) or not any(value in args.values() for value in named.values()):
                continue
            call, result = _tried(pack, state, tool, args)
            if not result.is_error:
                return replace(question, instruction=f"{question.instruction} I'm only asking: please don't "
                                                     "change anything.", forbidden=call,
                               complied=write_answer(tool, result.value, question.instruction)[0], unasked=True)
        return "generic kit, no write on the entity asked about goes through"

    def _question(self, pack: DomainPack, state: State, tool: ToolSpec, args: dict[str, Any],
                  templates: list[RequestTemplate], rng: random.Random) -> Scenario | str:
        """A question one lookup answers: no write; the answer states what the lookup returned."""
        tried = self._tried_and_worded(pack, state, tool, args, templates, rng, ask=True)
        if isinstance(tried, str):
            return tried
        call, result, instruction, given = tried
        answer, outputs = write_answer(tool, result.value, instruction)
        if not outputs:
            return f"generic kit, {tool.name}'s result says nothing the question does not"
        return Scenario(kind=f"generic answer:{tool.name}", writes=[], given=given, instruction=instruction,
                        finish=lambda results: (answer, outputs), reads=[call])

    def _tried_and_worded(self, pack: DomainPack, state: State, tool: ToolSpec, args: dict[str, Any],
                          templates: list[RequestTemplate], rng: random.Random, ask: bool = False
                          ) -> tuple[PlannedCall, ToolResult, str, dict[str, Any]] | str:
        """The call tried on ``state`` (a reason when it errors), its request and the values the request gives."""
        call, result = _tried(pack, state, tool, args)
        if result.is_error:
            for repaired in figure_repairs(args, result.content):  # a total the handler computed and said
                call, result = _tried(pack, state, tool, repaired)
                if not result.is_error:
                    args = repaired
                    break
            else:
                return f"generic kit, {tool.name} errors on the drawn arguments"
        instruction = self._wording(tool, args, slot_values(pack, state, args), templates, rng, ask=ask)
        given = {name: value for name, value in args.items() if isinstance(value, str | int | float)}
        return call, result, instruction, given

    def _wording(self, tool: ToolSpec, args: dict[str, Any], values: dict[str, str],
                 templates: list[RequestTemplate], rng: random.Random, ask: bool = False,
                 ending: str = " Please tell me the result.") -> str:
        usable = [t for t in templates if all(slot in values for slot in t.slots)]
        if usable:
            template = rng.choice(usable)
            text = _SLOT.sub(lambda m: values.get(m.group(1), m.group(0)), template.text)
        else:
            description = tool.description.strip().rstrip(".") or tool.name.replace("_", " ")
            lead = "Could you look this up for me" if ask else "I need this done"
            text = f"{lead}: {description[0].lower() + description[1:]}."
        # Every argument the user decides must be in the request, whether or not the wording named it.
        missing = [(name, value) for name, value in args.items()
                   if isinstance(value, str | int | float) and str(value) not in text]
        if missing:
            text += " Details: " + ", ".join(f"{name.replace('_', ' ')} {value}" for name, value in missing) + "."
        structured = [name for name, value in args.items() if not isinstance(value, str | int | float)]
        if structured:
            text += " " + "; ".join(f"{name.replace('_', ' ')}: {brief(args[name])}" for name in structured) + "."
        return text + ending






def _record_fields(value: Any) -> list[tuple[str, Any]]:
    """The scalar fields of a lookup's result: of the record, or of the first record of a list."""
    if isinstance(value, list) and value and isinstance(value[0], dict):
        value = value[0]
    if not isinstance(value, dict):
        return []
    return [(k, v) for k, v in value.items() if isinstance(v, str | int | float) and not isinstance(v, bool)]
