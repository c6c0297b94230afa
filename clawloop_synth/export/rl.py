"""The RL format's environment, in the shape TRL's ``GRPOTrainer(environment_factory=...)`` expects.

:func:`environment_class` builds a class from tool specs: ``reset(**row)`` starts a :class:`SimEnv`
episode on the row's task (its ``task`` column, the TaskSpec as JSON), and every tool is a public
method whose signature, type hints and Google-style docstring come from the tool's JSON Schema, so
that the trainer can turn the methods back into tool schemas. A method forwards its arguments to the
simulator, which validates them against the tool's schema and answers errors as text, as a real API
would. The reward comes from the task's checks when the episode is finished with the model's final
reply: :func:`reward_func` does that for the trainer (``reward_funcs=[reward_func]``).

Tool results are cut to ``max_tool_result_chars`` (the cut is marked in the result), since the
trainer appends each one to the completion. The export measures the completion length the
reference's tool loop needs; the first environment made warns (once per class) when the trainer's
``max_completion_length`` is below that median: it is read from ``max_completion_length`` on the
class when set, else from the trainer's ``args`` in the frames that build the environment (TRL's
``GRPOTrainer.__init__`` calls ``environment_factory()`` with its ``args`` in scope).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import keyword
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, Union

from clawloop_synth.errors import InputError
from clawloop_synth.export.bound import DEFAULT_MAX_TOOL_RESULT_CHARS
from clawloop_synth.export.view import ResultView
from clawloop_synth.sim import SimEnv
from clawloop_synth.types import CheckResult, PlannedCall, TaskSpec, ToolSpec

__all__ = [
    "TaskEnvironment",
    "environment_class",
    "environment_from_file",
    "final_answer",
    "python_type",
    "reward_func",
    "tool_docstring",
]

_RESERVED = {"reset", "max_completion_length"}
_SCALARS: dict[str, Any] = {"string": str, "integer": int, "number": float, "boolean": bool, "null": type(None)}


def python_type(schema: Any) -> Any:
    """The Python type hint for a JSON Schema (``Any`` where the schema does not say)."""
    if not isinstance(schema, dict):
        return Any
    enum = schema.get("enum")
    if isinstance(enum, list) and enum and all(isinstance(v, str | int | bool) for v in enum):
        return Literal[tuple(enum)]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list) and schema[key]:
            options = tuple(python_type(option) for option in schema[key])
            return Union[options] if len(set(options)) > 1 else options[0]  # noqa: UP007
    kind = schema.get("type")
    if isinstance(kind, list) and kind:
        options = tuple(python_type({**schema, "type": k}) for k in kind)
        return Union[options] if len(set(options)) > 1 else options[0]  # noqa: UP007
    if kind in _SCALARS:
        return _SCALARS[kind]
    if kind == "array":
        return list[python_type(schema.get("items"))]  # type: ignore[misc]
    if kind == "object":
        return dict[str, Any]
    return Any


def _describe(schema: Any) -> str:
    if not isinstance(schema, dict):
        return ""
    text = str(schema.get("description") or "").strip()
    if schema.get("type") in ("object", "array") and ("properties" in schema or "items" in schema):
        # The hint says list/dict only; the shape inside matters to a caller.
        shape = {k: v for k, v in schema.items() if k != "description"}
        text = f"{text} JSON Schema: {json.dumps(shape, sort_keys=True)}".strip()
    return " ".join(text.split())


def tool_docstring(spec: ToolSpec) -> str:
    """A Google-style docstring: the tool's description, ``Args:`` from its schema, ``Returns:``."""
    lines = [" ".join(spec.description.split()) or spec.name]
    properties = (spec.parameters or {}).get("properties") or {}
    if properties:
        lines += ["", "Args:"]
        for name, schema in properties.items():
            lines.append(f"    {name}: {_describe(schema) or name}")
    lines += ["", "Returns:", "    The tool's result as text (structured results as key: value lines or JSON), "
              "text starting with \"Error\" when the call failed."]
    return "\n".join(lines)


def _check_name(name: str, what: str, tool: str) -> None:
    if not name.isidentifier() or keyword.iskeyword(name) or name.startswith("_"):
        raise InputError(f"{what} {name!r} is not usable as a Python method or argument name", record=tool)


