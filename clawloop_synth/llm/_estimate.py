"""The dry run: tokens and cost of a batch of prompts, from the exact requests, sending nothing."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from pydantic import BaseModel

from clawloop_synth.llm._cache import DiskCache
from clawloop_synth.llm._config import LLMConfig
from clawloop_synth.llm._transport import import_litellm
from clawloop_synth.llm._usage import Accountant
from clawloop_synth.redact import redact_messages

__all__ = ["estimate_requests"]


class LLM(Protocol):
    """What the dry run reads of a :class:`clawloop_synth.llm._client.LLM` (which calls this module, so it
    is described here rather than imported)."""

    config: LLMConfig
    _accountant: Accountant
    _cache: DiskCache | None

    @property
    def cost_known(self) -> bool: ...

    def _mode(self) -> Any: ...

    def _schema(self, response_model: type[BaseModel]) -> tuple[type[BaseModel], dict[str, Any]]: ...

    def _params(self) -> dict[str, Any]: ...

    def _key(self, messages: list[dict[str, Any]], schema: dict[str, Any], variant: int) -> str: ...

DEFAULT_COMPLETION_TOKENS = 1024


class _Captured(Exception):
    """Carries the request instructor prepared out of the capturing completion function."""

    def __init__(self, kwargs: dict[str, Any]) -> None:
        super().__init__("request captured for the dry run; not sent")  # short: the prompt is in kwargs
        self.kwargs = kwargs


@contextmanager
def _instructor_silenced() -> Iterator[None]:
    """Mute instructor's loggers while requests are captured.

    instructor logs every exception out of the completion function as a failed API call (with the
    whole prompt); in a dry run that exception is ours and nothing was sent, so nothing failed.
    """
    names = ["instructor", *(n for n in list(logging.root.manager.loggerDict) if n.startswith("instructor."))]
    loggers = [logging.getLogger(name) for name in names]
    before = [logger.disabled for logger in loggers]
    for logger in loggers:
        logger.disabled = True
    try:
        yield
    finally:
        for logger, disabled in zip(loggers, before, strict=True):
            logger.disabled = disabled


def estimate_requests(llm: LLM, messages_list: Iterable[list[dict[str, Any]]], response_model: type[BaseModel], *,
                      completion_tokens: int | None = None) -> dict[str, Any]:
    """Tokens and cost of sending these prompts through ``llm``.

    instructor prepares each request as it would for a real call (so tools and schema prompts are
    counted), and a capturing completion function stops it before anything is sent. Completion
    tokens are unknown before the answer: ``completion_tokens`` per request, else ``max_tokens``,
    else 1024 is assumed. Cached prompts count as free. ``cost_with_reasks`` is the bound if every
    call used all its re-asks (the prompt repeated each time).
    """
    import instructor

    config = llm.config

    def capture(**kwargs: Any) -> Any:
        raise _Captured(kwargs)

    client = instructor.from_litellm(capture, mode=llm._mode())
    per_completion = completion_tokens or config.max_tokens or DEFAULT_COMPLETION_TOKENS
    wrapped, schema = llm._schema(response_model)
    out = {"requests": 0, "cached": 0, "prompt_tokens": 0, "completion_tokens": 0}
    with _instructor_silenced():
        _count(llm, client, wrapped, schema, messages_list, per_completion, out)
    cost = llm._accountant.cost_of(out["prompt_tokens"], out["completion_tokens"])
    return {**out, "model": config.model, "completion_tokens_per_request": per_completion,
            "cost": cost, "cost_with_reasks": cost * (1 + config.max_reasks), "cost_known": llm.cost_known}


def _count(llm: LLM, client: Any, wrapped: type[BaseModel], schema: dict[str, Any],
           messages_list: Iterable[list[dict[str, Any]]], per_completion: int, out: dict[str, int]) -> None:
    """Capture each request as instructor prepares it and add its tokens to ``out``."""
    litellm = import_litellm()
    config = llm.config
    for messages in messages_list:
        sent = redact_messages(messages) if config.redact else messages
        if llm._cache is not None and llm._cache.get(llm._key(sent, schema, 0)) is not None:
            out["cached"] += 1
            continue
        try:
            client.create(model=config.model, messages=sent, response_model=wrapped, max_retries=0, **llm._params())
            raise AssertionError("unreachable")  # pragma: no cover
        except Exception as exc:
            captured = exc.__cause__ if isinstance(exc.__cause__, _Captured) else exc
            if not isinstance(captured, _Captured):
                raise
            kwargs = captured.kwargs
        out["requests"] += 1
        out["prompt_tokens"] += litellm.token_counter(model=config.model, messages=kwargs["messages"],
                                                      tools=kwargs.get("tools"))
        out["completion_tokens"] += per_completion
