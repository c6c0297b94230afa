"""The learner sees only what an agent sees; the policy learner learns on the demo pack."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from pydantic import BaseModel

from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.learn import (
    AgentEnv,
    PolicyConfig,
    PolicyLearner,
    TaskView,
    TrainRunner,
    play,
    task_view,
    task_views,
    train_runner,
)
from clawloop_synth.types import Provenance, Rollout, TaskFeatures, TaskSpec


def _marked(tasks: list[TaskSpec]) -> list[TaskSpec]:
    """Tasks carrying unmistakable secrets in every field a learner must never see."""
    out = []
    for i, t in enumerate(tasks):
        out.append(t.model_copy(update={
            "id": f"SECRET-ID-c07-{i}",
            "target_cluster": f"SECRET-CLUSTER-{i}",
            "target_code": "agent/SECRET/code",
            "provenance": Provenance(generator="SECRET-GEN", model="SECRET-MODEL", prompt_version="SECRET-PV",
                                     source_trace_ids=[f"SECRET-TRACE-{i}"]),
            "features": TaskFeatures(failure_codes=["agent/SECRET/flaw"]),
            "failure_exemplar": t.reference.model_copy(update={"answer": "SECRET-EXEMPLAR"}),
            "reference": t.reference.model_copy(update={"answer": f"{t.reference.answer} SECRET-REFERENCE-ANSWER-{i}"}),
        }))
    return out


_FORBIDDEN = ("SECRET-ID", "SECRET-CLUSTER", "agent/SECRET", "SECRET-GEN", "SECRET-MODEL", "SECRET-PV",
              "SECRET-TRACE", "SECRET-EXEMPLAR")


def _walk(obj: Any, seen: set[int], out: list[str]) -> None:
    """Every string reachable from ``obj`` through data (models, dataclasses, dicts, lists, attributes)."""
    if id(obj) in seen or callable(obj) and not isinstance(obj, BaseModel):
        return
    seen.add(id(obj))
    if isinstance(obj, str):
        out.append(obj)
    elif isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            _walk(getattr(obj, name), seen, out)
    elif isinstance(obj, dict):
        for k, v in obj.items():
            _walk(k, seen, out)
            _walk(v, seen, out)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for v in obj:
            _walk(v, seen, out)
    elif hasattr(obj, "__dict__"):
        for v in vars(obj).values():
            _walk(v, seen, out)


class _Spy:
    """A learner that records every object it is handed, and plays the demonstration when it has one."""

    name = "spy"

    def __init__(self) -> None:
        self.handed: list[Any] = []

    def train(self, tasks: Sequence[TaskView], runner: TrainRunner | None = None) -> None:
        self.handed.append(list(tasks))
        assert runner is not None
        for view in tasks:
            self.handed.append(runner(view, self, 0))

    def play(self, task: TaskView, env: AgentEnv) -> Rollout:
        self.handed += [task, env]
        for call in task.demonstration.calls if task.demonstration else []:
            self.handed.append(env.step(call.name, call.arguments))
        return env.finish(task.demonstration.answer if task.demonstration else "")


def test_no_forbidden_field_reaches_a_learner() -> None:
    tasks = _marked(build_demo_tasks(12, seed=3))
    train, held = tasks[:8], tasks[8:]
    spy = _Spy()
    spy.train(task_views(train, "train"), train_runner(train))
    for task in held:
        play(spy, task)
    strings: list[str] = []
    seen: set[int] = set()
    for obj in spy.handed:
        _walk(obj, seen, strings)
    text = "\n".join(strings)
    assert strings, "the walk found nothing: it is not looking"
    for secret in _FORBIDDEN:
        assert secret not in text, secret
    # training tasks carry their reference run (it is training data); evaluation tasks never do
    assert "SECRET-REFERENCE-ANSWER-0" in text
    for i in range(8, 12):
        assert f"SECRET-REFERENCE-ANSWER-{i}" not in text
    # no handler source and no initial state in a view
    view_json = json.dumps(task_view(tasks[0], "eval").model_dump())
    assert "def invoke" not in view_json and "initial_state" not in view_json


def test_the_policy_learner_holds_nothing_it_may_not_see() -> None:
    """After training on marked tasks and playing marked held-out tasks, no secret is anywhere in the learner."""
    tasks = _marked(build_demo_tasks(10, seed=6))
    train, held = tasks[:7], tasks[7:]
    learner = PolicyLearner(PolicyConfig(rl_epochs=1, seed=0, imitation_epochs=1))
    learner.train(task_views(train, "train"), train_runner(train))
    for task in held:
        play(learner, task)
    strings: list[str] = []
    _walk(learner, set(), strings)
    text = "\n".join(strings)
    for i in range(7, 10):
        assert f"SECRET-REFERENCE-ANSWER-{i}" not in text
    for secret in _FORBIDDEN:
        assert secret not in text, secret
    assert learner.consts, "the walk reached the learner's own data"


def test_the_view_is_the_only_form_and_rejects_extra_fields() -> None:
    task = build_demo_tasks(1, seed=0)[0]
    with pytest.raises(ValueError):
        task_view(task, "test")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        TaskView.model_validate({**task_view(task, "eval").model_dump(), "target_code": "x"})


def test_the_harness_scores_the_episode_itself() -> None:
    """A learner that claims a reward in its Rollout does not get it: the harness re-scores."""

    class Liar:
        name = "liar"

        def train(self, tasks: Sequence[TaskView], runner: TrainRunner | None = None) -> None: ...

        def play(self, task: TaskView, env: AgentEnv) -> Rollout:
            return env.finish("").model_copy(update={"reward": 1.0})

    task = build_demo_tasks(1, seed=0)[0]
    assert play(Liar(), task).reward == 0.0


def test_policy_learner_learns_on_the_demo_pack() -> None:
    """Untrained it solves nothing; imitation fits the reference decisions and solves some tasks.

    (The demo's tasks are long lookup chains with dates to normalize: held-out success there is low; the
    held-out figure on airline is measured by evals/learner.py.)
    """
    tasks = build_demo_tasks(90, seed=1)
    train, held = tasks[:70], tasks[70:]
    learner = PolicyLearner(PolicyConfig(rl_epochs=0, seed=0))
    before = [play(learner, t).reward or 0.0 for t in train + held]
    learner.train(task_views(train, "train"), train_runner(train))
    after = sum(play(learner, t).reward or 0.0 for t in train) / len(train)
    assert max(before) == 0.0
    assert learner.stats["imitation_fit"] >= 0.9, learner.stats
    assert after >= 0.1, (after, learner.stats)


def test_training_again_keeps_the_earlier_demonstrations_and_reads_are_explored() -> None:
    tasks = build_demo_tasks(16, seed=2)
    first, second = tasks[:8], tasks[8:]
    learner = PolicyLearner(PolicyConfig(rl_epochs=0, seed=0))
    learner.train(task_views(first, "train"), train_runner(first))
    after_first = learner.stats["imitation_decisions"]
    learner.train(task_views(second, "train"), train_runner(second))
    assert learner.stats["imitation_decisions"] > after_first  # the first chunk's decisions are still there
    # DAgger on reads: an untrained policy's own lookups differ from the demonstrations, so with exploration the
    # collected runs hold more tool calls than without it (where only failed writes add any)
    def collected(explore_reads: int) -> int:
        calls: list[int] = []

        def runner(view: TaskView, lrn: Any, attempt: int) -> Rollout:
            rollout = train_runner(tasks)(view, lrn, attempt)
            calls.append(sum(1 for m in rollout.messages if m.tool_calls))
            return rollout

        fresh = PolicyLearner(PolicyConfig(rl_epochs=0, seed=0, imitation_epochs=0, explore_reads=explore_reads))
        fresh.train(task_views(tasks, "train"), runner)
        return sum(calls)

    assert collected(3) > collected(0) + len(tasks) // 2
