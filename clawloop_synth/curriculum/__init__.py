"""Curricula: orders of the tasks from their difficulty estimates.

``strategies.py``: the strategies (random, fixed, difficulty, learnability, PLR) over ``TaskEstimate``
rows; ``stage.py``: the ``curriculum`` stage over a work directory (WORKDIR/difficulty ->
WORKDIR/curriculum/<strategy> + curriculum.json).
"""

from clawloop_synth.curriculum.strategies import (
    STRATEGIES,
    DifficultyStrategy,
    FixedStrategy,
    LearnabilityStrategy,
    Ordering,
    PLRStrategy,
    RandomStrategy,
    RankedTask,
    Strategy,
    TaskEstimate,
    make_strategy,
)

__all__ = [
    "STRATEGIES",
    "DifficultyStrategy",
    "FixedStrategy",
    "LearnabilityStrategy",
    "Ordering",
    "PLRStrategy",
    "RandomStrategy",
    "RankedTask",
    "Strategy",
    "TaskEstimate",
    "make_strategy",
]
