"""Policy rules drafted by an LLM from a pack's ``policy.md``, kept only where the real traces allow them.

:func:`draft_rules` asks the model (through the one LLM seam, prompt ``prompts/draft_rules.jinja``)
for rules in the pack format (``def check(state, call) -> str | None``), then judges each draft:
it must compile in the sandbox, and no successful trace may break it (a rule that flags what a
successful run did is wrong: the policy allowed it). Every draft comes back with its verdict, so
nothing is dropped silently; :func:`write_rules` saves the kept ones as ``rules/NAME.py`` files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, field_validator

from clawloop_synth.sim.pack import DomainPack
from clawloop_synth.sim.rules import RuleSet, replay_violations
from clawloop_synth.sim.sandbox import SandboxError, compile_handler
from clawloop_synth.types import PolicyRule, Trace

__all__ = ["DraftedRule", "DraftedRules", "RuleVerdict", "draft_messages", "draft_rules", "judge_rules",
           "write_rules"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_MAX_RULES = 12


class DraftedRule(BaseModel):
    name: str
    source: str = Field(min_length=1, max_length=20_000)

    @field_validator("name")
    @classmethod
    def _name(cls, name: str) -> str:
        if not _NAME.match(name):
            raise ValueError(f"rule name {name!r} must be snake_case (a-z, digits, _), at most 64 characters")
        return name

    @field_validator("source")
    @classmethod
    def _compiles(cls, source: str) -> str:
        try:
            compile_handler(source, entry="check")
        except SandboxError as exc:
            raise ValueError(f"the rule source does not compile in the sandbox: {exc}") from exc
        return source


class DraftedRules(BaseModel):
    rules: list[DraftedRule] = Field(max_length=_MAX_RULES)


@dataclass
class RuleVerdict:
    """A drafted rule and whether it is kept (``reason``: why not, naming the trace and call)."""

    rule: PolicyRule
    kept: bool
    reason: str = ""
    flagged_failed: int = 0  # calls of failed traces it flags (what it finds)


@dataclass
class DraftReport:
    verdicts: list[RuleVerdict] = field(default_factory=list)

    @property
    def kept(self) -> list[PolicyRule]:
        return [v.rule for v in self.verdicts if v.kept]


def draft_messages(pack: DomainPack, limit: int = _MAX_RULES) -> list[dict[str, Any]]:
    """The chat messages of the drafting prompt for ``pack``."""
    from clawloop_synth.llm import render_prompt

    tools = [{"name": t.name, "description": " ".join((t.description or "").split())[:300], "writes": t.writes,
              "arguments": sorted(t.parameters.get("properties") or {})} for t in pack.tools]
    collections = sorted([*pack.collections, *pack.globals])
    text = render_prompt("draft_rules", policy=pack.policy, tools=tools, collections=collections, limit=limit)
    return [{"role": "user", "content": text}]


def judge_rules(pack: DomainPack, rules: list[PolicyRule], traces: list[Trace]) -> list[RuleVerdict]:
    """Keep a rule only if it compiles and no successful trace breaks it; count what it flags in failed ones."""
    base = pack.load_state()
    recorded = [(t, [(s.call.name, s.call.arguments) for s in t.tool_steps() if s.result is not None])
                for t in traces]
    verdicts = []
    for rule in rules:
        try:
            compile_handler(rule.source, entry="check")
        except SandboxError as exc:
            verdicts.append(RuleVerdict(rule, False, f"does not compile: {exc}"[:300]))
            continue
        one = RuleSet([rule])
        broken, failed = "", 0
        for trace, calls in recorded:
            hits = [(v.step, v.message) for v in replay_violations(pack, one, base, calls)]
            if trace.reward == 1.0 and hits:
                broken = f"successful trace {trace.id} breaks it at call {hits[0][0]}: {hits[0][1]}"[:300]
                break
            failed += len(hits) if trace.reward != 1.0 else 0
        verdicts.append(RuleVerdict(rule, not broken, broken, failed))
    return verdicts


def draft_rules(pack: DomainPack, traces: list[Trace], model: str, api_base: str | None = None,
                **config: Any) -> DraftReport:
    """Ask ``model`` for rules from the pack's policy and judge them against ``traces``."""
    from clawloop_synth.llm import LLM, LLMConfig

    if not pack.policy.strip():
        raise ValueError(f"pack {pack.name} has no policy.md to draft rules from")
    llm = LLM(LLMConfig(model=model, api_base=api_base, temperature=0.0, **config))
    answer = llm.structured(draft_messages(pack), DraftedRules, stage="rules")
    rules = [PolicyRule(name=r.name, source=r.source) for r in answer.rules]
    return DraftReport(judge_rules(pack, rules, traces))


def write_rules(rules: list[PolicyRule], folder: Path) -> list[Path]:
    """Save rules as ``folder/NAME.py`` (the pack format); returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for rule in rules:
        path = folder / f"{rule.name}.py"
        path.write_text(rule.source if rule.source.endswith("\n") else rule.source + "\n")
        out.append(path)
    return out
