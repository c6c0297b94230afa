"""SimEnv: errors come back as results, the step limit ends runaway episodes, runs are deterministic."""

from __future__ import annotations

import json

from sim_bank import make_task

from clawloop_synth.sim import SimEnv, ToolResult
from clawloop_synth.types import PlannedCall, TaskSpec, ToolCall, ToolSpec


def call(name: str, **arguments: object) -> PlannedCall:
    return PlannedCall(name=name, arguments=dict(arguments))


def test_reset_gives_instruction_tools_and_a_fresh_state(task: TaskSpec) -> None:
    env = SimEnv(task)
    observation = env.reset()
    assert observation["instruction"] == task.instruction
    assert [t["function"]["name"] for t in observation["tools"]] == ["get_account", "transfer", "freeze"]
    env.step(call("transfer", source="A1", target="B2", amount=5))
    assert env.state["accounts"]["A1"]["balance"] == 1495
    assert task.initial_state["accounts"]["A1"]["balance"] == 1500  # the task is never mutated
    env.reset()
    assert env.state == task.initial_state and env.state is not task.initial_state
    assert env.calls == []


def test_results_dicts_as_json_strings_as_is(task: TaskSpec) -> None:
    env = SimEnv(task)
    result = env.step(call("get_account", account_id="A1"))
    assert json.loads(result.content) == {"account_id": "A1", "owner": "Ann", "balance": 1500}
    assert result.content == json.dumps(result.value)
    assert not result.is_error and not result.crashed
    frozen = env.step(ToolCall(id="c1", name="freeze", arguments={"account_id": "B2"}))
    assert frozen.content == "frozen B2"


def test_agent_mistakes_come_back_as_error_results(task: TaskSpec) -> None:
    env = SimEnv(task)
    cases = {
        "unknown_tool": call("delete_everything"),
        "invalid_arguments": call("transfer", source="A1", target="B2", amount="ten"),
    }
    for kind, bad in cases.items():
        result = env.step(bad)
        assert result.is_error and not result.crashed and result.error_kind == kind
        assert result.content.startswith("Error: ")
    missing = env.step(call("transfer", source="A1"))
    assert missing.error_kind == "invalid_arguments" and "'target' is a required property" in missing.content
    not_a_dict = env.step(ToolCall.model_construct(id="x", name="get_account", arguments=["A1"]))
    assert not_a_dict.error_kind == "invalid_arguments"
    answered = env.step(call("get_account", account_id="ZZ"))
    assert answered.is_error and not answered.crashed and answered.error_kind == "tool"
    assert answered.content == "Error: account ZZ not found"
    raised = env.step(call("transfer", source="A1", target="B2", amount=-3))
    assert raised.is_error and raised.crashed and "ValueError: amount must be positive" in raised.content
    assert len(env.calls) == 6
    assert env.state == task.initial_state


def test_sandbox_limits_and_bad_handlers_are_error_results() -> None:
    looping = ToolSpec(name="spin", description="", parameters={"type": "object"},
                       handler="def invoke(state):\n    while True:\n        pass\n")
    hostile = ToolSpec(name="peek", description="", parameters={"type": "object"},
                       handler="def invoke(state):\n    return state.__class__\n")
    from clawloop_synth.sim import Limits

    env = SimEnv(make_task(tools=[looping, hostile]), limits=Limits(cpu_seconds=0.1))
    spun = env.step(call("spin"))
    assert spun.crashed and ("CPU time limit" in spun.content or "wall-clock limit" in spun.content)
    peeked = env.step(call("peek"))
    assert peeked.crashed and "policy" in peeked.content


def test_step_limit_ends_the_episode(task: TaskSpec) -> None:
    env = SimEnv(task, max_steps=3)
    results = [env.step(call("get_account", account_id="A1")) for _ in range(5)]
    assert [r.is_error for r in results] == [False, False, False, True, True]
    assert "step limit of 3" in results[3].content and results[3].error_kind == "step_limit"
    assert results[4].error_kind == "over"
    assert env.over


def test_finish_scores_and_closes(task: TaskSpec) -> None:
    env = SimEnv(task)
    for planned in task.reference.calls:
        env.step(planned)
    reward, checks = env.finish("Bob has 1020 now")
    assert reward == 1.0 and all(c.passed for c in checks)
    assert env.step(call("get_account", account_id="A1")).error_kind == "over"


def test_deterministic(task: TaskSpec) -> None:
    script = [call("get_account", account_id="A1"), call("transfer", source="A1", target="C3", amount=7),
              call("transfer", source="B2", target="C3", amount=100), call("nope"),
              call("transfer", source="A1", target="B2", amount=1000)]

    def run() -> tuple[list[ToolResult], object, float]:
        env = SimEnv(task)
        contents = [env.step(c) for c in script]
        reward, _ = env.finish("")
        return contents, env.state, reward

    first, second = run(), run()
    assert [(r.content, r.is_error) for r in first[0]] == [(r.content, r.is_error) for r in second[0]]
    assert first[1] == second[1] and first[2] == second[2]
