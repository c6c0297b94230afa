"""The policy's model: one weight vector over hashed features, its scores and its gradient step.

A decision is either a softmax choice among candidates (``pick``: the next tool, a slot's value) or one
include/skip per candidate (``bern``: which result values go into the answer). Imitation steps with
advantage 1; REINFORCE scales the same step by the episode's advantage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["Decision", "score", "softmax", "update"]


@dataclass
class Decision:
    kind: str  # "pick" (softmax over candidates) or "bern" (one include/skip per candidate)
    feats: list[np.ndarray]
    target: int | list[int]


def softmax(scores: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = scores / max(temperature, 1e-6)
    z = z - z.max()
    e = np.exp(z)
    return e / e.sum()


def score(w: np.ndarray, feats: list[np.ndarray]) -> np.ndarray:
    """Each candidate's score: the sum of the weights of its hashed features."""
    return np.array([w[f].sum() for f in feats])


def update(w: np.ndarray, decisions: Sequence[Decision], lr: float, advantage: float = 1.0) -> None:
    """One gradient step of the decisions' log-likelihood on ``w`` (in place), per feature count normalised."""
    for d in decisions:
        if d.kind == "pick":
            assert isinstance(d.target, int)
            p = softmax(score(w, d.feats))
            gains = [(1.0 if j == d.target else 0.0) - p[j] for j in range(len(d.feats))]
        else:
            assert isinstance(d.target, list)
            p = 1.0 / (1.0 + np.exp(-score(w, d.feats)))
            gains = [d.target[j] - p[j] for j in range(len(d.feats))]
        for f, g in zip(d.feats, gains, strict=True):
            if abs(g) > 1e-4:
                np.add.at(w, f, lr * advantage * g / max(len(f) ** 0.5, 1.0))
