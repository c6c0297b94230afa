"""The gate and a generator's own pre-check share a candidate's verification and mined codes."""

from __future__ import annotations

import sys
from collections import OrderedDict

import pytest

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.generate import gate


def test_verification_and_mining_run_once_per_task_object(monkeypatch: pytest.MonkeyPatch) -> None:
    task = build_demo_tasks(1, seed=2)[0]
    calls: list[str] = []
    module = sys.modules["clawloop_synth.sim.verify"]  # ``sim.verify`` is the function of that name
    real_verify = module.verify
    monkeypatch.setattr(module, "verify", lambda t: calls.append(t.id) or real_verify(t))
    monkeypatch.setattr(module, "_once", OrderedDict())  # no verdict kept from an earlier test
    first = gate.examine(task, None)
    second = gate.examine(task, None)
    assert first == second and calls == [task.id]
    twin = task.model_copy(deep=True)  # another object, the same content: judged on its own, verified once
    assert gate.examine(twin, None) == first and calls == [task.id]
    edited = task.model_copy(update={"instruction": task.instruction + " Please."}, deep=True)
    gate.examine(edited, None)
    assert calls == [task.id, task.id]


def test_mining_context_is_shared_by_tool_set_and_codes_follow_the_context() -> None:
    task = build_demo_tasks(1, seed=2)[0]
    ctx = gate.mine_context(task.tools)
    assert gate.mine_context([t.model_copy() for t in task.tools]) is ctx
    assert gate.mined_codes(task) == gate.mined_codes(task, ctx)
    other = gate.mine_context([t.model_copy(update={"writes": not t.writes}) for t in task.tools])
    assert other is not ctx
