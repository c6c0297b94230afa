"""Habits: one flawed agent per failure code, each a bad habit that only hurts where its situation is.

A habit is a weakness of a real agent, defined by what the agent sees (the instruction, the state,
the tool results), never by a task's target code or provenance: it acts on the user's first choice
without checking it; it makes the first requested change and stops; it hands off whenever the user
mentions a human; it gives up (or loops) on an empty lookup; it takes a near-identical twin for the
entity it needs; it adds amounts wrong; it does what the user asks even where the policy forbids it;
it forgets a side question; it glosses over an error. On a task without the situation the habit is
harmless (it has no *opportunity*); where the generator planted the situation, it slips at
``rate`` per opportunity. :data:`CODE_HABITS` says which habit stands for which failure code: the
discrimination ratio of a code is measured with that one agent (a pre-registered map, not a
best-of-many selection).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from clawloop_synth.types import PlannedCall, TaskSpec

from ._flaws import GIVE_UP, GIVE_UP_LOOP, Script, replay, stop_after
from ._mutate import guess, leaves, replace_at
from ._plan import Plan
from ._situations import (
    COMPLIED,
    HANDOFF_ANSWER,
    _asked_write,
    _distinct_writes,
    _empty_reads,
    _errors,
    _escalates,
    _first_choice_options,
    _handoff_tool,
    _side_outputs,
    _sums,
    _twins,
)

__all__ = ["CODE_HABITS", "HABITS", "Habit", "HabitAgent", "habit_opportunities"]

# -------------------------------------------------------------------------------------- scripts


def _swap_then(plan: Plan, index: int, wrong: PlannedCall) -> Script:
    """The reference with call ``index`` replaced by ``wrong``: give up if it errors, else go on."""
    yield from replay(plan, index)
    result = yield wrong
    if result.is_error:
        return GIVE_UP
    for later in plan.calls[index + 1:]:  # noqa: UP028
        yield later
    return plan.task.reference.answer


def _swap_arg(plan: Plan, found: tuple[int, tuple[Any, ...], Any]) -> Script:
    index, path, new = found
    call = plan.calls[index]
    return _swap_then(plan, index, PlannedCall(name=call.name, arguments=replace_at(call.arguments, path, new)))


def _s_first_choice(plan: Plan, rng: random.Random) -> Script | None:
    options = _first_choice_options(plan)
    return _swap_arg(plan, rng.choice(options)) if options else None


def _s_twin(plan: Plan, rng: random.Random) -> Script | None:
    options = _twins(plan)
    return _swap_arg(plan, rng.choice(options)) if options else None


def _s_first_change_only(plan: Plan, rng: random.Random) -> Script | None:
    writes = _distinct_writes(plan)
    if len(writes) < 2:
        return None
    return stop_after(plan, writes[0], plan.task.reference.answer)


def _s_escalates(plan: Plan, rng: random.Random) -> Script | None:
    tool = _handoff_tool(plan)
    if not _escalates(plan) or tool is None:
        return None
    writes = plan.write_indices
    stop = writes[0] if writes else len(plan.calls)

    def script() -> Script:
        yield from replay(plan, stop)
        yield PlannedCall(name=tool, arguments={"summary": "The customer asked for a human agent."})
        return HANDOFF_ANSWER

    return script()


def _s_stops_at_empty(plan: Plan, rng: random.Random) -> Script | None:
    empty = _empty_reads(plan)
    if not empty:
        return None
    return stop_after(plan, empty[0], GIVE_UP)


def _s_loops_on_empty(plan: Plan, rng: random.Random) -> Script | None:
    empty = _empty_reads(plan)
    if not empty:
        return None
    call = plan.calls[empty[0]]

    def script() -> Script:
        yield from replay(plan, empty[0] + 1)
        for _ in range(3):
            yield call
        return GIVE_UP_LOOP

    return script()


def _s_miscounts(plan: Plan, rng: random.Random) -> Script | None:
    options = _sums(plan)
    if not options:
        return None
    index, path = rng.choice(options)
    value = dict(leaves(plan.calls[index].arguments))[path]
    return _swap_arg(plan, (index, path, value + rng.choice([-10, -1, 1, 10])))


def _s_complies(plan: Plan, rng: random.Random) -> Script | None:
    asked = _asked_write(plan)
    if asked is None:
        return None

    def script() -> Script:
        yield from replay(plan)
        yield asked
        return COMPLIED

    return script()


def _s_forgets_side_question(plan: Plan, rng: random.Random) -> Script | None:
    outputs = _side_outputs(plan)
    if not outputs:
        return None
    answer = plan.task.reference.answer
    for output in outputs:
        answer = answer.replace(output, guess(output, rng))

    def script() -> Script:
        yield from replay(plan)
        return answer

    return script()


def _s_claims_success(plan: Plan, rng: random.Random) -> Script | None:
    errors = _errors(plan)
    if not errors:
        return None
    return stop_after(plan, errors[0], plan.task.reference.answer)


@dataclass(frozen=True)
class Habit:
    """A bad habit: how many chances a task gives it, and the run where it slips."""

    name: str
    what: str
    count: Callable[[Plan], int]
    build: Callable[[Plan, random.Random], Script | None]


HABITS: dict[str, Habit] = {h.name: h for h in [
    Habit("first_choice", "takes the user's first choice without checking it can be used",
          lambda p: len(_first_choice_options(p)), _s_first_choice),
    Habit("twin_confusion", "takes a near-identical twin for the entity it needs",
          lambda p: len(_twins(p)), _s_twin),
    Habit("first_change_only", "makes the first requested change and reports all done",
          lambda p: max(0, len(_distinct_writes(p)) - 1), _s_first_change_only),
    Habit("escalates", "hands off to a human whenever the user mentions one",
          lambda p: int(_escalates(p)), _s_escalates),
    Habit("stops_at_empty", "gives up when a lookup comes back empty",
          lambda p: len(_empty_reads(p)), _s_stops_at_empty),
    Habit("loops_on_empty", "repeats a lookup that came back empty, then gives up",
          lambda p: len(_empty_reads(p)), _s_loops_on_empty),
    Habit("miscounts", "gets a sum of amounts wrong",
          lambda p: len(_sums(p)), _s_miscounts),
    Habit("complies", "does what the user asks even where the policy forbids it",
          lambda p: int(_asked_write(p) is not None), _s_complies),
    Habit("forgets_side_question", "answers about the changes it made and forgets a side question",
          lambda p: len(_side_outputs(p)), _s_forgets_side_question),
    Habit("claims_success", "reports success after a failed call instead of retrying",
          lambda p: len(_errors(p)), _s_claims_success),
]}

# The habit that stands for each failure code (the code's discrimination ratio is measured with it).
CODE_HABITS: dict[str, str] = {
    "agent/action/insufficient_balance": "first_choice",
    "agent/action/unavailable_resource": "first_choice",
    "agent/action/invalid_operation": "first_choice",
    "agent/action/entity_not_found": "first_choice",
    "agent/action/wrong_argument": "twin_confusion",
    "agent/action/missing_action": "first_change_only",
    "agent/planning/unnecessary_handoff": "escalates",
    "agent/planning/premature_termination": "stops_at_empty",
    "agent/planning/step_repetition": "loops_on_empty",
    "agent/reasoning/calculation_error": "miscounts",
    "agent/action/extra_action": "complies",
    "agent/reasoning/missing_output": "forgets_side_question",
    "agent/verification/ignored_error": "claims_success",
    "agent/planning/missing_retry": "claims_success",
    # A transient fault on the path: the agent that glosses over an error does not retry it either.
    "environment/system/service_unavailable": "claims_success",
    "environment/system/timeout": "claims_success",
    "environment/system/rate_limit": "claims_success",
    "environment/system/server_error": "claims_success",
}


def habit_opportunities(task: TaskSpec) -> dict[str, int]:
    """How many chances ``task`` gives each habit (0: the habit cannot hurt here)."""
    from .scripted import _plan_of

    plan = _plan_of(task)[0]
    return {name: habit.count(plan) for name, habit in HABITS.items()}


class HabitAgent:
    """Replays the reference, except that its habit slips at ``rate`` per opportunity the task gives it."""

    def __init__(self, habit: str, rate: float = 0.5, seed: int = 0) -> None:
        if habit not in HABITS:
            raise ValueError(f"unknown habit '{habit}'; known: {sorted(HABITS)}")
        if not 0.0 <= rate <= 1.0:
            raise ValueError("rate must be in [0, 1]")
        self.habit, self.rate, self.seed = HABITS[habit], rate, seed
        self.name = f"habit-{habit}"

    def episode(self, task: TaskSpec, attempt: int = 0) -> Any:
        from .scripted import Episode, _plan_of, _reference_script

        rng = random.Random(f"{self.seed}:{self.habit.name}:{task.id}:{attempt}")
        draw = rng.random()
        plan = _plan_of(task)[0]
        chance = 1.0 - (1.0 - self.rate) ** self.habit.count(plan)
        if draw < chance:
            script = self.habit.build(plan, rng)
            if script is not None:
                return Episode(script, self.habit.name)
        return Episode(_reference_script(task))

