"""The ``llm`` learner: any litellm model as a tool-calling agent, trained in context through the one LLM seam.

Training plays the training tasks in the simulator with the current prompt; the model then distills the failed
runs (what the agent did beside the demonstration) into a playbook of lessons. Playing a task, the system prompt
is the task's policy, the playbook and the demonstrations of the most similar training tasks (retrieved by word
overlap of the instructions). It sees only a :class:`TaskView` and the results of its own calls, like any learner.

    learner = LLMLearner(LLMConfig("openai/gpt-4o-mini", max_cost=2.0))
    learner.train(task_views(train, "train"), train_runner(train))
    rollout = play(learner, held_out_task)
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, Field

from clawloop_synth.learn.protocol import AgentEnv, TrainRunner
from clawloop_synth.learn.view import TaskView
from clawloop_synth.llm import LLM, LLMConfig, LLMError, render_prompt
from clawloop_synth.types import Rollout

__all__ = ["LLMLearner", "Playbook", "steps_of"]

_WORD = re.compile(r"[a-z0-9]{3,}")
_GENERIC = ("You are a customer service agent. Use the tools to look up what you need before you change "
            "anything, follow the tool results, and tell the user what they asked for.")


class Playbook(BaseModel):
    """What the model distills from its failed training runs."""

    lessons: list[str] = Field(default_factory=list)


def _words(text: str) -> set[str]:
    return set(_WORD.findall(text.lower()))


def _short(text: str, limit: int = 240) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def steps_of(rollout: Rollout) -> list[str]:
    """A run's tool calls as ``name {arguments} -> result`` lines, then its final answer."""
    out: list[str] = []
    results = {m.tool_call_id: m.content or "" for m in rollout.messages if m.role == "tool"}
    for m in rollout.messages:
        for call in m.tool_calls or []:
            out.append(f"{call.name} {json.dumps(call.arguments, sort_keys=True)} -> "
                       f"{_short(results.get(call.id, ''), 160)}")
    answer = next((m.content for m in reversed(rollout.messages) if m.role == "assistant" and not m.tool_calls),
                  None)
    out.append(f"answer: {_short(answer or '')}")
    return out


def _demo_steps(view: TaskView) -> list[str]:
    demo = view.demonstration
    return [f"{c.name} {json.dumps(c.arguments, sort_keys=True)}" for c in demo.calls] if demo else []


def _arguments(text: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        value = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        return None, f"arguments are not valid JSON ({exc.msg})"
    return (value, None) if isinstance(value, dict) else (None, "arguments must be a JSON object")


class LLMLearner:
    """An LLM agent whose training is in context: a distilled playbook plus retrieved demonstrations."""

    name = "llm"

    def __init__(self, config: LLMConfig, *, demos: int = 2, lessons: int = 8, practice: int = 20,
                 max_turns: int = 12, distill: bool = True, seed: int = 0) -> None:
        self.config = config
        self.demos = demos
        self.lessons = lessons
        self.practice = practice  # training tasks played per train call to find failures to distill
        self.max_turns = max_turns
        self.distill = distill
        self.seed = seed
        self.playbook: list[str] = []
        self.library: list[TaskView] = []
        self.stats: dict[str, Any] = {"episodes": 0, "llm_errors": 0, "distilled_from": 0}
        self._llm: LLM | None = None
        self._episodes = 0

    @property
    def llm(self) -> LLM:
        if self._llm is None:
            self._llm = LLM(self.config)
        return self._llm

    # ------------------------------------------------------------------------------------------ playing
    def _retrieve(self, task: TaskView) -> list[dict[str, Any]]:
        if self.demos <= 0:
            return []
        mine = _words(task.instruction)
        scored = sorted(((len(mine & _words(v.instruction)) / max(len(mine | _words(v.instruction)), 1), i)
                         for i, v in enumerate(self.library) if v.id != task.id), reverse=True)
        out = []
        for _, i in scored[: self.demos]:
            view = self.library[i]
            out.append({"instruction": view.instruction, "steps": _demo_steps(view),
                        "answer": view.demonstration.answer if view.demonstration else ""})
        return out

    def system_prompt(self, task: TaskView) -> str:
        """The policy, the playbook and the retrieved demonstrations (what the model is told)."""
        return render_prompt("learn_agent", policy=task.policy or _GENERIC, lessons=self.playbook,
                             demos=self._retrieve(task)).strip()

    def play(self, task: TaskView, env: AgentEnv) -> Rollout:
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system_prompt(task)},
                                          {"role": "user", "content": task.instruction}]
        variant = self._episodes
        self._episodes += 1

        async def episode() -> str:
            try:
                for _ in range(self.max_turns):
                    reply = await self.llm.acomplete(messages, stage="learn", tools=list(task.tools),
                                                     variant=variant)
                    raw_calls = reply.get("tool_calls") or []
                    if not raw_calls:
                        return str(reply.get("content") or "")
                    messages.append({"role": "assistant", "content": reply.get("content"), "tool_calls": raw_calls})
                    for k, raw in enumerate(raw_calls):
                        call_id = raw.get("id") or f"call_{len(messages)}_{k}"
                        args, problem = _arguments(raw.get("function", {}).get("arguments") or "{}")
                        if problem is not None:
                            content = f"Error: {problem}"
                        else:
                            content, _ = env.step(str(raw["function"]["name"]), args or {})
                        messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
                return ""
            except LLMError:
                self.stats["llm_errors"] += 1
                return ""
            finally:
                await self.llm.aclose()

        answer = asyncio.run(episode())
        self.stats["episodes"] += 1
        return env.finish(answer)

    # ------------------------------------------------------------------------------------------ training
    def train(self, tasks: Sequence[TaskView], runner: TrainRunner | None = None) -> None:
        """Keep the demonstrations for retrieval; play up to ``practice`` tasks and distill the failures."""
        with_demo = [t for t in tasks if t.demonstration is not None]
        self.library.extend(with_demo)
        if runner is None or not self.distill or self.lessons <= 0:
            return
        cases = []
        for view in with_demo[: self.practice]:
            rollout = runner(view, self, 0)
            if float(rollout.reward or 0.0) < 1.0:
                cases.append({"instruction": view.instruction, "did": steps_of(rollout),
                              "should": _demo_steps(view) + [f"answer: {_short(view.demonstration.answer)}"
                                                             if view.demonstration else "answer:"]})
        if not cases:
            return
        prompt = render_prompt("learn_distill", cases=cases[:8], playbook=self.playbook, most=self.lessons)
        try:
            book = self.llm.structured([{"role": "user", "content": prompt}], Playbook, stage="learn_distill")
        except LLMError:
            self.stats["llm_errors"] += 1
            return
        self.playbook = [_short(lesson.strip(), 300) for lesson in book.lessons if lesson.strip()][: self.lessons]
        self.stats["distilled_from"] += len(cases)
