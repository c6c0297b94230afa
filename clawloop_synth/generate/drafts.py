"""What a model returns for one task (``TaskDraft``, derived from ``TaskSpec``) and how it becomes one.

The draft is the TaskSpec without what the stage decides itself (id, domain, target, provenance,
features): the instruction, a small initial state, optional new tools with handler code, the
reference solution, the failure exemplar and the checks. The domain pack's tools are always part of
the task; a new tool with a pack tool's name replaces it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from clawloop_synth.generate.base import GenerationRequest
from clawloop_synth.sim.rules import pack_rules
from clawloop_synth.types import Checks, JsonAssertion, Provenance, Solution, TaskFeatures, TaskSpec, ToolSpec

__all__ = ["TaskDraft", "draft_of", "task_from_draft"]


class TaskDraft(BaseModel):
    """One generated task, as the model writes it."""

    model_config = ConfigDict(extra="forbid")

    instruction: str = Field(description="What the user wants, in the user's words (may name ids, dates, amounts).")
    user_persona: str | None = Field(default=None, description="Optional: how the user behaves.")
    initial_state: dict[str, Any] = Field(
        description="A small JSON object: the domain's collections with only the entities this task needs "
                    "plus a few distractors, each entity in the exact shape the tools expect.")
    new_tools: list[ToolSpec] = Field(
        default_factory=list,
        description="Optional extra tools (simulated backend). handler: Python source of "
                    "`def invoke(state, **args)` with no imports and no names starting with '_'.")
    reference: Solution = Field(description="The correct run: ordered tool calls, then the final answer.")
    failure_exemplar: Solution = Field(description="A run that makes the targeted mistake and must fail the checks.")
    required_outputs: list[str] = Field(default_factory=list,
                                        description="Strings the final answer must contain.")
    assertions: list[JsonAssertion] = Field(default_factory=list,
                                            description="Optional JMESPath checks over the final state.")


def task_from_draft(draft: TaskDraft, request: GenerationRequest, task_id: str, generator: str,
                    model: str | None, prompt_version: str | None) -> TaskSpec:
    """The TaskSpec for ``draft``; raises pydantic's ValidationError on a malformed draft."""
    pack_tools = list(request.pack.tools) if request.pack is not None else []
    tools = {spec.name: spec for spec in pack_tools}
    for spec in draft.new_tools:
        tools[spec.name] = spec
    writes = {name for name, spec in tools.items() if spec.writes}
    calls = draft.reference.calls
    return TaskSpec(
        id=task_id, domain=request.domain, instruction=draft.instruction, user_persona=draft.user_persona,
        policy=getattr(request.pack, "policy", "") or "",
        tools=list(tools.values()), initial_state=draft.initial_state, reference=draft.reference,
        failure_exemplar=draft.failure_exemplar,
        checks=Checks(required_outputs=draft.required_outputs, assertions=draft.assertions),
        target_cluster=request.cluster.id, target_code=request.target_code,
        provenance=Provenance(generator=generator, model=model, prompt_version=prompt_version, seed=request.seed,
                              source_trace_ids=list(dict.fromkeys(f.trace_id for f in request.exemplars))[:5]),
        features=TaskFeatures(steps=len(calls), tools=len({c.name for c in calls}),
                              writes=sum(c.name in writes for c in calls), failure_codes=[request.target_code]),
        rules=pack_rules(request.pack),
    )


def draft_of(task: TaskSpec, pack_tools: list[ToolSpec] | None = None) -> TaskDraft:
    """The draft a model would have had to write for ``task`` (scripted answers, few-shot demos)."""
    known = {spec.name: spec for spec in pack_tools or []}
    new = [spec for spec in task.tools if known.get(spec.name) != spec]
    return TaskDraft(instruction=task.instruction, user_persona=task.user_persona, initial_state=task.initial_state,
                     new_tools=new, reference=task.reference, failure_exemplar=task.failure_exemplar or Solution(),
                     required_outputs=task.checks.required_outputs, assertions=task.checks.assertions)
