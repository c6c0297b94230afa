"""Learners by name, as ``--learner`` names them."""

from __future__ import annotations

from clawloop_synth.errors import InputError
from clawloop_synth.learn.policy import PolicyConfig, PolicyLearner
from clawloop_synth.learn.protocol import Learner

__all__ = ["LEARNERS", "make_learner"]

LEARNERS = ("policy",)


def make_learner(name: str, seed: int, rl_epochs: int | None = None) -> Learner:
    """A fresh, untrained learner ``name`` seeded with ``seed``."""
    if name == "policy":
        config = PolicyConfig(seed=seed)
        if rl_epochs is not None:
            config.rl_epochs = rl_epochs
        return PolicyLearner(config)
    raise InputError(f"unknown learner {name!r} (known: {', '.join(LEARNERS)})", field="learner")
