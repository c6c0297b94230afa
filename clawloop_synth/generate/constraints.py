"""A task's structured constraints: stated in its instruction, and met by exactly one entity of the state.

A task names what the instruction fixes (:class:`~clawloop_synth.types.Choice`: "a flight from JFK to
LAX on 2024-05-20 at 10:00 with 2 economy seats free"). If a second entity satisfies the same
constraints, an agent that picks it did what the user asked and is graded wrong: the task is
ambiguous. If a constraint's words are not in the instruction, the task relies on a fact the user
never said.
"""

from __future__ import annotations

import functools
from typing import Any

import jmespath

from clawloop_synth.types import Choice, Constraint, TaskSpec

__all__ = ["constraint_problem", "satisfying"]


@functools.lru_cache(maxsize=1024)
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def _holds(constraint: Constraint, entity: Any) -> bool:
    try:
        got = _compiled(constraint.field).search(entity)
    except Exception:  # a malformed expression or an odd entity: it does not hold
        return False
    if constraint.op == "eq":
        return bool(got == constraint.value)
    if not isinstance(got, int | float) or isinstance(got, bool) or not isinstance(constraint.value, int | float):
        return False
    return got >= constraint.value if constraint.op == "ge" else got <= constraint.value


def satisfying(choice: Choice, state: dict[str, Any]) -> list[str]:
    """Keys of the entities of ``choice.collection`` that satisfy every constraint, sorted."""
    collection = state.get(choice.collection)
    if not isinstance(collection, dict):
        return []
    return sorted(str(key) for key, entity in collection.items()
                  if all(_holds(c, entity) for c in choice.constraints))


def constraint_problem(task: TaskSpec) -> tuple[str, str] | None:
    """``(reason, detail)`` for the first broken constraint rule, or None when all hold.

    Reasons: ``constraint_unstated`` (a constraint's words are not in the instruction),
    ``constraint_unmet`` (the intended entity does not satisfy them), ``ambiguous`` (another does).
    """
    said = task.instruction.lower()
    for choice in task.constraints:
        for constraint in choice.constraints:
            if constraint.text.strip().lower() not in said:
                return "constraint_unstated", (f"the {choice.collection} constraint {constraint.field} "
                                               f"is stated as '{constraint.text}', which the instruction does not say")
        keys = satisfying(choice, task.initial_state)
        if choice.key not in keys:
            return "constraint_unmet", f"{choice.collection} {choice.key} does not satisfy the stated constraints"
        others = [k for k in keys if k != choice.key]
        if others:
            return "ambiguous", (f"{choice.collection} {', '.join(others[:3])} also satisfy the constraints "
                                 f"that pick {choice.key}")
    return None
