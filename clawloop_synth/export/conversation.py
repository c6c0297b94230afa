"""A task's reference solution, run in the simulator, as a tool-calling conversation.

Two shapes of the same conversation:

- SFT (TRL's conversational tool-calling format): assistant turns carry ``tool_calls`` whose
  ``function.arguments`` are dicts; tool turns carry ``name``, ``tool_call_id`` and ``content``.
- OpenAI fine-tuning JSONL: arguments are JSON strings; tool turns carry ``tool_call_id``.

The tool turns hold what the simulator actually returned, so the conversation is what an agent that
follows the reference would have seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from clawloop_synth.sim import DEFAULT_MAX_STEPS, SimEnv
from clawloop_synth.types import PlannedCall, Solution, TaskSpec

__all__ = ["ReferenceRun", "needed_values", "openai_record", "prompt_messages", "run_reference", "sft_messages",
           "system_prompt"]


def system_prompt(task: TaskSpec) -> str:
    """The agent's instructions: the pack's policy (a generic one when the pack has none), then the persona."""
    text = task.policy or (
        f"You are an assistant working in the {task.domain} domain. Use the tools to carry out what the "
        "user asks, one call at a time, and finish with a reply that states the outcome."
    )
    if task.user_persona:
        text += f"\n\nAbout the user: {task.user_persona}"
    return text


def prompt_messages(task: TaskSpec) -> list[dict[str, str]]:
    """The opening turns: system, then the user's request."""
    return [
        {"role": "system", "content": system_prompt(task)},
        {"role": "user", "content": task.instruction},
    ]


@dataclass
class ReferenceRun:
    """The reference's calls with what the simulator returned, and how the finish scored."""

    task: TaskSpec
    results: list[tuple[str, dict[str, Any], str, bool]]  # name, arguments, content, is_error
    reward: float
    failed_checks: list[str]
    cut: int = 0  # results cut to max_tool_result_chars
    answer: str | None = None  # the final answer when the run is not the reference's (a failure exemplar's)
    hidden: int = 0  # cut results that hid a value the run sends later or must answer (see ``needed_values``)


def run_reference(task: TaskSpec, max_tool_result_chars: int | None = None,
                  result_format: str = "json", solution: Solution | None = None,
                  differences: bool = True) -> ReferenceRun:
    """Run ``task.reference`` (or ``solution``, e.g. the failure exemplar) in a fresh :class:`SimEnv` and
    finish with its answer.

    Each result is shown in ``result_format`` and cut to ``max_tool_result_chars`` (marked in the
    text, see ``bound``), a repeat written as a difference unless ``differences`` is False (see
    ``view``); the simulator's state, hence the reward, does not depend on any of them.
    """
    from clawloop_synth.export.view import ResultView

    view = ResultView(result_format, max_tool_result_chars, differences)
    plan = solution if solution is not None else task.reference
    env = SimEnv(task, max_steps=max(DEFAULT_MAX_STEPS, len(plan.calls)))
    results = []
    cut = hidden = 0
    for index, call in enumerate(plan.calls):
        result = env.step(call)
        content = view.show(call.name, call.arguments, result.content)
        if view.last_cut:
            cut += 1
            needed = needed_values(plan.calls[index + 1:], task.checks.required_outputs)
            hidden += any(value in result.content and value not in content for value in needed)
        results.append((call.name, dict(call.arguments), content, result.is_error))
    reward, checks = env.finish(plan.answer)
    return ReferenceRun(task, results, reward, [f"{c.name}: {c.detail}" for c in checks if not c.passed], cut,
                        answer=None if solution is None else plan.answer, hidden=hidden)


def needed_values(later: list[PlannedCall], outputs: list[str]) -> set[str]:
    """What a run still has to send or say: the scalar argument values of its later calls and the required
    outputs, as text (values under 3 characters are left out: they occur in any result by chance)."""
    values = {text for call in later for text in _scalars(call.arguments)} | set(outputs)
    return {v for v in values if len(v) >= 3}


def _scalars(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _scalars(item)]
    if isinstance(value, list):
        return [text for item in value for text in _scalars(item)]
    return [] if value is None or isinstance(value, bool) else [str(value)]


def _call_id(index: int) -> str:
    return f"call_{index}"


def sft_messages(run: ReferenceRun) -> list[dict[str, Any]]:
    """The conversation in TRL's format; every turn has the same keys (Arrow needs one struct)."""
    messages: list[dict[str, Any]] = [
        {**m, "name": None, "tool_call_id": None, "tool_calls": []} for m in prompt_messages(run.task)
    ]
    for index, (name, arguments, content, _) in enumerate(run.results):
        call = {"id": _call_id(index), "type": "function", "function": {"name": name, "arguments": arguments}}
        messages.append({"role": "assistant", "content": None, "name": None, "tool_call_id": None,
                         "tool_calls": [call]})
        messages.append({"role": "tool", "content": content, "name": name, "tool_call_id": _call_id(index),
                         "tool_calls": []})
    answer = run.task.reference.answer if run.answer is None else run.answer
    messages.append({"role": "assistant", "content": answer, "name": None, "tool_call_id": None, "tool_calls": []})
    return messages


def openai_record(run: ReferenceRun) -> dict[str, Any]:
    """One line of OpenAI's chat fine-tuning JSONL."""
    messages: list[dict[str, Any]] = list(prompt_messages(run.task))
    for index, (name, arguments, content, _) in enumerate(run.results):
        call = {"id": _call_id(index), "type": "function",
                "function": {"name": name, "arguments": json.dumps(arguments, ensure_ascii=False)}}
        messages.append({"role": "assistant", "content": None, "tool_calls": [call]})
        messages.append({"role": "tool", "tool_call_id": _call_id(index), "content": content})
    messages.append({"role": "assistant", "content": run.task.reference.answer})
    return {
        "messages": messages,
        "tools": [spec.openai_schema() for spec in run.task.tools],
        "parallel_tool_calls": False,
    }
