"""How many of a cluster's tasks make no write, or two, by the failure the tasks are for.

The failure codes are the generic taxonomy's, so every kit (hand-written or the generic one) reads the
same table: the situation behind a failure decides the kind of task that can hold it.
"""

from __future__ import annotations

__all__ = ["REFUSALS_FOR", "no_write_share", "two_writes_share"]

# Share of no-write requests (refusals, transfers, questions) by the failure the task is for.
_NO_WRITE_SHARE = {
    "agent/action/missing_action": 0.0,
    "agent/action/extra_action": 0.85,
    "agent/planning/unnecessary_handoff": 0.95,
    "agent/reasoning/missing_output": 0.6,
    "agent/reasoning/wrong_information": 0.6,
    "agent/planning/step_repetition": 0.6,
}
# Of the tasks with writes, the share with two requested changes: all of them where the failure is a
# dropped change (several changes are the situation behind it).
_TWO_WRITES_SHARE = {"agent/action/missing_action": 1.0}
# A complying agent is the extra action of a forbidden request: for this failure the no-write tasks are refusals.
REFUSALS_FOR = frozenset({"agent/action/extra_action"})


def no_write_share(code: str | None, default: float) -> float:
    """The share of no-write tasks for tasks aimed at ``code`` (``default`` for the codes not listed)."""
    return _NO_WRITE_SHARE.get(code or "", default)


def two_writes_share(code: str | None, default: float) -> float:
    """Of the tasks with writes aimed at ``code``, the share with two."""
    return _TWO_WRITES_SHARE.get(code or "", default)
