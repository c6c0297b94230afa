"""The columns of each dataset format and one task's row in it."""

from __future__ import annotations

from typing import Any

from clawloop_synth.export.conversation import ReferenceRun, openai_record, prompt_messages, sft_messages
from clawloop_synth.export.rows import features_for, from_row, json_feature, row_features, to_row
from clawloop_synth.types import TaskSpec

__all__ = ["features", "openai_line", "row", "tasks_from_dataset"]


def _browse() -> dict[str, Any]:
    from datasets import Value

    return {name: Value("string") for name in ("id", "domain", "target_cluster", "target_code")}


def _browse_values(task: TaskSpec) -> dict[str, Any]:
    return {"id": task.id, "domain": task.domain, "target_cluster": task.target_cluster,
            "target_code": task.target_code}


def _json_paths(feature: Any, prefix: str = "") -> list[str]:
    from datasets import List

    if type(feature).__name__ == "Json" or getattr(feature, "id", None) == "json":
        return [prefix]
    if isinstance(feature, List):
        return _json_paths(feature.feature, prefix + "[]")
    if isinstance(feature, dict):
        return [p for key, sub in feature.items() for p in _json_paths(sub, f"{prefix}.{key}" if prefix else key)]
    return []


def features(fmt: str) -> tuple[Any, list[str]]:
    """The ``datasets.Features`` of ``fmt`` and the paths of its JSON-valued columns."""
    from datasets import Features, List, Value

    if fmt in ("hf", "verifiers", "openenv"):  # the environment formats ship the TaskSpecs beside their code
        result = features_for(TaskSpec)
    elif fmt in ("sft", "dpo"):
        arguments = json_feature()
        call = {"id": Value("string"), "type": Value("string"),
                "function": {"name": Value("string"), "arguments": arguments}}
        message = {"role": Value("string"), "content": Value("string"), "name": Value("string"),
                   "tool_call_id": Value("string"), "tool_calls": List(call)}
        turns = ("messages",) if fmt == "sft" else ("prompt", "chosen", "rejected")
        result = Features({**_browse(), **{name: List(message) for name in turns}, "tools": List(json_feature())})
    elif fmt == "rl":
        result = Features({**_browse(), "prompt": List({"role": Value("string"), "content": Value("string")}),
                           "task": Value("string")})
    else:
        raise ValueError(f"no dataset features for format {fmt!r}")
    return result, _json_paths(result)


def _json_cell(value: Any) -> Any:
    import json

    # Json() would take a bare string that parses (e.g. "12") for JSON text; always hand it JSON text.
    return json.dumps(value, ensure_ascii=False)


def _json_arguments(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for message in messages:
        for call in message["tool_calls"]:
            call["function"]["arguments"] = _json_cell(call["function"]["arguments"])
    return messages


def row(fmt: str, task: TaskSpec, run: Any = None) -> dict[str, Any]:
    """``task`` as a row of ``fmt``; the conversation formats need the reference ``run`` (dpo: the pair
    ``(reference run, failure exemplar run)``).

    dpo is TRL's conversational preference form with tools: ``prompt`` = the system and user turns,
    ``chosen`` = the reference's assistant and tool turns, ``rejected`` = the failure exemplar's, and
    ``tools`` = the tools' JSON schemas."""
    if fmt in ("hf", "verifiers", "openenv"):
        return to_row(task, row_features(TaskSpec))
    if fmt == "rl":
        return {**_browse_values(task), "prompt": prompt_messages(task), "task": task.model_dump_json()}
    if fmt == "sft":
        if run is None:
            raise ValueError("the sft format needs the reference run")
        return {**_browse_values(task), "messages": _json_arguments(sft_messages(run)),
                "tools": [_json_cell(spec.openai_schema()) for spec in task.tools]}
    if fmt == "dpo":
        if not isinstance(run, tuple) or len(run) != 2:
            raise ValueError("the dpo format needs the reference run and the failure exemplar's run")
        chosen, rejected = (_json_arguments(sft_messages(r)) for r in run)
        opening = len(prompt_messages(task))
        return {**_browse_values(task), "prompt": chosen[:opening], "chosen": chosen[opening:],
                "rejected": rejected[opening:], "tools": [_json_cell(spec.openai_schema()) for spec in task.tools]}
    raise ValueError(f"no dataset rows for format {fmt!r}")


def openai_line(run: ReferenceRun) -> dict[str, Any]:
    return openai_record(run)


def tasks_from_dataset(dataset: Any) -> list[TaskSpec]:
    """The TaskSpecs in an hf-format split (from ``load_from_disk`` or ``load_dataset``)."""
    feats = row_features(TaskSpec)
    return [from_row(r, TaskSpec, feats) for r in dataset]
