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
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from clawloop_synth.types import PlannedCall, TaskSpec

from ._flaws import GIVE_UP, GIVE_UP_LOOP, Script, replay
from ._mutate import guess, leaves, replace_at
from ._plan import Plan

__all__ = ["CODE_HABITS", "HABITS", "Habit", "HabitAgent", "habit_opportunities"]

HANDOFF_TOOL = re.compile(r"transfer\w*_to_human|hand_?off|escalat", re.IGNORECASE)
_HUMAN = re.compile(r"\b(human|real person|supervisor|representative)\b", re.IGNORECASE)
_CONDITIONAL = re.compile(r"\b(if|otherwise|instead|rather|unless)\b", re.IGNORECASE)
_ID_TOKEN = re.compile(r"[A-Za-z0-9_\-]*[A-Za-z][A-Za-z0-9_\-]*")
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
# Verbs a user says for a tool's verb (the first word of its name).
_SAID = {"cancel": ("cancel",), "update": ("change", "modify", "update", "move"), "book": ("book",),
         "send": ("send", "give", "issue")}
HANDOFF_ANSWER = "I'm transferring you to a human agent who can help you with this."
COMPLIED = "Done: I've taken care of that for you."


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return None


def _distinct_writes(plan: Plan) -> list[int]:
    """Write indices, a transient error's retry counted once (its successful try)."""
    retried = set(plan.transient_indices)
    return [i for i in plan.write_indices if i not in retried]


# ---------------------------------------------------------------------------------- opportunities


def _first_choice_options(plan: Plan) -> list[tuple[int, tuple[Any, ...], str]]:
    """(call, argument path, the user's other choice): a value passed that the user named a first choice
    for in a conditional sentence ("X if ...; otherwise Y"), X being a sibling of the value in the
    state or an id of the same shape that exists nowhere."""
    state = plan.task.initial_state
    state_text = orjson.dumps(state).decode()
    sentences = [s for s in _SENTENCE.split(plan.task.instruction) if _CONDITIONAL.search(s)]
    tokens = list(dict.fromkeys(t for s in sentences for t in _ID_TOKEN.findall(s) if re.search(r"\d", t)))
    if not tokens:
        return []
    retried = set(plan.transient_indices)
    out = []
    for i in (i for i in range(len(plan.calls)) if i not in retried):
        for path, value in leaves(plan.calls[i].arguments):
            if not isinstance(value, str) or not re.search(r"\d", value) or not re.search(r"[A-Za-z]", value):
                continue
            near = _siblings(state, value)
            shape = re.sub(r"\d", "#", value)
            for token in tokens:
                if token != value and (token in near or (re.sub(r"\d", "#", token) == shape
                                                         and f'"{token}"' not in state_text)):
                    out.append((i, path, token))
                    break
    return out


def _siblings(state: Any, value: str) -> set[str]:
    """Other keys of every JSON object in ``state`` that has ``value`` as a key."""
    found: set[str] = set()
    stack = [state]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if value in node:
                found.update(k for k in node if k != value)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return found


def _twins(plan: Plan) -> list[tuple[int, tuple[Any, ...], str]]:
    """(write, argument path, twin key): a write value that keys a small flat object in an earlier
    result next to a sibling object equal to it but for its key and one value one character off."""
    out = []
    for i in _distinct_writes(plan):
        seen = [_json(r.content) for r in plan.results[:i] if not r.is_error]
        for path, value in leaves(plan.calls[i].arguments):
            if not isinstance(value, str):
                continue
            twin = next((t for doc in seen if (t := _twin_in(doc, value)) is not None), None)
            if twin is not None:
                out.append((i, path, twin))
    return out


def _flat(obj: Any) -> bool:
    return isinstance(obj, dict) and 0 < len(obj) <= 8 and all(not isinstance(v, dict | list) for v in obj.values())


def _near(a: Any, b: Any) -> bool:
    """Two values a glance confuses: one character apart (a digit of a card's last four, a balance)."""
    a, b = str(a), str(b)
    if len(a) != len(b):
        return False
    return sum(x != y for x, y in zip(a, b, strict=True)) == 1


def _twin_in(doc: Any, key: str) -> str | None:
    stack = [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            mine = node.get(key)
            if isinstance(mine, dict) and _flat(mine):
                for other, obj in node.items():
                    if other == key or not _flat(obj) or set(obj) != set(mine):
                        continue
                    differ = [k for k in mine if obj[k] != mine[k] and obj[k] != other]
                    if len(differ) == 1 and _near(obj[differ[0]], mine[differ[0]]):
                        return str(other)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, dict | list))
    return None


def _empty_reads(plan: Plan) -> list[int]:
    """Reads that came back empty (an empty list or object) and after which the reference goes on."""
    last = len(plan.calls) - 1
    return [i for i, r in enumerate(plan.results) if i < last and not plan.writes[i] and not r.is_error
            and (doc := _json(r.content)) is not None and isinstance(doc, list | dict) and not doc]


def _sums(plan: Plan) -> list[tuple[int, tuple[Any, ...]]]:
    """(write, path of the last number): a list argument of two or more items that each hold a number."""
    out = []
    for i in _distinct_writes(plan):
        for key, value in plan.calls[i].arguments.items():
            if isinstance(value, list) and len(value) >= 2:
                numbers = [[p for p, v in leaves({"x": item}) if isinstance(v, int | float)
                            and not isinstance(v, bool)] for item in value]
                if all(numbers):
                    out.append((i, (key, len(value) - 1, *numbers[-1][-1][1:])))
    return out


def _asked_write(plan: Plan) -> PlannedCall | None:
    """The write the user asks for in a task whose reference makes none: a write tool whose verb the
    instruction says and whose required arguments the reference's lookups name."""
    if any(plan.writes):
        return None
    words = set(re.findall(r"[a-z]+", plan.task.instruction.lower()))
    known: dict[str, Any] = {}
    for call in plan.calls:
        known.update({k: v for k, v in call.arguments.items() if isinstance(v, str)})
    for tool in plan.task.tools:
        verb = tool.name.split("_")[0]
        if not tool.writes or not words & set(_SAID.get(verb, (verb,))):
            continue
        required = tool.parameters.get("required", [])
        if required and all(p in known for p in required):
            return PlannedCall(name=tool.name, arguments={p: known[p] for p in required})
    return None


def _handoff_tool(plan: Plan) -> str | None:
    return next((t.name for t in plan.task.tools if HANDOFF_TOOL.search(t.name)), None)


def _escalates(plan: Plan) -> bool:
    tool = _handoff_tool(plan)
    return bool(tool and plan.calls and _HUMAN.search(plan.task.instruction)
                and not any(c.name == tool for c in plan.calls))


def _side_outputs(plan: Plan) -> list[str]:
    """Required outputs a read gave and no write result shows, in a task with writes."""
    if not plan.write_indices:
        return []
    wrote = " ".join(plan.results[i].content for i in plan.write_indices)
    read = " ".join(r.content for i, r in enumerate(plan.results) if not plan.writes[i])
    return [o for o in plan.task.checks.required_outputs if o and o in read and o not in wrote]


def _errors(plan: Plan) -> list[int]:
    return list(plan.transient_indices)


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

    def script() -> Script:
        yield from replay(plan, writes[0] + 1)
        return plan.task.reference.answer

    return script()


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

    def script() -> Script:
        yield from replay(plan, empty[0] + 1)
        return GIVE_UP

    return script()


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

    def script() -> Script:
        yield from replay(plan, errors[0] + 1)
        return plan.task.reference.answer

    return script()


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

