"""Learners by name, as ``--learner`` names them: ``policy``, ``llm`` (with a model) or ``cmd:COMMAND``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from clawloop_synth.errors import InputError
from clawloop_synth.learn.policy import PolicyConfig, PolicyLearner
from clawloop_synth.learn.protocol import Learner

__all__ = ["LEARNERS", "LearnerOptions", "close_learner", "make_learner"]

LEARNERS = ("policy", "llm", "cmd:COMMAND")


@dataclass
class LearnerOptions:
    """What the non-default learners need: a model for ``llm``, a folder for ``cmd:`` datasets."""

    model: str | None = None
    api_base: str | None = None
    api_key: str | None = None
    max_cost: float | None = None
    cache_dir: Path | None = None
    workdir: Path | None = None  # where a command learner's exported datasets go
    max_turns: int = 12


def make_learner(name: str, seed: int, rl_epochs: int | None = None,
                 options: LearnerOptions | None = None) -> Learner:
    """A fresh, untrained learner ``name`` seeded with ``seed``."""
    options = options or LearnerOptions()
    if name == "policy":
        config = PolicyConfig(seed=seed)
        if rl_epochs is not None:
            config.rl_epochs = rl_epochs
        return PolicyLearner(config)
    if name == "llm":
        from clawloop_synth.learn.llm import LLMLearner
        from clawloop_synth.llm import LLMConfig

        if not options.model:
            raise InputError("the llm learner needs a model (--model, any litellm model string)", field="model")
        return LLMLearner(LLMConfig(options.model, api_base=options.api_base, api_key=options.api_key,
                                    max_cost=options.max_cost, cache_dir=options.cache_dir, temperature=0.0),
                          max_turns=options.max_turns, seed=seed)
    if name.startswith("cmd:"):
        from clawloop_synth.learn.command import CommandLearner

        if options.workdir is None:
            raise InputError("a command learner needs a folder for its datasets", field="learner")
        return CommandLearner(name[4:].strip(), options.workdir, max_turns=options.max_turns, seed=seed)
    raise InputError(f"unknown learner {name!r} (known: {', '.join(LEARNERS)})", field="learner")


def close_learner(learner: Learner) -> None:
    """Stop what a learner keeps running (a command learner's serving trainer)."""
    close = getattr(learner, "close", None)
    if callable(close):
        close()
