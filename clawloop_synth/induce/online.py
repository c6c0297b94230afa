"""Online handlers: the LLM writes a tool's handler from its schema and recorded examples, and is sent
the replay mismatches to repair it (bounded rounds), through the one LLM seam (cache and budget).

Only tools the offline search left inexact are asked; an LLM handler replaces the offline one only
when it reproduces more recorded examples.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from clawloop_synth.induce.examples import Example
from clawloop_synth.induce.fidelity import reproduces, run_handler, working_state
from clawloop_synth.induce.handlers import Induced
from clawloop_synth.sim.pack import find_keys
from clawloop_synth.sim.sandbox import SandboxError, compile_handler

__all__ = ["HandlerDraft", "OnlineConfig", "repair_handlers"]

STAGE = "induce"
MAX_EXAMPLES = 8
MAX_MISMATCHES = 5
TEXT_LIMIT = 1500


class HandlerDraft(BaseModel):
    """The LLM's answer: one handler source."""

    source: str


@dataclass(frozen=True)
class OnlineConfig:
    """Which model writes handlers, how to reach it, and how much it may cost."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    cache_dir: Path | None = None
    max_cost: float | None = None
    rounds: int = 2  # repair rounds after the first draft
    timeout: float = 60.0
    retry_wait: float = 1.0


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    return text if len(text) <= TEXT_LIMIT else text[:TEXT_LIMIT] + "..."


def _before(example: Example) -> dict[str, Any]:
    pre = example.pre or {}
    refs = find_keys(dict(pre), dict(example.args))
    return {name: {key: pre[name][key] for key in sorted(keys)} for name, keys in refs.items()}


def _mismatches(source: str, examples: Sequence[Example]) -> list[dict[str, str]]:
    try:
        handler = compile_handler(source)
    except SandboxError as exc:
        return [{"args": "(any)", "got": f"the handler does not compile: {exc}", "recorded": "-"}]
    out = []
    for example in examples:
        value, text = run_handler(handler, working_state(example.pre or {}, example.args), example.args)
        got = text if value is None or isinstance(value, str) else value
        if got != (example.value if not isinstance(example.value, str) else example.text):
            out.append({"args": _short(example.args), "got": _short(got), "recorded": _short(example.text)})
        if len(out) >= MAX_MISMATCHES:
            break
    return out


def repair_handlers(handlers: dict[str, Induced], examples: Mapping[str, Sequence[Example]],
                    schemas: Mapping[str, Any], aliases: Mapping[str, str], config: OnlineConfig) -> dict[str, Any]:
    """Ask the LLM for every inexact tool's handler; keep it where it reproduces more. Returns figures."""
    from clawloop_synth.llm import LLM, LLMConfig, render_prompt

    llm = LLM(LLMConfig(config.model, api_base=config.api_base, api_key=config.api_key, cache_dir=config.cache_dir,
                        max_cost=config.max_cost, timeout=config.timeout, retry_wait=config.retry_wait))
    figures: dict[str, Any] = {"model": config.model, "tools": {}}
    for tool, induced in sorted(handlers.items()):
        if induced.reproduced == induced.seen:
            continue
        seen = list(examples[tool])
        shown = [{"args": _short(e.args), "before": _short(_before(e)), "result": _short(e.text)}
                 for e in seen[:MAX_EXAMPLES]]
        messages = [{"role": "user", "content": render_prompt(
            "induce_handler", tool=tool, schema=json.dumps(schemas.get(tool, {}), indent=1),
            collections=", ".join(sorted((seen[0].pre or {}).keys())), examples=shown)}]
        rounds = 0
        best_source, best_hits, best_errors = induced.source, induced.reproduced, induced.errors_reproduced
        for round_index in range(config.rounds + 1):
            draft = llm.structured(messages, HandlerDraft, stage=STAGE, variant=round_index)
            rounds += 1
            matched = reproduces(draft.source, seen, aliases)[0]
            hits = sum(matched)
            if hits > best_hits:
                best_source, best_hits = draft.source, hits
                best_errors = sum(hit for hit, e in zip(matched, seen, strict=True) if e.error)
            if hits == len(seen) or round_index == config.rounds:
                break
            messages += [{"role": "assistant", "content": draft.model_dump_json()},
                         {"role": "user", "content": render_prompt("induce_repair", tool=tool,
                                                                   mismatches=_mismatches(draft.source, seen))}]
        figures["tools"][tool] = {"offline": induced.reproduced, "online": best_hits, "rounds": rounds}
        if best_source is not induced.source:
            handlers[tool] = Induced(tool, "online (LLM)", best_source, induced.writes, induced.seen, best_hits,
                                     induced.errors_seen, best_errors)
    figures["usage"] = llm.usage_summary()
    return figures
