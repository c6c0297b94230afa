"""The tasks as a ``verifiers`` (0.4, ``verifiers.v1``) environment: a taskset, its tool server and a chat harness.

- :class:`SimTaskset` yields one :class:`SimTask` per TaskSpec of a JSONL file; its data carries the
  request as ``prompt``, the pack's policy as ``system_prompt`` and the TaskSpec itself (``task``).
- :class:`SimToolset` is the task's tool server, launched by verifiers once per rollout (the rollout's
  tools are bound to a fresh ``SimEnv`` in that process, see :mod:`verifiers_tools`); its tools are the
  task's, named and described as in the pack's ``tools.json``, with the same JSON Schemas.
- The rubric is the task's checks: ``checks_passed`` (the reward) replays the rollout's tool calls in a
  fresh ``SimEnv`` (it is deterministic: the same calls give the same state) and finishes with the
  model's last reply; ``check_metrics`` records each check (``check/NAME``) and the calls made.
- :class:`LocalChatHarness` runs verifiers' own chat tool loop (the ``null`` harness's program) with
  this Python instead of a uv-built environment, so a rollout needs no package download; pick
  ``null`` (or any harness) in the env config to run elsewhere.

``export -f verifiers`` writes an environment module that subclasses :class:`SimTaskset` over its
``tasks.jsonl`` and exposes ``load_environment()``. This module imports ``verifiers`` at import time
(the ``verifiers`` extra); nothing in the package imports it unless asked to.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, ClassVar

import verifiers.v1 as vf
from verifiers.v1.harnesses.utils.launch import CHAT_PROGRAM_SOURCE

from clawloop_synth.export.conversation import system_prompt
from clawloop_synth.sim import SimEnv
from clawloop_synth.types import PlannedCall, TaskSpec

__all__ = ["LocalChatHarness", "SimTask", "SimTaskData", "SimTaskset", "SimToolset", "environment_config",
           "replay", "tasks_of"]


class SimTaskData(vf.TaskData):
    """A task's wire data: the TaskSpec as JSON beside the prompt verifiers shows the model."""

    task: str


class SimToolsetConfig(vf.ToolsetConfig):
    result_format: str = "json"
    max_tool_result_chars: int | None = None


class SimToolset(vf.Toolset[SimToolsetConfig, vf.State]):
    """The task's tools, served per rollout by :mod:`clawloop_synth.interfaces.verifiers_tools`."""

    TOOL_PREFIX = None  # tools keep their own names (one server per task)

    def register(self, mcp: Any) -> None:  # pragma: no cover - the launched module serves the tools
        raise NotImplementedError("SimToolset is served by clawloop_synth.interfaces.verifiers_tools")


# verifiers launches a task's tool server as `python -m <the Toolset class's module>`: that module is
# the light server, which serves the task with the project's MCP server and does not import verifiers.
SimToolset.__module__ = "clawloop_synth.interfaces.verifiers_tools"


def _calls(trace: vf.Trace) -> tuple[list[PlannedCall], str]:
    """The tool calls the model made, in order, and its last reply, from the trace's final branch."""
    branches = trace.branches
    messages = branches[-1].messages if branches else []
    calls, answer = [], ""
    for message in messages:
        if message.role != "assistant":
            continue
        for call in message.tool_calls or []:
            try:
                arguments: Any = json.loads(call.arguments or "{}")
            except json.JSONDecodeError:
                arguments = call.arguments  # the simulator answers a non-object with an error, as it did live
            calls.append(PlannedCall.model_construct(name=call.name, arguments=arguments))
        if message.content and not message.tool_calls:
            answer = message.content if isinstance(message.content, str) else str(message.content)
    return calls, answer


def replay(task: TaskSpec, calls: Iterable[PlannedCall], answer: str) -> tuple[float, list[Any]]:
    """Reward and check results of ``calls`` then ``answer`` in a fresh ``SimEnv`` of ``task``."""
    calls = list(calls)
    env = SimEnv(task, max_steps=max(len(calls), 1))
    for call in calls:
        env.step(call)
    return env.finish(answer)


