"""Prove a task in the simulator: the reference passes and the shortcuts do not.

Rules (names are stable; other stages key on them):

- ``reference_passes``: the reference solution (its calls, then its answer) earns reward 1.
- ``empty_run_fails``: no calls and an empty answer earn 0 ("solved by the empty run" otherwise).
- ``prefixes_fail``: every prefix of the reference that stops before its last state-changing call,
  ended with an empty answer, earns 0. A call is state-changing when its tool is declared
  ``writes=True`` or its execution changed the state.
- ``exemplar_fails``: the failure exemplar earns 0 (fails when the task has none).
- ``handlers_sound``: no handler crashes (raises or hits a sandbox limit) on the reference's
  arguments, and those arguments satisfy the tools' schemas.
- ``reference_follows_policy``: no reference call breaks one of the task's policy rules
  (:mod:`clawloop_synth.sim.rules`); the failure exemplar may.

Cost: the reference runs twice (once in full, once up to its last state-changing call, checking each
prefix on the live state), the exemplar once; the empty run is checked on the initial state itself.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

from clawloop_synth.sim import trust
from clawloop_synth.sim.checks import remember_reference, reward_of, run_checks
from clawloop_synth.sim.env import DEFAULT_MAX_STEPS, SimEnv, ToolResult
from clawloop_synth.sim.state import copy_state
from clawloop_synth.types import CheckResult, RuleResult, Solution, TaskSpec, VerifyReport

__all__ = ["RULES", "adopt_reports", "recorded_reports", "run_solution", "verify", "verify_once"]

RULES = ("reference_passes", "empty_run_fails", "prefixes_fail", "exemplar_fails", "handlers_sound",
         "reference_follows_policy")


def _failed_checks(checks: list[CheckResult]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in checks if not c.passed)


def run_solution(task: TaskSpec, solution: Solution) -> tuple[float, list[CheckResult], list[ToolResult]]:
    """Run ``solution``'s calls in a fresh episode, then finish with its answer."""
    env = SimEnv(task, max_steps=max(DEFAULT_MAX_STEPS, len(solution.calls)))
    results = [env.step(call) for call in solution.calls]
    reward, checks = env.finish(solution.answer)
    return reward, checks, results


def _reference_run(task: TaskSpec) -> tuple[SimEnv, list[int], RuleResult]:
    """Run the reference once; returns the env, the state-changing call indices, handlers_sound."""
    calls = task.reference.calls
    env = SimEnv(task, max_steps=max(DEFAULT_MAX_STEPS, len(calls)))
    writes = {spec.name for spec in task.tools if spec.writes}
    declared = [i for i, call in enumerate(calls) if call.name in writes]
    last_declared = declared[-1] if declared else -1
    changing = list(declared)
    problems: list[str] = []
    for index, call in enumerate(calls):
        # Only undeclared calls after the last declared write can move the last state-changing call.
        watch = index > last_declared and call.name not in writes
        before = copy_state(env.state) if watch else None
        result = env.step(call)
        if watch and env.state != before:
            changing.append(index)
        if result.crashed or result.error_kind in ("invalid_arguments", "unknown_tool"):
            problems.append(f"call {index + 1} ({call.name}): {result.content[:300]}")
    sound = RuleResult(
        rule="handlers_sound",
        passed=not problems,
        detail="; ".join(problems[:3]) if problems else f"{len(calls)} reference calls ran without a crash",
    )
    return env, sorted(changing), sound


def _prefixes_rule(task: TaskSpec, last_changing: int) -> RuleResult:
    if last_changing < 1:
        detail = "no prefix to check" if last_changing == 0 else "the reference changes no state"
        return RuleResult(rule="prefixes_fail", passed=True, detail=detail)
    env = SimEnv(task, max_steps=max(DEFAULT_MAX_STEPS, last_changing))
    for length in range(1, last_changing + 1):
        env.step(task.reference.calls[length - 1])
        if reward_of(run_checks(task, env.state, "")) == 1.0:
            return RuleResult(rule="prefixes_fail", passed=False,
                              detail=f"the prefix of {length} call(s) passed (of {last_changing} checked)")
    return RuleResult(rule="prefixes_fail", passed=True, detail=f"all {last_changing} prefix(es) fail")


