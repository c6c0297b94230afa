"""Where a task gives a flawed agent room for each mistake: its opportunities, counted from the plan.

Under the per-opportunity model a flaw rate is the chance of the mistake at *one* opportunity, so a
task with more of them is harder: every lookup can be skipped, every string argument the agent
copies can be mis-formatted, every transient error on the path can end the run, every step before
the task is done is a chance to stop early, and so on. :func:`opportunities` counts them per mode;
:func:`fire_chance` turns a per-opportunity rate into the chance the mode happens at all in a run.
"""

from __future__ import annotations

import random

from ._flaws import FLAW_MODES
from ._mutate import leaves, reformat
from ._plan import Plan, same_call

__all__ = ["fire_chance", "opportunities"]

# ``reformat`` draws only to choose among wrong formats; whether one exists does not depend on it.
_PROBE_RNG = random.Random(0)


def _finish_point(plan: Plan) -> int | None:
    """Index of the call that completes the task: the last write (its first try), else the output source."""
    writes = plan.write_indices
    if not writes:
        return plan.output_source()
    index = writes[-1]
    while index > 0 and index - 1 in plan.transient_indices and same_call(plan.calls[index - 1], plan.calls[index]):
        index -= 1
    return index


def opportunities(plan: Plan) -> dict[str, int]:
    """How many chances the task gives each flaw mode (0: the task has no room for it).

    - ``wrong_argument_format``: string values in the arguments, nested ones included (a passenger's
      date of birth), that have a wrong format to write them in (dates, ids, codes), over the calls
      that are not retries of a transient error;
    - ``skipped_lookup``: reads whose result feeds later arguments or the answer;
    - ``ignored_tool_error``: writes (each may go wrong and the error be glossed over); a read-only
      task gives one (at the read that yields the answer);
    - ``no_retry_after_transient``: transient errors on the reference's path;
    - ``hallucinated_tool`` and ``repeated_call``: calls (each names a tool; each may be sent twice);
    - ``premature_finish``: steps up to the one that completes the task (stopping before any of them
      leaves it undone).
    """
    calls = plan.calls
    transient = set(plan.transient_indices)
    formats = sum(1 for i, call in enumerate(calls) if i not in transient
                  for _, value in leaves(call.arguments) if reformat(value, _PROBE_RNG) is not None)
    lookups = sum(1 for i in range(len(calls)) if plan.looked_up(i))
    writes = len([i for i in plan.write_indices if i not in transient])
    finish = _finish_point(plan)
    distinct_calls = len(calls) - len(transient)  # a retry after a transient error is the same call again
    counts = {
        "wrong_argument_format": formats,
        "skipped_lookup": lookups,
        "ignored_tool_error": writes or (1 if calls else 0),
        "no_retry_after_transient": len(transient),
        "hallucinated_tool": distinct_calls,
        "premature_finish": 0 if finish is None else finish + 1,
        "repeated_call": distinct_calls,
    }
    assert set(counts) == set(FLAW_MODES)
    return counts


def fire_chance(rate: float, count: int, load: float = 1.0) -> float:
    """Chance that at least one of ``count`` independent opportunities slips, each at ``rate * load``."""
    per = min(1.0, rate * load)
    return 1.0 - (1.0 - per) ** count
