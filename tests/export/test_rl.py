"""The RL format: an environment in the shape of TRL's environment_factory, and the reward function."""

from __future__ import annotations

import inspect
import json
import typing
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.errors import InputError
from clawloop_synth.export import environment_class, environment_from_file, export_tasks, reward_func
from clawloop_synth.export.rl import TaskEnvironment, python_type
from clawloop_synth.sim import run_solution, verify
from clawloop_synth.types import Solution, TaskSpec, ToolSpec
from tests.export.tiny import make_task, make_workdir, tools


def _play(env: TaskEnvironment, solution: Solution) -> list[dict[str, Any]]:
    """Call the environment's tool methods the way the trainer does; returns the completion it makes."""
    completion: list[dict[str, Any]] = []
    for call in solution.calls:
        method = getattr(env, call.name, None)
        try:
            result = method(**call.arguments) if method else f"Error: unknown tool {call.name}"
        except TypeError as exc:  # the trainer answers a bad call with the error text
            result = f"Error: {exc}"
        completion.append({"role": "assistant", "tool_calls": [{"type": "function", "function": {
            "name": call.name, "arguments": call.arguments}}]})
        completion.append({"role": "tool", "name": call.name, "content": result})
    completion.append({"role": "assistant", "content": solution.answer})
    return completion


def _public(cls: type) -> list[str]:
    return sorted(n for n, v in inspect.getmembers(cls) if callable(v) and not n.startswith("_"))


def test_methods_have_signatures_hints_and_docstrings_from_the_specs() -> None:
    cls = environment_class(tools())
    assert _public(cls) == ["lookup", "reset", "restock"]
    signature = inspect.signature(cls.restock)
    assert list(signature.parameters) == ["self", "sku", "amount", "note"]
    assert signature.parameters["note"].default is None
    assert signature.parameters["sku"].default is inspect.Parameter.empty
    hints = typing.get_type_hints(cls.restock)
    assert hints["sku"] is str and hints["amount"] is int and hints["return"] is str
    assert typing.get_args(hints["note"]) == (typing.Literal["urgent", "routine"], type(None))
    doc = inspect.getdoc(cls.restock) or ""
    assert doc.startswith("Add stock to an item.") and "Args:" in doc and "sku: The item code." in doc
    assert "Returns:" in doc


def test_json_schema_types_map_to_hints() -> None:
    assert python_type({"type": "array", "items": {"type": "number"}}) == list[float]
    assert python_type({"type": "object", "properties": {}}) == dict[str, Any]
    assert python_type({"type": ["string", "null"]}) == str | None
    assert python_type({}) is Any
    assert python_type({"anyOf": [{"type": "integer"}, {"type": "boolean"}]}) == int | bool


@pytest.mark.parametrize("name", ["reset", "_secret", "class", "not-a-name"])
def test_unusable_tool_names_are_refused(name: str) -> None:
    spec = ToolSpec(name=name, description="x", parameters={"type": "object", "properties": {}}, handler="")
    with pytest.raises(InputError):
        environment_class([spec])


def test_reference_earns_one_and_exemplar_less_on_50_airline_tasks(airline_tasks: list[TaskSpec]) -> None:
    assert len(airline_tasks) == 50
    cls = environment_class([spec for task in airline_tasks for spec in task.tools])
    envs = []
    reference_rewards, exemplar_rewards = [], []
    for task in airline_tasks:
        row = {"prompt": [], "task": task.model_dump_json(), "id": task.id}
        for solution, rewards in ((task.reference, reference_rewards), (task.failure_exemplar, exemplar_rewards)):
            env = cls()
            assert env.reset(**row) is None
            completion = _play(env, solution or Solution())
            rewards.append(reward_func([completion], environments=[env])[0])
            envs.append(env)
    assert reference_rewards == [1.0] * 50
    # The environment scores the exemplar exactly as the simulator does, on every task...
    simulated = [run_solution(task, task.failure_exemplar or Solution())[0] for task in airline_tasks]
    assert exemplar_rewards == simulated
    # ...and below 1 on every task whose exemplar the simulator shows to fail (the accepted ones).
    failing = [i for i, task in enumerate(airline_tasks) if
               next(r for r in verify(task).rules if r.rule == "exemplar_fails").passed]
    assert len(failing) >= 40
    assert all(exemplar_rewards[i] < 1.0 for i in failing)


def test_reward_func_replays_completions_without_environments() -> None:
    task = make_task(4)
    good = _play(environment_class(task.tools)(), task.reference)
    for message in good:  # OpenAI-style string arguments are accepted too
        for call in message.get("tool_calls", []):
            call["function"]["arguments"] = json.dumps(call["function"]["arguments"])
    bad = [{"role": "assistant", "content": "All done."}]
    assert reward_func([good, bad, "8"], task=[task.model_dump_json()] * 3) == [1.0, 0.0, 0.0]


def test_bad_calls_come_back_as_errors_and_reward_is_final() -> None:
    task = make_task(2)
    env = environment_class(task.tools)()
    env.reset(task=task.model_dump())
    assert env.restock(sku="I2", amount="three").startswith("Error")
    assert env.lookup(sku="nope").startswith("Error")
    assert env.lookup(sku="I2").splitlines()[:2] == ["sku: I2", "stock: 2"]  # the lines format, by default
    as_json = environment_class(task.tools, tool_result_format="json")()
    as_json.reset(task=task.model_dump())
    assert json.loads(as_json.lookup(sku="I2"))["stock"] == 2
    assert reward_func([[{"role": "assistant", "content": "5"}]], environments=[env]) == [0.0]
    env.restock(sku="I2", amount=3)
    assert reward_func(["5"], environments=[env]) == [0.0]  # finished already: the reward stays


def test_rl_export_writes_prompts_tasks_and_a_loadable_environment(tmp_path: Path) -> None:
    import importlib.util

    from datasets import load_from_disk

    tasks = [make_task(i, cluster=f"c{i % 2}") for i in range(12)]
    out = tmp_path / "out"
    summary = export_tasks(make_workdir(tmp_path, tasks), "rl", out, seed=1)
    assert summary["exported"] == 12 and sum(summary["splits"].values()) == 12
    spec = importlib.util.spec_from_file_location("exported_environment", out / "environment.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert _public(module.TaskEnvironment) == ["lookup", "reset", "restock"]
    assert environment_from_file(out / "tools.json").__name__ == "TaskEnvironment"
    rows = [row for split in load_from_disk(str(out / "dataset")).values() for row in split]
    for row in rows:
        task = TaskSpec.model_validate_json(row["task"])
        assert row["prompt"][1] == {"role": "user", "content": task.instruction}
        env = module.TaskEnvironment()
        env.reset(**row)
        assert module.reward_func([_play(env, task.reference)], environments=[env]) == [1.0]
    card = (out / "README.md").read_text()
    assert "reinforcement-learning" in card and "environment_factory" in card
