"""Simulated rollouts from known abilities and difficulties (1PL), for recovery tests."""

from __future__ import annotations

import numpy as np
from scipy.special import expit

from clawloop_synth.difficulty import Observations


def simulate_1pl(ability: np.ndarray, difficulty: np.ndarray, *, missing: float, seed: int,
                 attempts: int = 1) -> Observations:
    """One binary reward per attempt on every (agent, task) cell kept after dropping ``missing`` of them."""
    rng = np.random.default_rng(seed)
    agents, tasks = np.meshgrid(np.arange(ability.shape[0]), np.arange(difficulty.shape[0]), indexing="ij")
    keep = rng.random(agents.size) >= missing
    rows, cols = np.repeat(agents.ravel()[keep], attempts), np.repeat(tasks.ravel()[keep], attempts)
    reward = (rng.random(rows.shape[0]) < expit(ability[rows] - difficulty[cols])).astype(float)
    return Observations.from_arrays([f"agent{i:03d}" for i in rows], [f"task{j:05d}" for j in cols], reward,
                                    tasks=[f"task{j:05d}" for j in range(difficulty.shape[0])])
