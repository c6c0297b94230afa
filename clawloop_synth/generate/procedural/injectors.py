"""Failure injectors: one per targetable taxonomy leaf, generic over any base task.

Each takes a :class:`BaseTask` and returns a :class:`Variant` whose path carries the failure
condition and whose failure exemplar shows the failing behaviour, or None when this base task offers
no place for it. Error-class leaves (unavailable resource, short balance, bad totals, unknown ids,
...) are found by *probing*: mutations of a reference write are run in the simulator after the
reference's prefix, and the first whose error text the taxonomy classifies as the target leaf is the
exemplar's mistake. A domain kit may add a hook that creates the condition in the state when no
mutation finds it (:data:`Hook`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from clawloop_synth.generate.procedural.base import BaseTask, scratch_task
from clawloop_synth.generate.procedural.mutate import fabricate, leaves, nudges, reformat, set_at, siblings
from clawloop_synth.generate.procedural.outage import OUTAGE_KEY, TRANSIENT, with_outage
from clawloop_synth.generate.procedural.plant import plant_twin, with_empty_lookup
from clawloop_synth.mine.context import HANDOFF
from clawloop_synth.mine.evidence import classify_step
from clawloop_synth.mine.toolset import near_miss
from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import PlannedCall, Solution, ToolCall, ToolSpec, ToolStep

__all__ = ["GIVE_UP", "INJECTORS", "TRANSIENT", "Hook", "Variant", "inject", "targetable", "untargetable_reason"]

GIVE_UP = "I'm sorry, I wasn't able to complete your request right now. Please contact us again later."
GIVE_UP_TRANSIENT = "I'm sorry, the system is temporarily unavailable, so I couldn't complete this. Please try later."
# How the instruction puts a probed condition on the path: {wrong} the user's first choice, {right} the fallback.
_CONDITION = {
    "agent/action/unavailable_resource": "My first choice would be {wrong}; if that is not available, go with {right}.",
    "agent/action/insufficient_balance": "I'd rather use {wrong} if its balance covers it; otherwise {right}.",
    "agent/action/invalid_operation": "If {wrong} can't be used for this, use {right} instead.",
    "agent/action/entity_not_found": "Use {wrong} if it is still on file; if not, {right}.",
}
# The offer of a human that a needless handoff takes up (the user would rather the agent did it).
HUMAN_OFFER = "I'd rather you handle this yourself than pass me to a human agent."


@dataclass
class Variant:
    """A base task with a failure condition on its path and the exemplar that falls for it."""

    instruction: str
    state: dict[str, Any]
    tools: list[ToolSpec]
    reference: Solution
    exemplar: Solution
    note: str


Injector = Callable[[BaseTask, random.Random], Variant | None]
Hook = Callable[[BaseTask, random.Random], tuple[dict[str, Any], int, PlannedCall, str, str] | None]
"""A kit hook: (new state, index of the reference call to replace, the wrong call, wrong label, right label)."""


def _run(base: BaseTask, calls: list[PlannedCall], state: dict[str, Any] | None = None,
         tools: list[ToolSpec] | None = None) -> list[ToolResult]:
    env = SimEnv(scratch_task(tools or base.tools, state if state is not None else base.state),
                 max_steps=len(calls) + 1)
    return [env.step(call) for call in calls]


def _probe(base: BaseTask, index: int, call: PlannedCall, state: dict[str, Any] | None = None) -> ToolResult:
    """The result of ``call`` in place of the reference's call ``index``."""
    return _run(base, [*base.calls[:index], call], state)[-1]


class _Fork:
    """The state after the reference's first ``index`` calls, made once, for many probes of one call.

    A tool's result depends on nothing but the state and its arguments (``SimEnv``), so probing a
    mutation of call ``index`` from this state answers what the whole prefix replayed would: one run of
    the prefix for all of a call's mutations instead of one per mutation.
    """

    def __init__(self, base: BaseTask, index: int) -> None:
        env = SimEnv(scratch_task(base.tools, base.state), max_steps=index + 1)
        for call in base.calls[:index]:
            env.step(call)
        self._task = scratch_task(base.tools, env.state)  # the SimEnv setup, state bytes included, made once

    def probe(self, call: PlannedCall) -> ToolResult:
        return SimEnv(self._task, max_steps=1).step(call)


def _label(base: BaseTask, path: tuple[Any, ...], value: Any) -> str:
    if isinstance(value, str) and value in base.labels:
        return base.labels[value]
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "value")
    return f"{name.replace('_', ' ')} {value}"


def _mutations(base: BaseTask, call: PlannedCall, rng: random.Random, kinds: str) -> list[tuple[Any, Any, Any]]:
    """(path, old, new) mutations of ``call``: s=siblings, n=nudges, f=fabricated, r=reformat, e=enum."""
    avoid = orjson.dumps(base.state).decode()
    spec = next((t for t in base.tools if t.name == call.name), None)
    props = spec.parameters.get("properties", {}) if spec else {}
    out: list[tuple[Any, Any, Any]] = []
    for path, old in leaves(call.arguments):
        if not path:
            continue
        options: list[Any] = []
        if "e" in kinds and isinstance(path[0], str) and len(path) == 1:
            options += [v for v in props.get(path[0], {}).get("enum", []) if v != old]
        if "s" in kinds and isinstance(old, str):
            options += siblings(base.state, old)
        if "n" in kinds and isinstance(old, int | float):
            options += nudges(old)
        if "f" in kinds and isinstance(old, str) and (new := fabricate(old, rng, avoid)) is not None:
            options.append(new)
        if "r" in kinds:
            options += reformat(old)
        rng.shuffle(options)
        out.extend((path, old, new) for new in options[:12])
    rng.shuffle(out)
    return out


