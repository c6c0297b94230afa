"""The LLM agent over real HTTP against the scripted OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

from clawloop_synth.rollout import LLMAgent, iter_rollouts, make_jobs
from clawloop_synth.types import TaskSpec
from tests.fake_openai import FakeOpenAI, calls, error, say
from tests.rollout.helpers import demo_tasks


def _agent(server: FakeOpenAI, **config: Any) -> LLMAgent:
    return LLMAgent.from_model("openai/fake-model", api_base=server.base_url, api_key="test", max_turns=10,
                               retry_wait=0.01, **config)


def _info_task() -> TaskSpec:
    return next(t for t in demo_tasks(10) if t.id.startswith("demo-info"))


def test_tool_calls_then_answer_scores_with_the_checks(fake_openai: FakeOpenAI) -> None:
    task = _info_task()
    fake_openai.script(*(calls((c.name, c.arguments)) for c in task.reference.calls), say(task.reference.answer))
    (rollout,) = list(iter_rollouts(make_jobs([_agent(fake_openai)], [task], k=1), concurrency=2))
    assert rollout.reward == 1.0 and all(c.passed for c in rollout.checks)
    assert rollout.agent == "llm:openai/fake-model" and rollout.metadata["stop"] == "answer"
    assert [s.call.name for s in rollout.tool_steps()] == [c.name for c in task.reference.calls]
    assert all(s.result is not None and not s.is_error for s in rollout.tool_steps())
    assert rollout.messages[-1].content == task.reference.answer
    # what went over the wire: tools offered, and each tool result sent back with its call id
    assert len(fake_openai.requests) == len(task.reference.calls) + 1
    second = fake_openai.requests[1]
    assert second["model"] == "fake-model"
    assert {t["function"]["name"] for t in second["tools"]} == {t.name for t in task.tools}
    tool_turn = second["messages"][-1]
    assert tool_turn["role"] == "tool" and tool_turn["tool_call_id"] == second["messages"][-2]["tool_calls"][0]["id"]
    assert "is_error" not in tool_turn


def test_a_wrong_answer_fails_and_bad_arguments_come_back_as_errors(fake_openai: FakeOpenAI) -> None:
    task = _info_task()
    first = task.reference.calls[0]
    fake_openai.script(calls((first.name, first.arguments)),
                       calls((first.name, "not an object")),  # type: ignore[arg-type]
                       say("Sorry, I could not find it."))
    (rollout,) = list(iter_rollouts(make_jobs([_agent(fake_openai)], [task], k=1), concurrency=1))
    assert rollout.reward is not None and rollout.reward < 1.0
    steps = rollout.tool_steps()
    assert len(steps) == 2 and not steps[0].is_error and steps[1].is_error
    assert "JSON object" in (steps[1].result or "")


def test_turns_are_bounded(fake_openai: FakeOpenAI) -> None:
    task = _info_task()
    first = task.reference.calls[0]
    fake_openai.default = calls((first.name, first.arguments))
    agent = LLMAgent.from_model("openai/fake-model", api_base=fake_openai.base_url, api_key="t", max_turns=3)
    (rollout,) = list(iter_rollouts(make_jobs([agent], [task], k=1)))
    assert rollout.metadata["stop"] == "max_turns" and rollout.metadata["turns"] == 3
    assert len(rollout.tool_steps()) == 3 and len(fake_openai.requests) == 3


def test_a_failed_model_call_is_not_a_task_failure(fake_openai: FakeOpenAI) -> None:
    fake_openai.default = error(500)
    agent = _agent(fake_openai, max_retries=1)
    (rollout,) = list(iter_rollouts(make_jobs([agent], [_info_task()], k=1)))
    assert rollout.reward is None and rollout.checks == []
    assert "500" in rollout.metadata["error"] and rollout.metadata["stop"] == "llm_error"
    assert len(fake_openai.requests) == 2  # one retry
    usage = agent.usage_summary()["stages"]["rollout"]
    assert usage["failures"] == 1 and usage["retries"] == 1
