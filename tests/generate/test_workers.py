"""The gate's worker process gives the verdicts ``examine`` gives in-process, in order."""

from __future__ import annotations

import asyncio

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.generate.gate import Gate, examine
from clawloop_synth.generate.workers import examiner
from clawloop_synth.types import Solution


def test_worker_verdicts_equal_in_process_ones() -> None:
    tasks = build_demo_tasks(6, 0)
    broken = tasks[1].model_copy(update={"id": "solved-exemplar", "failure_exemplar": Solution.model_validate(
        tasks[1].reference.model_dump())})
    wrong_target = tasks[2].model_copy(update={"id": "wrong-target"})
    cases = [(t, t.target_code) for t in tasks] + [(broken, broken.target_code), (wrong_target, "agent/x/y")]
    worker = examiner()
    assert worker is not None
    futures = [worker.submit(task, code) for task, code in cases]
    remote = [f.result(timeout=120) for f in futures]
    local = [examine(task, code) for task, code in cases]
    assert remote == local
    assert remote[-2].reason.startswith("verify:") and remote[-1].reason == "untargeted"
    gate_a, gate_b = Gate(), Gate()
    for (task, code), verdict in zip(cases, remote, strict=True):
        assert gate_a.judge(task, code, verdict) == gate_b.judge(task, code)


def test_worker_answers_an_event_loop() -> None:
    task = build_demo_tasks(1, 0)[0]
    worker = examiner()
    assert worker is not None

    async def main() -> bool:
        verdict = await asyncio.wrap_future(worker.submit(task, task.target_code))
        return bool(verdict.accepted)

    assert asyncio.run(main())