def _tool_method(spec: ToolSpec) -> Callable[..., str]:
    _check_name(spec.name, "tool name", spec.name)
    if spec.name in _RESERVED:
        raise InputError(f"a tool may not be called {spec.name!r}: the environment needs that name", record=spec.name)
    properties = (spec.parameters or {}).get("properties") or {}
    required = set((spec.parameters or {}).get("required") or [])
    parameters = [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    annotations: dict[str, Any] = {}
    # Required arguments first: a Python signature cannot put a defaulted one before them.
    for name in sorted(properties, key=lambda n: n not in required):
        _check_name(name, "argument", spec.name)
        hint = python_type(properties[name])
        default = inspect.Parameter.empty if name in required else None
        if name not in required:
            hint = hint | None if hint is not Any else Any
        annotations[name] = hint
        parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint))
    annotations["return"] = str
    tool_name = spec.name

    def method(self: TaskEnvironment, **arguments: Any) -> str:
        return self._call(tool_name, arguments)

    method.__name__ = method.__qualname__ = spec.name
    method.__doc__ = tool_docstring(spec)
    method.__annotations__ = annotations
    method.__signature__ = inspect.Signature(parameters, return_annotation=str)  # type: ignore[attr-defined]
    return method


class TaskEnvironment:
    """Base of the generated environments: one episode of one task at a time.

    Public surface: ``reset`` and the tool methods only (the trainer exposes every other public
    method as a tool), so the rest of the state is private.
    """

    _tool_specs: tuple[ToolSpec, ...] = ()
    _max_tool_result_chars: int | None = DEFAULT_MAX_TOOL_RESULT_CHARS
    _tool_result_format: str = "lines"
    _completion: dict[str, Any] | None = None  # the export's completion lengths (median, max, counted_with)
    _length_checked: bool = False
    max_completion_length: int | None = None  # the trainer's limit; found in the calling frames when unset

    def __init__(self) -> None:
        self._env: SimEnv | None = None
        self._view = ResultView(self._tool_result_format, self._max_tool_result_chars)
        self._reward: float | None = None
        self._checks: list[CheckResult] = []
        cls = type(self)
        if not cls.__dict__.get("_length_checked"):  # once per class, not once for all subclasses
            cls._length_checked = True
            _warn_if_short(cls, cls.max_completion_length or _trainer_limit(inspect.currentframe()))

    def reset(self, **row: Any) -> None:
        """Start an episode on the row's task (``task``: the TaskSpec as JSON or a dict)."""
        task = row.get("task")
        if task is None:
            raise InputError("the row has no 'task' column", field="task")
        spec = TaskSpec.model_validate_json(task) if isinstance(task, str | bytes) else TaskSpec.model_validate(task)
        self._env = SimEnv(spec)
        self._view = ResultView(self._tool_result_format, self._max_tool_result_chars)
        self._reward = None
        self._checks = []

    def _call(self, name: str, arguments: dict[str, Any]) -> str:
        if self._env is None:
            return "Error: the environment was not reset with a task"
        content = self._env.step(PlannedCall.model_construct(name=name, arguments=arguments)).content
        return self._view.show(name, arguments, content)

    def _finish(self, answer: str) -> float:
        """End the episode with the final reply (once; later calls return the same reward)."""
        if self._env is None:
            return 0.0
        if self._reward is None:
            self._reward, self._checks = self._env.finish(answer)
        return self._reward


def _trainer_limit(frame: Any, depth: int = 8) -> int | None:
    """``max_completion_length`` of a trainer config (``args``, or ``self.args``) in the calling frames."""
    frame = frame.f_back if frame is not None else None
    for _ in range(depth):
        if frame is None:
            return None
        for holder in (frame.f_locals.get("args"), getattr(frame.f_locals.get("self"), "args", None)):
            limit = getattr(holder, "max_completion_length", None)
            if isinstance(limit, int) and not isinstance(limit, bool):
                return limit
        frame = frame.f_back
    return None


def _warn_if_short(cls: type[TaskEnvironment], limit: int | None) -> None:
    completion = cls._completion or {}
    median = completion.get("median")
    if limit is None or median is None or limit >= median:
        return
    warnings.warn(
        f"max_completion_length={limit} is below the median completion length of this export's reference tool "
        f"loops ({median} tokens, max {completion.get('max')}, {completion.get('counted_with')}): most episodes "
        "would be cut off before their last tool call; raise max_completion_length or export with a smaller "
        "--max-tool-result-chars", UserWarning, stacklevel=3)


