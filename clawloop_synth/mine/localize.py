"""Offline localization: which agent failed, at which step, with which leaf code.

The mined failures are the evidence; the earliest explained one is the decisive mistake (later
ones usually follow from it), and an *unexplained* failure is the fallback.
"""

from __future__ import annotations

from dataclasses import dataclass

from clawloop_synth.mine.taxonomy import UNEXPLAINED
from clawloop_synth.types import Failure, Trace

__all__ = ["WEAK", "Localization", "localize"]

# When two failures sit at the same step, the one that says what the agent did wrong wins over the
# raw error it stems from.
_PRIORITY = {"claimed_success": 0, "no_retry": 0, "schema": 1, "error_result": 2, "result_evidence": 2,
             "gold_diff": 3, "contrast": 3, "repeat": 4, "reported_failure": 5, "stall": 6, "handoff": 7,
             "premature": 8, "ungrounded": 8, "missing_output": 9, "empty_result": 10, "unexplained": 11}
# Evidence too weak to be the decisive mistake while stronger evidence exists in the trace: an empty
# result is often a legitimate "nothing matched".
WEAK = {"empty_result"}


@dataclass(frozen=True)
class Localization:
    """The failing agent, the message index of the decisive mistake, its leaf code and why."""

    agent: str
    step: int
    code: str
    reason: str
    failure_id: str | None = None


def localize(trace: Trace, failures: list[Failure]) -> Localization | None:
    """Pick the decisive failure of a trace; None when nothing failed."""
    if not failures:
        return None
    explained = ([f for f in failures if f.code != UNEXPLAINED and f.signal not in WEAK]
                 or [f for f in failures if f.code != UNEXPLAINED] or failures)
    best = min(explained, key=lambda f: (f.step, _PRIORITY.get(f.signal, 5)))
    return Localization(agent=best.agent or "assistant", step=best.step, code=best.code,
                        reason=best.detail or best.card, failure_id=best.id)
