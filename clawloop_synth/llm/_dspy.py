"""``dspy.LM`` counted by the seam: the budget and the per-stage usage see every DSPy request.

DSPy programs call their model through ``dspy.LM``, not through :class:`~clawloop_synth.llm.LLM`.
:func:`dspy_lm` builds a ``dspy.LM`` with the seam's settings (model string, api_base, key,
temperature, max_tokens, timeout, retries; dspy's own answer cache) whose every call

- counts one ``call`` under the stage, and a ``cache_hit`` when dspy's cache answers it (no request);
- before each HTTP attempt (retries included) reserves it in the seam's :class:`Accountant`, which
  raises :class:`BudgetExceeded` once ``max_requests`` or ``max_cost`` is spent; under a cost budget the
  attempt holds its worst case while in flight (every prompt byte a token, every allowed completion token
  used; ``max_tokens`` set when left open), as the seam's own requests do, so the spend cannot pass it;
- after the answer adds its prompt and completion tokens and their cost (the seam's price map: 0 with
  ``cost_known`` false for a model litellm does not price).

Retries are done here, one attempt per ``execute`` (dspy's ``num_retries`` is 0 on the wire), with
dspy's own rule for what is retryable and how long to wait, so each attempt is budgeted and a retry is
counted as such. DSPy calls the LM from worker threads (the generator runs ``predict`` in
``asyncio.to_thread``): the accountant is touched under one lock.

Importing this module imports dspy (seconds); ``clawloop_synth.llm`` does not import it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import dspy
from dspy.clients import execution
from dspy.clients._deprecation import warn_legacy_lm, warn_openai_messages
from dspy.utils.callback import with_callbacks
from dspy.utils.exceptions import is_retryable_lm_error

from clawloop_synth.llm._config import LLMConfig
from clawloop_synth.llm._sending import BUDGET_MAX_TOKENS, TOKENS_PER_MESSAGE
from clawloop_synth.llm._usage import Accountant, StageUsage

__all__ = ["AccountedLM", "dspy_lm"]


class AccountedLM(dspy.LM):
    """A ``dspy.LM`` whose requests go through the seam's budget and accounting (see the module doc)."""

    def __init__(self, *, accountant: Accountant | None = None, stage: str = "generate",
                 lock: Any = None, **kwargs: Any) -> None:
        retries = int(kwargs.pop("num_retries", 3))
        super().__init__(num_retries=0, **kwargs)  # one attempt per execute(): each one budgeted here
        self.retries = retries
        self.accountant = accountant if accountant is not None else Accountant(self.model, None, None)
        self.stage = stage
        self._lock = lock if lock is not None else threading.Lock()
        self._local = threading.local()
        with self._lock:
            self.accountant.stage(stage)  # the stage exists before any thread adds to it

    def calls_in_thread(self) -> int:
        """Calls made from this thread so far: a caller compares two readings to see how many calls one
        prediction took (more than one: the adapter asked again, e.g. its JSON fallback)."""
        return int(getattr(self._local, "calls", 0))

    def count_reasks(self, n: int) -> None:
        if n > 0:
            self._count("reasks", n)

    def count_redacted(self, counts: Any) -> None:
        """Findings the caller redacted from a prompt, per kind (as the seam counts its own)."""
        with self._lock:
            self.accountant.stage(self.stage).count_redacted(counts)

    # -- the seam's bookkeeping, under the lock ---------------------------------------------------
    def _count(self, field: str, n: int = 1) -> None:
        with self._lock:
            usage: StageUsage = self.accountant.stage(self.stage)
            setattr(usage, field, getattr(usage, field) + n)

    def _worst(self, call: Any) -> float:
        """The most ``call`` can cost under a cost budget (0 without one); opens no request unbounded."""
        request = call.legacy
        if self.accountant.max_cost is None or not self.accountant.cost_known or "messages" not in request:
            return 0.0
        import orjson

        cap = request.get("max_tokens")
        if not isinstance(cap, int) or cap <= 0:
            cap = request["max_tokens"] = BUDGET_MAX_TOKENS
        messages = request.get("messages") or []
        prompt = len(orjson.dumps(messages, default=str)) + TOKENS_PER_MESSAGE * (len(messages) + 1)
        return self.accountant.worst_cost(prompt, cap * call.n)

    def _try_reserve(self, worst: float) -> float | None:
        with self._lock:
            return self.accountant.reserve(self.stage, worst)

    def _reserve(self, call: Any) -> float:
        """Count the attempt and hold its worst case, waiting while requests in flight hold the rest."""
        worst = self._worst(call)
        while (held := self._try_reserve(worst)) is None:
            time.sleep(0.05)
        return held

    async def _areserve(self, call: Any) -> float:
        worst = self._worst(call)
        while (held := self._try_reserve(worst)) is None:
            await asyncio.sleep(0.05)
        return held

    def _release(self, held: float) -> None:
        with self._lock:
            self.accountant.release(held)

    def _record(self, result: Any) -> None:
        usage = getattr(result, "usage", None) or {}
        with self._lock:
            if getattr(result, "cache_hit", False):  # another thread stored this answer meanwhile
                self.accountant.stage(self.stage).requests -= 1
                self.accountant.stage(self.stage).cache_hits += 1
                return
            self.accountant.record(self.stage, int(usage.get("prompt_tokens") or 0),
                                   int(usage.get("completion_tokens") or 0))

    def _retry(self, exc: Exception, attempt: int) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None when ``exc`` is final."""
        if attempt >= self.retries or not is_retryable_lm_error(exc):
            self._count("failures")
            return None
        self._count("retries")
        return float(execution._delay(exc, attempt))

    # -- the calls --------------------------------------------------------------------------------
    @with_callbacks
    def __call__(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        call = execution.prepare(self, prompt, messages, kwargs)
        if not call.managed:
            warn_legacy_lm()
        warn_openai_messages(self, messages)
        self._count("calls")
        self._local.calls = self.calls_in_thread() + 1
        hit = execution._cached(self, call, False)
        if hit is not None:
            self._count("cache_hits")
            return execution.finalize(self, call, hit)
        attempt = 0
        while True:
            held = self._reserve(call)
            try:
                result = execution.execute(self, call)
            except Exception as exc:
                self._release(held)
                wait = self._retry(exc, attempt)
                if wait is None:
                    raise
                time.sleep(wait)
                attempt += 1
                continue
            self._record(result)
            self._release(held)
            return execution.finalize(self, call, result)

    @with_callbacks
    async def acall(self, prompt: Any = None, *, messages: Any = None, **kwargs: Any) -> Any:
        call = await asyncio.to_thread(execution.prepare, self, prompt, messages, kwargs, asynchronous=True)
        if not call.managed:
            warn_legacy_lm()
        warn_openai_messages(self, messages)
        self._count("calls")
        self._local.calls = self.calls_in_thread() + 1
        hit = await asyncio.to_thread(execution._cached, self, call, True) if call.cache else None
        if hit is not None:
            self._count("cache_hits")
            return execution.finalize(self, call, hit)
        attempt = 0
        while True:
            held = await self._areserve(call)
            try:
                result = await execution.aexecute(self, call)
            except Exception as exc:
                self._release(held)
                wait = self._retry(exc, attempt)
                if wait is None:
                    raise
                await asyncio.sleep(wait)
                attempt += 1
                continue
            self._record(result)
            self._release(held)
            return execution.finalize(self, call, result)


def dspy_lm(config: LLMConfig, llm: Any = None, stage: str = "generate", cache: bool = True) -> AccountedLM:
    """An :class:`AccountedLM` with ``config``'s settings, counting into the accountant of ``llm`` (an
    :class:`~clawloop_synth.llm.LLM`: its budget, its ``usage_summary()``) under ``stage``.

    Without ``llm`` it counts into an accountant of its own with ``config``'s budget (``lm.accountant``)."""
    accountant = getattr(llm, "_accountant", None)
    if accountant is None:
        accountant = Accountant(config.model, config.max_cost, config.max_requests)
    return AccountedLM(accountant=accountant, stage=stage, cache=cache, **config.litellm_kwargs())
