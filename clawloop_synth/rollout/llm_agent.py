"""``LLMAgent``: a model runs a task in SimEnv through the LLM seam's tool-calling completions.

The loop: system prompt and the task's instruction; each turn asks the model (offering the task's
tools); tool calls run in SimEnv and their results go back as ``tool`` messages; a turn with no tool
call is the final answer. Turns are bounded (``max_turns``) and so are SimEnv's steps. The run is
recorded as a Rollout exactly like a scripted agent's (same ids, same message shapes), so the miner
reads both alike. A call that fails for good (budget, HTTP errors after retries) ends the run with
``reward=None`` and ``metadata["error"]``: an infrastructure failure is not a task failure.

Attempts are distinct samples: the attempt number is the cache ``variant``, so re-running the same
(agent, task, attempt) with a cache directory replays the same answers.
"""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from clawloop_synth.agents import default_system_prompt
from clawloop_synth.llm import LLM, LLMConfig, LLMError
from clawloop_synth.sim.env import SimEnv
from clawloop_synth.types import Message, Rollout, TaskSpec, ToolCall

__all__ = ["DEFAULT_MAX_TURNS", "LLMAgent"]

DEFAULT_MAX_TURNS = 30
STAGE = "rollout"


def _wire(message: Message) -> dict[str, Any]:
    """A recorded message as the chat-completions API wants it (no ``is_error``, no tool ``name``)."""
    out: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        out["tool_calls"] = [{"id": c.id, "type": "function",
                              "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                             for c in message.tool_calls]
    if message.role == "tool":
        out["tool_call_id"] = message.tool_call_id
    return out


def _parse_arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON ({exc.msg}): {text[:200]}"
    if not isinstance(value, dict):
        return None, f"arguments must be a JSON object, got {type(value).__name__}"
    return value, None


@dataclass
class LLMAgent:
    """A tool-calling agent backed by any litellm model (through :class:`clawloop_synth.llm.LLM`)."""

    config: LLMConfig
    max_turns: int = DEFAULT_MAX_TURNS
    name: str = ""
    system_prompt: str | None = None
    _llm: LLM | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.name = self.name or f"llm:{self.config.model}"
        if self.max_turns < 1:
            raise ValueError("max_turns must be at least 1")

    @classmethod
    def from_model(cls, model: str, *, api_base: str | None = None, max_turns: int = DEFAULT_MAX_TURNS,
                   concurrency: int = 8, **config: Any) -> LLMAgent:
        return cls(LLMConfig(model, api_base=api_base, concurrency=concurrency, **config), max_turns=max_turns)

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = LLM(self.config)
        return self._llm

    def usage_summary(self) -> dict[str, Any]:
        return self._llm.usage_summary() if self._llm is not None else {}

    async def aclose(self) -> None:
        if self._llm is not None:
            await self._llm.aclose()

    async def arun(self, task: TaskSpec, attempt: int = 0, *, executor: Executor | None = None,
                   trace_id: str | None = None) -> Rollout:
        """One episode of ``task``; SimEnv steps run on ``executor`` when given (they are CPU work)."""
        loop = asyncio.get_running_loop()
        env = SimEnv(task)
        trace_id = trace_id or f"{self.name}:{task.id}:{attempt}"
        tools = [tool.openai_schema() for tool in task.tools]
        messages = [Message(role="system", content=self.system_prompt or default_system_prompt(task)),
                    Message(role="user", content=task.instruction)]
        answer, stop, error, turns = "", "max_turns", None, 0
        for turn in range(self.max_turns):
            turns = turn + 1
            try:
                reply = await self.llm.acomplete([_wire(m) for m in messages], stage=STAGE, tools=tools,
                                                 variant=attempt)
            except LLMError as exc:
                stop, error = "llm_error", str(exc)
                break
            raw_calls = reply.get("tool_calls") or []
            if not raw_calls:
                answer, stop = reply.get("content") or "", "answer"
                break
            calls, problems = [], []
            for k, raw in enumerate(raw_calls):
                arguments, problem = _parse_arguments(raw["function"].get("arguments") or "{}")
                call_id = raw.get("id") or f"call_{turn}_{k}"
                calls.append(ToolCall(id=call_id, name=raw["function"]["name"], arguments=arguments or {}))
                problems.append(problem)
            messages.append(Message(role="assistant", content=reply.get("content"), tool_calls=calls))
            for call, problem in zip(calls, problems, strict=True):
                if problem is not None:
                    messages.append(Message(role="tool", content=f"Error: {problem}", name=call.name,
                                            tool_call_id=call.id, is_error=True))
                    continue
                result = (await loop.run_in_executor(executor, env.step, call) if executor is not None
                          else env.step(call))
                messages.append(Message(role="tool", content=result.content, name=call.name,
                                        tool_call_id=call.id, is_error=result.is_error))
            if env.over:
                stop = "env_over"
                break
        if stop != "llm_error":
            messages.append(Message(role="assistant", content=answer))
        reward, checks = (None, []) if error is not None else env.finish(answer)
        metadata: dict[str, Any] = {"agent": self.name, "task_id": task.id, "attempt": attempt,
                                    "model": self.config.model, "turns": turns, "stop": stop,
                                    "steps": env.steps, "planted_mode": "none"}
        if error is not None:
            metadata["error"] = error
        return Rollout(id=trace_id, source="rollout", task_id=task.id, domain=task.domain, messages=messages,
                       tools=tools, reward=reward, instruction=task.instruction, metadata=metadata,
                       agent=self.name, attempt=attempt, checks=checks)
