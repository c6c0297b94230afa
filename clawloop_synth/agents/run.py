"""Run an agent in SimEnv and record the run as a Trace (a Rollout) in OpenAI chat form."""

from __future__ import annotations

import hashlib
from typing import Any

from clawloop_synth.sim.env import SimEnv
from clawloop_synth.types import Message, Rollout, TaskSpec, ToolCall

from ._memo import MemoEnv
from .scripted import Agent

__all__ = ["default_system_prompt", "run_agent"]

_MAX_CALLS = 200  # a script that never returns still ends (SimEnv's own step limit ends it first)


def default_system_prompt(task: TaskSpec) -> str:
    """The task's policy (its pack's ``policy.md``); a generic instruction for a pack that has none."""
    if task.policy:
        return task.policy
    return (f"You are a customer service agent for the {task.domain} domain. Use the tools to look up what you "
            "need before you change anything, follow the tool results, and tell the user what they asked for.")


def _call_id(trace_id: str, k: int) -> str:
    return "call_" + hashlib.sha256(f"{trace_id}:{k}".encode()).hexdigest()[:24]


def run_agent(agent: Agent, task: TaskSpec, env: SimEnv | None = None, *, attempt: int = 0,
              trace_id: str | None = None, system_prompt: str | None = None) -> Rollout:
    """One episode of ``agent`` on ``task``; the result is a Trace with ``source="rollout"``.

    ``metadata`` holds ``agent``, ``task_id``, ``attempt`` and ``planted_mode`` (the flaw planted in
    this run, "none" for a clean one); miners must not read the latter, it is for evaluating them.
    """
    # Without an environment given, episodes of the same task that make the same calls share one run
    # (``_memo``): a population's clean runs of a task need one environment between them.
    episode_env: SimEnv | MemoEnv = MemoEnv(task) if env is None else env
    if env is not None:
        env.reset()
    trace_id = trace_id or f"{agent.name}:{task.id}:{attempt}"
    episode = agent.episode(task, attempt)
    messages = [Message(role="system", content=system_prompt or default_system_prompt(task)),
                Message(role="user", content=task.instruction)]
    script = episode.script
    try:
        planned = next(script)
        for k in range(_MAX_CALLS):
            call = ToolCall(id=_call_id(trace_id, k), name=planned.name, arguments=dict(planned.arguments))
            messages.append(Message(role="assistant", content=None, tool_calls=[call]))
            result = episode_env.step(call)
            messages.append(Message(role="tool", content=result.content, name=call.name, tool_call_id=call.id,
                                    is_error=result.is_error))
            if episode_env.over:
                script.close()
                answer = ""
                break
            planned = script.send(result)
        else:
            script.close()
            answer = ""
    except StopIteration as stop:
        answer = stop.value or ""
    messages.append(Message(role="assistant", content=answer))
    reward, checks = episode_env.finish(answer)
    metadata: dict[str, Any] = {"agent": agent.name, "task_id": task.id, "attempt": attempt,
                                "planted_mode": episode.planted_mode}
    return Rollout(id=trace_id, source="rollout", task_id=task.id, domain=task.domain, messages=messages,
                   tools=[tool.openai_schema() for tool in task.tools], reward=reward,
                   instruction=task.instruction, metadata=metadata, agent=agent.name, attempt=attempt,
                   checks=checks)
