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
    if not feats:
        return np.zeros(0)
    lens = np.fromiter((len(f) for f in feats), dtype=np.int64, count=len(feats))
    flat = np.concatenate(feats)
    if not len(flat):
        return np.zeros(len(feats))
    sums = np.add.reduceat(w[flat], np.minimum(np.concatenate(([0], np.cumsum(lens)[:-1])), len(flat) - 1))
    return np.where(lens > 0, sums, 0.0)


def update(w: np.ndarray, decisions: Sequence[Decision], lr: float, advantage: float = 1.0) -> None:
    """One gradient step of the decisions' log-likelihood on ``w`` (in place), per feature count normalised."""
    for d in decisions:
        s = score(w, d.feats)
        if d.kind == "pick":
            assert isinstance(d.target, int)
            gains = -softmax(s)
            gains[d.target] += 1.0
        else:
            assert isinstance(d.target, list)
            gains = np.asarray(d.target, dtype=float) - 1.0 / (1.0 + np.exp(-s))
        lens = np.fromiter((len(f) for f in d.feats), dtype=np.int64, count=len(d.feats))
        step = lr * advantage * gains / np.maximum(np.sqrt(lens), 1.0)
        keep = np.abs(gains) > 1e-4
        if keep.any():
            idx = [f for f, k in zip(d.feats, keep, strict=True) if k]
            np.add.at(w, np.concatenate(idx), np.repeat(step[keep], lens[keep]))
