"""The seven flaw modes: each builds a flawed variant of the reference run, or None where it cannot.

A script is a generator: it yields tool calls, receives each call's result, and returns the final
answer. Each mode plants one mistake; what the agent does next is part of the mode (give up, claim
success, keep going with the guessed value), so every planted mode leaves its own trail in a trace.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Generator

import orjson

from clawloop_synth.sim.env import SimEnv, ToolResult
from clawloop_synth.types import PlannedCall

from ._mutate import DATE, fabricate, guess, hallucinate, leaves, reformat, replace_at, substitute
from ._plan import Plan, same_call

__all__ = ["FLAW_MODES", "GIVE_UP", "GIVE_UP_LOOP", "GIVE_UP_TRANSIENT", "Script", "build_flaw", "replay"]

Script = Generator[PlannedCall, ToolResult, str]

GIVE_UP = "I'm sorry, I wasn't able to complete your request right now. Please contact us again later."
GIVE_UP_TRANSIENT = ("I'm sorry, the system is temporarily unavailable, so I couldn't complete your request. "
                     "Please try again later.")
GIVE_UP_LOOP = "I keep getting the same result and can't get any further; I'm sorry, I couldn't finish this."

FLAW_MODES: tuple[str, ...] = (
    "wrong_argument_format",
    "skipped_lookup",
    "ignored_tool_error",
    "no_retry_after_transient",
    "hallucinated_tool",
    "premature_finish",
    "repeated_call",
)


def replay(plan: Plan, stop: int | None = None) -> Generator[PlannedCall, ToolResult, None]:
    """The reference's calls up to (not including) ``stop``."""
    for call in plan.calls[:stop]:  # noqa: UP028  (results are sent in; a list iterator takes no send)
        yield call


def stop_after(plan: Plan, index: int, answer: str) -> Script:
    """The reference's calls through call ``index``, then ``answer``."""
    yield from replay(plan, index + 1)
    return answer


def _last_write_or(plan: Plan, fallback: int | None, first_try: bool = True) -> int | None:
    """The last write (with ``first_try``: its first attempt, when the reference had to retry it)."""
    writes = plan.write_indices
    index = writes[-1] if writes else fallback
    while first_try and index is not None and index > 0 and index - 1 in plan.transient_indices \
            and same_call(plan.calls[index - 1], plan.calls[index]):
        index -= 1
    return index


def _probe(plan: Plan, prefix: int, call: PlannedCall) -> ToolResult:
    """What ``call`` would return after the reference's first ``prefix`` calls (a scratch run, made once
    per plan: the text of its result is all a caller reads)."""
    key = (prefix, call.name, orjson.dumps(call.arguments, option=orjson.OPT_SORT_KEYS, default=str))
    known = plan.probes.get(key)
    if known is not None:
        return known
    snapshot = plan.prefixes.get(prefix) if prefix else None
    if snapshot is not None:  # what a call returns depends on the state alone: the prefix is not replayed
        env = SimEnv(plan.task, max_steps=prefix + 1, resume=(snapshot, prefix))
    else:
        env = SimEnv(plan.task, max_steps=prefix + 1)
        for earlier in plan.calls[:prefix]:
            env.step(earlier)
        if prefix:
            plan.prefixes[prefix] = env.snapshot()
    result = env.step(call)
    # The live value may share objects with the scratch state; keep only the text.
    plan.probes[key] = kept = ToolResult(content=result.content, is_error=result.is_error, crashed=result.crashed,
                                         error_kind=result.error_kind)
    return kept


def _wrong_argument_format(plan: Plan, rng: random.Random) -> Script | None:
    skip = set(plan.transient_indices)
    options = [(i, path, new, DATE.match(value) is not None)
               for i, call in enumerate(plan.calls) if i not in skip
               for path, value in leaves(call.arguments)
               if (new := reformat(value, rng)) is not None]
    if not options:
        return None
    # Dates first (the classic slip), and a slip the tool notices over one a lenient tool lets by.
    rng.shuffle(options)
    options.sort(key=lambda o: not o[3])
    noticed = [o for o in options[:6]
               if _probe(plan, o[0], PlannedCall(name=plan.calls[o[0]].name,
                                                 arguments=replace_at(plan.calls[o[0]].arguments, o[1], o[2]))
                         ).is_error]
    target, path, new, _ = (noticed or options)[0]

    call = plan.calls[target]
    return _swap(plan, target, PlannedCall(name=call.name, arguments=replace_at(call.arguments, path, new)))


def _swap(plan: Plan, target: int, wrong: PlannedCall) -> Script:
    """The reference run with call ``target`` replaced by ``wrong``: give up if it errors, else go on."""
    yield from replay(plan, target)
    result = yield wrong
    if result.is_error:
        return GIVE_UP
    for later in plan.calls[target + 1:]:  # noqa: UP028
        yield later
    return plan.task.reference.answer


