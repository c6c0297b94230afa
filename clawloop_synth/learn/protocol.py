"""The learner protocol and the one harness that hands tasks to a learner.

    learner.train(task_views(train_tasks, "train"))       # reference runs visible: they are training data
    rollout = play(learner, eval_task)                      # the learner sees task_view(eval_task, "eval")

A learner gets a :class:`~clawloop_synth.learn.view.TaskView` and an :class:`AgentEnv`: a port that runs tool
calls and takes the final answer. The port records the dialogue and returns the reward; the check details (which
may quote expected values) stay with the harness, which puts them on the returned Rollout after the episode.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from clawloop_synth.agents.run import default_system_prompt
from clawloop_synth.learn.view import TaskView, task_view
from clawloop_synth.sim.env import SimEnv
from clawloop_synth.types import CheckResult, Message, Rollout, TaskSpec, ToolCall

__all__ = ["AgentEnv", "Learner", "Noise", "TrainRunner", "play", "train_runner"]

# A degraded simulator's result noise: given an episode's trace id, the function that may alter each result
# (tool name, content, is_error) -> (content, is_error). Only what the agent reads changes, never the state.
Noise = Callable[[str], Callable[[str, str, bool], tuple[str, bool]]]


@runtime_checkable
class Learner(Protocol):
    name: str

    def train(self, tasks: Sequence[TaskView], runner: TrainRunner | None = None) -> None:
        """Learn from training tasks (``runner`` plays a training task in the simulator and gives its reward)."""

    def play(self, task: TaskView, env: AgentEnv) -> Rollout:
        """Run one episode through ``env`` and return ``env.finish(answer)``."""


class AgentEnv:
    """A learner's port on one episode: :meth:`step` per tool call, then :meth:`finish` with the answer.

    It holds the simulator only inside closures, so nothing reachable from its attributes is the task.
    """

    def __init__(self, view: TaskView, step: Callable[[str, dict[str, Any]], tuple[str, bool]],
                 finish: Callable[[str], float], agent: str, trace_id: str) -> None:
        self.view = view
        self._step = step
        self._finish = finish
        self.agent = agent
        self.trace_id = trace_id
        self.messages: list[Message] = [Message(role="system", content=view.policy or None),
                                        Message(role="user", content=view.instruction)]
        self.done = False

    def step(self, name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        """Call a tool; returns (result text, is_error)."""
        k = sum(1 for m in self.messages if m.tool_calls)
        call_id = "call_" + hashlib.sha256(f"{self.trace_id}:{k}".encode()).hexdigest()[:24]
        call = ToolCall(id=call_id, name=name, arguments=arguments)
        self.messages.append(Message(role="assistant", content=None, tool_calls=[call]))
        content, is_error = self._step(name, arguments)
        self.messages.append(Message(role="tool", content=content, name=name, tool_call_id=call_id,
                                     is_error=is_error))
        return content, is_error

    def finish(self, answer: str) -> Rollout:
        """End the episode; the Rollout carries the reward (check names and verdicts, not their details)."""
        self.messages.append(Message(role="assistant", content=answer))
        reward = self._finish(answer)
        self.done = True
        return Rollout(id=self.trace_id, source="rollout", task_id=self.view.id, domain=self.view.domain,
                       messages=list(self.messages), tools=list(self.view.tools), reward=reward,
                       instruction=self.view.instruction, metadata={"agent": self.agent, "task_id": self.view.id},
                       agent=self.agent)


class TrainRunner(Protocol):
    def __call__(self, view: TaskView, learner: Learner, attempt: int) -> Rollout: ...


def _port(task: TaskSpec, view: TaskView, agent: str, trace_id: str,
          noise: Noise | None = None) -> tuple[AgentEnv, list[list[CheckResult]]]:
    env = SimEnv(task)
    env.reset()
    box: list[list[CheckResult]] = []
    perturb = noise(trace_id) if noise is not None else None

    def step(name: str, arguments: dict[str, Any]) -> tuple[str, bool]:
        result = env.step({"name": name, "arguments": arguments})
        if perturb is not None:
            return perturb(name, result.content, result.is_error)
        return result.content, result.is_error

    def finish(answer: str) -> float:
        reward, checks = env.finish(answer)
        box.append(checks)
        return reward

    return AgentEnv(view, step, finish, agent, trace_id), box


def play(learner: Learner, task: TaskSpec, *, purpose: str = "eval", attempt: int = 0,
         noise: Noise | None = None) -> Rollout:
    """One episode of ``learner`` on ``task`` (seen through :func:`task_view`); the Rollout is re-scored here.
    ``noise`` alters the results the learner reads (a degraded simulator)."""
    view = task_view(task, "train" if purpose == "train" else "eval")
    trace_id = f"{learner.name}:{view.id}:{attempt}"
    port, box = _port(task, view, learner.name, trace_id, noise)
    rollout = learner.play(view, port)
    if not box:  # the learner never finished: end it with an empty answer
        rollout = port.finish("")
    checks = box[0]
    reward = 1.0 if all(c.passed for c in checks) else 0.0
    # The harness's own scoring, the real task id and system prompt: a learner cannot report its own reward.
    messages = list(port.messages)
    messages[0] = Message(role="system", content=default_system_prompt(task))
    return rollout.model_copy(update={"checks": checks, "reward": reward, "task_id": task.id, "messages": messages,
                                      "attempt": attempt, "metadata": {"agent": learner.name, "task_id": task.id,
                                                                       "attempt": attempt}})


def train_runner(tasks: Sequence[TaskSpec], noise: Noise | None = None) -> TrainRunner:
    """A runner over training tasks, keyed by their views' ids (the learner never holds the TaskSpec);
    ``noise``: the results the learner reads in training are altered (a degraded simulator)."""
    by_view = {task_view(t, "train").id: t for t in tasks}

    def run(view: TaskView, learner: Learner, attempt: int) -> Rollout:
        rollout = play(learner, by_view[view.id], purpose="train", attempt=attempt, noise=noise)
        checks = [CheckResult(name=c.name, passed=c.passed) for c in rollout.checks]
        return rollout.model_copy(update={"checks": checks, "task_id": view.id,
                                          "metadata": {"agent": learner.name, "task_id": view.id}})

    return run
