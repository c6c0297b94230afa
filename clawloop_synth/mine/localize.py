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
             "premature": 8, "ungrounded": 8, "missing_output": 9, "no_change": 10, "empty_result": 11,
             "unexplained": 12}
# Evidence too weak to be the decisive mistake while stronger evidence exists in the trace: an empty
# result is often a legitimate "nothing matched", a run that changed nothing may have had nothing to change.
WEAK = {"empty_result", "no_change"}


@dataclass(frozen=True)
class Localization:
    """The failing agent, the message index of the decisive mistake, its leaf code and why."""

    agent: str
    step: int
    code: str
    reason: str
    failure_id: str | None = None


def _recovered(trace: Trace, failures: list[Failure]) -> set[str]:
    """Ids of error (and repeated-call) failures that a later successful call of the same tool got
    past: the run went on from them, so they are not what made it fail."""
    steps = trace.tool_steps()
    out = set()
    for f in failures:
        if f.signal in ("error_result", "result_evidence", "repeat") and any(
                s.call.name == f.tool and not s.is_error and s.call_index > f.step for s in steps):
            out.add(f.id)
    return out


def localize(trace: Trace, failures: list[Failure]) -> Localization | None:
    """Pick the decisive failure of a trace; None when nothing failed.

    Weak evidence (empty results, errors the run got past) is chosen only when nothing else explains it."""
    if not failures:
        return None
    recovered = _recovered(trace, failures)
    strong = [f for f in failures if f.code != UNEXPLAINED and f.signal not in WEAK and f.id not in recovered]
    if strong:
        best = min(strong, key=lambda f: (f.step, _PRIORITY.get(f.signal, 5)))
    else:
        # An error the run got past still beats weak evidence; among weak kinds the order in time says
        # little, so the most telling kind wins, then the earliest.
        weak = [f for f in failures if f.code != UNEXPLAINED] or failures
        best = min(weak, key=lambda f: (_PRIORITY.get(f.signal, 5) if f.signal in WEAK else -1, f.step))
    return Localization(agent=best.agent or "assistant", step=best.step, code=best.code,
                        reason=best.detail or best.card, failure_id=best.id)