def _write_order(base: BaseTask) -> list[int]:
    writes = base.write_indices()
    return list(reversed(writes)) + [i for i in range(len(base.calls)) if i not in writes]


def _mined_code(call: PlannedCall, result: ToolResult) -> str:
    """The leaf the miner files a failed call under: the taxonomy's class of the error text, or the
    agent's invalid command when an unclassified error quotes what the call passed."""
    step = ToolStep(call_index=0, result_index=1, call=ToolCall(id="probe", name=call.name, arguments=call.arguments),
                    result=result.content, is_error=result.is_error)
    return classify_step(step)


def _probe_error(base: BaseTask, rng: random.Random, code: str, kinds: str, ignore: bool = False
                 ) -> Variant | None:
    """The first mutation of a reference call whose error the taxonomy files under ``code``."""
    for index in _write_order(base)[:3]:
        call = base.calls[index]
        fork: _Fork | None = None
        for path, old, new in _mutations(base, call, rng, kinds)[:40]:
            wrong = set_at(call, path, new)
            fork = fork or _Fork(base, index)
            result = fork.probe(wrong)
            found = _mined_code(wrong, result)
            if not result.is_error or (code != "*" and found != code):
                continue
            if code == "*" and found.startswith("environment/"):
                continue
            template = _CONDITION.get(code)
            instruction = base.instruction
            if template and isinstance(new, str):
                instruction += " " + template.format(wrong=_label(base, path, new), right=_label(base, path, old))
            answer = base.answer if ignore else GIVE_UP
            return Variant(instruction, base.state, base.tools, Solution(calls=base.calls, answer=base.answer),
                           Solution(calls=[*base.calls[:index], wrong], answer=answer),
                           f"{call.name}.{'.'.join(map(str, path))}: {old!r} -> {new!r}")
    return None


def _ignored_error(base: BaseTask, rng: random.Random) -> Variant | None:
    return _probe_error(base, rng, "*", "fsn", ignore=True)


def _from_hook(base: BaseTask, rng: random.Random, code: str, hook: Hook | None) -> Variant | None:
    if hook is None:
        return None
    made = hook(base, rng)
    if made is None:
        return None
    state, index, wrong, wrong_label, right_label = made
    result = _probe(base, index, wrong, state)
    if not result.is_error or _mined_code(wrong, result) != code:
        return None
    template = _CONDITION.get(code, "")
    instruction = base.instruction + (" " + template.format(wrong=wrong_label, right=right_label) if template else "")
    return Variant(instruction, state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=[*base.calls[:index], wrong], answer=GIVE_UP), f"hook: {wrong.name}")


def _error_injector(code: str, kinds: str) -> Callable[[BaseTask, random.Random, Hook | None], Variant | None]:
    def inject_error(base: BaseTask, rng: random.Random, hook: Hook | None = None) -> Variant | None:
        return _probe_error(base, rng, code, kinds) or _from_hook(base, rng, code, hook)
    return inject_error


def _last_write(base: BaseTask) -> int | None:
    writes = base.write_indices()
    return writes[-1] if writes else None


def _missing_action(base: BaseTask, rng: random.Random) -> Variant | None:
    last = _last_write(base)
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
        for path, _old, new in _mutations(base, call, rng, "sen")[:40]:
            wrong = set_at(call, path, new)
            prefix = base.calls if after else base.calls[:index]
            if not _run(base, [*prefix, wrong])[-1].is_error:
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
            if _run(base, [*base.calls[:index], wrong], state)[-1].is_error \
                    or _run(base, base.calls, state)[-1].is_error:
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
    last = _last_write(base)
    if last is not None:
        calls = [*base.calls[: last + 1], base.calls[last], *base.calls[last + 1:]]
        final = _run(base, calls)
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
    index = _last_write(base)
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
    index = _last_write(base)
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
    index = _last_write(base)
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
        index = _last_write(base)
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
    "agent/action/unavailable_resource": _error_injector("agent/action/unavailable_resource", "se"),
    "agent/action/insufficient_balance": _error_injector("agent/action/insufficient_balance", "se"),
    "agent/reasoning/calculation_error": _error_injector("agent/reasoning/calculation_error", "n"),
    "agent/action/entity_not_found": _error_injector("agent/action/entity_not_found", "f"),
    "agent/action/invalid_operation": _error_injector("agent/action/invalid_operation", "se"),
    "agent/action/invalid_argument_format": _error_injector("agent/action/invalid_argument_format", "r"),
    "agent/verification/ignored_error": _plain(_ignored_error),
    "agent/action/missing_required_argument": _plain(_missing_required),
    "agent/action/nonexistent_tool": _plain(_nonexistent_tool),
    "agent/action/misnamed_tool": _plain(_misnamed_tool),
    # An unclassified error that quotes what the agent passed (a fabricated value it made up).
    "agent/action/invalid_command": _error_injector("agent/action/invalid_command", "f"),
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
