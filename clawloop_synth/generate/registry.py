"""Build the generator a ``GenerateConfig`` names (and the LLM seam it calls, if any)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clawloop_synth.errors import InputError

__all__ = ["make_generator", "make_llm"]


def make_llm(config: Any, workdir: Path) -> Any:
    """The LLM seam with the stage's model settings, its answer cache in ``WORKDIR/cache/llm``."""
    from clawloop_synth.llm import LLM, LLMConfig

    if not config.model:
        raise InputError(f"the {config.generator} generator needs --model (a litellm model string)", field="model")
    return LLM(LLMConfig(config.model, api_base=config.api_base, api_key=config.api_key, timeout=config.timeout,
                         retry_wait=config.retry_wait, retry_max_wait=min(30.0, max(config.retry_wait * 30, 0.05)),
                         concurrency=config.concurrency, cache_dir=workdir / "cache" / "llm",
                         max_cost=config.max_cost, max_requests=config.max_requests))


def make_generator(config: Any, workdir: Path) -> tuple[Any, Any]:
    """(generator, LLM or None) for ``config.generator``."""
    if config.generator == "procedural":
        from clawloop_synth.generate.procedural import ProceduralGenerator

        return ProceduralGenerator(), None
    llm = make_llm(config, workdir)
    if config.generator == "llm":
        from clawloop_synth.generate.llm_gen import LLMGenerator

        return LLMGenerator(llm, max_repairs=config.max_repairs), llm
    from clawloop_synth.generate.dspy_gen import DSPyGenerator

    return DSPyGenerator(llm, program=config.program, max_repairs=config.max_repairs), llm
