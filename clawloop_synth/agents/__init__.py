"""Agents that run tasks in SimEnv: scripted ones (reference replay, planted flaws) and their runner.

``FlawedAgent(flaws={"skipped_lookup": 0.3, ...}, seed=0)`` plants the modes of :data:`FLAW_MODES`
at the given rates, per run or (``per_opportunity=True``) per opportunity the task gives each mode
(:func:`opportunities`), so that longer, busier tasks are harder; :func:`scripted_population`
builds a graded population of them (``per_opportunity=True`` for task-dependent difficulty);
one :class:`HabitAgent` per failure code (:data:`CODE_HABITS`) has a bad habit that only hurts
where the task holds the situation behind the failure; :class:`ShortcutAgent` acts from the
instruction alone (the gate rejects what it solves);
:func:`run_agent` runs one episode and returns it as a Trace in OpenAI chat form.
"""

from __future__ import annotations

from ._flaws import FLAW_MODES, GIVE_UP, GIVE_UP_LOOP, GIVE_UP_TRANSIENT
from ._habits import CODE_HABITS, HABITS, HabitAgent, habit_opportunities
from ._opportunity import fire_chance, opportunities
from ._plan import plan_for
from .run import default_system_prompt, run_agent
from .scripted import (
    DISTRACTOR_LOAD,
    PER_OPPORTUNITY_LEVELS,
    PER_RUN_LEVELS,
    TRANSIENT_WEIGHT,
    Agent,
    Episode,
    FlawedAgent,
    ReferenceAgent,
    scripted_population,
)
from .shortcut import ShortcutAgent, information_needs, shortcut_solution

__all__ = [
    "CODE_HABITS",
    "DISTRACTOR_LOAD",
    "FLAW_MODES",
    "GIVE_UP",
    "GIVE_UP_LOOP",
    "GIVE_UP_TRANSIENT",
    "HABITS",
    "PER_OPPORTUNITY_LEVELS",
    "PER_RUN_LEVELS",
    "TRANSIENT_WEIGHT",
    "Agent",
    "Episode",
    "FlawedAgent",
    "HabitAgent",
    "ReferenceAgent",
    "ShortcutAgent",
    "default_system_prompt",
    "fire_chance",
    "habit_opportunities",
    "information_needs",
    "opportunities",
    "plan_for",
    "run_agent",
    "scripted_population",
    "shortcut_solution",
]
