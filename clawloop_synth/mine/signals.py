"""Failure detectors over the tool steps of one trace.

Each detector returns Failures located at the earliest message index that evidences them.
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from clawloop_synth.mine.context import HANDOFF, MineContext, failure, is_transient
from clawloop_synth.mine.evidence import classify_step
from clawloop_synth.mine.quick_schema import Check, quick_check
from clawloop_synth.mine.taxonomy import classify_error
from clawloop_synth.mine.toolset import near_miss
from clawloop_synth.types import Failure, Trace

__all__ = ["error_results", "handoffs", "missing_outputs", "repeated_calls", "schema_violations"]

# Bookkeeping tools whose repetition is harmless.
_NEUTRAL = {"think", "calculate"}


def error_results(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Tool results that are errors, classified from their text.

    A transient system error that a later call of the same tool got past is the environment
    working as designed (the agent retried), not a failure, and is left out.
    """
    out = []
    steps = trace.tool_steps()
    for n, step in enumerate(steps):
        if not step.is_error or step.result_index is None:
            continue
        text = step.result or ""
        code = classify_step(step)
        if is_transient(code) and any(s.call.name == step.call.name and not s.is_error for s in steps[n + 1:]):
            continue
        out.append(failure(trace, step.result_index, code, "error_result", text,
                           tool=step.call.name, arguments=step.call.arguments, error=text))
    return out


_VALIDATORS: dict[bytes, tuple[Check | None, Any]] = {}
_MAX_VALIDATORS = 4096


def _validator(schema: dict[str, Any], jsonschema: Any) -> tuple[Check | None, Any]:
    """One (quick check, validator) per distinct schema: building a validator costs more than validating
    a call, and every trace carries its own copy of the same few schemas. The quick check (None for a
    schema beyond plain keywords) passes most valid calls without jsonschema."""
    key = orjson.dumps(schema, option=orjson.OPT_SORT_KEYS, default=str)
    pair = _VALIDATORS.get(key)
    if pair is None:
        if len(_VALIDATORS) >= _MAX_VALIDATORS:
            _VALIDATORS.clear()
        pair = _VALIDATORS[key] = (quick_check(schema), jsonschema.Draft202012Validator(schema))
    return pair


def schema_violations(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Calls to tools that do not exist (or under a near-miss of a declared name) and arguments that
    break the tool's JSON Schema. Only declared tools (the trace's, or a matching pack's) are evidence:
    when the calls alone show the tools, no call can be to a tool that does not exist."""
    schemas = ctx.schemas_for(trace)
    if not schemas:
        return []
    import jsonschema

    out = []
    checks: dict[str, tuple[Check | None, Any]] = {}  # by tool: the schema's key is costly to make per call
    for step in trace.tool_steps():
        call = step.call
        schema = schemas.get(call.name)
        if schema is None:
            meant = near_miss(call.name, schemas)
            if meant is not None:
                out.append(failure(trace, step.call_index, "agent/action/misnamed_tool", "schema",
                                   f"call to {call.name}, a misspelling of tool {meant}", tool=meant,
                                   arguments=call.arguments, detail=f"{call.name} for {meant}"))
                continue
            out.append(failure(trace, step.call_index, "agent/action/nonexistent_tool", "schema",
                               f"call to unknown tool {call.name}", tool=call.name,
                               arguments=call.arguments, detail=f"no tool named {call.name}"))
            continue
        if call.name not in checks:
            checks[call.name] = _validator(schema, jsonschema)
        quick, validator = checks[call.name]
        if quick is not None and quick(call.arguments):
            continue
        for err in sorted(validator.iter_errors(call.arguments), key=lambda e: list(e.absolute_path)):
            path = ".".join(str(p) for p in err.absolute_path)
            if err.validator == "required":
                code = "agent/action/missing_required_argument"
                missing = err.message.split("'")[1] if "'" in err.message else path
                path = missing if not path else f"{path}.{missing}"
            else:
                code = "agent/action/invalid_argument_format"
            name = f"{call.name}.{path}" if path else call.name
            out.append(failure(trace, step.call_index, code, "schema", f"{name}: {err.message}",
                               tool=call.name, arguments=call.arguments, error=err.message, detail=name))
    return out


def _key(name: str, arguments: dict[str, Any]) -> str:
    return name + json.dumps(arguments, sort_keys=True, default=str)


def repeated_calls(trace: Trace, ctx: MineContext) -> list[Failure]:
    """A call identical to the previous call, or to an earlier call that failed for a reason a
    retry cannot cure: nothing changed. Retrying after a transient error is right, not a repeat."""
    out = []
    previous: str | None = None
    failed: set[str] = set()
    transient: set[str] = set()  # calls whose last result was a transient error: one retry is right
    for step in trace.tool_steps():
        key = _key(step.call.name, step.call.arguments)
        if step.call.name not in _NEUTRAL and (key == previous or key in failed) and key not in transient:
            why = "after an error" if key in failed else "back to back"
            out.append(failure(trace, step.call_index, "agent/planning/step_repetition", "repeat",
                               f"repeated an identical call {why}", tool=step.call.name,
                               arguments=step.call.arguments, detail=f"{step.call.name} repeated {why}"))
        previous = key
        transient.discard(key)
        if step.is_error:
            (transient if is_transient(classify_error(step.result or "")) else failed).add(key)
    return out


def handoffs(trace: Trace, ctx: MineContext) -> list[Failure]:
    """A hand-off to a human in a failed trace whose task was solvable."""
    if not (ctx.failed(trace) and ctx.solvable(trace)):
        return []
    for index, message in enumerate(trace.messages):
        if message.role != "assistant":
            continue
        for call in message.tool_calls:
            if HANDOFF.search(call.name):
                return [failure(trace, index, "agent/planning/unnecessary_handoff", "handoff",
                                "handed off to a human although the task was solvable",
                                tool=call.name, arguments=call.arguments, detail=call.name)]
        if message.content and HANDOFF.search(message.content):
            return [failure(trace, index, "agent/planning/unnecessary_handoff", "handoff",
                            "handed off to a human although the task was solvable")]
    return []


def _squash(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() or ch == ".")


def missing_outputs(trace: Trace, ctx: MineContext) -> list[Failure]:
    """Required outputs (gold_outputs) that no assistant message mentions, in a failed trace."""
    if not trace.gold_outputs or not ctx.failed(trace):
        return []
    said = _squash(" ".join(m.content or "" for m in trace.messages if m.role == "assistant"))
    last = max((i for i, m in enumerate(trace.messages) if m.role == "assistant"), default=len(trace.messages) - 1)
    return [failure(trace, last, "agent/reasoning/missing_output", "missing_output",
                    "final answer lacks a required output", detail=f"missing output {value!r}")
            for value in trace.gold_outputs if _squash(str(value)) not in said]
