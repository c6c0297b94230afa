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
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ValidationError

from clawloop_synth.llm._config import StructuredOutputError

__all__ = ["Handlers", "create", "handlers_for"]


class Handlers:
    """instructor's handlers for one (provider, mode), and the error types it re-asks on."""

    def __init__(self, handlers: Any, retryable: tuple[type[BaseException], ...]) -> None:
        self.prepare = handlers.request_handler
        self.convert = handlers.message_converter
        self.parse = handlers.response_parser
        self.reask = handlers.reask_handler
        self.retryable = retryable


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
