"""`export -f verifiers`: an environment module loaded by verifiers' own loader, rolled out through its tool loop.

The model is tests/fake_openai.py over HTTP, scripted with the reference's calls (then with the
failure exemplar's); everything between it and the simulator is verifiers': the env loader, the
interception server, the chat tool-loop program, the per-rollout MCP tool server launch and scoring.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from clawloop_synth.types import Solution, TaskSpec
from tests.fake_openai import FakeOpenAI, calls, say

pytest.importorskip("verifiers")

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, demo_workdir: Path) -> Path:
    from clawloop_synth.export import export_tasks

    out = tmp_path_factory.mktemp("verifiers") / "export"
    summary = export_tasks(demo_workdir, "verifiers", out, workdir_summary=False)
    assert summary["exported"] == 6 and "environment/clawloop_tasks_demo/__init__.py" in summary["files"]
    return out / "environment"


def script(solution: Solution) -> list[Any]:
    """One model turn per call, then the final reply."""
    return [calls((call.name, call.arguments)) for call in solution.calls] + [say(solution.answer)]


def scripted_model(plans: dict[str, Solution]) -> Any:
    """A model that plays ``plans[request]``: its k-th turn answers a conversation with k assistant turns,
    so rollouts of different tasks can run at the same time."""
    turns = {instruction: script(solution) for instruction, solution in plans.items()}

    def answer(body: dict[str, Any]) -> Any:
        messages = body.get("messages") or []
        request = next(m["content"] for m in messages if m["role"] == "user")
        return turns[request][sum(m["role"] == "assistant" for m in messages)]

    return answer


def test_rollouts_through_verifiers_earn_one_for_the_reference_and_less_for_the_exemplar(
        exported: Path, demo_tasks: list[TaskSpec], monkeypatch: pytest.MonkeyPatch) -> None:
    import verifiers.v1 as vf
    from verifiers.v1.env import RunSlot

    assert (exported / "pyproject.toml").is_file()
    monkeypatch.syspath_prepend(str(exported))  # as if pip-installed: importable by its id
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("CLAWLOOP_FAKE_KEY", "sk-test")
    env = vf.load_environment(vf.resolve_env_config({"taskset": {"id": "clawloop_tasks_demo"},
                                                    "agent": {"runtime": {"type": "subprocess"}}}))
    tasks = {task.data.id: task for task in env.taskset}
    assert set(tasks) == {t.id for t in demo_tasks}
    spec = next(t for t in demo_tasks if len(t.reference.calls) >= 4)
    other = next(t for t in demo_tasks if t.id != spec.id)
    assert other.failure_exemplar is not None
    # One rollout plays spec's reference, the other (at the same time) other's failure exemplar.
    model = scripted_model({spec.instruction: spec.reference, other.instruction: other.failure_exemplar})

    with FakeOpenAI(model) as fake:
        ctx = vf.ModelContext(model="scripted", client=vf.EvalClientConfig(base_url=fake.base_url,
                                                                           api_key_var="CLAWLOOP_FAKE_KEY"))

        async def rollouts() -> list[Any]:
            async with env.serving():
                return list(await asyncio.gather(*(env.run_slot(RunSlot(tasks[t.id]), ctx) for t in (spec, other))))

        reference, exemplar = asyncio.run(rollouts())
        requests = [r for r in fake.requests if r["messages"][1]["content"] == spec.instruction]

    for episode in (reference, exemplar):
        assert not episode.errors and episode.traces and not episode.traces[0].errors, episode
    good, bad = reference.traces[0], exemplar.traces[0]
    assert good.task.data.id == spec.id and bad.task.data.id == other.id
    assert good.reward == 1.0
    assert bad.reward < good.reward
    # Per-check metrics: every check passes for the reference; the exemplar fails at least one.
    checks = {k: v for k, v in good.metrics.items() if k.startswith("check/")}
    assert checks and set(checks.values()) == {1.0}
    assert good.metrics["tool_calls"] == len(spec.reference.calls)
    assert 0.0 in {v for k, v in bad.metrics.items() if k.startswith("check/")}

    # What the model saw: the pack's policy as system prompt, the request, and the task's tools with their
    # schemas; the tool results in the next request are the simulator's.
    first = requests[0]
    assert first["messages"][0] == {"role": "system", "content": spec.policy}
    assert first["messages"][1]["content"] == spec.instruction
    seen = {t["function"]["name"]: t["function"]["parameters"] for t in first["tools"]}
    assert seen == {s.name: s.parameters for s in spec.tools}
    from clawloop_synth.sim import SimEnv

    sim = SimEnv(spec)
    expected = [sim.step(call).content for call in spec.reference.calls]
    last = requests[len(spec.reference.calls)]["messages"]
    assert [m["content"] for m in last if m["role"] == "tool"] == expected
    assert json.loads(requests[1]["messages"][2]["tool_calls"][0]["function"]["arguments"]) == \
        spec.reference.calls[0].arguments


def test_the_modules_own_load_environment_gives_the_same_taskset(exported: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib

    monkeypatch.syspath_prepend(str(exported))
    module = importlib.import_module("clawloop_tasks_demo")
    env = module.load_environment()
    assert type(env.taskset).__name__ == "Tasks" and len(list(env.taskset)) == 6
    assert type(env._harnesses["agent"]).__name__ == "LocalChatHarness"
    other = module.load_environment(harness="null")
    assert type(other._harnesses["agent"]).__name__ == "NullHarness"