def _skipped_lookup(plan: Plan, rng: random.Random) -> Script | None:
    options = [(i, values) for i in range(len(plan.calls)) if (values := plan.looked_up(i))]
    if not options:
        return None
    skipped, values = rng.choice(options)
    mapping = {value: guess(value, rng) for value in values}
    skip = {j for j, call in enumerate(plan.calls) if same_call(call, plan.calls[skipped])}

    def script() -> Script:
        for j, call in enumerate(plan.calls):
            if j in skip:
                continue
            result = yield PlannedCall(name=call.name, arguments=substitute(call.arguments, mapping))
            if result.is_error and not plan.results[j].is_error:
                return GIVE_UP
            if result.content != plan.results[j].content:
                # The guess led elsewhere: what the reference learnt from this call is unknown too.
                for value in plan.looked_up(j):
                    mapping.setdefault(value, guess(value, rng))
        answer = plan.task.reference.answer
        for value, guessed in mapping.items():
            answer = answer.replace(value, guessed)
        return answer

    return script()


def _ignored_tool_error(plan: Plan, rng: random.Random) -> Script | None:
    if not plan.calls:
        return None
    target = _last_write_or(plan, plan.output_source())
    target = len(plan.calls) - 1 if target is None else target
    call = plan.calls[target]
    state_text = orjson.dumps(plan.task.initial_state).decode()
    variants = [{**call.arguments, key: fabricate(value, rng, state_text)}
                for key, value in call.arguments.items()
                if isinstance(value, str) and any(ch.isdigit() for ch in value)]
    variants += [{k: v for k, v in call.arguments.items() if k != key} for key in call.arguments]
    failing = next((PlannedCall(name=call.name, arguments=args) for args in variants
                    if _probe(plan, target, PlannedCall(name=call.name, arguments=args)).is_error), None)
    if failing is None:
        return None
    # As if the failed call had gone through: a failed write is reported done, and what a failed
    # lookup would have told is made up.
    answer = plan.task.reference.answer
    if not plan.writes[target]:
        seen = plan.results[target].content
        for output in plan.task.checks.required_outputs:
            if output in seen:
                answer = answer.replace(output, guess(output, rng))

    def script() -> Script:
        yield from replay(plan, target)
        yield failing
        return answer

    return script()


def _no_retry_after_transient(plan: Plan, rng: random.Random) -> Script | None:
    transient = plan.transient_indices
    return stop_after(plan, transient[0], GIVE_UP_TRANSIENT) if transient else None


def _hallucinated_tool(plan: Plan, rng: random.Random) -> Script | None:
    if not plan.calls:
        return None
    target = _last_write_or(plan, len(plan.calls) - 1)
    assert target is not None
    call = plan.calls[target]
    fake = hallucinate(call.name, {tool.name for tool in plan.task.tools}, rng)

    return _swap(plan, target, PlannedCall(name=fake, arguments=dict(call.arguments)))


def _premature_finish(plan: Plan, rng: random.Random) -> Script | None:
    if plan.write_indices:
        stop, answer = _last_write_or(plan, None), plan.task.reference.answer
        assert stop is not None
    else:
        source = plan.output_source()
        if source is None:
            return None
        stop, answer = source, plan.task.reference.answer
        for output in plan.task.checks.required_outputs:
            answer = answer.replace(output, guess(output, rng))

    def script() -> Script:
        yield from replay(plan, stop)
        return answer

    return script()


def _repeated_call(plan: Plan, rng: random.Random) -> Script | None:
    if not plan.calls:
        return None
    target = _last_write_or(plan, len(plan.calls) - 1, first_try=False)
    assert target is not None
    call = plan.calls[target]
    is_write = plan.writes[target]

    def script() -> Script:
        yield from replay(plan, target + 1)
        if not is_write:  # a read that looks unfinished: stuck asking the same thing again
            for _ in range(3):
                yield call
            return GIVE_UP_LOOP
        result = yield call
        if result.is_error:
            return GIVE_UP
        for later in plan.calls[target + 1:]:  # noqa: UP028
            yield later
        return plan.task.reference.answer

    return script()


_BUILDERS: dict[str, Callable[[Plan, random.Random], Script | None]] = {
    "wrong_argument_format": _wrong_argument_format,
    "skipped_lookup": _skipped_lookup,
    "ignored_tool_error": _ignored_tool_error,
    "no_retry_after_transient": _no_retry_after_transient,
    "hallucinated_tool": _hallucinated_tool,
    "premature_finish": _premature_finish,
    "repeated_call": _repeated_call,
}


def build_flaw(mode: str, plan: Plan, rng: random.Random) -> Script | None:
    """The flawed run for ``mode`` on this plan, or None when the task offers no place for it."""
    return _BUILDERS[mode](plan, rng)
