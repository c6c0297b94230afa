"""Score a finished episode against the task's checks.

- ``outcome``: the final state equals the state the reference solution produces from the initial
  state. Since the reference's final state already equals the initial state wherever the reference
  changed nothing, "equal on every path the reference changed, and nothing else changed" is plain
  equality; the detail names a few differing JSON paths.
- ``output:<text>``: each required output is stated by the final answer (:mod:`clawloop_synth.sim.outputs`):
  numbers compared as numbers (sign, currency, thousands separators), anything else as whole tokens. An
  output that is the key of an entity the reference created (a new reservation id) is an id that varies
  with the run: it is met by the key of the entity this run created in the same collection.
- ``assert:<expression>``: a JMESPath expression over the final state equals the expected value.

Reward is 1.0 when every check passes, else 0.0.
"""

from __future__ import annotations

import functools
import re
import threading
from collections import OrderedDict
from typing import Any

import jmespath

from clawloop_synth.sim.outputs import find_output
from clawloop_synth.sim.state import diff_paths, format_path
from clawloop_synth.types import CheckResult, TaskSpec

__all__ = ["normalize_text", "reference_state", "register_env", "remember_reference", "reward_of", "run_checks"]

_NUMBER_COMMA = re.compile(r"(?<=\d),(?=\d)")
_REF_CACHE_SIZE = 1024
_ref_cache: OrderedDict[int, tuple[TaskSpec, Any]] = OrderedDict()
_ref_lock = threading.Lock()


def normalize_text(text: str) -> str:
    """Lower-case and drop commas between digits, for required-output matching."""
    return _NUMBER_COMMA.sub("", text.lower())


def remember_reference(task: TaskSpec, final_state: Any) -> None:
    """Store the reference's final state for ``task`` (verification computes it anyway)."""
    with _ref_lock:
        _ref_cache[id(task)] = (task, final_state)
        _ref_cache.move_to_end(id(task))
        while len(_ref_cache) > _REF_CACHE_SIZE:
            _ref_cache.popitem(last=False)


# The episode class reference solutions are played in (env.SimEnv), registered by sim/__init__, which
# every import of this module runs first. Not imported here: env imports this module (no import cycle).
_env_class: Any = None


def register_env(env_class: Any) -> None:
    """Play reference solutions in ``env_class`` (``sim/__init__`` registers ``SimEnv``)."""
    global _env_class
    _env_class = env_class


def reference_state(task: TaskSpec) -> Any:
    """The final state of the reference solution, computed once per task object and cached."""
    entry = _ref_cache.get(id(task))
    if entry is not None and entry[0] is task:
        return entry[1]
    if _env_class is None:
        raise RuntimeError("no episode class registered (clawloop_synth.sim registers SimEnv)")
    env = _env_class(task, max_steps=max(len(task.reference.calls), 1))
    for call in task.reference.calls:
        env.step(call)
    remember_reference(task, env.state)
    return env.state


@functools.lru_cache(maxsize=4096)
def _compiled(expression: str) -> Any:
    return jmespath.compile(expression)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _outcome(task: TaskSpec, final_state: Any) -> CheckResult:
    expected = reference_state(task)
    try:
        if final_state == expected:
            return CheckResult(name="outcome", passed=True, detail="final state matches the reference")
        diffs = diff_paths(expected, final_state, limit=3)
    except RecursionError:
        return CheckResult(name="outcome", passed=False, detail="final state is nested too deeply to compare")
    parts = [f"{format_path(path)}: expected {_short(want)}, got {_short(got)}" for path, want, got in diffs]
    return CheckResult(name="outcome", passed=False, detail="; ".join(parts) or "final state differs")


def _assertion(expression: str, expected: Any, final_state: Any) -> CheckResult:
    name = f"assert:{expression}"
    try:
        got = _compiled(expression).search(final_state)
    except Exception as exc:  # a malformed expression or a hostile state
        return CheckResult(name=name, passed=False, detail=f"cannot evaluate: {type(exc).__name__}: {exc}")
    if got == expected:
        return CheckResult(name=name, passed=True, detail=f"= {_short(got)}")
    return CheckResult(name=name, passed=False, detail=f"expected {_short(expected)}, got {_short(got)}")


def _created(before: Any, after: Any) -> dict[str, set[str]]:
    """Keys of each top-level collection present in ``after`` and not in ``before``."""
    out: dict[str, set[str]] = {}
    if not isinstance(before, dict) or not isinstance(after, dict):
        return out
    for name, collection in after.items():
        old = before.get(name)
        if isinstance(collection, dict) and isinstance(old, dict):
            new = {str(key) for key in collection if key not in old}
            if new:
                out[name] = new
    return out


def _output(task: TaskSpec, text: str, final_state: Any, answer: str) -> CheckResult:
    name = f"output:{text}"
    made = _created(task.initial_state, reference_state(task))
    collection = next((c for c, keys in made.items() if text.strip() in keys), None)
    if collection is None:
        found, detail = find_output(text, answer)
        return CheckResult(name=name, passed=found, detail=detail)
    ours = sorted(_created(task.initial_state, final_state).get(collection, set()))
    hit = next((key for key in ours if find_output(key, answer)[0]), None)
    if hit is not None:
        return CheckResult(name=name, passed=True, detail=f"names {hit}, the {collection} entry this run created")
    detail = (f"does not name the {collection} entry this run created ({', '.join(ours)})" if ours
              else f"this run created no {collection} entry")
    return CheckResult(name=name, passed=False, detail=detail)


def run_checks(task: TaskSpec, final_state: Any, answer: str) -> list[CheckResult]:
    """Every check of ``task.checks`` on a final state and answer, in a stable order."""
    results: list[CheckResult] = []
    if task.checks.outcome:
        results.append(_outcome(task, final_state))
    if task.checks.required_outputs:
        for text in task.checks.required_outputs:
            results.append(_output(task, text, final_state, answer or ""))
    for assertion in task.checks.assertions:
        results.append(_assertion(assertion.expression, assertion.expected, final_state))
    return results


def reward_of(results: list[CheckResult]) -> float:
    """1.0 when every check passed, else 0.0."""
    return 1.0 if all(result.passed for result in results) else 0.0
