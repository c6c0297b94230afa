"""Simulated tasks whose difficulty depends on their features, with embeddings that reflect them."""

from __future__ import annotations

import numpy as np

from clawloop_synth.types import TaskFeatures

CODES = ("agent/action/wrong_argument", "agent/plan/skipped_step", "env/tool/error", "user/intent/ambiguous")
CODE_EFFECT = np.array([0.0, 0.8, -0.6, 1.2])


def simulate_tasks(n: int, seed: int, noise: float = 0.4) -> tuple[list[TaskFeatures], np.ndarray, np.ndarray]:
    """Features, true difficulties (logits) and 32-d embeddings of ``n`` tasks."""
    rng = np.random.default_rng(seed)
    steps = rng.integers(1, 9, n)
    writes = rng.integers(0, steps + 1)
    tools = rng.integers(1, 6, n)
    distractors = rng.integers(0, 4, n)
    code = rng.integers(0, len(CODES), n)
    difficulty = (-2.2 + 0.35 * steps + 0.3 * writes + 0.25 * distractors + CODE_EFFECT[code]
                  + rng.normal(0.0, noise, n))
    features = [TaskFeatures(steps=int(s), tools=int(t), writes=int(w), distractors=int(d),
                             failure_codes=[CODES[c]])
                for s, t, w, d, c in zip(steps, tools, writes, distractors, code, strict=True)]
    # The embedding sees the task's content (features and code) through a random projection, plus noise.
    content = np.column_stack([steps / 4, writes / 4, tools / 3, distractors / 2, 2.0 * np.eye(len(CODES))[code]])
    embeddings = content @ rng.normal(size=(content.shape[1], 32)) + rng.normal(0.0, 0.5, (n, 32))
    return features, difficulty, embeddings