class SimTask(vf.Task[SimTaskData, vf.State, vf.TaskConfig]):
    """One TaskSpec: its tool server per rollout and its checks as the rubric."""

    @classmethod
    def toolsets(cls, config: vf.TaskConfig) -> list[vf.Toolset]:
        return [SimToolset(SimToolsetConfig())]

    def spec(self) -> TaskSpec:
        return TaskSpec.model_validate_json(self.data.task)

    def _outcome(self, trace: vf.Trace) -> tuple[float, list[Any], int]:
        cached = trace.info.get("clawloop_checks")
        if cached is None:
            calls, answer = _calls(trace)
            reward, checks = replay(self.spec(), calls, answer)
            cached = {"reward": reward, "checks": [c.model_dump() for c in checks], "calls": len(calls)}
            trace.info["clawloop_checks"] = cached
        return cached["reward"], cached["checks"], cached["calls"]

    @vf.reward
    async def checks_passed(self, trace: vf.Trace) -> float:
        """1 when every check of the task passes on the rollout's final state and reply, else 0."""
        return self._outcome(trace)[0]

    @vf.metric
    async def check_metrics(self, trace: vf.Trace) -> Mapping[str, float]:
        """Each check (``check/NAME``: 1 passed, 0 failed) and the number of tool calls."""
        _, checks, calls = self._outcome(trace)
        return {**{f"check/{c['name']}": float(c["passed"]) for c in checks}, "tool_calls": float(calls)}


def tasks_of(path: Path) -> list[TaskSpec]:
    """The TaskSpecs of a JSONL file (one a line)."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [TaskSpec.model_validate_json(line) for line in lines if line.strip()]


class SimTaskset(vf.Taskset[SimTask, vf.TasksetConfig]):
    """The tasks of ``TASKS_FILE`` (JSONL of TaskSpecs); an export's module sets it."""

    TASKS_FILE: ClassVar[Path | None] = None

    def load(self) -> Iterable[SimTask]:
        if self.TASKS_FILE is None:
            raise ValueError(f"{type(self).__name__} has no TASKS_FILE")
        for task in tasks_of(self.TASKS_FILE):
            data = SimTaskData(id=task.id, name=task.kind, prompt=task.instruction, system_prompt=system_prompt(task),
                               task=task.model_dump_json())
            yield SimTask(data, self.config.task)


class LocalChatHarnessConfig(vf.HarnessConfig):
    pass


class LocalChatHarness(vf.Harness[LocalChatHarnessConfig]):
    """verifiers' chat tool loop (the ``null`` harness's program) run with this Python, offline."""

    APPENDS_SYSTEM_PROMPT = True
    SUPPORTS_MCP = True
    SUPPORTS_RESUME = True
    EXECUTES_CODE = False
    NEEDS_CONTAINER = False

    async def launch(self, ctx: vf.ModelContext, trace: vf.Trace, runtime: vf.Runtime, endpoint: str, secret: str,
                     mcp_urls: dict[str, str], data: vf.TaskData, tool_interception_url: str | None = None
                     ) -> vf.ProgramResult:
        if runtime.type != "subprocess":
            raise vf.HarnessError("LocalChatHarness runs on the host (subprocess runtime); use the null harness "
                                  "in a container runtime")
        system, prompt = self.resolve_prompt(data)
        args = [f"--base-url={endpoint}", f"--api-key={secret}", f"--model={ctx.model}"]
        if system:
            args.append(f"--system-prompt={system}")
        if mcp_urls:
            servers = {name: {"url": url, "timeout": self.config.tool_timeout} for name, url in mcp_urls.items()}
            args.append("--mcp-config=" + json.dumps({"mcpServers": servers}))
        if isinstance(prompt, str):
            args.append(f"--prompt={prompt}")
        elif prompt is not None:
            from verifiers.v1.dialects.chat import message_to_wire

            path = f".vf-initial-messages-{trace.id}.json"
            await runtime.write(path, json.dumps([message_to_wire(m) for m in prompt]).encode())
            args.append(f"--initial-messages-file={path}")
        program = f"vf-chat-{trace.id}.py"
        await runtime.write(program, CHAT_PROGRAM_SOURCE.encode())
        return await runtime.run_program([sys.executable, program, *args], {**self.config.resolved_env})


def environment_config(taskset_id: str, harness: str | None = None, **env: Any) -> Any:
    """The verifiers env config for a taskset module (``harness``: another harness id than the module's own).

    With the module's own :class:`LocalChatHarness` the agent runs on the host (verifiers' subprocess
    runtime) unless ``agent.runtime`` says otherwise."""
    data: dict[str, Any] = {"taskset": {"id": taskset_id}, **env}
    agent = data.setdefault("agent", {})
    if harness is not None:
        agent["harness"] = {"id": harness}
    else:
        agent.setdefault("runtime", {"type": "subprocess"})
    return vf.resolve_env_config(data)
