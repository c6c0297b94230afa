"""instructor's structured-output loop, driven directly through its mode handlers.

``instructor``'s ``create`` wraps each call in layers (model checks, hooks, templating, a tenacity
loop, usage accumulation) that cost ~1 ms of event-loop CPU per call: at concurrency 20 that sits on
the critical path. The parts that decide what is sent and what is accepted are instructor's mode
handlers, looked up here once per (provider, mode): ``prepare_request`` (the schema message and
``response_format``), ``convert_messages``, ``parse_response`` (strict validation, as instructor's
default) and ``handle_reask`` (the validation error sent back). This module calls exactly those, in
instructor's order, so requests, re-ask messages and accepted answers are instructor's own; it leaves
out hooks, Jinja templating of messages (only with a ``context``, which the seam never passes),
instructor's own cache and its usage totals (the seam counts tokens itself).

When this instructor version does not have the registry, :func:`handlers_for` returns None and the
seam calls ``instructor``'s client as before.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from clawloop_synth.llm._config import StructuredOutputError

__all__ = ["Handlers", "create", "handlers_for", "memoize_instructor_model_check", "prepared_model", "wrap"]


def wrap(response_model: type[BaseModel]) -> tuple[type[BaseModel], dict[str, Any]]:
    """instructor's wrapper class for the model, with its JSON schema computed once, not per call.

    instructor renders the schema into every JSON-mode request; pydantic rebuilds it each time
    (about 3 ms of CPU for a TaskSpec), which at concurrency 20 would sit on the critical path.
    """
    import instructor
    import orjson

    wrapped = instructor.openai_schema(response_model)
    schema = wrapped.model_json_schema()
    frozen = orjson.dumps(schema)
    rebuild = wrapped.model_json_schema

    def model_json_schema(*args: Any, **kwargs: Any) -> dict[str, Any]:
        return orjson.loads(frozen) if not args and not kwargs else rebuild(*args, **kwargs)

    wrapped.model_json_schema = staticmethod(model_json_schema)
    return wrapped, schema


_CHECKED: weakref.WeakSet[type] = weakref.WeakSet()


def memoize_instructor_model_check() -> None:
    """Check each response model for async validators once, not five times per call.

    instructor 1.x walks the whole model tree (``reject_async_validators``) five times per ``create``
    (about 0.15 ms each for a TaskDraft, so ~0.75 ms of event-loop CPU per call). The answer depends
    only on the class, so a class that passed once is not walked again; a class that fails still
    raises every time. Left as is when instructor does not have the function (other versions).
    """
    try:
        from instructor.v2.core import patch as instructor_patch
        from instructor.v2.validation import async_validators
    except ImportError:  # pragma: no cover - another instructor layout
        return
    original = async_validators.reject_async_validators
    if getattr(original, "_clawloop_memo", False):
        return

    def reject_async_validators(response_model: Any) -> None:
        if isinstance(response_model, type) and response_model in _CHECKED:
            return
        original(response_model)
        if isinstance(response_model, type):
            _CHECKED.add(response_model)

    reject_async_validators._clawloop_memo = True  # type: ignore[attr-defined]
    async_validators.reject_async_validators = reject_async_validators
    if getattr(instructor_patch, "reject_async_validators", None) is original:
        instructor_patch.reject_async_validators = reject_async_validators


class Handlers:
    """instructor's handlers for one (provider, mode), and the error types it re-asks on."""

    def __init__(self, handlers: Any, retryable: tuple[type[BaseException], ...]) -> None:
        self._prepare = handlers.request_handler
        self.convert = handlers.message_converter
        self.parse = handlers.response_parser
        self.reask = handlers.reask_handler
        self.retryable = retryable
        self._templates: dict[Any, tuple[Any, dict[str, Any]] | None] = {}

    def prepare(self, response_model: type[BaseModel], kwargs: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        """``prepare_request`` of instructor, from a template per message shape.

        The handler renders the model's JSON schema into the prompt (``json.dumps(..., indent=2)``,
        ~0.3 ms of CPU for a TaskDraft) on every call; what it does to the messages depends on their
        roles, keys and content types only. So it runs once per shape on marked contents, the marks
        are then replaced by each call's contents; the first call of a shape is checked against a
        real ``prepare_request`` and a shape whose template does not reproduce it is never templated.
        """
        messages = kwargs.get("messages")
        if not isinstance(messages, list) or not all(
                isinstance(m, dict) and isinstance(m.get("content"), str) and "\x00" not in m["content"]
                for m in messages):
            return self._prepare(response_model=response_model, kwargs=dict(kwargs))
        others = tuple(sorted((k, repr(v)) for k, v in kwargs.items() if k != "messages"))
        shape = (response_model, others, tuple((m.get("role"), tuple(sorted(m))) for m in messages))
        contents = [m["content"] for m in messages]
        if shape in self._templates:
            template = self._templates[shape]
            if template is not None:
                return template[0], _fill(template[1], contents)
            return self._prepare(response_model=response_model, kwargs=dict(kwargs))
        marked = [{**m, "content": _mark(n)} for n, m in enumerate(messages)]
        template = self._prepare(response_model=response_model, kwargs={**kwargs, "messages": marked})
        real = self._prepare(response_model=response_model, kwargs=dict(kwargs))
        try:
            same = template[0] is real[0] and _fill(template[1], contents) == real[1]
        except (ValueError, IndexError, TypeError):  # marks the template mangled
            same = False
        self._templates[shape] = template if same else None
        return real


def _mark(n: int) -> str:
    return f"\x00{n}\x00"


def _fill(request: dict[str, Any], contents: list[str]) -> dict[str, Any]:
    """``request`` (a prepared template) with each message content's marks replaced by ``contents``."""

    def fill(text: str) -> str:
        if "\x00" not in text:
            return text
        parts = text.split("\x00")  # "a\x000\x00b" -> ["a", "0", "b"]: odd items are mark numbers
        return "".join(contents[int(part)] if n % 2 else part for n, part in enumerate(parts))

    out = dict(request)
    out["messages"] = [{**m, "content": fill(m["content"])} if isinstance(m.get("content"), str) else m
                       for m in request["messages"]]
    return out


def handlers_for(client: Any) -> Handlers | None:
    """The handlers of an ``instructor.from_litellm`` client, or None (use the client itself)."""
    try:
        from instructor.v2.core.registry import mode_registry
        from instructor.v2.core.retry import _RETRYABLE_PARSE_ERRORS
    except ImportError:  # pragma: no cover - another instructor layout
        return None
    if client.mode.name.startswith(("PARALLEL", "RESPONSES")):  # pragma: no cover - not used by the seam
        return None
    try:
        handlers = mode_registry.get_handlers(client.provider, client.mode)
    except Exception:  # pragma: no cover - unregistered mode
        return None
    retryable = tuple(_RETRYABLE_PARSE_ERRORS) or (ValidationError, json.JSONDecodeError)
    return Handlers(handlers, retryable)


def prepared_model(response_model: type[BaseModel]) -> type[BaseModel]:
    """instructor's runtime form of ``response_model`` (once per class; it also rejects async validators)."""
    from instructor.v2.core.response_model import prepare_response_model

    prepared: type[BaseModel] = prepare_response_model(response_model)
    return prepared


async def create(handlers: Handlers, send: Callable[..., Awaitable[Any]], response_model: type[BaseModel],
                 kwargs: dict[str, Any], max_reasks: int) -> BaseModel:
    """Send, parse, re-ask with the validation error up to ``max_reasks`` times; ``response_model`` is
    the :func:`prepared_model`. Raises :class:`StructuredOutputError` when every answer was invalid;
    transport errors and instructor's ``IncompleteOutputException`` propagate as they are."""
    model, request = handlers.prepare(response_model=response_model, kwargs=dict(kwargs))
    if handlers.convert is not None and "messages" in request:
        request["messages"] = handlers.convert(request["messages"], autodetect_images=False)
    request["messages"] = list(request.get("messages", []))  # re-ask handlers append to it
    last: BaseException | None = None
    for _ in range(max(max_reasks, 0) + 1):
        response = await send(**request)
        try:
            parsed: BaseModel = handlers.parse(response=response, response_model=model, validation_context=None,
                                               strict=True, stream=False, is_async=True)
            return parsed
        except handlers.retryable as exc:
            last = exc
            request = handlers.reask(kwargs=request, response=response, exception=exc)
    raise StructuredOutputError(f"invalid after {max_reasks} re-asks: {last}") from last
