"""LLM localization and cluster naming through the LLM seam (``clawloop_synth.llm``).

Both validate the model's codes against the taxonomy, so a made-up code is re-asked with the
validation error rather than stored. Nothing here runs unless a model is configured.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic import BaseModel, Field, field_validator

from clawloop_synth.mine.labels import Labelled
from clawloop_synth.mine.localize import Localization
from clawloop_synth.mine.taxonomy import load_taxonomy
from clawloop_synth.redact import redact_texts
from clawloop_synth.types import Failure, Trace

__all__ = ["ClusterName", "LLMLocalization", "llm_localize", "llm_namer", "localize_messages", "name_messages"]

_MAX_TEXT = 400
_MAX_MESSAGES = 160


def _check_code(code: str) -> str:
    if code not in load_taxonomy():
        raise ValueError(f"{code!r} is not a taxonomy code; pick one from the list")
    return code


class LLMLocalization(BaseModel):
    agent: str
    step: int = Field(ge=0)
    code: str
    reason: str = ""

    _code = field_validator("code")(_check_code)


class ClusterName(BaseModel):
    label: str = Field(min_length=1, max_length=120)
    codes: list[str] = Field(min_length=1, max_length=3)

    @field_validator("codes")
    @classmethod
    def _codes(cls, codes: list[str]) -> list[str]:
        return [_check_code(c) for c in codes]


def _leaves() -> list[dict[str, str]]:
    return [{"code": leaf.code, "definition": leaf.definition} for leaf in load_taxonomy().values()]


def _speaker(trace: Trace, index: int) -> str:
    m = trace.messages[index]
    if m.role == "tool":
        return f"tool {m.name or ''} result".replace("  ", " ")
    return m.name or m.role


def _text(trace: Trace, index: int) -> str:
    m = trace.messages[index]
    text = m.content or ""
    if m.tool_calls:
        text += " " + "; ".join(f"call {c.name}({c.arguments})" for c in m.tool_calls)
    if m.is_error:
        text = "[ERROR] " + text
    return text


def _shown(text: str) -> str:
    """A redacted message text as the prompt shows it: one line, clipped (after redaction: a cut secret
    escapes its rule)."""
    text = " ".join(text.split())
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + " …"


def localize_messages(trace: Trace, hints: Sequence[Failure] = ()) -> list[dict[str, Any]]:
    """The chat messages of the localization prompt (``prompts/localize_failure.jinja``)."""
    from clawloop_synth.llm import render_prompt

    indexes = list(range(len(trace.messages)))
    if len(indexes) > _MAX_MESSAGES:  # keep the start and the end of very long runs
        half = _MAX_MESSAGES // 2
        indexes = indexes[:half] + indexes[-half:]
    # the whole conversation redacted at once, so a secret split across two messages is caught too
    texts = redact_texts([_text(trace, i) for i in range(len(trace.messages))])
    prompt = render_prompt(
        "localize_failure", instruction=trace.instruction or "(not recorded)",
        messages=[{"index": i, "speaker": _speaker(trace, i), "text": _shown(texts[i])} for i in indexes],
        hints=[{"step": f.step, "agent": f.agent or "?", "code": f.code, "detail": f.detail or f.card}
               for f in hints[:12]],
        leaves=_leaves())
    return [{"role": "user", "content": prompt}]


def _llm(model: str, api_base: str | None, **config: Any) -> Any:
    from clawloop_synth.llm import LLM, LLMConfig

    return LLM(LLMConfig(model=model, api_base=api_base, temperature=0.0, **config))


def llm_localize(trace: Trace, model: str, api_base: str | None = None, hints: Sequence[Failure] = (),
                 **config: Any) -> Localization | None:
    """Ask ``model`` for the failing agent, step and leaf code of a failed trace."""
    if not trace.messages:
        return None
    answer = _llm(model, api_base, **config).structured(localize_messages(trace, hints), LLMLocalization,
                                                        stage="mine")
    step = min(max(answer.step, 0), len(trace.messages) - 1)
    return Localization(agent=answer.agent, step=step, code=answer.code, reason=answer.reason)


def name_messages(members: Sequence[Labelled], keywords: Sequence[str], limit: int = 12) -> list[dict[str, Any]]:
    """The chat messages of the cluster-naming prompt (``prompts/label_cluster.jinja``)."""
    from clawloop_synth.llm import render_prompt

    cards = list(dict.fromkeys(f.card for f in members))[:limit]
    return [{"role": "user", "content": render_prompt("label_cluster", cards=cards, keywords=list(keywords),
                                                      leaves=_leaves())}]


def llm_namer(model: str, api_base: str | None = None, **config: Any
              ) -> Callable[[Sequence[Labelled], list[str], list[str]], tuple[str, list[str]]]:
    """A ``namer`` for :func:`clawloop_synth.mine.stage.build_clusters` that asks ``model``."""

    def name(members: Sequence[Labelled], keywords: list[str], codes: list[str]) -> tuple[str, list[str]]:
        answer = _llm(model, api_base, **config).structured(name_messages(members, keywords), ClusterName,
                                                            stage="cluster")
        return answer.label, answer.codes

    return name
