"""Failure injectors: one per targetable taxonomy leaf, generic over any base task.

Each takes a :class:`BaseTask` and returns a :class:`Variant` whose path carries the failure
condition and whose failure exemplar shows the failing behaviour, or None when this base task offers
no place for it. Error-class leaves (unavailable resource, short balance, bad totals, unknown ids,
...) are found by probing (``probing``); the variant and what the injectors share are in ``variant``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from clawloop_synth.generate.procedural.base import BaseTask
from clawloop_synth.generate.procedural.mutate import leaves, set_at
from clawloop_synth.generate.procedural.outage import OUTAGE_KEY, TRANSIENT, with_outage
from clawloop_synth.generate.procedural.plant import plant_twin, with_empty_lookup
from clawloop_synth.generate.procedural.probing import error_injector, ignored_error
from clawloop_synth.generate.procedural.variant import (
    GIVE_UP,
    Hook,
    Injector,
    Variant,
    last_write,
    mutations,
    run_calls,
)
from clawloop_synth.mine.context import HANDOFF
from clawloop_synth.mine.toolset import near_miss
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import PlannedCall, Solution

__all__ = ["GIVE_UP", "INJECTORS", "TRANSIENT", "Hook", "Variant", "inject", "targetable", "untargetable_reason"]

GIVE_UP_TRANSIENT = "I'm sorry, the system is temporarily unavailable, so I couldn't complete this. Please try later."
# The offer of a human that a needless handoff takes up (the user would rather the agent did it).
HUMAN_OFFER = "I'd rather you handle this yourself than pass me to a human agent."


def _missing_action(base: BaseTask, rng: random.Random) -> Variant | None:
    last = last_write(base)
    if last is None:
        return None
    calls = [c for i, c in enumerate(base.calls) if i != last]
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=calls, answer=base.answer), f"dropped {base.calls[last].name}")


def _premature(base: BaseTask, rng: random.Random) -> Variant | None:
    planted = with_empty_lookup(base)
    if planted is None:
        return None
    base = planted
    writes = base.write_indices()
    if not writes:
        return None
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=base.calls[: writes[0]], answer=base.answer),
                   "stopped before the first write, after an empty lookup")


def _succeeding_mutation(base: BaseTask, rng: random.Random, after: bool) -> tuple[int, PlannedCall] | None:
    """A write with one argument changed that still goes through (after the prefix, or after all calls)."""
    for index in base.write_indices()[::-1]:
        call = base.calls[index]
        for path, _old, new in mutations(base, call, rng, "sen")[:40]:
            wrong = set_at(call, path, new)
            prefix = base.calls if after else base.calls[:index]
            if not run_calls(base, [*prefix, wrong])[-1].is_error:
                return index, wrong
    return None


def _wrong_argument(base: BaseTask, rng: random.Random) -> Variant | None:
    """A near-identical twin of an entity a write names, planted beside it; the exemplar takes the twin."""
    for index in base.write_indices()[::-1]:
        call = base.calls[index]
        for path, old in leaves(call.arguments):
            planted = plant_twin(base.state, old, rng) if isinstance(old, str) else None
            if planted is None:
                continue
            state, twin = planted
            wrong = set_at(call, path, twin)
            calls = [*base.calls[:index], wrong, *base.calls[index + 1:]]
            if run_calls(base, [*base.calls[:index], wrong], state)[-1].is_error \
                    or run_calls(base, base.calls, state)[-1].is_error:
                continue
            return Variant(base.instruction, state, base.tools, Solution(calls=base.calls, answer=base.answer),
                           Solution(calls=calls, answer=base.answer), f"twin {twin} of {old} in {call.name}")
    return None


def _extra_action(base: BaseTask, rng: random.Random) -> Variant | None:
    if base.forbidden is not None:  # a refusal: the extra action is doing what the policy forbids
        return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                       Solution(calls=[*base.calls, base.forbidden], answer=base.complied or base.answer),
                       f"complied: {base.forbidden.name}")
    found = _succeeding_mutation(base, rng, after=True)
    if found is None:
        return None
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=[*base.calls, found[1]], answer=base.answer), f"extra {found[1].name}")


def _step_repetition(base: BaseTask, rng: random.Random) -> Variant | None:
    planted = with_empty_lookup(base)
    if planted is None:
        return None
    base = planted
    last = last_write(base)
    if last is not None:
        calls = [*base.calls[: last + 1], base.calls[last], *base.calls[last + 1:]]
        final = run_calls(base, calls)
        if not final[last + 1].is_error:  # a second identical write that changes the state again
            return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                           Solution(calls=calls, answer=base.answer), f"repeated {base.calls[last].name}")
    reads = [i for i in range(len(base.calls)) if base.calls[i].name not in base.writes]
    if not reads:
        return None
    read = base.calls[reads[0]]
    calls = [*base.calls[: reads[0] + 1], read, read]
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=calls, answer="I keep getting the same result and can't get further, sorry."),
                   f"looped on {read.name}")


def _nonexistent_tool(base: BaseTask, rng: random.Random) -> Variant | None:
    index = last_write(base)
    index = len(base.calls) - 1 if index is None else index
    if index < 0:
        return None
    call = base.calls[index]
    known = {t.name for t in base.tools}
    verb, _, rest = call.name.partition("_")
    options = [f"{call.name}_v2", f"{verb}_{rest}_request" if rest else f"{verb}_request",
               f"{rng.choice(['make', 'do', 'process', 'submit'])}_{call.name}"]
    fake = rng.choice([o for o in options if o not in known])
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=[*base.calls[:index], PlannedCall(name=fake, arguments=dict(call.arguments))],
                            answer=GIVE_UP), f"called {fake}")


def _misnamed_tool(base: BaseTask, rng: random.Random) -> Variant | None:
    """The last write (or last call) under a near-miss of its name: other separators or camel case."""
    index = last_write(base)
    index = len(base.calls) - 1 if index is None else index
    if index < 0:
        return None
    call = base.calls[index]
    known = {t.name for t in base.tools}
    words = [w for w in re.split(r"[_.\-]", call.name) if w]
    options = {".".join(words), "-".join(words), words[0] + "".join(w.title() for w in words[1:]),
               "".join(w.title() for w in words)}
    fakes = sorted(o for o in options if o not in known and near_miss(o, known) == call.name)
    if not fakes:
        return None
    fake = rng.choice(fakes)
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=[*base.calls[:index], PlannedCall(name=fake, arguments=dict(call.arguments))],
                            answer=GIVE_UP), f"called {fake} for {call.name}")


def _missing_required(base: BaseTask, rng: random.Random) -> Variant | None:
    index = last_write(base)
    if index is None:
        return None
    call = base.calls[index]
    spec = next(t for t in base.tools if t.name == call.name)
    required = [p for p in spec.parameters.get("required", []) if p in call.arguments]
    if not required:
        return None
    dropped = rng.choice(required)
    wrong = set_at(call, (dropped,), ...)
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=[*base.calls[:index], wrong], answer=GIVE_UP), f"dropped {call.name}.{dropped}")


def _handoff(base: BaseTask, rng: random.Random) -> Variant | None:
    if any(HANDOFF.search(c.name) for c in base.calls):
        return None  # a transfer is the right move here: no needless handoff to show
    writes = base.write_indices()
    stop = writes[0] if writes else len(base.calls)
    tool = next((t for t in base.tools if HANDOFF.search(t.name)), None)
    calls = list(base.calls[:stop])
    if tool is not None:
        args = {p: "The customer needs help with this request." for p in tool.parameters.get("required", [])}
        calls.append(PlannedCall(name=tool.name, arguments=args))
    answer = "I'm transferring you to a human agent who can help you with this."
    return Variant(f"{base.instruction} {HUMAN_OFFER}", base.state, base.tools,
                   Solution(calls=base.calls, answer=base.answer), Solution(calls=calls, answer=answer), "handed off")


def _missing_output(base: BaseTask, rng: random.Random) -> Variant | None:
    if not base.outputs:
        return None
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=base.calls, answer="All done, your request has been taken care of."),
                   "answer without the outputs")


def _wrong_information(base: BaseTask, rng: random.Random) -> Variant | None:
    if not base.outputs:
        return None
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ") for _ in range(3)) + str(rng.randrange(100, 999))
    answer = f"Your request is complete; your confirmation code is {code}."
    return Variant(base.instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=base.calls, answer=answer), f"made-up {code}")


def _transient(code: str) -> Injector:
    def inject_transient(base: BaseTask, rng: random.Random) -> Variant | None:
        index = last_write(base)
        if index is None:
            return None
        call = base.calls[index]
        tools = [with_outage(t, TRANSIENT[code]) if t.name == call.name else t for t in base.tools]
        state = copy_state(base.state)
        state[OUTAGE_KEY] = {call.name: 1}
        reference = [*base.calls[: index + 1], call, *base.calls[index + 1:]]
        return Variant(base.instruction, state, tools, Solution(calls=reference, answer=base.answer),
                       Solution(calls=base.calls[: index + 1], answer=GIVE_UP_TRANSIENT),
                       f"transient error on {call.name}")
    return inject_transient


def _plain(injector: Injector) -> Callable[[BaseTask, random.Random, Hook | None], Variant | None]:
    def call(base: BaseTask, rng: random.Random, hook: Hook | None = None) -> Variant | None:
        return injector(base, rng)
    return call


INJECTORS: dict[str, Callable[[BaseTask, random.Random, Hook | None], Variant | None]] = {
    "agent/action/unavailable_resource": error_injector("agent/action/unavailable_resource", "se"),
    "agent/action/insufficient_balance": error_injector("agent/action/insufficient_balance", "se"),
    "agent/reasoning/calculation_error": error_injector("agent/reasoning/calculation_error", "n"),
    "agent/action/entity_not_found": error_injector("agent/action/entity_not_found", "f"),
    "agent/action/invalid_operation": error_injector("agent/action/invalid_operation", "se"),
    "agent/action/invalid_argument_format": error_injector("agent/action/invalid_argument_format", "r"),
    "agent/verification/ignored_error": _plain(ignored_error),
    "agent/action/missing_required_argument": _plain(_missing_required),
    "agent/action/nonexistent_tool": _plain(_nonexistent_tool),
    "agent/action/misnamed_tool": _plain(_misnamed_tool),
    # An unclassified error that quotes what the agent passed (a fabricated value it made up).
    "agent/action/invalid_command": error_injector("agent/action/invalid_command", "f"),
    "agent/action/wrong_argument": _plain(_wrong_argument),
    "agent/action/missing_action": _plain(_missing_action),
    "agent/action/extra_action": _plain(_extra_action),
    "agent/planning/premature_termination": _plain(_premature),
    "agent/planning/step_repetition": _plain(_step_repetition),
    "agent/planning/unnecessary_handoff": _plain(_handoff),
    "agent/reasoning/missing_output": _plain(_missing_output),
    "agent/reasoning/wrong_information": _plain(_wrong_information),
    **{code: _plain(_transient(code)) for code in TRANSIENT},
}

_UNTARGETABLE = {
    "agent/outcome/unexplained": "no detector explains it, so no exemplar can be shown to target it",
    "user/instruction/inconsistent_request": "a user-side fault: the agent's run cannot exhibit it",
    "agent/action/tool_failure_reported": "only free-text multi-agent traces show it; tasks here are tool calls",
    "agent/planning/stalled_progress": "only free-text coordinator judgements show it",
    "agent/planning/goal_deviation": "no detector locates it, so targeting cannot be checked",
    "agent/verification/missing_verification": "no detector locates it, so targeting cannot be checked",
    "environment/system/auth_error": "a retry does not cure it, so no reference can pass through it",
    "environment/tool/unknown": "an unclassified error has no condition to put on the path",
    "agent/action/empty_result": ("weak evidence, mined only when nothing stronger explains a run, and an "
                                  "exemplar that stops at an empty result also misses the task's changes"),
}


def targetable(code: str) -> bool:
    return code in INJECTORS


def untargetable_reason(code: str) -> str:
    return _UNTARGETABLE.get(code, f"no injector for {code}")


def inject(code: str, base: BaseTask, rng: random.Random, hook: Hook | None = None) -> Variant | None:
    """The variant of ``base`` that targets ``code`` (None: this base offers no place for it)."""
    return INJECTORS[code](base, rng, hook)
