"""The ``LLM`` class: structured calls with redaction, cache, retries, re-asks, budget and accounting.

The flow of one call (``astructured``):

1. redact the messages (what leaves the process is what is hashed and cached);
2. serve it from the disk cache if (model, messages, schema, params, variant) was answered before;
3. otherwise, under the concurrency semaphore, ask instructor (``instructor.from_litellm`` over our own
   completion function, JSON mode by default; its mode handlers driven directly by ``_structured``),
   which re-asks with the validation error up to ``max_reasks`` times;
4. each HTTP attempt inside goes through ``Sender.send`` (``_sending``): the budget check (under
   ``max_cost`` each attempt holds its worst-case cost while in flight, so the spend cannot pass the
   budget), then tenacity backoff on 429, 5xx, timeouts and answers that are no chat completion or have no choices, then
   the token and cost accounting.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from clawloop_synth.llm._cache import CacheWriter, DiskCache, cache_key
from clawloop_synth.llm._config import BudgetExceeded, LLMConfig, LLMError, StructuredOutputError
from clawloop_synth.llm._sending import CALL, Call, Sender
from clawloop_synth.llm._structured import Handlers, handlers_for, memoize_instructor_model_check, prepared_model, wrap
from clawloop_synth.llm._structured import create as create_structured
from clawloop_synth.llm._transport import Transport
from clawloop_synth.llm._usage import Accountant, StageUsage
from clawloop_synth.redact import redact_messages_with_counts

__all__ = ["LLM", "Request", "Result"]

T = TypeVar("T", bound=BaseModel)

_MODES = {"json": "JSON", "tools": "TOOLS", "md_json": "MD_JSON", "json_schema": "JSON_SCHEMA"}


@dataclass(frozen=True)
class Request(Generic[T]):
    """One structured call for :meth:`LLM.amap`; ``key`` is yours, echoed back in the :class:`Result`."""

    messages: list[dict[str, Any]]
    response_model: type[T]
    stage: str
    key: Any = None
    variant: int = 0  # ask the same prompt again for a different sample (part of the cache key)


@dataclass
class Result(Generic[T]):
    request: Request[T]
    value: T | None = None
    error: LLMError | None = None


@dataclass
class _LoopState:
    semaphore: asyncio.Semaphore


def _message_dict(message: Any) -> dict[str, Any]:
    """An OpenAI or litellm response message as a plain dict (content and tool calls only)."""
    calls = [{"id": str(c.id), "type": "function",
              "function": {"name": c.function.name, "arguments": c.function.arguments or "{}"}}
             for c in (getattr(message, "tool_calls", None) or [])]
    return {"role": "assistant", "content": getattr(message, "content", None), "tool_calls": calls}


class LLM:
    """The one seam for every LLM call. Not thread-safe: use it from one event loop at a time."""

    def __init__(self, config: LLMConfig) -> None:
        if config.mode not in _MODES:
            raise ValueError(f"mode must be one of {sorted(_MODES)}, got {config.mode!r}")
        self.config = config
        self._accountant = Accountant(config.model, config.max_cost, config.max_requests)
        self._cache = DiskCache(config.cache_dir) if config.cache_dir else None
        self._transport = Transport(config)
        self._sender = Sender(config, self._accountant, self._transport)
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._schemas: dict[type[BaseModel], tuple[type[BaseModel], dict[str, Any]]] = {}
        self._instructor: Any = None
        self._writer: CacheWriter | None = None
        self._handlers: Handlers | None = None  # instructor's mode handlers (None: use its client)
        self._handlers_looked_up = False
        self._prepared: dict[type[BaseModel], type[BaseModel]] = {}

    # -- accounting ---------------------------------------------------------------------------
    @property
    def usage(self) -> dict[str, StageUsage]:
        """Usage per stage (live objects; read, do not modify)."""
        return self._accountant.stages

    @property
    def total(self) -> StageUsage:
        return self._accountant.total

    @property
    def cost_known(self) -> bool:
        """False when the model is not in litellm's cost map: costs are then counted as 0."""
        return self._accountant.cost_known

    def usage_summary(self) -> dict[str, Any]:
        """JSON-able usage per stage and in total, with the budget state."""
        return self._accountant.summary()

    def _redact(self, messages: list[dict[str, Any]], usage: Any) -> list[dict[str, Any]]:
        """What leaves the process: the redacted messages; findings are counted per kind."""
        if not self.config.redact:
            return messages
        sent, counts = redact_messages_with_counts(messages)
        usage.count_redacted(counts)
        return sent

    # -- calls --------------------------------------------------------------------------------
    async def astructured(self, messages: list[dict[str, Any]], response_model: type[T], *, stage: str,
                          variant: int = 0) -> T:
        """Ask for one ``response_model`` instance. Raises :class:`BudgetExceeded`,
        :class:`StructuredOutputError` (still invalid after the re-asks) or :class:`LLMError`."""
        usage = self._accountant.stage(stage)
        usage.calls += 1
        sent = self._redact(messages, usage)
        wrapped, schema = self._schema(response_model)
        key = self._key(sent, schema, variant)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            usage.cache_hits += 1
            return response_model.model_validate_json(hit["json"])
        call = Call(stage)
        token = CALL.set(call)
        try:
            async with self._slot():
                obj = await self._create(sent, response_model, wrapped)
        except Exception as exc:
            usage.failures += 1
            raise self._error(exc) from exc
        finally:
            CALL.reset(token)
            usage.reasks += max(0, call.answers - 1)
        # instructor answers with a subclass of the model; hand back the caller's own class
        value = response_model.model_construct(_fields_set=obj.model_fields_set,
                                               **{name: getattr(obj, name) for name in response_model.model_fields})
        if self._cache is not None:
            await self._store(key, {"json": value.model_dump_json(), "model": self.config.model, "stage": stage})
        return value

    async def acomplete(self, messages: list[dict[str, Any]], *, stage: str,
                        tools: list[dict[str, Any]] | None = None, variant: int = 0) -> dict[str, Any]:
        """One plain chat completion (no response model), e.g. a turn of a tool-calling agent.

        Goes through the same redaction, cache, semaphore, retries, budget and accounting as
        :meth:`astructured`; returns the assistant message as an OpenAI-style dict with ``content``
        and ``tool_calls`` (``[{"id", "type", "function": {"name", "arguments"}}]``, arguments as text).
        """
        usage = self._accountant.stage(stage)
        usage.calls += 1
        sent = self._redact(messages, usage)
        key = cache_key(model=self.config.model, messages=sent, tools=tools, params=self._params(),
                        kind="chat", variant=variant)
        if self._cache is not None and (hit := self._cache.get(key)) is not None:
            usage.cache_hits += 1
            return dict(hit["message"])
        kwargs: dict[str, Any] = {"model": self.config.model, "messages": sent, **self._params()}
        if tools:
            kwargs["tools"] = tools
        token = CALL.set(Call(stage))
        try:
            async with self._slot():
                response = await self._sender.send(**kwargs)
            message = _message_dict(response.choices[0].message)
        except Exception as exc:
            usage.failures += 1
            raise self._error(exc) from exc
        finally:
            CALL.reset(token)
        if self._cache is not None:
            await self._store(key, {"message": message, "model": self.config.model, "stage": stage})
        return message

    def structured(self, messages: list[dict[str, Any]], response_model: type[T], *, stage: str,
                   variant: int = 0) -> T:
        """Blocking :meth:`astructured` (not from inside a running event loop)."""

        async def run() -> T:
            try:
                return await self.astructured(messages, response_model, stage=stage, variant=variant)
            finally:
                await self.aclose()

        return asyncio.run(run())

    async def amap(self, requests: Iterable[Request[T]]) -> AsyncIterator[Result[T]]:
        """Run requests ``concurrency`` at a time and yield each :class:`Result` as it completes.

        A failed call is yielded with its error. When the budget runs out, no new request starts; the
        ones already in flight are yielded, then :class:`BudgetExceeded` is raised.
        """
        pending: set[asyncio.Task[Result[T]]] = set()
        source = iter(requests)
        budget: BudgetExceeded | None = None

        async def one(request: Request[T]) -> Result[T]:
            try:
                value = await self.astructured(request.messages, request.response_model, stage=request.stage,
                                               variant=request.variant)
                return Result(request, value)
            except LLMError as exc:
                return Result(request, None, exc)

        def fill() -> None:
            while budget is None and len(pending) < self.config.concurrency * 2:
                request = next(source, None)
                if request is None:
                    return
                pending.add(asyncio.ensure_future(one(request)))

        fill()
        try:
            while pending:
                done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for task in done:
                    pending.discard(task)
                    result = task.result()
                    if isinstance(result.error, BudgetExceeded):
                        budget = budget or result.error
                    else:
                        yield result
                fill()
        finally:
            for task in pending:
                task.cancel()
            if pending:  # let the cancellations land before the generator goes away
                await asyncio.gather(*pending, return_exceptions=True)
        if budget is not None:
            raise budget

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop (async users: call it when done)."""
        await self._transport.aclose()
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    async def _store(self, key: str, entry: dict[str, Any]) -> None:
        assert self._cache is not None
        if self._writer is None:
            self._writer = CacheWriter(self._cache)
        await self._writer.put(key, entry)

    async def __aenter__(self) -> LLM:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- dry run ------------------------------------------------------------------------------
    def estimate(self, messages_list: Iterable[list[dict[str, Any]]], response_model: type[BaseModel], *,
                 completion_tokens: int | None = None) -> dict[str, Any]:
        """Tokens and cost of sending these prompts, sending nothing (``--dry-run``); see ``_estimate``."""
        from clawloop_synth.llm._estimate import estimate_requests

        return estimate_requests(self, messages_list, response_model, completion_tokens=completion_tokens)

    # -- internals ----------------------------------------------------------------------------
    def _mode(self) -> Any:
        import instructor

        return getattr(instructor.Mode, _MODES[self.config.mode])

    async def _create(self, sent: list[dict[str, Any]], response_model: type[BaseModel],
                      wrapped: type[BaseModel]) -> Any:
        """One structured answer: instructor's mode handlers driven directly (see ``_structured``), or
        instructor's client where they are not available."""
        client = self._client()
        if not self._handlers_looked_up:
            self._handlers, self._handlers_looked_up = handlers_for(client), True
        if self._handlers is None:
            return await client.create(model=self.config.model, messages=sent, response_model=wrapped,
                                       max_retries=self.config.max_reasks, **self._params())
        prepared = self._prepared.get(response_model)
        if prepared is None:
            prepared = self._prepared[response_model] = prepared_model(wrapped)
        return await create_structured(self._handlers, self._sender.send, prepared,
                                       {"model": self.config.model, "messages": sent, **self._params()},
                                       self.config.max_reasks)

    def _client(self) -> Any:
        if self._instructor is None:
            import instructor

            logging.getLogger("instructor").addHandler(logging.NullHandler())  # we report its errors
            memoize_instructor_model_check()
            self._instructor = instructor.from_litellm(self._sender.send, mode=self._mode())
        return self._instructor

    def _loop_state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._loops.get(loop)
        if state is None:
            state = self._loops[loop] = _LoopState(asyncio.Semaphore(self.config.concurrency))
        return state

    def _schema(self, response_model: type[BaseModel]) -> tuple[type[BaseModel], dict[str, Any]]:
        # instructor wraps the model in a new class on every call unless it is wrapped already;
        # wrapping once per class keeps that (milliseconds for a nested model) off the hot path
        cached = self._schemas.get(response_model)
        if cached is None:
            cached = self._schemas[response_model] = wrap(response_model)
        return cached

    def _params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"temperature": self.config.temperature}
        if self.config.max_tokens is not None:
            params["max_tokens"] = self.config.max_tokens
        return params

    def _key(self, messages: list[dict[str, Any]], schema: dict[str, Any], variant: int) -> str:
        # api_base is left out on purpose: the same model behind another address is the same model
        return cache_key(model=self.config.model, messages=messages, schema=schema, params=self._params(),
                         mode=self.config.mode, variant=variant)

    def _error(self, exc: Exception) -> LLMError:
        cause = exc.__cause__ if exc.__cause__ is not None else exc
        if isinstance(cause, LLMError):
            return cause
        if isinstance(exc, LLMError):
            return exc
        if type(exc).__name__ == "InstructorRetryException":
            return StructuredOutputError(f"invalid after {self.config.max_reasks} re-asks: {cause}")
        return LLMError(f"{type(exc).__name__}: {exc}")

    @contextlib.asynccontextmanager
    async def _slot(self) -> AsyncIterator[None]:
        """One of ``concurrency`` slots: this loop's semaphore, and a lease on the shared limit when workers
        share one (held no longer than the call's retries could take, should its worker die)."""
        async with self._loop_state().semaphore:
            shared = self.config.shared_budget
            if shared is None:
                yield
                return
            lease = (self.config.timeout + self.config.retry_max_wait) * (self.config.max_retries + 1)
            token = await shared.acquire(lease)
            try:
                yield
            finally:
                shared.release(token)
