"""The tasks behind OpenEnv's ``Environment`` (reset / step / state), served by OpenEnv's HTTP server.

One episode per OpenEnv session (:class:`SimEnvironment`, one instance per WebSocket session):
``reset(task_id=...)`` starts a task (by id; else by ``seed``; else the next in turn) on a fresh
``SimEnv``, and its observation carries the system prompt (the pack's policy), the request and the
tool schemas. A :class:`SimAction` is a tool call (``tool``, ``arguments``), answered with the
simulator's result, or the final ``answer``, answered with the reward of the task's checks and
``done``. :func:`create_sim_app` builds the FastAPI app with ``openenv.core``'s ``create_app``;
:class:`SimEnvClient` is the matching ``EnvClient``. ``export -f openenv`` writes a folder in the
layout OpenEnv expects (``openenv.yaml`` naming ``server.app:app``) around these.

This module imports ``openenv`` (the ``openenv`` extra) at import time; nothing in the package
imports it unless asked to.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from openenv.core.client_types import StepResult
from openenv.core.env_client import EnvClient
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.types import Action, Observation, State
from pydantic import Field

from clawloop_synth.interfaces.binding import Episode, pick_task
from clawloop_synth.types import TaskSpec

__all__ = ["SimAction", "SimEnvClient", "SimEnvironment", "SimObservation", "SimState", "create_sim_app",
           "environment_factory"]


class SimAction(Action):
    """A tool call (``tool`` and its ``arguments``), or the final reply to the user (``answer``)."""

    tool: str | None = Field(default=None, description="Name of the tool to call")
    arguments: dict[str, Any] = Field(default_factory=dict, description="The call's arguments (JSON object)")
    answer: str | None = Field(default=None, description="The final reply; ends the episode and scores it")


class SimObservation(Observation):
    """After reset: the task (system prompt, request, tools). After a call: its result. After the answer: the checks."""

    task_id: str = ""
    system_prompt: str = ""
    instruction: str = ""
    user_persona: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)
    result: str = ""
    is_error: bool = False
    checks: list[dict[str, Any]] = Field(default_factory=list)


class SimState(State):
    """The episode's task, how many calls it made, and its reward once finished."""

    task_id: str = ""
    calls: int = 0
    finished: bool = False
    final_reward: float | None = None


class SimEnvironment(Environment[SimAction, SimObservation, SimState]):
    """One session's episodes over ``tasks`` (each episode a fresh ``SimEnv``)."""

    SUPPORTS_CONCURRENT_SESSIONS = True  # every instance owns its own SimEnv and state copy

    def __init__(self, tasks: list[TaskSpec], *, result_format: str = "json",
                 max_tool_result_chars: int | None = None, turn: Any = None) -> None:
        super().__init__()
        if not tasks:
            raise ValueError("SimEnvironment needs at least one task")
        self.tasks = tasks
        self.result_format = result_format
        self.max_tool_result_chars = max_tool_result_chars
        self._turn = turn if turn is not None else itertools.count()
        self.episode: Episode | None = None
        self._state = SimState()

    def reset(self, seed: int | None = None, episode_id: str | None = None, task_id: str | None = None,
              **kwargs: Any) -> SimObservation:
        """Start the task ``task_id`` (else ``tasks[seed % n]``, else the next task in turn) from its initial state."""
        if task_id is not None:
            task = pick_task(self.tasks, task_id)
        else:
            task = self.tasks[(seed if seed is not None else next(self._turn)) % len(self.tasks)]
        self.episode = Episode(task, result_format=self.result_format,
                               max_tool_result_chars=self.max_tool_result_chars,
                               trace_id=episode_id, metadata={"recorded_by": "clawloop-synth openenv"})
        self._state = SimState(episode_id=self.episode.trace_id, task_id=task.id)
        observation = self.episode.reset()
        return SimObservation(task_id=task.id, system_prompt=self.episode.messages[0]["content"],
                              instruction=task.instruction, user_persona=task.user_persona,
                              tools=observation["tools"], done=False, reward=None)

    def step(self, action: SimAction, timeout_s: float | None = None, **kwargs: Any) -> SimObservation:
        """Run the tool call, or finish with the answer (reward of the task's checks, ``done``)."""
        episode = self.episode
        if episode is None:
            return SimObservation(result="Error: reset the environment with a task first", is_error=True)
        task_id = episode.task.id
        if action.answer is not None:
            reward, checks = episode.finish(action.answer)
            self._state.finished, self._state.final_reward = True, reward
            return SimObservation(task_id=task_id, done=True, reward=reward,
                                  checks=[c.model_dump() for c in checks])
        if not action.tool:
            return SimObservation(task_id=task_id, result="Error: an action is a tool call or an answer",
                                  is_error=True, done=episode.over)
        turn = episode.call(action.tool, action.arguments)
        self._state.step_count += 1
        self._state.calls = len(episode.env.calls)
        return SimObservation(task_id=task_id, result=turn.shown, is_error=turn.result.is_error,
                              done=episode.over, reward=None)

    @property
    def state(self) -> SimState:
        return self._state

    def record(self) -> dict[str, Any] | None:
        """The current episode as a trace record (OpenAI chat, as ``ingest`` reads)."""
        return self.episode.record() if self.episode is not None else None


def environment_factory(tasks: list[TaskSpec], **options: Any) -> Any:
    """A factory of :class:`SimEnvironment` (one per OpenEnv session) that hands out tasks in turn."""
    turn = itertools.count()

    def make() -> SimEnvironment:
        return SimEnvironment(tasks, turn=turn, **options)

    return make


def create_sim_app(tasks: list[TaskSpec] | Path | str, *, max_concurrent_envs: int = 64, **options: Any) -> Any:
    """OpenEnv's FastAPI app (``/reset``, ``/step``, ``/state``, ``/schema``, ``/ws``) over ``tasks``
    (TaskSpecs, or a work directory / tasks file to read them from)."""
    from openenv.core.env_server.http_server import create_app

    if not isinstance(tasks, list):
        from clawloop_synth.interfaces.binding import load_tasks

        tasks = load_tasks(Path(tasks))
    return create_app(environment_factory(tasks, **options), SimAction, SimObservation,
                      env_name="clawloop-synth", max_concurrent_envs=max_concurrent_envs)


class SimEnvClient(EnvClient[SimAction, SimObservation, SimState]):
    """OpenEnv client for a :func:`create_sim_app` server (``async with SimEnvClient(base_url=...)``)."""

    def _step_payload(self, action: SimAction) -> dict[str, Any]:
        return action.model_dump(exclude={"metadata"}, exclude_none=True)

    def _parse_result(self, payload: dict[str, Any]) -> StepResult[SimObservation]:
        fields = {k: v for k, v in (payload.get("observation") or {}).items() if k in SimObservation.model_fields}
        observation = SimObservation(**fields, done=payload.get("done", False), reward=payload.get("reward"))
        return StepResult(observation=observation, reward=payload.get("reward"), done=payload.get("done", False))

    def _parse_state(self, payload: dict[str, Any]) -> SimState:
        return SimState(**{k: v for k, v in payload.items() if k in SimState.model_fields})
