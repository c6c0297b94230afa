"""Settings for the LLM seam in one dataclass, and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BudgetExceeded", "LLMConfig", "LLMError", "StructuredOutputError"]


@dataclass
class LLMConfig:
    """How to reach a model and how much to spend on it.

    ``model`` is any litellm model string (``openai/gpt-4o-mini``, ``anthropic/...``, ``ollama/llama3``,
    ``hosted_vllm/NAME``); ``api_base`` points at a local or self-hosted server. ``openai/`` and
    ``hosted_vllm/`` models take a fast path (one pooled ``aiohttp`` session speaking the OpenAI
    chat-completions protocol) unless ``fast_path`` is False; every other provider goes through
    ``litellm.acompletion``.

    ``mode`` is the instructor mode. The default, ``"json"`` (``instructor.Mode.JSON``), puts the JSON
    schema in the system message, sends ``response_format={"type": "json_object"}`` and reads the answer
    from the message content: every OpenAI-compatible server (OpenAI, vLLM, Ollama, llama.cpp) and
    litellm's other providers accept it, which is not true of forced tool calls on small local
    models. ``"tools"`` (forced function call) suits providers with strong tool calling.
    """

    model: str
    api_base: str | None = None
    api_key: str | None = None
    temperature: float = 0.7
    max_tokens: int | None = None
    timeout: float = 60.0  # seconds per HTTP attempt; a slower answer is retried
    max_retries: int = 4  # transport retries (429, 5xx, timeouts) per HTTP request
    max_reasks: int = 2  # re-asks with the validation error after the first answer
    concurrency: int = 8
    cache_dir: Path | None = None
    max_cost: float | None = None  # USD, hard: each request holds its worst case while in flight
    max_requests: int | None = None  # HTTP requests sent, retries and re-asks included
    redact: bool = True
    mode: str = "json"  # instructor mode: "json" (response_format json_object), "tools", "md_json"
    fast_path: bool = True
    retry_wait: float = 1.0  # first backoff in seconds, doubled per retry with jitter
    retry_max_wait: float = 30.0
    # Budget and concurrency shared by workers on a cluster (``engine.shared_budget``): every request is
    # reserved there too, so workers together cannot overspend max_cost / max_requests. None: this process only.
    shared_budget: Any = None

    def litellm_kwargs(self) -> dict[str, Any]:
        """The same settings for code that calls litellm itself, e.g. ``dspy.LM(**config.litellm_kwargs())``."""
        kwargs: dict[str, Any] = {"model": self.model, "temperature": self.temperature, "timeout": self.timeout,
                                  "num_retries": self.max_retries}
        for name in ("api_base", "api_key", "max_tokens"):
            if getattr(self, name) is not None:
                kwargs[name] = getattr(self, name)
        return kwargs


class LLMError(Exception):
    """A model call that failed for good (after retries and re-asks)."""


class BudgetExceeded(LLMError):
    """The hard budget (``max_cost`` or ``max_requests``) is spent; no further request is sent."""


class StructuredOutputError(LLMError):
    """The model's answers still failed validation after every re-ask."""
