"""What a learner may see of a task: the one view every learner and every exported dataset goes through.

An agent in the real environment sees the instruction, the policy it works under, the tools' schemas and the
results of its calls. A :class:`TaskView` holds exactly that, plus, for a *training* task only, the reference
run to imitate. It never holds target codes, cluster ids, provenance, flaw names, features, handler source, the
initial state, checks, or the reference / failure exemplar of an evaluation task. The id is an opaque hash, so a
generator's naming scheme (which may carry a cluster id) does not leak either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any, Literal

from pydantic import Field

from clawloop_synth.types import Model, PlannedCall, TaskSpec

__all__ = ["Demonstration", "TaskView", "opaque_id", "task_view", "task_views"]

Purpose = Literal["train", "eval"]


class Demonstration(Model):
    """A reference run to imitate: the calls in order and the final answer."""

    calls: list[PlannedCall] = Field(default_factory=list)
    answer: str = ""


class TaskView(Model):
    """A task as a learner sees it (``extra="forbid"``: nothing else can be attached)."""

    id: str
    domain: str
    instruction: str
    policy: str = ""
    user_persona: str | None = None
    tools: list[dict[str, Any]]  # OpenAI function schemas (name, description, parameters); no handler source
    tool_writes: dict[str, bool] = Field(default_factory=dict)  # which tools change state (schemas say so too)
    demonstration: Demonstration | None = None  # training tasks only


def opaque_id(task_id: str) -> str:
    """A stable id that reveals nothing of the generator's naming scheme."""
    return "t-" + hashlib.sha256(task_id.encode()).hexdigest()[:16]


def task_view(task: TaskSpec, purpose: Purpose) -> TaskView:
    """The learner's view of ``task``; ``purpose="eval"`` drops the reference too."""
    if purpose not in ("train", "eval"):
        raise ValueError(f"purpose must be 'train' or 'eval', not {purpose!r}")
    demo = None
    if purpose == "train":
        demo = Demonstration(calls=[PlannedCall(name=c.name, arguments=dict(c.arguments))
                                    for c in task.reference.calls], answer=task.reference.answer)
    return TaskView(id=opaque_id(task.id), domain=task.domain, instruction=task.instruction, policy=task.policy,
                    user_persona=task.user_persona, tools=[tool.openai_schema() for tool in task.tools],
                    tool_writes={tool.name: tool.writes for tool in task.tools}, demonstration=demo)


def task_views(tasks: Iterable[TaskSpec], purpose: Purpose) -> list[TaskView]:
    """:func:`task_view` over many tasks (the form every dataset handed to a learner takes)."""
    return [task_view(task, purpose) for task in tasks]
