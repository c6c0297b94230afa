"""The rows of the report's task table: what each task asks, its runs, its verdicts and difficulty."""

from __future__ import annotations

import json
from typing import Any

from clawloop_synth.mine.context import HANDOFF
from clawloop_synth.types import Solution, TaskSpec, VerifyReport

__all__ = ["MAX_TASKS", "task_kind", "task_row"]

MAX_TASKS = 2000  # rows in the table (and tasks verified again for it); the rest are counted


def task_kind(task: TaskSpec) -> str:
    """The task's kind from the shape of its reference, the same for every domain.

    transfer: the reference hands the conversation over; refusal: the reference changes nothing while
    the failure exemplar (the wrong behaviour) does; answer: no state-changing call; else the number
    of writes.
    """
    writes = {tool.name for tool in task.tools if tool.writes}
    if any(HANDOFF.search(call.name) for call in task.reference.calls):
        return "transfer"
    done = sum(call.name in writes for call in task.reference.calls)
    wrong = sum(call.name in writes for call in (task.failure_exemplar.calls if task.failure_exemplar else []))
    if done == 0:
        return "refusal" if wrong else "answer"
    return "one write" if done == 1 else f"{done} writes"


def _run(solution: Solution | None) -> dict[str, Any]:
    if solution is None:
        return {"calls": [], "answer": ""}
    calls = [f"{c.name}({json.dumps(c.arguments, ensure_ascii=False, sort_keys=True)})" for c in solution.calls]
    return {"calls": calls, "answer": solution.answer}


def task_row(task: TaskSpec, report: VerifyReport | None, difficulty: dict[str, Any] | None,
             rank: int | None) -> dict[str, Any]:
    """One table row; every value is data (the template escapes it)."""
    verdicts = [{"rule": r.rule, "passed": r.passed, "detail": r.detail} for r in (report.rules if report else [])]
    value = (difficulty or {}).get("difficulty")
    return {
        "id": task.id, "cluster": task.target_cluster or "", "code": task.target_code or "", "kind": task_kind(task),
        "instruction": task.instruction, "persona": task.user_persona or "",
        "reference": _run(task.reference), "exemplar": _run(task.failure_exemplar),
        "verdicts": verdicts, "verified": bool(report and report.ok),
        "difficulty": None if value is None else round(float(value), 3),
        "difficulty_source": (difficulty or {}).get("difficulty_source") or "",
        "pass_mean": None if not difficulty or difficulty.get("pass_mean") is None
        else round(float(difficulty["pass_mean"]), 3),
        "rank": rank, "generator": task.provenance.generator,
    }