def _reward_rule(rule: str, reward: float, checks: list[CheckResult], want: float, bad: str) -> RuleResult:
    if reward == want:
        return RuleResult(rule=rule, passed=True, detail=_failed_checks(checks) if want == 0.0 else "reward 1")
    return RuleResult(rule=rule, passed=False, detail=bad if want == 0.0 else _failed_checks(checks))


def verify(task: TaskSpec) -> VerifyReport:
    """Run every rule on ``task``; never raises on a bad task (the rules say what is wrong)."""
    try:
        return VerifyReport(task_id=task.id, rules=_verify(task))
    except Exception as exc:  # a defect in the task that escaped every guard: report, do not crash
        detail = f"verification crashed: {type(exc).__name__}: {exc}"[:500]
        return VerifyReport(task_id=task.id, rules=[RuleResult(rule=r, passed=False, detail=detail) for r in RULES])


_ONCE_SIZE = 8192
_once: OrderedDict[bytes, VerifyReport] = OrderedDict()
_once_lock = threading.Lock()


def verify_once(task: TaskSpec) -> VerifyReport:
    """:func:`verify` of a task's content, run once per process: a ``run`` verifies each task in the gate,
    then in export and report again, each time on a new object read back from disk. Keyed on the task's
    whole JSON (id, state, tools, rules, reference, checks) and the isolation mode, so any edit is a new
    verification; a copy of the report is returned so a caller's edits do not reach the kept one."""
    content = f"{trust.mode()}\x00{task.model_dump_json()}"  # handlers may fail otherwise when isolated
    key = hashlib.blake2b(content.encode(), digest_size=16).digest()
    with _once_lock:
        kept = _once.get(key)
        if kept is not None:
            _once.move_to_end(key)
    if kept is None:
        kept = verify(task)
        with _once_lock:
            _once[key] = kept
            while len(_once) > _ONCE_SIZE:
                _once.popitem(last=False)
            for recorder in _recorders:
                recorder[key] = kept
    return kept.model_copy(deep=True)


_recorders: list[dict[bytes, VerifyReport]] = []


@contextmanager
def recorded_reports() -> Iterator[dict[bytes, VerifyReport]]:
    """The reports :func:`verify_once` makes inside the block, by content key: what a pool worker hands
    back with its results, so that the driver's later stages (export, report) find the verifications the
    gate ran elsewhere (:func:`adopt_reports`)."""
    recorder: dict[bytes, VerifyReport] = {}
    with _once_lock:
        _recorders.append(recorder)
    try:
        yield recorder
    finally:
        with _once_lock:
            _recorders.remove(recorder)


def adopt_reports(reports: Mapping[bytes, VerifyReport]) -> None:
    """Keep reports another process's :func:`verify_once` made (keyed on the task's content and the
    isolation mode, so they hold here too)."""
    with _once_lock:
        for key, report in reports.items():
            _once[key] = report
            _once.move_to_end(key)
        while len(_once) > _ONCE_SIZE:
            _once.popitem(last=False)


def _verify(task: TaskSpec) -> list[RuleResult]:
    env, changing, sound = _reference_run(task)
    remember_reference(task, env.state)
    reward, checks = env.finish(task.reference.answer)
    errors = sum(1 for step in env.calls if step.result.is_error)
    reference = _reward_rule("reference_passes", reward, checks, 1.0, "")
    if reference.passed and errors:
        reference.detail += f" ({errors} reference call(s) returned an error)"

    # The empty run: checks are read-only, so the initial state itself stands in for a fresh copy.
    empty_checks = run_checks(task, task.initial_state, "")
    empty = _reward_rule("empty_run_fails", reward_of(empty_checks), empty_checks, 0.0, "solved by the empty run")

    prefixes = _prefixes_rule(task, changing[-1] if changing else -1)

    if task.failure_exemplar is None:
        exemplar = RuleResult(rule="exemplar_fails", passed=False, detail="the task has no failure exemplar")
    else:
        ex_reward, ex_checks, _ = run_solution(task, task.failure_exemplar)
        exemplar = _reward_rule("exemplar_fails", ex_reward, ex_checks, 0.0, "the failure exemplar passes every check")
    policy = RuleResult(rule="reference_follows_policy", passed=not env.violations,
                        detail="; ".join(v.text() for v in env.violations[:3]) if env.violations
                        else f"{len(task.rules)} policy rule(s), none broken")
    return [reference, empty, prefixes, exemplar, sound, policy]