def environment_class(tools: Iterable[ToolSpec], name: str = "SimToolEnvironment", *,
                      max_tool_result_chars: int | None = DEFAULT_MAX_TOOL_RESULT_CHARS,
                      tool_result_format: str = "lines",
                      completion: dict[str, Any] | None = None) -> type[TaskEnvironment]:
    """A :class:`TaskEnvironment` subclass with one method per distinct tool name.

    When tasks disagree on a tool's schema the first spec gives the method its signature; each
    call is still validated by the simulator against the schema of the task being played. Tool
    results are shown in ``tool_result_format`` (see ``bound.shown_result``) and cut to
    ``max_tool_result_chars`` (None: never); ``completion`` (the export's ``completion_tokens``) is
    what the length warning compares against.
    """
    specs: dict[str, ToolSpec] = {}
    for spec in tools:
        specs.setdefault(spec.name, spec)
    namespace: dict[str, Any] = {name: _tool_method(spec) for name, spec in specs.items()}
    namespace["_tool_specs"] = tuple(specs.values())
    namespace["_max_tool_result_chars"] = max_tool_result_chars
    namespace["_tool_result_format"] = tool_result_format
    namespace["_completion"] = dict(completion) if completion else None
    namespace["__doc__"] = f"Tools: {', '.join(specs)}. Reset with a row of the RL export."
    return type(name, (TaskEnvironment,), namespace)


def final_answer(completion: Any) -> str:
    """The final reply in a completion: the last assistant text (a plain string as is)."""
    if isinstance(completion, str):
        return completion
    for message in reversed(list(completion or [])):
        if isinstance(message, dict) and message.get("role") == "assistant" and message.get("content"):
            return str(message["content"])
    return ""


def _completion_calls(completion: Any) -> list[PlannedCall]:
    calls = []
    for message in completion if isinstance(completion, list) else []:
        for call in (message.get("tool_calls") or []) if isinstance(message, dict) else []:
            function = call.get("function", call) if isinstance(call, dict) else {}
            arguments = function.get("arguments") or {}
            if isinstance(arguments, str):
                # Unparseable text stays text: the simulator answers a non-object with an error.
                with contextlib.suppress(json.JSONDecodeError):
                    arguments = json.loads(arguments)
            calls.append(PlannedCall.model_construct(name=str(function.get("name")), arguments=arguments))
    return calls


def reward_func(
    completions: Sequence[Any],
    environments: Sequence[TaskEnvironment] | None = None,
    task: Sequence[str] | None = None,
    **_: Any,
) -> list[float]:
    """Rewards from the tasks' checks, one per completion.

    With ``environments`` (TRL's environment_factory), each episode is finished with the
    completion's final reply. Without them, the completion's tool calls are replayed in a fresh
    simulator episode of the row's ``task`` and then finished the same way.
    """
    if environments is not None:
        return [env._finish(final_answer(c)) for c, env in zip(completions, environments, strict=True)]
    if task is None:
        raise ValueError("reward_func needs either environments or the 'task' column")
    rewards = []
    for completion, blob in zip(completions, task, strict=True):
        env = SimEnv(TaskSpec.model_validate_json(blob))
        for call in _completion_calls(completion):
            env.step(call)
        rewards.append(env.finish(final_answer(completion))[0])
    return rewards


def environment_from_file(path: Any, name: str = "TaskEnvironment", *,
                          max_tool_result_chars: int | None = DEFAULT_MAX_TOOL_RESULT_CHARS,
                          tool_result_format: str = "lines",
                          completion: dict[str, Any] | None = None) -> type[TaskEnvironment]:
    """The environment class for the tools listed in an export's ``tools.json`` (OpenAI schemas)."""
    from pathlib import Path

    schemas = json.loads(Path(path).read_text(encoding="utf-8"))
    specs = []
    for schema in schemas:
        function = schema.get("function", schema)
        specs.append(ToolSpec(name=function["name"], description=function.get("description") or "",
                              parameters=function.get("parameters") or {}, handler=""))
    return environment_class(specs, name=name, max_tool_result_chars=max_tool_result_chars,
                             tool_result_format=tool_result_format, completion=completion)
