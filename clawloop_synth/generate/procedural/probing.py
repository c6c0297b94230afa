"""Error-class injectors, found by probing: a mutated reference write whose error the taxonomy files under the code.

Mutations of a reference write are run in the simulator after the reference's prefix, and the first
whose error text the taxonomy classifies as the target leaf is the exemplar's mistake. A domain kit
may add a hook that creates the condition in the state when no mutation finds it (:data:`Hook`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

from clawloop_synth.generate.procedural.base import BaseTask, scratch_task
from clawloop_synth.generate.procedural.mutate import set_at
from clawloop_synth.generate.procedural.variant import GIVE_UP, Hook, Variant, mutations, probe_call
from clawloop_synth.mine.evidence import classify_step
from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.types import PlannedCall, Solution, ToolCall, ToolStep

__all__ = ["error_injector", "ignored_error"]

# How the instruction puts a probed condition on the path: {wrong} the user's first choice, {right} the fallback.
_CONDITION = {
    "agent/action/unavailable_resource": "My first choice would be {wrong}; if that is not available, go with {right}.",
    "agent/action/insufficient_balance": "I'd rather use {wrong} if its balance covers it; otherwise {right}.",
    "agent/action/invalid_operation": "If {wrong} can't be used for this, use {right} instead.",
    "agent/action/entity_not_found": "Use {wrong} if it is still on file; if not, {right}.",
}


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
        # One episode for every probe, rewound between them: most probes fail and change nothing, so
        # the state is copied afresh only after one that did (``SimEnv.rewind``).
        self._env = SimEnv(scratch_task(base.tools, env.state), max_steps=1, rewindable=True)
        self._used = False

    def probe(self, call: PlannedCall) -> ToolResult:
        if self._used:
            self._env.rewind()
        self._used = True
        return self._env.step(call)


def _label(base: BaseTask, path: tuple[Any, ...], value: Any) -> str:
    if isinstance(value, str) and value in base.labels:
        return base.labels[value]
    name = next((str(p) for p in reversed(path) if isinstance(p, str)), "value")
    return f"{name.replace('_', ' ')} {value}"


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
        for path, old, new in mutations(base, call, rng, kinds)[:40]:
            wrong = set_at(call, path, new)
            fork = fork or _Fork(base, index)
            result = fork.probe(wrong)
            if not result.is_error:
                continue
            # Only errors are classified: the text of a call that went through is long and never counts.
            found = _mined_code(wrong, result)
            if code != "*" and found != code:
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


def ignored_error(base: BaseTask, rng: random.Random) -> Variant | None:
    """A reference write mutated into any agent error, which the exemplar then answers as if it had succeeded."""
    return _probe_error(base, rng, "*", "fsn", ignore=True)


def _from_hook(base: BaseTask, rng: random.Random, code: str, hook: Hook | None) -> Variant | None:
    if hook is None:
        return None
    made = hook(base, rng)
    if made is None:
        return None
    state, index, wrong, wrong_label, right_label = made
    result = probe_call(base, index, wrong, state)
    if not result.is_error or _mined_code(wrong, result) != code:
        return None
    template = _CONDITION.get(code, "")
    instruction = base.instruction + (" " + template.format(wrong=wrong_label, right=right_label) if template else "")
    return Variant(instruction, state, base.tools, Solution(calls=base.calls, answer=base.answer),
                   Solution(calls=[*base.calls[:index], wrong], answer=GIVE_UP), f"hook: {wrong.name}")


def error_injector(code: str, kinds: str) -> Callable[[BaseTask, random.Random, Hook | None], Variant | None]:
    """The injector of error leaf ``code``: probing with the mutation ``kinds``, then the kit's hook."""
    def inject_error(base: BaseTask, rng: random.Random, hook: Hook | None = None) -> Variant | None:
        return _probe_error(base, rng, code, kinds) or _from_hook(base, rng, code, hook)
    return inject_error
