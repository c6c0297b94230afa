"""One HTTP attempt at a chat completion: the OpenAI-compatible fast path or litellm.

The fast path posts to ``{api_base}/chat/completions`` with one pooled ``aiohttp`` session per event
loop. It exists for throughput: ``litellm.acompletion`` costs several milliseconds of CPU per call on
the event loop (and ``httpx`` about 0.9 ms against aiohttp's 0.2 ms here), which at concurrency 20
stretches the wall time past the network latency (see ``evals/bench_generate.py``). Every other
provider goes through litellm, imported lazily.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from typing import Any

from clawloop_synth.llm._config import LLMConfig, LLMError

__all__ = ["HTTPStatusError", "Transport", "import_litellm", "is_retryable"]

_FAST_PREFIXES = {"openai": ("https://api.openai.com/v1", "OPENAI_API_KEY"),
                  "hosted_vllm": (None, "HOSTED_VLLM_API_KEY")}
_RETRYABLE_STATUS = {408, 409, 425, 429}


class HTTPStatusError(LLMError):
    """A non-200 answer from the fast path."""

    def __init__(self, status: int, message: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status_code = status
        self.retry_after = retry_after


def is_retryable(exc: BaseException) -> bool:
    """Rate limits, server errors, timeouts and dropped connections; never 4xx input errors."""
    import aiohttp

    if isinstance(exc, TimeoutError | aiohttp.ClientConnectionError | aiohttp.ClientPayloadError):
        return True
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status in _RETRYABLE_STATUS or status >= 500
    name = type(exc).__name__  # litellm/openai classes, matched by name to avoid importing them
    return name in {"Timeout", "APITimeoutError", "APIConnectionError", "RateLimitError",
                    "ServiceUnavailableError", "InternalServerError"}


def import_litellm() -> Any:
    """Import litellm offline-safe: the bundled cost map, no network fetch, quiet."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    litellm.suppress_debug_info = True
    return litellm


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class Transport:
    """Sends one chat-completion request (no retries here) and returns an OpenAI-shaped response."""

    def __init__(self, config: LLMConfig) -> None:
        self.config = config
        prefix, _, self.model_name = config.model.partition("/")
        fast = _FAST_PREFIXES.get(prefix) if config.fast_path and self.model_name else None
        base = config.api_base or (fast[0] if fast else None)
        self.fast = fast is not None and base is not None
        self.url = f"{(base or '').rstrip('/')}/chat/completions"
        key = config.api_key or (os.environ.get(fast[1]) if fast else None)
        self.headers = {"Content-Type": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self._sessions: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = weakref.WeakKeyDictionary()

    def _session(self) -> Any:
        import aiohttp

        loop = asyncio.get_running_loop()
        session = self._sessions.get(loop)
        if session is None or session.closed:
            connector = aiohttp.TCPConnector(limit=max(self.config.concurrency * 2, 10))
            session = aiohttp.ClientSession(connector=connector,
                                            timeout=aiohttp.ClientTimeout(total=self.config.timeout))
            self._sessions[loop] = session
        return session

    async def aclose(self) -> None:
        """Close this event loop's connection pool."""
        session = self._sessions.pop(asyncio.get_running_loop(), None)
        if session is not None:
            await session.close()

    async def complete(self, kwargs: dict[str, Any]) -> Any:
        if self.fast:
            response = await self._fast(kwargs)
        else:
            litellm = import_litellm()
            response = await litellm.acompletion(api_base=self.config.api_base, api_key=self.config.api_key,
                                                 timeout=self.config.timeout, max_retries=0, **kwargs)
        if not getattr(response, "choices", None):
            # No answer at all is the server's fault, like a 5xx: retried, never taken for the model's.
            raise HTTPStatusError(502, "the answer has no choices")
        return response

    async def _fast(self, kwargs: dict[str, Any]) -> Any:
        import orjson
        from openai.types.chat import ChatCompletion
        from pydantic import ValidationError

        body = {**kwargs, "model": self.model_name}
        async with self._session().post(self.url, data=orjson.dumps(body), headers=self.headers) as response:
            content = await response.read()
            if response.status != 200:
                raise HTTPStatusError(response.status, content[:300].decode(errors="replace"),
                                      _retry_after(response.headers.get("Retry-After")))
        try:
            return ChatCompletion.model_validate_json(content)
        except ValidationError as exc:
            # A broken envelope is the server's fault, not the model's: retry, do not re-ask.
            raise HTTPStatusError(502, f"not a chat completion: {exc.errors()[0]['msg']}") from None

