"""Sending one request: the cost budget's hold, transport retries with backoff, and accounting.

Each HTTP attempt holds its worst-case cost while it is in flight (under ``max_cost``), so the spend
cannot pass the budget however many requests run at once; the answer's real cost is recorded before
the hold is let go. Retries back off on 429, 5xx, timeouts and answers that are no chat completion.
"""

from __future__ import annotations

import asyncio
import contextvars
from dataclasses import dataclass
from typing import Any

from clawloop_synth.llm._config import LLMConfig, LLMError
from clawloop_synth.llm._transport import Transport, is_retryable
from clawloop_synth.llm._usage import Accountant

__all__ = ["BUDGET_MAX_TOKENS", "CALL", "TOKENS_PER_MESSAGE", "Call", "Sender"]

# Completion tokens a request may use under a cost budget when max_tokens is not set: the budget
# holds each request's worst case before sending it, so that case must be bounded.
BUDGET_MAX_TOKENS = 4096
TOKENS_PER_MESSAGE = 8  # the chat template's role and separator tokens, generously


@dataclass
class Call:
    """The stage a structured call is for, and how many answers its re-asks took."""

    stage: str
    answers: int = 0


CALL: contextvars.ContextVar[Call] = contextvars.ContextVar("clawloop_llm_call")


class Sender:
    """instructor's completion function: one request through the budget, the transport and the accounting."""

    def __init__(self, config: LLMConfig, accountant: Accountant, transport: Transport) -> None:
        self._config = config
        self._accountant = accountant
        self._transport = transport
        self._waiting: list[asyncio.Future[None]] = []  # requests waiting for room in the cost budget

    async def send(self, **kwargs: Any) -> Any:
        """instructor's completion function: budget, transport retries, accounting, per HTTP request."""
        call = CALL.get()
        worst, kwargs = self.worst_case(kwargs)
        # The first attempt goes out directly: building tenacity's retry machinery costs ~0.2 ms of
        # event-loop CPU per request, and most requests need no retry.
        try:
            response = await self._attempt(call, kwargs, worst)
        except LLMError as exc:
            if not (is_retryable(exc) and self._config.max_retries > 0):
                raise
            response = await self._retry(call, kwargs, exc, worst)
        except Exception as exc:
            if not (is_retryable(exc) and self._config.max_retries > 0):
                raise self.transport_error(exc, 1) from exc
            response = await self._retry(call, kwargs, exc, worst)
        call.answers += 1
        return response

    def worst_case(self, kwargs: dict[str, Any]) -> tuple[float, dict[str, Any]]:
        """(the most this request can cost, the request) under a cost budget: every prompt byte
        taken for a token (a BPE token is at least one byte) and every completion token allowed
        used; ``max_tokens`` is set to :data:`BUDGET_MAX_TOKENS` when the config leaves it open."""
        if self._config.max_cost is None or not self._accountant.cost_known:
            return 0.0, kwargs
        import orjson

        cap = kwargs.get("max_tokens")
        if not isinstance(cap, int) or cap <= 0:
            cap = BUDGET_MAX_TOKENS
            kwargs = {**kwargs, "max_tokens": cap}
        messages = kwargs.get("messages") or []
        prompt = sum(len(orjson.dumps(kwargs.get(part), default=str)) for part in ("messages", "tools",
                                                                                 "response_format"))
        return self._accountant.worst_cost(prompt + TOKENS_PER_MESSAGE * (len(messages) + 1), cap), kwargs

    async def _attempt(self, call: Call, kwargs: dict[str, Any], worst: float) -> Any:
        """One HTTP attempt, its worst-case cost held by the budget while it is in flight; the
        answer's real cost is recorded before the hold is let go."""
        if self._config.shared_budget is not None:
            await self._config.shared_budget.reserve(call.stage)
        while (held := self._accountant.reserve(call.stage, worst)) is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiting.append(waiter)
            await waiter  # a request in flight lets its hold go
        try:
            response = await self._transport.complete(kwargs)
            tokens = getattr(response, "usage", None)
            prompt = int(getattr(tokens, "prompt_tokens", 0) or 0)
            completion = int(getattr(tokens, "completion_tokens", 0) or 0)
            self._accountant.record(call.stage, prompt, completion)
            if self._config.shared_budget is not None:
                cost = self._accountant.cost_of(prompt, completion)
                self._config.shared_budget.record(call.stage, prompt, completion, cost)
            return response
        finally:
            self._accountant.release(held)
            waiting, self._waiting = self._waiting, []
            for waiter in waiting:
                if not waiter.done():
                    waiter.set_result(None)

    @staticmethod
    def transport_error(exc: Exception, tries: int) -> LLMError:
        return LLMError(f"{type(exc).__name__} after {tries} attempt(s): {exc}")

    async def _retry(self, call: Call, kwargs: dict[str, Any], first: Exception, worst: float) -> Any:
        """The retries after a failed first attempt, with tenacity backoff (429, 5xx, timeouts): the first
        failure is replayed as tenacity's attempt 1, so waits and counts are as if tenacity had sent it."""
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential, wait_random

        usage = self._accountant.stage(call.stage)
        backoff = (wait_exponential(multiplier=self._config.retry_wait, max=self._config.retry_max_wait)
                   + wait_random(0, self._config.retry_wait))

        def wait(state: Any) -> float:
            exc = state.outcome.exception() if state.outcome else None
            hinted = getattr(exc, "retry_after", None) or 0.0
            return float(min(max(backoff(state), hinted), self._config.retry_max_wait))

        def before_sleep(state: Any) -> None:
            usage.retries += 1

        replay: Exception | None = first
        try:
            async for attempt in AsyncRetrying(stop=stop_after_attempt(self._config.max_retries + 1), wait=wait,
                                               retry=retry_if_exception(is_retryable), before_sleep=before_sleep,
                                               reraise=True):
                with attempt:
                    if replay is not None:
                        failed, replay = replay, None
                        raise failed
                    response = await self._attempt(call, kwargs, worst)
        except LLMError:
            raise
        except Exception as exc:
            raise self.transport_error(exc, self._config.max_retries + 1 if is_retryable(exc) else 1) from exc
        return response
