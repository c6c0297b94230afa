"""One agent's episode on a task's tools in ``SimEnv``, shared by the verifiers, OpenEnv and MCP interfaces.

:class:`Episode` owns a :class:`~clawloop_synth.sim.SimEnv` (so the sandbox, schema validation and
error results are the simulator's own) and records what happens as an OpenAI chat record, the
format ``ingest`` reads: the task's system prompt and request, one assistant turn per tool call
with the tool's result, and the final answer with the reward when the episode is finished.

A pack served without a task (``serve PACK``) plays :func:`pack_task`: the pack's tools over its
whole state, with no request and no checks (such an episode records calls, it earns no reward).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError
from clawloop_synth.export.conversation import system_prompt
from clawloop_synth.export.view import ResultView
from clawloop_synth.sim import DEFAULT_MAX_STEPS, SimEnv, ToolResult
from clawloop_synth.types import CheckResult, Checks, PlannedCall, Provenance, Solution, TaskSpec

__all__ = ["Episode", "TraceLog", "Turn", "load_tasks", "pack_task", "pick_task"]

PACK_TASK_GENERATOR = "pack"  # provenance.generator of a pack served without a task: nothing to score


def pack_task(pack_name_or_path: str | Path, db: Path | None = None) -> TaskSpec:
    """A task that is only the pack: its tools over its whole state (``db`` instead when given), no checks."""
    from clawloop_synth.sim.pack_folder import load_pack

    pack = load_pack(pack_name_or_path, db)
    return TaskSpec(
        id=f"{pack.name}:pack", domain=pack.name, instruction="", policy=pack.policy, tools=list(pack.tools),
        initial_state=pack.load_state(), reference=Solution(), checks=Checks(outcome=False),
        provenance=Provenance(generator=PACK_TASK_GENERATOR),
    )


def load_tasks(path: Path) -> list[TaskSpec]:
    """The tasks of a work directory (its ``tasks/``), a saved tasks dataset, or a JSON / JSONL file of TaskSpecs."""
    from clawloop_synth.cli.sim import load_tasks as read_tasks

    path = Path(path)
    folder = path / "tasks" if (path / "tasks" / "data").is_dir() else path
    tasks = read_tasks(folder)
    if not tasks:
        raise InputError("no tasks found", file=str(folder))
    return tasks


def pick_task(tasks: list[TaskSpec], task_id: str | None, where: str = "") -> TaskSpec:
    """The task with ``task_id`` (the first task when None); an unknown id is an :class:`InputError`."""
    if task_id is None:
        return tasks[0]
    for task in tasks:
        if task.id == task_id:
            return task
    known = ", ".join(t.id for t in tasks[:5]) + (", ..." if len(tasks) > 5 else "")
    raise InputError(f"no task with id {task_id!r} (known: {known})", file=where or None, field="task")


@dataclass(slots=True)
class Turn:
    """One call as the agent sees it: the text shown and the simulator's own result."""

    shown: str
    result: ToolResult


class Episode:
    """One episode of ``task``: :meth:`call` per tool call, :meth:`finish` with the final answer.

    Results are shown as ``shown_result`` does for the exports (``result_format`` lines or json, cut
    to ``max_tool_result_chars``; json and no cut show the simulator's text as is). ``trace_id``
    names the recorded trace; ``metadata`` is copied into it.
    """

    def __init__(self, task: TaskSpec, *, result_format: str = "json", max_tool_result_chars: int | None = None,
                 trace_id: str | None = None, metadata: dict[str, Any] | None = None,
                 max_steps: int = DEFAULT_MAX_STEPS) -> None:
        self.task = task
        self.result_format = result_format
        self.max_tool_result_chars = max_tool_result_chars
        self.trace_id = trace_id or f"{task.id}:{uuid.uuid4().hex[:12]}"
        self.metadata = dict(metadata or {})
        self.env = SimEnv(task, max_steps=max(max_steps, len(task.reference.calls)))
        self.messages: list[dict[str, Any]] = []
        self.reward: float | None = None
        self.checks: list[CheckResult] = []
        self.finished = False
        self.reset()

    @property
    def scored(self) -> bool:
        """Whether finishing earns a reward (a pack served without a task has no checks)."""
        return self.task.provenance.generator != PACK_TASK_GENERATOR

    def reset(self) -> dict[str, Any]:
        """Start over on a fresh copy of the initial state; returns the task's id, request and tool schemas."""
        self.env.reset()
        self.reward, self.checks, self.finished = None, [], False
        self.view = ResultView(self.result_format, self.max_tool_result_chars)
        self.messages = [{"role": "system", "content": system_prompt(self.task)}]
        if self.task.instruction:
            self.messages.append({"role": "user", "content": self.task.instruction})
        return {"task_id": self.task.id, **self.env.observation()}

    @property
    def over(self) -> bool:
        return self.env.over

    def call(self, name: str, arguments: Any) -> Turn:
        """Run one tool call in the simulator (never raises on agent input) and record it."""
        result = self.env.step(PlannedCall.model_construct(name=name, arguments=arguments))
        shown = self.view.show(str(name), arguments, result.content)
        call_id = f"call_{len(self.env.calls)}"
        encoded = json.dumps(arguments, ensure_ascii=False) if isinstance(arguments, dict) else json.dumps({})
        self.messages.append({"role": "assistant", "content": None, "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": str(name), "arguments": encoded}}]})
        self.messages.append({"role": "tool", "tool_call_id": call_id, "name": str(name), "content": shown})
        return Turn(shown, result)

    def finish(self, answer: str) -> tuple[float | None, list[CheckResult]]:
        """End the episode with the final answer (once; later calls return the same outcome)."""
        if not self.finished:
            self.finished = True
            self.messages.append({"role": "assistant", "content": answer})
            if self.scored:
                self.reward, self.checks = self.env.finish(answer)
            else:
                self.env.over = True
        return self.reward, self.checks

    def record(self) -> dict[str, Any]:
        """The episode as an OpenAI chat record (one line of the JSONL ``ingest`` reads)."""
        record: dict[str, Any] = {
            "id": self.trace_id, "task_id": self.task.id, "domain": self.task.domain,
            "messages": list(self.messages), "tools": [spec.openai_schema() for spec in self.task.tools],
            "metadata": {**self.metadata, "checks": [c.model_dump() for c in self.checks]},
        }
        if self.reward is not None:
            record["reward"] = self.reward
        return record


class TraceLog:
    """A JSONL file of episodes, rewritten whole (atomically) after every change so a killed server keeps them."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._episodes: list[Episode] = []
        self._lock = threading.Lock()

    def add(self, episode: Episode) -> None:
        with self._lock:
            self._episodes.append(episode)
        self.flush()

    def flush(self, episodes: Iterable[Episode] | None = None) -> None:
        with self._lock:
            lines = [json.dumps(e.record(), ensure_ascii=False) for e in (episodes or self._episodes)]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex[:8]}.tmp")
            tmp.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
            tmp.replace(self.path)
