"""The one seam for every LLM call: structured output, retries, cache, budget, accounting.

    from clawloop_synth.llm import LLM, LLMConfig
    llm = LLM(LLMConfig("openai/gpt-4o-mini", max_cost=1.0, cache_dir=workdir / "llm-cache"))
    spec = await llm.astructured(messages, TaskSpec, stage="generate")
    async for result in llm.amap(requests): ...
    await llm.aclose()  # or: async with LLM(config) as llm: ...
    llm.usage_summary()

Importing this package is cheap: litellm, instructor and aiohttp are imported on the first call.
"""

from clawloop_synth.llm._client import LLM, Request, Result
from clawloop_synth.llm._config import BudgetExceeded, LLMConfig, LLMError, StructuredOutputError
from clawloop_synth.llm._prompts import prompt_version, render_prompt
from clawloop_synth.llm._usage import StageUsage, model_prices

__all__ = [
    "LLM",
    "BudgetExceeded",
    "LLMConfig",
    "LLMError",
    "Request",
    "Result",
    "StageUsage",
    "StructuredOutputError",
    "model_prices",
    "prompt_version",
    "render_prompt",
]
