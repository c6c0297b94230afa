"""The pack's policy is the system prompt of rollouts, exports and the LLM generator's task contract."""

from __future__ import annotations

from pathlib import Path

from clawloop_synth.agents import run_agent, scripted_population
from clawloop_synth.demo import build_demo_tasks
from clawloop_synth.export.conversation import prompt_messages, run_reference, sft_messages
from clawloop_synth.generate import llm_gen
from clawloop_synth.generate.stage import GenerateConfig, _load_inputs, build_requests
from clawloop_synth.sim.pack import load_pack
from clawloop_synth.types import TaskSpec
from tests.generate.helpers import make_workdir


def test_exports_and_rollouts_open_with_the_pack_policy(airline_tasks: list[TaskSpec]) -> None:
    airline_policy = load_pack("airline").policy
    task = airline_tasks[0]
    assert task.policy == airline_policy
    assert prompt_messages(task)[0] == {"role": "system", "content": airline_policy}
    assert sft_messages(run_reference(task))[0]["content"] == airline_policy
    demo = build_demo_tasks(1, seed=0)[0]
    rollout = run_agent(scripted_population(0)[0], demo)
    assert rollout.messages[0].role == "system" and rollout.messages[0].content == load_pack("demo").policy


def test_a_task_without_policy_gets_the_generic_prompt(airline_tasks: list[TaskSpec]) -> None:
    bare = airline_tasks[0].model_copy(update={"policy": ""})
    assert "airline domain" in prompt_messages(bare)[0]["content"]


def test_llm_generator_prompt_states_the_policy(tmp_path: Path) -> None:
    config = GenerateConfig(domain="demo", per_cluster=1, generator="llm")
    (request, *_) = build_requests(config, *_load_inputs(make_workdir(tmp_path), config))
    user = llm_gen.generation_messages(request, 0)[1]["content"]
    assert load_pack("demo").policy in user
